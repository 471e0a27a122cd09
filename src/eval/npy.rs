//! NumPy `.npy` files: the format `npuopt run` reads inputs from and writes outputs to.
//!
//! Format versions 1.0, 2.0 and 3.0 are read (3.0 differs only in the header's encoding), little-
//! endian (or byte-order-free) numeric and bool types in C order. Writing uses version 1.0, or 2.0
//! when the header does not fit a 16-bit length. The header is a Python dict literal; the small
//! parser below reads exactly the three keys the format defines.

use super::error::Fail;
use super::tensor::{from_le_bytes, to_le_bytes, Tensor};
use crate::ir::DType;

const MAGIC: &[u8] = b"\x93NUMPY";

/// NumPy's type string for each element type npy can hold.
const DESCRS: &[(&str, DType)] = &[
    ("<f4", DType::F32),
    ("<f8", DType::F64),
    ("<f2", DType::F16),
    ("|i1", DType::I8),
    ("<i2", DType::I16),
    ("<i4", DType::I32),
    ("<i8", DType::I64),
    ("|u1", DType::U8),
    ("<u2", DType::U16),
    ("<u4", DType::U32),
    ("<u8", DType::U64),
    ("|b1", DType::Bool),
];

fn bad(reason: impl Into<String>) -> Fail {
    Fail::invalid(format!("not a readable .npy file: {}", reason.into()))
}

/// Reads a tensor from the bytes of a `.npy` file.
pub fn read(bytes: &[u8]) -> Result<Tensor, Fail> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("it does not start with the NumPy magic string"));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("the header is cut off"));
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (len as usize, 12)
        }
        _ => return Err(bad(format!("format version {major}.{minor} is unknown"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("the header is cut off"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("the header is not text"))?;
    let header = Header::parse(header)?;
    if header.fortran_order {
        return Err(Fail::unsupported(
            ".npy files in Fortran order are not supported; save the array in C order",
        ));
    }
    let dtype = DESCRS
        .iter()
        .find(|(d, _)| *d == header.descr || d.replace('<', "|") == header.descr)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            Fail::unsupported(format!(
                ".npy element type '{}' is not supported (little-endian numeric and bool types are)",
                header.descr
            ))
        })?;
    let dims: Vec<i64> = header
        .shape
        .iter()
        .map(|&d| i64::try_from(d).map_err(|_| bad("a dimension is too large")))
        .collect::<Result<_, _>>()?;
    from_le_bytes("npy", dtype, &dims, &bytes[start + header_len..])
}

/// Writes a tensor as the bytes of a `.npy` file.
pub fn write(t: &Tensor) -> Result<Vec<u8>, Fail> {
    let descr = DESCRS
        .iter()
        .find(|(_, d)| *d == t.dtype())
        .map(|(s, _)| *s)
        .ok_or_else(|| {
            Fail::unsupported(format!(
                "element type {} cannot be stored in .npy",
                t.dtype()
            ))
        })?;
    let shape = match t.shape() {
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // The preamble (magic, version, length, dict, newline) is padded with spaces to a multiple
    // of 64 bytes so that the data is aligned, as NumPy does.
    let version1 = 10 + dict.len() < u16::MAX as usize;
    let preamble = if version1 { 10 } else { 12 };
    let total = (preamble + dict.len() + 1).div_ceil(64) * 64;
    dict.push_str(&" ".repeat(total - preamble - dict.len() - 1));
    dict.push('\n');
    let mut out = MAGIC.to_vec();
    if version1 {
        out.extend([1, 0]);
        out.extend((dict.len() as u16).to_le_bytes());
    } else {
        out.extend([2, 0]);
        out.extend((dict.len() as u32).to_le_bytes());
    }
    out.extend(dict.as_bytes());
    out.extend(to_le_bytes(t.data()));
    Ok(out)
}

/// The header dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }`.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

impl Header {
    fn parse(text: &str) -> Result<Header, Fail> {
        let mut p = Parser {
            s: text.trim_end().as_bytes(),
            i: 0,
        };
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        p.expect(b'{')?;
        loop {
            p.skip_ws();
            if p.eat(b'}') {
                break;
            }
            let key = p.string()?;
            p.skip_ws();
            p.expect(b':')?;
            p.skip_ws();
            match key.as_str() {
                "descr" => descr = Some(p.string()?),
                "fortran_order" => fortran = Some(p.boolean()?),
                "shape" => shape = Some(p.tuple()?),
                other => return Err(bad(format!("unknown header key '{other}'"))),
            }
            p.skip_ws();
            if !p.eat(b',') {
                p.skip_ws();
                p.expect(b'}')?;
                break;
            }
        }
        Ok(Header {
            descr: descr.ok_or_else(|| bad("the header has no 'descr'"))?,
            fortran_order: fortran.ok_or_else(|| bad("the header has no 'fortran_order'"))?,
            shape: shape.ok_or_else(|| bad("the header has no 'shape'"))?,
        })
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Result<(), Fail> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(bad(format!(
                "expected '{}' at byte {} of the header",
                c as char, self.i
            )))
        }
    }

    fn string(&mut self) -> Result<String, Fail> {
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(bad(format!(
                    "expected a string at byte {} of the header",
                    self.i
                )))
            }
        };
        self.i += 1;
        let start = self.i;
        while self.s.get(self.i).is_some_and(|&c| c != quote) {
            self.i += 1;
        }
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.expect(quote)?;
        Ok(text)
    }

    fn boolean(&mut self) -> Result<bool, Fail> {
        for (word, value) in [("True", true), ("False", false)] {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(value);
            }
        }
        Err(bad("'fortran_order' is neither True nor False"))
    }

    fn tuple(&mut self) -> Result<Vec<u64>, Fail> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            let start = self.i;
            while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
            dims.push(
                digits
                    .parse()
                    .map_err(|_| bad("'shape' is not a tuple of integers"))?,
            );
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `np.save(f, np.array([[1.5, -2.0, 3.25]], dtype=np.float32))`, byte for byte.
    const NUMPY_F32: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }                                                          \n\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00P@";

    #[test]
    fn reads_what_numpy_writes_and_writes_it_back_identically() {
        let t = read(NUMPY_F32).unwrap();
        assert_eq!(t.shape(), &[1, 3]);
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.5, -2.0, 3.25]);
        assert_eq!(write(&t).unwrap(), NUMPY_F32);
    }

    #[test]
    fn round_trips_every_type_and_rank() {
        let cases = [
            Tensor::scalar(7i64),
            Tensor::from_vec(vec![3], vec![1u8, 2, 255]).unwrap(),
            Tensor::from_vec(vec![2, 1, 2], vec![true, false, false, true]).unwrap(),
            Tensor::from_vec(vec![0, 4], Vec::<f64>::new()).unwrap(),
            Tensor::from_vec(vec![2], vec![-1i8, 127]).unwrap(),
        ];
        for t in cases {
            let bytes = write(&t).unwrap();
            assert_eq!(bytes.len() % 64, to_le_bytes(t.data()).len() % 64);
            assert_eq!(read(&bytes).unwrap(), t);
        }
    }

    #[test]
    fn version_2_headers_are_read() {
        let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend([2, 0]);
        bytes.extend((dict.len() as u32).to_le_bytes());
        bytes.extend(dict.as_bytes());
        bytes.extend([1, 0, 0, 0, 2, 0, 0, 0]);
        let t = read(&bytes).unwrap();
        assert_eq!(t.as_slice::<i32>().unwrap(), &[1, 2]);
    }

    /// `NUMPY_F32` with one header substring replaced by another of the same length.
    fn patched(from: &str, to: &str) -> Vec<u8> {
        let at = NUMPY_F32
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap();
        let mut v = NUMPY_F32.to_vec();
        v[at..at + to.len()].copy_from_slice(to.as_bytes());
        v
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(read(b"not numpy at all").is_err());
        let err = read(&patched("<f4", ">f4")).unwrap_err();
        assert!(err.reason.contains(">f4"), "{}", err.reason);
        assert_eq!(err.kind, crate::eval::ErrorKind::Unsupported);
        assert!(read(&patched("False", "True ")).is_err());
        // Data shorter than the shape says.
        assert!(read(&NUMPY_F32[..NUMPY_F32.len() - 1]).is_err());
    }
}
