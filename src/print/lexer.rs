//! The text IR's tokens, one line at a time, with their positions; and [`quote`], the printer's
//! inverse of string lexing.

use std::fmt;

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// `%name`, without the `%`.
    Value(String),
    /// A bare word: keyword, dtype, op name (dots included), dim parameter.
    Ident(String),
    /// An integer literal as written (`-3`).
    Int(String),
    /// A float literal as written (`0.5`, `1e-3`, `-inf`).
    Float(String),
    /// A quoted string, escapes resolved (bytes: ONNX strings need not be UTF-8).
    Str(Vec<u8>),
    /// `#3f9a1c2e`: a content hash (hex digits right after `#`).
    Hash(String),
    /// `# text` to the end of the line, trimmed.
    Comment(String),
    /// One of `( ) [ ] { } < > , : = ? .`
    Punct(char),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Value(v) => write!(f, "'%{v}'"),
            Tok::Ident(s) | Tok::Int(s) | Tok::Float(s) => write!(f, "'{s}'"),
            Tok::Str(s) => write!(f, "string {}", quote(s)),
            Tok::Hash(h) => write!(f, "'#{h}'"),
            Tok::Comment(_) => f.write_str("a comment"),
            Tok::Punct(c) => write!(f, "'{c}'"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// Splits one line into tokens; `Err` holds the position and what went wrong.
pub fn lex_line(line: &str, line_no: usize) -> Result<Vec<Token>, (Pos, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos {
            line: line_no,
            column: i + 1,
        };
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            '%' => {
                i += 1;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                if i == start + 1 {
                    return Err((pos, "expected a value name after '%'".into()));
                }
                Tok::Value(chars[start + 1..i].iter().collect())
            }
            '#' if chars.get(i + 1).is_some_and(char::is_ascii_hexdigit) => {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                Tok::Hash(chars[start + 1..i].iter().collect())
            }
            '#' => {
                i = chars.len();
                Tok::Comment(chars[start + 1..].iter().collect::<String>().trim().into())
            }
            '"' => {
                let (bytes, end) = lex_string(&chars, i, line_no)?;
                i = end;
                Tok::Str(bytes)
            }
            '-' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => lex_number(&chars, &mut i),
            '-' if chars[i + 1..].starts_with(&['i', 'n', 'f']) => {
                i += 4;
                Tok::Float("-inf".into())
            }
            c if c.is_ascii_digit() => lex_number(&chars, &mut i),
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                Tok::Ident(chars[start..i].iter().collect())
            }
            '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | ',' | ':' | '=' | '?' | '.' => {
                i += 1;
                Tok::Punct(c)
            }
            other => return Err((pos, format!("unexpected character '{other}'"))),
        };
        tokens.push(Token { tok, pos });
    }
    Ok(tokens)
}

/// Characters of words and value names; dots allowed so `com.microsoft.QLinearAdd` is one word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

fn lex_number(chars: &[char], i: &mut usize) -> Tok {
    let start = *i;
    let mut float = false;
    if chars[*i] == '-' {
        *i += 1;
    }
    let digits = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(i);
    if chars.get(*i) == Some(&'.') {
        float = true;
        *i += 1;
        digits(i);
    }
    if matches!(chars.get(*i), Some('e' | 'E')) {
        let mut j = *i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            float = true;
            *i = j;
            digits(i);
        }
    }
    let text = chars[start..*i].iter().collect();
    if float {
        Tok::Float(text)
    } else {
        Tok::Int(text)
    }
}

/// Reads a quoted string starting at `chars[start] == '"'`; returns its bytes and the index
/// after the closing quote.
fn lex_string(
    chars: &[char],
    start: usize,
    line_no: usize,
) -> Result<(Vec<u8>, usize), (Pos, String)> {
    let at = |i: usize| Pos {
        line: line_no,
        column: i + 1,
    };
    let mut out = Vec::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err((at(start), "unterminated string".into()));
        };
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let esc = chars.get(i + 1).copied();
                match esc {
                    Some('"') => out.push(b'"'),
                    Some('\\') => out.push(b'\\'),
                    Some('n') => out.push(b'\n'),
                    Some('r') => out.push(b'\r'),
                    Some('t') => out.push(b'\t'),
                    Some('x') => {
                        let hex: String = chars.iter().skip(i + 2).take(2).collect();
                        let byte = (hex.len() == 2)
                            .then(|| u8::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .ok_or((at(i), "expected two hex digits after '\\x'".to_string()))?;
                        out.push(byte);
                        i += 2;
                    }
                    _ => {
                        return Err((
                            at(i),
                            "unknown escape: expected \\\" \\\\ \\n \\r \\t or \\xNN".into(),
                        ))
                    }
                }
                i += 2;
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 1;
            }
        }
    }
}

/// Writes bytes as a quoted string that [`lex_line`] reads back to the same bytes: UTF-8 text
/// stays readable; quotes, backslashes, control characters and invalid bytes are escaped.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// Is `s` written as a bare word (an identifier without dots)?
pub fn is_plain_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex_line(s, 1).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_an_op_line() {
        assert_eq!(
            toks("%5: f32[1,?] = com.microsoft.QLinearAdd(%0, _) {a=-1.5e-3}  # /m/Add"),
            vec![
                Tok::Value("5".into()),
                Tok::Punct(':'),
                Tok::Ident("f32".into()),
                Tok::Punct('['),
                Tok::Int("1".into()),
                Tok::Punct(','),
                Tok::Punct('?'),
                Tok::Punct(']'),
                Tok::Punct('='),
                Tok::Ident("com.microsoft.QLinearAdd".into()),
                Tok::Punct('('),
                Tok::Value("0".into()),
                Tok::Punct(','),
                Tok::Ident("_".into()),
                Tok::Punct(')'),
                Tok::Punct('{'),
                Tok::Ident("a".into()),
                Tok::Punct('='),
                Tok::Float("-1.5e-3".into()),
                Tok::Punct('}'),
                Tok::Comment("/m/Add".into()),
            ]
        );
    }

    #[test]
    fn hash_needs_a_hex_digit_right_after_the_sign() {
        assert_eq!(toks("#3f9a1c2e"), vec![Tok::Hash("3f9a1c2e".into())]);
        assert_eq!(toks("# 3f9a"), vec![Tok::Comment("3f9a".into())]);
    }

    #[test]
    fn quote_and_lex_are_inverse() {
        let weird = b"a\"b\\c\nd\te\x01f\xff\xfe \xc3\xa9";
        let q = quote(weird);
        assert_eq!(q, "\"a\\\"b\\\\c\\nd\\te\\x01f\\xff\\xfe é\"");
        assert_eq!(toks(&q), vec![Tok::Str(weird.to_vec())]);
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(
            lex_line("%a = \"open", 3).unwrap_err(),
            (
                Pos { line: 3, column: 6 },
                "unterminated string".to_string()
            )
        );
        assert_eq!(lex_line("%a ~", 1).unwrap_err().0.column, 4);
    }
}
