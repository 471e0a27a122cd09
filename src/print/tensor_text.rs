//! Tensor data in the text IR: written out when small (`= [0.5, 1.0]`), by content hash when
//! large (`#3f9a1c2e`), and synthesised when the text only says `random(7)`, `zeros`, `ones`.
//!
//! A hash cannot be turned back into the bytes it was computed from, so a parsed `#hash` tensor
//! gets pseudo-random data seeded by the hash, and remembers the printed hash in a metadata entry
//! (`npuopt.text_hash = "<printed>/<hash of the stand-in data>"`). The printer shows the remembered
//! hash only while the data still has the recorded hash: a parsed graph prints its hashes back
//! unchanged, and a pass that rewrites the data shows a new hash.

use bytes::Bytes;

use super::lexer::quote;
use super::synth::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16, Lcg};
use crate::ir::tensors::{content_hash, expected_bytes, typed_fields_to_le};
use crate::ir::DType;
use crate::proto::{self, StringStringEntryProto};

/// Tensors with at most this many elements are written out.
pub const INLINE_MAX: usize = 8;

/// The most data the text may ask to synthesise (`random`, `zeros`, `ones`, `#hash`).
const MAX_SYNTHESIZED_BYTES: usize = 1 << 30;

/// The metadata key of a parsed hash (see the module documentation).
const HASH_KEY: &str = "npuopt.text_hash";

/// A tensor's data as the text IR sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Little-endian element bytes, as in `raw_data`. For the few layouts that have no
    /// little-endian form here (packed 4-bit typed fields), the encoded tensor without its name.
    Bytes(Bytes),
    /// The elements of a string tensor.
    Strings(Vec<Bytes>),
}

impl Content {
    /// The data of a tensor held in its own fields (`raw_data` or the typed ones).
    pub fn of_proto(t: &proto::TensorProto) -> Content {
        if DType::from_onnx(t.data_type()) == DType::Str {
            return Content::Strings(t.string_data.clone());
        }
        if let Some(raw) = &t.raw_data {
            return Content::Bytes(raw.clone());
        }
        match typed_fields_to_le(t) {
            Ok(bytes) => Content::Bytes(bytes),
            Err(_) => {
                use prost::Message;
                let anonymous = proto::TensorProto {
                    name: None,
                    ..t.clone()
                };
                Content::Bytes(Bytes::from(anonymous.encode_to_vec()))
            }
        }
    }

    /// The content hash (for strings: over each string's length and bytes).
    pub fn hash(&self) -> u64 {
        match self {
            Content::Bytes(b) => content_hash(b),
            Content::Strings(s) => content_hash(&length_prefixed(s)),
        }
    }

    /// Appends another tensor's data (sparse tensors hash values and indices together).
    pub fn concat(self, other: Content) -> Content {
        let flat = |c: Content| match c {
            Content::Bytes(b) => b.to_vec(),
            Content::Strings(s) => length_prefixed(&s),
        };
        let mut bytes = flat(self);
        bytes.extend(flat(other));
        Content::Bytes(Bytes::from(bytes))
    }
}

fn length_prefixed(strings: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// How the text writes a tensor's data: ` = [0.5, 1.0]` or ` #3f9a1c2e`. `hash` is the content
/// hash when already known (the tensor pool keeps one), `props` the tensor's metadata.
pub fn format_body(
    dtype: DType,
    dims: &[i64],
    content: &Content,
    hash: Option<u64>,
    props: &[StringStringEntryProto],
) -> String {
    let count = element_count(dims);
    if let Some(elements) = count
        .filter(|&n| n <= INLINE_MAX)
        .and_then(|n| format_elements(dtype, n, content))
    {
        return format!(" = [{}]", elements.join(", "));
    }
    format_hash(hash.unwrap_or_else(|| content.hash()), props)
}

/// ` #3f9a1c2e`: the hash a tensor with content hash `hash` and metadata `props` prints.
pub fn format_hash(hash: u64, props: &[StringStringEntryProto]) -> String {
    format!(" #{:08x}", shown_hash(hash, props))
}

/// The hash to print: a parsed one while the data is still what the parser made, else the low
/// 32 bits of the content hash.
fn shown_hash(hash: u64, props: &[StringStringEntryProto]) -> u32 {
    props
        .iter()
        .filter(|p| p.key() == HASH_KEY)
        .filter_map(|p| p.value().split_once('/'))
        .find(|(_, data)| u64::from_str_radix(data, 16) == Ok(hash))
        .and_then(|(shown, _)| u32::from_str_radix(shown, 16).ok())
        .unwrap_or(hash as u32)
}

pub fn element_count(dims: &[i64]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
    })
}

/// The elements as text, `None` when this type is not written out element by element (or the
/// data does not have the declared size).
fn format_elements(dtype: DType, count: usize, content: &Content) -> Option<Vec<String>> {
    use DType::*;
    let bytes = match content {
        Content::Strings(s) if dtype == Str && s.len() == count => {
            return Some(s.iter().map(|s| quote(s)).collect())
        }
        Content::Bytes(b) => b,
        Content::Strings(_) => return None,
    };
    let size = match dtype {
        F32 | F64 | F16 | BF16 | Bool | I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 => {
            dtype.byte_size()?
        }
        _ => return None,
    };
    if bytes.len() != count * size {
        return None;
    }
    Some(
        bytes
            .chunks_exact(size)
            .map(|c| format_element(dtype, c))
            .collect(),
    )
}

/// One element from its little-endian bytes (the caller checked the size).
fn format_element(dtype: DType, c: &[u8]) -> String {
    use DType::*;
    let arr = |n: usize| {
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(&c[..n]);
        a
    };
    let u16v = || u16::from_le_bytes([c[0], c[1]]);
    match dtype {
        F32 => format!("{:?}", f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        F64 => format!("{:?}", f64::from_le_bytes(arr(8))),
        F16 => format!("{:?}", f16_to_f32(u16v())),
        BF16 => format!("{:?}", bf16_to_f32(u16v())),
        Bool => (c[0] != 0).to_string(),
        I8 => (c[0] as i8).to_string(),
        U8 => c[0].to_string(),
        I16 => (u16v() as i16).to_string(),
        U16 => u16v().to_string(),
        I32 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string(),
        U32 => u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string(),
        I64 => i64::from_le_bytes(arr(8)).to_string(),
        _ => u64::from_le_bytes(arr(8)).to_string(),
    }
}

/// An element as the text writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A number as written: `3`, `-0.5`, `1e-3`, `inf`, `NaN`.
    Num(String),
    Bool(bool),
    Str(Vec<u8>),
}

/// How the text gives a tensor's data.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Elements(Vec<Scalar>),
    Hash(u32),
    Random(u64),
    Zeros,
    Ones,
}

/// What went wrong building a tensor: about element `Some(i)`, or the tensor as a whole.
pub type BuildError = (Option<usize>, String);

/// A tensor's data from the text, and the metadata entry to keep for a parsed hash.
pub fn build_content(
    dtype: DType,
    dims: &[i64],
    body: &Body,
) -> Result<(Content, Option<StringStringEntryProto>), BuildError> {
    let count = element_count(dims).ok_or((None, format!("shape {dims:?} is too large")))?;
    let content = match body {
        Body::Elements(elements) => {
            if elements.len() != count {
                return Err((
                    None,
                    format!(
                        "{dtype}{dims:?} has {count} elements, the list has {}",
                        elements.len()
                    ),
                ));
            }
            encode_elements(dtype, elements)?
        }
        Body::Hash(seed) => synthesize(dtype, dims, count, Fill::Random(u64::from(*seed)))?,
        Body::Random(seed) => synthesize(dtype, dims, count, Fill::Random(*seed))?,
        Body::Zeros => synthesize(dtype, dims, count, Fill::Zeros)?,
        Body::Ones => synthesize(dtype, dims, count, Fill::Ones)?,
    };
    let marker = match body {
        Body::Hash(shown) => Some(hash_marker(*shown, &content)),
        _ => None,
    };
    Ok((content, marker))
}

/// The metadata entry that makes `content` print as `#shown` (see the module documentation).
pub fn hash_marker(shown: u32, content: &Content) -> StringStringEntryProto {
    StringStringEntryProto {
        key: Some(HASH_KEY.into()),
        value: Some(format!("{shown:08x}/{:016x}", content.hash())),
    }
}

fn encode_elements(dtype: DType, elements: &[Scalar]) -> Result<Content, BuildError> {
    if dtype == DType::Str {
        return elements
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Scalar::Str(s) => Ok(Bytes::copy_from_slice(s)),
                _ => Err((Some(i), "expected a string".to_string())),
            })
            .collect::<Result<_, _>>()
            .map(Content::Strings);
    }
    let mut out = Vec::new();
    for (i, e) in elements.iter().enumerate() {
        encode_element(dtype, e, &mut out).map_err(|m| (Some(i), m))?;
    }
    Ok(Content::Bytes(Bytes::from(out)))
}

/// Appends one element's little-endian bytes.
fn encode_element(dtype: DType, e: &Scalar, out: &mut Vec<u8>) -> Result<(), String> {
    use DType::*;
    let text = match (dtype, e) {
        (Bool, Scalar::Bool(b)) => {
            out.push(u8::from(*b));
            return Ok(());
        }
        (_, Scalar::Num(t)) => t.as_str(),
        (_, other) => return Err(format!("expected a number for {dtype}, found {other:?}")),
    };
    let float = |t: &str| {
        t.parse::<f32>()
            .map_err(|_| format!("expected a number for {dtype}, found '{t}'"))
    };
    match dtype {
        F32 => out.extend(float(text)?.to_le_bytes()),
        F64 => out.extend(
            text.parse::<f64>()
                .map_err(|_| format!("expected a number for f64, found '{text}'"))?
                .to_le_bytes(),
        ),
        F16 => out.extend(f32_to_f16(float(text)?).to_le_bytes()),
        BF16 => out.extend(f32_to_bf16(float(text)?).to_le_bytes()),
        Bool | I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 => {
            let v: i128 = text
                .parse()
                .map_err(|_| format!("expected an integer for {dtype}, found '{text}'"))?;
            let (lo, hi, size): (i128, i128, usize) = match dtype {
                Bool => (0, 1, 1),
                I8 => (i8::MIN.into(), i8::MAX.into(), 1),
                U8 => (0, u8::MAX.into(), 1),
                I16 => (i16::MIN.into(), i16::MAX.into(), 2),
                U16 => (0, u16::MAX.into(), 2),
                I32 => (i32::MIN.into(), i32::MAX.into(), 4),
                U32 => (0, u32::MAX.into(), 4),
                I64 => (i64::MIN.into(), i64::MAX.into(), 8),
                _ => (0, u64::MAX.into(), 8),
            };
            if !(lo..=hi).contains(&v) {
                return Err(format!("{v} is out of range for {dtype}"));
            }
            out.extend(&v.to_le_bytes()[..size]);
        }
        _ => {
            return Err(format!(
                "{dtype} elements cannot be written out; use #hash, random(seed), zeros or ones"
            ))
        }
    }
    Ok(())
}

enum Fill {
    Random(u64),
    Zeros,
    Ones,
}

/// Data for a whole tensor: floats in [-1, 1) and integers over their full range for `Random`.
fn synthesize(dtype: DType, dims: &[i64], count: usize, fill: Fill) -> Result<Content, BuildError> {
    use DType::*;
    let whole = |m: String| (None, m);
    let size = expected_bytes(dtype, dims).map_err(whole)?;
    if size.unwrap_or(count) > MAX_SYNTHESIZED_BYTES {
        return Err(whole(format!(
            "{dtype}{dims:?} is too large to synthesise (at most {MAX_SYNTHESIZED_BYTES} bytes)"
        )));
    }
    let one = Scalar::Num("1".into());
    match fill {
        Fill::Ones => {
            if dtype == Str {
                return Err(whole("ones is not defined for str".into()));
            }
            let mut out = Vec::new();
            for _ in 0..count {
                encode_element(dtype, &one, &mut out).map_err(whole)?;
            }
            Ok(Content::Bytes(Bytes::from(out)))
        }
        Fill::Zeros if dtype == Str => Ok(Content::Strings(vec![Bytes::new(); count])),
        Fill::Random(seed) if dtype == Str => {
            let mut rng = Lcg::new(seed);
            Ok(Content::Strings(
                (0..count)
                    .map(|_| Bytes::from(format!("{:08x}", rng.next_u32())))
                    .collect(),
            ))
        }
        fill => {
            let size = size.ok_or_else(|| whole(format!("{dtype} has no known element size")))?;
            let Fill::Random(seed) = fill else {
                return Ok(Content::Bytes(Bytes::from(vec![0u8; size])));
            };
            let mut rng = Lcg::new(seed);
            let floats = match dtype {
                C64 | C128 => count * 2,
                _ => count,
            };
            let out: Vec<u8> = match dtype {
                F32 | C64 => (0..floats).flat_map(|_| rng.unit().to_le_bytes()).collect(),
                F64 | C128 => (0..floats)
                    .flat_map(|_| f64::from(rng.unit()).to_le_bytes())
                    .collect(),
                F16 => (0..count)
                    .flat_map(|_| f32_to_f16(rng.unit()).to_le_bytes())
                    .collect(),
                BF16 => (0..count)
                    .flat_map(|_| f32_to_bf16(rng.unit()).to_le_bytes())
                    .collect(),
                Bool => (0..count).map(|_| (rng.next_u32() >> 31) as u8).collect(),
                _ => rng.bytes(size),
            };
            Ok(Content::Bytes(Bytes::from(out)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(xs: &[&str]) -> Body {
        Body::Elements(xs.iter().map(|x| Scalar::Num(x.to_string())).collect())
    }

    #[test]
    fn small_tensors_are_written_out_and_read_back() {
        for (dtype, xs) in [
            (
                DType::F32,
                vec!["0.5", "1.0", "-0.0", "1e-7", "inf", "-inf"],
            ),
            (
                DType::F16,
                vec![
                    "0.099975586",
                    "65504.0",
                    "-2.0",
                    "5.9604645e-8",
                    "1.0",
                    "0.0",
                ],
            ),
            (DType::I8, vec!["-128", "127", "0", "1", "2", "3"]),
            (
                DType::U64,
                vec!["18446744073709551615", "0", "1", "2", "3", "4"],
            ),
        ] {
            let (content, marker) = build_content(dtype, &[2, 3], &nums(&xs)).unwrap();
            assert_eq!(marker, None);
            let text = format_body(dtype, &[2, 3], &content, None, &[]);
            assert_eq!(text, format!(" = [{}]", xs.join(", ")), "{dtype}");
        }
    }

    #[test]
    fn large_tensors_print_the_low_32_bits_of_the_content_hash() {
        let (content, _) = build_content(DType::I8, &[16], &Body::Random(7)).unwrap();
        let Content::Bytes(bytes) = &content else {
            panic!()
        };
        let want = format!(" #{:08x}", content_hash(bytes) & 0xffff_ffff);
        assert_eq!(format_body(DType::I8, &[16], &content, None, &[]), want);
    }

    #[test]
    fn a_parsed_hash_prints_back_until_the_data_changes() {
        let (content, marker) =
            build_content(DType::F32, &[3, 3], &Body::Hash(0x3f9a1c2e)).unwrap();
        let props = vec![marker.unwrap()];
        let shown = format_body(DType::F32, &[3, 3], &content, None, &props);
        assert_eq!(shown, " #3f9a1c2e");
        let other = Content::Bytes(Bytes::from(vec![0u8; 36]));
        assert_ne!(
            format_body(DType::F32, &[3, 3], &other, None, &props),
            shown
        );
    }

    #[test]
    fn random_data_is_deterministic_and_in_range() {
        let (a, _) = build_content(DType::F32, &[4, 4], &Body::Random(7)).unwrap();
        let (b, _) = build_content(DType::F32, &[16], &Body::Random(7)).unwrap();
        assert_eq!(
            a, b,
            "the stream depends on the seed and element count only"
        );
        let Content::Bytes(bytes) = a else { panic!() };
        for c in bytes.chunks_exact(4) {
            let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            assert!((-1.0..1.0).contains(&x));
        }
        let (i4, _) = build_content(DType::I4, &[3], &Body::Random(1)).unwrap();
        assert!(matches!(i4, Content::Bytes(b) if b.len() == 2));
    }

    #[test]
    fn zeros_and_ones() {
        let (z, _) = build_content(DType::I32, &[2], &Body::Zeros).unwrap();
        assert_eq!(format_body(DType::I32, &[2], &z, None, &[]), " = [0, 0]");
        let (o, _) = build_content(DType::BF16, &[2], &Body::Ones).unwrap();
        assert_eq!(
            format_body(DType::BF16, &[2], &o, None, &[]),
            " = [1.0, 1.0]"
        );
        assert!(build_content(DType::F8E4M3FN, &[2], &Body::Ones).is_err());
    }

    #[test]
    fn element_errors_name_the_element() {
        let err = build_content(DType::U8, &[2], &nums(&["1", "300"])).unwrap_err();
        assert_eq!(err, (Some(1), "300 is out of range for u8".into()));
        let err = build_content(DType::I32, &[1], &nums(&["1.5"])).unwrap_err();
        assert_eq!(err.0, Some(0));
        let err = build_content(DType::F32, &[3], &nums(&["1.0"])).unwrap_err();
        assert_eq!(err, (None, "f32[3] has 3 elements, the list has 1".into()));
        let err = build_content(DType::F32, &[1 << 20, 1 << 10], &Body::Zeros).unwrap_err();
        assert!(err.1.contains("too large to synthesise"), "{}", err.1);
    }

    #[test]
    fn strings_are_quoted() {
        let body = Body::Elements(vec![Scalar::Str(b"a\"b".to_vec()), Scalar::Str(vec![])]);
        let (c, _) = build_content(DType::Str, &[2], &body).unwrap();
        assert_eq!(
            format_body(DType::Str, &[2], &c, None, &[]),
            r#" = ["a\"b", ""]"#
        );
    }
}
