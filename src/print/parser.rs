//! Text IR → graph. Reads what the printer writes, plus the conveniences of hand-written cases
//! (any `%name`, omitted types, `random(seed)` / `zeros` / `ones` constants).
//!
//! Values must be defined before they are used (the printer writes topological order), so a
//! parsed graph is acyclic by construction. Names: graph inputs and outputs take their quoted
//! names; every other value is named after its `%name` (made unique with a `_1`, `_2`… suffix if a
//! signature name is the same).

use std::collections::{HashMap, HashSet};
use std::fmt;

use bytes::Bytes;

use super::lexer::{lex_line, Pos, Tok, Token};
use super::tensor_text::{build_content, hash_marker, Body, BuildError, Content, Scalar};
use crate::ir::attrs;
use crate::ir::{
    DType, Dim, Graph, GraphInput, Initializer, NodeId, NodeKind, OpNode, Port, TensorData,
    TensorType, Value, ValueId,
};
use crate::proto::{self, attribute_proto::AttributeType};

/// A syntax or meaning error, at a 1-based line and column.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

fn error_at(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError {
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

/// The op type of the stand-in nodes a parsed subgraph holds (the text shows only a node count).
pub const STAND_IN_OP: &str = "Opaque";

/// The most stand-in nodes a parsed subgraph may ask for (each is allocated).
const MAX_STAND_IN_NODES: usize = 1 << 20;

/// Parses text IR into a graph.
pub fn parse_graph(text: &str) -> Result<Graph, ParseError> {
    let mut b = Builder::default();
    for (i, line) in text.lines().enumerate() {
        let toks = lex_line(line, i + 1).map_err(|(pos, m)| error_at(pos, m))?;
        if toks.iter().all(|t| matches!(t.tok, Tok::Comment(_))) {
            continue;
        }
        let end = Pos {
            line: i + 1,
            column: line.chars().count() + 1,
        };
        b.line(&mut Line {
            toks: &toks,
            at: 0,
            end,
        })?;
    }
    b.finish()
}

/// The tokens of one line and a cursor.
struct Line<'t> {
    toks: &'t [Token],
    at: usize,
    /// Where "end of line" is, for errors.
    end: Pos,
}

impl Line<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|t| &t.tok)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.at + 1).map(|t| &t.tok)
    }

    fn pos(&self) -> Pos {
        self.toks.get(self.at).map_or(self.end, |t| t.pos)
    }

    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> ParseError {
        let found = self
            .peek()
            .map_or_else(|| "end of line".to_string(), Tok::to_string);
        error_at(self.pos(), format!("expected {what}, found {found}"))
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.is_punct(c);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn punct(&mut self, c: char) -> Result<(), ParseError> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{c}'")))
        }
    }

    fn word(&mut self, w: &str) -> Result<(), ParseError> {
        if self.is_word(w) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.expected(&format!("'{w}'")))
        }
    }

    fn value(&mut self) -> Result<(String, Pos), ParseError> {
        match self.peek() {
            Some(Tok::Value(v)) => {
                let v = v.clone();
                let pos = self.pos();
                self.at += 1;
                Ok((v, pos))
            }
            _ => Err(self.expected("a value such as %0")),
        }
    }

    fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.expected("a quoted string")),
        }
    }

    fn utf8(&mut self) -> Result<String, ParseError> {
        let pos = self.pos();
        String::from_utf8(self.string()?).map_err(|_| error_at(pos, "this name is not UTF-8"))
    }

    fn int(&mut self) -> Result<i64, ParseError> {
        match self.peek() {
            Some(Tok::Int(t)) => {
                let v = t
                    .parse()
                    .map_err(|_| error_at(self.pos(), format!("{t} does not fit in 64 bits")))?;
                self.at += 1;
                Ok(v)
            }
            _ => Err(self.expected("an integer")),
        }
    }

    fn count(&mut self) -> Result<usize, ParseError> {
        let pos = self.pos();
        usize::try_from(self.int()?).map_err(|_| error_at(pos, "expected a count, not negative"))
    }

    /// A word or a quoted string (attribute names, dim parameters).
    fn name(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            Some(Tok::Str(_)) => self.utf8(),
            _ => Err(self.expected("a name")),
        }
    }

    /// `f32`, `f32[1,3,?,N]`.
    fn ty(&mut self) -> Result<TensorType, ParseError> {
        let dtype = match self.peek() {
            Some(Tok::Ident(s)) => DType::from_name(s),
            _ => None,
        }
        .ok_or_else(|| self.expected("a type such as f32[1,3]"))?;
        self.at += 1;
        if !self.eat_punct('[') {
            return Ok(TensorType { dtype, shape: None });
        }
        let mut shape = Vec::new();
        if !self.eat_punct(']') {
            loop {
                let dim = match self.peek() {
                    Some(Tok::Int(_)) => Dim::Known(self.int()?),
                    Some(Tok::Punct('?')) => {
                        self.at += 1;
                        Dim::Unknown
                    }
                    Some(Tok::Ident(_) | Tok::Str(_)) => Dim::Param(self.name()?),
                    _ => return Err(self.expected("a dimension (a size, a name or '?')")),
                };
                shape.push(dim);
                if self.eat_punct(']') {
                    break;
                }
                self.punct(',')?;
            }
        }
        Ok(TensorType::new(dtype, shape))
    }

    /// A type whose every dimension is a known size (constants).
    fn static_ty(&mut self) -> Result<(DType, Vec<i64>), ParseError> {
        let pos = self.pos();
        let ty = self.ty()?;
        let dims = ty
            .static_dims()
            .filter(|d| d.iter().all(|&n| n >= 0))
            .ok_or_else(|| error_at(pos, "a constant's shape must be given, with known sizes"))?;
        Ok((ty.dtype, dims))
    }

    /// `#3f9a1c2e`.
    fn hash(&mut self) -> Result<u32, ParseError> {
        match self.peek() {
            Some(Tok::Hash(h)) if h.len() == 8 => {
                let v = u32::from_str_radix(h, 16).map_err(|_| self.expected("8 hex digits"))?;
                self.at += 1;
                Ok(v)
            }
            _ => Err(self.expected("a hash of 8 hex digits such as #3f9a1c2e")),
        }
    }

    /// `= [..]`, `= random(7)`, `= zeros`, `= ones` or `#3f9a1c2e`; with the position of each
    /// listed element for errors.
    fn body(&mut self) -> Result<(Body, Vec<Pos>), ParseError> {
        if matches!(self.peek(), Some(Tok::Hash(_))) {
            return Ok((Body::Hash(self.hash()?), vec![]));
        }
        if !self.eat_punct('=') {
            return Err(
                self.expected("'= [elements]', '= random(seed)', '= zeros', '= ones' or '#hash'")
            );
        }
        if self.is_word("zeros") || self.is_word("ones") {
            let zeros = self.is_word("zeros");
            self.at += 1;
            return Ok((if zeros { Body::Zeros } else { Body::Ones }, vec![]));
        }
        if self.is_word("random") {
            self.at += 1;
            self.punct('(')?;
            let pos = self.pos();
            let seed = u64::try_from(self.int()?)
                .map_err(|_| error_at(pos, "a seed must not be negative"))?;
            self.punct(')')?;
            return Ok((Body::Random(seed), vec![]));
        }
        self.punct('[')?;
        let (mut elements, mut positions) = (Vec::new(), Vec::new());
        if !self.eat_punct(']') {
            loop {
                positions.push(self.pos());
                elements.push(self.scalar()?);
                if self.eat_punct(']') {
                    break;
                }
                self.punct(',')?;
            }
        }
        Ok((Body::Elements(elements), positions))
    }

    fn scalar(&mut self) -> Result<Scalar, ParseError> {
        let s = match self.peek() {
            Some(Tok::Int(t) | Tok::Float(t)) => Scalar::Num(t.clone()),
            Some(Tok::Ident(w)) if w == "inf" || w == "NaN" => Scalar::Num(w.clone()),
            Some(Tok::Ident(w)) if w == "true" || w == "false" => Scalar::Bool(w == "true"),
            Some(Tok::Str(s)) => Scalar::Str(s.clone()),
            _ => return Err(self.expected("an element (a number, true, false or a string)")),
        };
        self.at += 1;
        Ok(s)
    }

    /// The trailing `# comment`, if any; nothing may follow.
    fn end(&mut self) -> Result<Option<String>, ParseError> {
        let comment = match self.peek() {
            Some(Tok::Comment(c)) => {
                let c = c.clone();
                self.at += 1;
                Some(c)
            }
            _ => None,
        };
        if self.peek().is_some() {
            return Err(self.expected("the end of the line"));
        }
        Ok(comment)
    }

    /// An attribute value.
    fn attr(&mut self, name: &str) -> Result<proto::AttributeProto, ParseError> {
        let pos = self.pos();
        if let Some(Tok::Ident(w)) = self.peek() {
            if let Some(kind) = list_kind(w).filter(|_| self.peek2() == Some(&Tok::Punct('['))) {
                self.at += 1;
                return self.list(name, Some(kind));
            }
        }
        if self.is_punct('[') {
            return self.list(name, None);
        }
        let item = self.item()?;
        let a = match item {
            Item::Num(t) if is_int(&t) => attrs::int(name, parse_num(&t, pos)?),
            Item::Num(t) => attrs::float(name, parse_num(&t, pos)?),
            Item::Str(s) => proto::AttributeProto {
                s: Some(Bytes::from(s)),
                ..attrs::base(name, AttributeType::String)
            },
            Item::Tensor(t) => attrs::tensor(name, *t),
            Item::Graph(g) => proto::AttributeProto {
                g: Some(*g),
                ..attrs::base(name, AttributeType::Graph)
            },
            Item::Sparse(s) => proto::AttributeProto {
                sparse_tensor: Some(*s),
                ..attrs::base(name, AttributeType::SparseTensor)
            },
            Item::Type(tp) => proto::AttributeProto {
                tp: Some(*tp),
                ..attrs::base(name, AttributeType::TypeProto)
            },
            Item::Undefined => attrs::base(name, AttributeType::Undefined),
        };
        Ok(a)
    }

    /// `[..]` after an optional kind word (`floats[]`).
    fn list(
        &mut self,
        name: &str,
        kind: Option<AttributeType>,
    ) -> Result<proto::AttributeProto, ParseError> {
        let start = self.pos();
        self.punct('[')?;
        let mut items = Vec::new();
        if !self.eat_punct(']') {
            loop {
                items.push((self.pos(), self.item()?));
                if self.eat_punct(']') {
                    break;
                }
                self.punct(',')?;
            }
        }
        let kind = kind.unwrap_or_else(|| infer_list_kind(&items));
        if kind == AttributeType::Undefined {
            return Err(error_at(start, "a list's elements must be all numbers, all strings, all tensors, all graphs or all types"));
        }
        let mut a = attrs::base(name, kind);
        for (pos, item) in items {
            let wrong = || {
                error_at(
                    pos,
                    format!(
                        "this list is {}: every element must be one",
                        kind.as_str_name()
                    ),
                )
            };
            match (kind, item) {
                (AttributeType::Ints, Item::Num(t)) if is_int(&t) => {
                    a.ints.push(parse_num(&t, pos)?)
                }
                (AttributeType::Floats, Item::Num(t)) => a.floats.push(parse_num(&t, pos)?),
                (AttributeType::Strings, Item::Str(s)) => a.strings.push(Bytes::from(s)),
                (AttributeType::Tensors, Item::Tensor(t)) => a.tensors.push(*t),
                (AttributeType::Graphs, Item::Graph(g)) => a.graphs.push(*g),
                (AttributeType::SparseTensors, Item::Sparse(s)) => a.sparse_tensors.push(*s),
                (AttributeType::TypeProtos, Item::Type(t)) => a.type_protos.push(*t),
                _ => return Err(wrong()),
            }
        }
        Ok(a)
    }

    /// One attribute value that is not a list.
    fn item(&mut self) -> Result<Item, ParseError> {
        let item = match self.peek() {
            Some(Tok::Int(t) | Tok::Float(t)) => Item::Num(t.clone()),
            Some(Tok::Ident(w)) if w == "inf" || w == "NaN" => Item::Num(w.clone()),
            Some(Tok::Str(s)) => Item::Str(s.clone()),
            Some(Tok::Punct('<')) => return self.literal(),
            _ => return Err(self.expected("an attribute value")),
        };
        self.at += 1;
        Ok(item)
    }

    /// `<f32[2] = [..]>`, `<graph "body": 4 nodes>`, `<sparse ..>`, `<type ..>`, `<undefined>`.
    fn literal(&mut self) -> Result<Item, ParseError> {
        self.punct('<')?;
        let item = if self.is_word("graph") {
            self.at += 1;
            let name = self.utf8()?;
            self.punct(':')?;
            let pos = self.pos();
            let n = self.count()?;
            if n > MAX_STAND_IN_NODES {
                return Err(error_at(
                    pos,
                    format!(
                        "a subgraph of more than {MAX_STAND_IN_NODES} nodes cannot be stood in for"
                    ),
                ));
            }
            if !self.is_word("node") && !self.is_word("nodes") {
                return Err(self.expected("'nodes'"));
            }
            self.at += 1;
            Item::Graph(Box::new(stand_in_graph(name, n)))
        } else if self.is_word("sparse") {
            self.at += 1;
            Item::Sparse(Box::new(self.sparse()?))
        } else if self.is_word("type") {
            self.at += 1;
            if self.eat_punct('?') {
                Item::Type(Box::default())
            } else {
                Item::Type(Box::new(self.ty()?.to_proto()))
            }
        } else if self.is_word("undefined") {
            self.at += 1;
            Item::Undefined
        } else {
            Item::Tensor(Box::new(self.tensor()?))
        };
        self.punct('>')?;
        Ok(item)
    }

    /// A tensor literal's inside: `f32[2] = [0.5, 1.0]`.
    fn tensor(&mut self) -> Result<proto::TensorProto, ParseError> {
        let (dtype, dims) = self.static_ty()?;
        let (content, marker) = self.content(dtype, &dims)?;
        Ok(tensor_proto(dtype, dims, content, marker))
    }

    /// Reads a body and builds the data it describes.
    fn content(
        &mut self,
        dtype: DType,
        dims: &[i64],
    ) -> Result<(Content, Option<proto::StringStringEntryProto>), ParseError> {
        let start = self.pos();
        let (body, positions) = self.body()?;
        build_content(dtype, dims, &body).map_err(|(element, message): BuildError| {
            let pos = element
                .and_then(|i| positions.get(i).copied())
                .unwrap_or(start);
            error_at(pos, message)
        })
    }

    /// `f32[100,100] nnz=12 #1a2b3c4d`: stand-in values, seeded by the hash, at the first `nnz`
    /// positions.
    fn sparse(&mut self) -> Result<proto::SparseTensorProto, ParseError> {
        let (dtype, dims) = self.static_ty()?;
        self.word("nnz")?;
        self.punct('=')?;
        let pos = self.pos();
        let nnz = self.count()?;
        if super::tensor_text::element_count(&dims).is_none_or(|n| nnz > n) {
            return Err(error_at(
                pos,
                format!("nnz={nnz} is more than {dims:?} holds"),
            ));
        }
        let shown = self.hash()?;
        let nnz_dims = [nnz as i64];
        let (values, _) = build_content(dtype, &nnz_dims, &Body::Random(u64::from(shown)))
            .map_err(|(_, m)| error_at(pos, m))?;
        let indices = Content::Bytes((0..nnz as i64).flat_map(i64::to_le_bytes).collect());
        let marker = hash_marker(shown, &values.clone().concat(indices.clone()));
        Ok(proto::SparseTensorProto {
            values: Some(tensor_proto(dtype, nnz_dims.to_vec(), values, Some(marker))),
            indices: Some(tensor_proto(DType::I64, nnz_dims.to_vec(), indices, None)),
            dims,
        })
    }
}

/// An attribute value other than a list.
enum Item {
    Num(String),
    Str(Vec<u8>),
    Tensor(Box<proto::TensorProto>),
    Graph(Box<proto::GraphProto>),
    Sparse(Box<proto::SparseTensorProto>),
    Type(Box<proto::TypeProto>),
    Undefined,
}

/// The list kind a prefix word names (`floats[]`).
fn list_kind(word: &str) -> Option<AttributeType> {
    Some(match word {
        "ints" => AttributeType::Ints,
        "floats" => AttributeType::Floats,
        "strings" => AttributeType::Strings,
        "tensors" => AttributeType::Tensors,
        "graphs" => AttributeType::Graphs,
        "sparse_tensors" => AttributeType::SparseTensors,
        "type_protos" => AttributeType::TypeProtos,
        _ => return None,
    })
}

/// An unprefixed list's kind from its elements: numbers are INTS unless one is a float; an empty
/// list is INTS. `Undefined` when nothing fits.
fn infer_list_kind(items: &[(Pos, Item)]) -> AttributeType {
    let Some((_, first)) = items.first() else {
        return AttributeType::Ints;
    };
    match first {
        Item::Num(_)
            if items
                .iter()
                .any(|(_, i)| matches!(i, Item::Num(t) if !is_int(t))) =>
        {
            AttributeType::Floats
        }
        Item::Num(_) => AttributeType::Ints,
        Item::Str(_) => AttributeType::Strings,
        Item::Tensor(_) => AttributeType::Tensors,
        Item::Graph(_) => AttributeType::Graphs,
        Item::Sparse(_) => AttributeType::SparseTensors,
        Item::Type(_) => AttributeType::TypeProtos,
        Item::Undefined => AttributeType::Undefined,
    }
}

fn is_int(t: &str) -> bool {
    t.trim_start_matches('-')
        .bytes()
        .all(|b| b.is_ascii_digit())
}

fn parse_num<T: std::str::FromStr>(t: &str, pos: Pos) -> Result<T, ParseError> {
    t.parse()
        .map_err(|_| error_at(pos, format!("'{t}' is out of range for this attribute")))
}

/// A subgraph standing in for one the text only names: its name and `n` placeholder nodes.
fn stand_in_graph(name: String, n: usize) -> proto::GraphProto {
    proto::GraphProto {
        name: Some(name),
        node: vec![
            proto::NodeProto {
                op_type: Some(STAND_IN_OP.into()),
                ..Default::default()
            };
            n
        ],
        ..Default::default()
    }
}

fn tensor_proto(
    dtype: DType,
    dims: Vec<i64>,
    content: Content,
    marker: Option<proto::StringStringEntryProto>,
) -> proto::TensorProto {
    let mut t = proto::TensorProto {
        dims,
        data_type: Some(dtype.onnx_code()),
        metadata_props: marker.into_iter().collect(),
        ..Default::default()
    };
    match content {
        Content::Bytes(b) => t.raw_data = Some(b),
        Content::Strings(s) => t.string_data = s,
    }
    t
}

/// Builds the graph line by line.
#[derive(Default)]
struct Builder {
    g: Graph,
    /// `%name` → value, with where it was defined.
    values: HashMap<String, (ValueId, Pos)>,
    /// Values named after their `%name`, in definition order.
    unnamed: Vec<(ValueId, String)>,
    /// Names of graph inputs.
    input_names: HashMap<String, Pos>,
    outputs: Vec<(ValueId, String, Pos)>,
}

impl Builder {
    fn line(&mut self, l: &mut Line) -> Result<(), ParseError> {
        let keyword = match (l.peek(), l.peek2()) {
            (Some(Tok::Ident(w)), Some(Tok::Value(_))) => Some(w.clone()),
            _ => None,
        };
        match keyword.as_deref() {
            Some("input") => self.input(l),
            Some("const") => self.constant(l),
            Some("sparse") => self.sparse(l),
            Some("output") => self.output(l),
            _ => self.op(l),
        }
    }

    fn define(&mut self, name: String, pos: Pos, v: ValueId) -> Result<(), ParseError> {
        if let Some((_, first)) = self.values.get(&name) {
            return Err(error_at(
                pos,
                format!("%{name} is already defined on line {}", first.line),
            ));
        }
        self.values.insert(name, (v, pos));
        Ok(())
    }

    fn lookup(&self, name: &str, pos: Pos) -> Result<ValueId, ParseError> {
        self.values.get(name).map(|&(v, _)| v).ok_or_else(|| {
            error_at(
                pos,
                format!("%{name} is not defined (values must be defined before use)"),
            )
        })
    }

    /// `input %0 "images": f32[1,3,160,160] default <f32[..] = ..>`
    fn input(&mut self, l: &mut Line) -> Result<(), ParseError> {
        l.word("input")?;
        let (id, pos) = l.value()?;
        let name_pos = l.pos();
        let name = l.utf8()?;
        if let Some(first) = self.input_names.insert(name.clone(), name_pos) {
            return Err(error_at(
                name_pos,
                format!(
                    "graph input \"{name}\" is already declared on line {}",
                    first.line
                ),
            ));
        }
        let ty = if l.eat_punct(':') {
            Some(l.ty()?)
        } else {
            None
        };
        let default = if l.is_word("default") {
            l.at += 1;
            l.punct('<')?;
            let mut t = l.tensor()?;
            l.punct('>')?;
            t.name = Some(name.clone());
            Some(self.initializer(t))
        } else {
            None
        };
        l.end()?;
        let info = proto::ValueInfoProto {
            name: Some(name.clone()),
            r#type: ty.as_ref().map(TensorType::to_proto),
            ..Default::default()
        };
        let value = Value {
            ty,
            ..Value::new(name)
        };
        let node = self.g.add_node(
            NodeKind::Input(Box::new(GraphInput { info, default })),
            vec![value],
        );
        self.define(id, pos, ValueId { node, slot: 0 })
    }

    /// Moves a parsed tensor's data into the pool.
    fn initializer(&mut self, mut t: proto::TensorProto) -> Initializer {
        match t.raw_data.take() {
            Some(raw) => Initializer {
                data: TensorData::Raw(self.g.pool.intern(raw)),
                shell: t,
            },
            None => Initializer {
                shell: t,
                data: TensorData::Inline,
            },
        }
    }

    /// `const %1: f32[4] = [..]`
    fn constant(&mut self, l: &mut Line) -> Result<(), ParseError> {
        l.word("const")?;
        let (id, pos) = l.value()?;
        l.punct(':')?;
        let t = l.tensor()?;
        l.end()?;
        let init = self.initializer(t);
        let ty = init.ty();
        let node = self.g.add_node(
            NodeKind::Initializer(init),
            vec![Value::typed(id.clone(), ty)],
        );
        self.named_later(id, pos, ValueId { node, slot: 0 })
    }

    /// `sparse %3: f32[100,100] nnz=12 #1a2b3c4d`
    fn sparse(&mut self, l: &mut Line) -> Result<(), ParseError> {
        l.word("sparse")?;
        let (id, pos) = l.value()?;
        l.punct(':')?;
        let s = l.sparse()?;
        l.end()?;
        let node = self.g.add_node(
            NodeKind::SparseInitializer(Box::new(s)),
            vec![Value::new(id.clone())],
        );
        self.named_later(id, pos, ValueId { node, slot: 0 })
    }

    fn named_later(&mut self, id: String, pos: Pos, v: ValueId) -> Result<(), ParseError> {
        self.unnamed.push((v, id.clone()));
        self.define(id, pos, v)
    }

    /// `output %9 "output0"`
    fn output(&mut self, l: &mut Line) -> Result<(), ParseError> {
        l.word("output")?;
        let (id, pos) = l.value()?;
        let v = self.lookup(&id, pos)?;
        let name_pos = l.pos();
        let name = l.utf8()?;
        l.end()?;
        self.outputs.push((v, name, name_pos));
        Ok(())
    }

    /// `%5: f32[..], _ = domain.Op(%0, _, %2) {a=1} captures(%3)  # name`
    fn op(&mut self, l: &mut Line) -> Result<(), ParseError> {
        let mut outputs: Vec<Option<(String, Pos, Option<TensorType>)>> = Vec::new();
        if l.is_punct('(') && l.peek2() == Some(&Tok::Punct(')')) {
            l.at += 2;
        } else {
            loop {
                if l.is_word("_") {
                    l.at += 1;
                    outputs.push(None);
                } else {
                    let (id, pos) = l.value().map_err(|_| {
                        l.expected(
                            "a value such as %0, '_', or a keyword (input, const, sparse, output)",
                        )
                    })?;
                    let ty = if l.eat_punct(':') {
                        Some(l.ty()?)
                    } else {
                        None
                    };
                    outputs.push(Some((id, pos, ty)));
                }
                if !l.eat_punct(',') {
                    break;
                }
            }
        }
        l.punct('=')?;
        let (domain, op_type) = op_name(l)?;
        l.punct('(')?;
        let mut inputs = Vec::new();
        if !l.eat_punct(')') {
            loop {
                if l.is_word("_") {
                    l.at += 1;
                    inputs.push(None);
                } else {
                    let (id, pos) = l.value().map_err(|_| l.expected("an input value or '_'"))?;
                    inputs.push(Some(self.lookup(&id, pos)?));
                }
                if l.eat_punct(')') {
                    break;
                }
                l.punct(',')?;
            }
        }
        let mut attributes = Vec::new();
        if l.eat_punct('{') && !l.eat_punct('}') {
            let mut seen = HashSet::new();
            loop {
                let pos = l.pos();
                let name = l.name()?;
                if !seen.insert(name.clone()) {
                    return Err(error_at(pos, format!("attribute '{name}' is given twice")));
                }
                l.punct('=')?;
                attributes.push(l.attr(&name)?);
                if l.eat_punct('}') {
                    break;
                }
                l.punct(',')?;
            }
        }
        let mut captures = Vec::new();
        if l.is_word("captures") {
            l.at += 1;
            l.punct('(')?;
            loop {
                let (id, pos) = l.value()?;
                captures.push(self.lookup(&id, pos)?);
                if l.eat_punct(')') {
                    break;
                }
                l.punct(',')?;
            }
        }
        let name = l.end()?.map(|c| comment_name(&c));
        let node_proto = proto::NodeProto {
            name,
            op_type: Some(op_type),
            domain: (!domain.is_empty()).then_some(domain),
            attribute: attributes,
            ..Default::default()
        };
        let values = outputs
            .iter()
            .map(|o| match o {
                Some((id, _, ty)) => Value {
                    ty: ty.clone(),
                    ..Value::new(id.clone())
                },
                None => Value::new(""),
            })
            .collect();
        let node: NodeId = self.g.add_op(OpNode::new(node_proto, 0), &inputs, values);
        for v in captures {
            self.g.connect(v, node, Port::Capture);
        }
        for (slot, o) in outputs.into_iter().enumerate() {
            if let Some((id, pos, _)) = o {
                self.named_later(
                    id,
                    pos,
                    ValueId {
                        node,
                        slot: slot as u32,
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Declares the outputs and gives every value its ONNX name.
    fn finish(mut self) -> Result<Graph, ParseError> {
        let mut output_names: HashMap<ValueId, String> = HashMap::new();
        for (v, name, pos) in &self.outputs {
            let current = &self.g.value(*v).name;
            let is_input = matches!(self.g.node(v.node).kind, NodeKind::Input(_));
            if is_input && current != name {
                return Err(error_at(*pos, format!("this value is graph input \"{current}\"; as a graph output it must keep that name")));
            }
            if let Some(other) = output_names.insert(*v, name.clone()) {
                if &other != name {
                    return Err(error_at(
                        *pos,
                        format!("this value is already graph output \"{other}\""),
                    ));
                }
            }
            if !is_input && self.input_names.contains_key(name) {
                return Err(error_at(
                    *pos,
                    format!("\"{name}\" is the name of a graph input"),
                ));
            }
        }
        let mut taken: HashSet<String> = self.input_names.keys().cloned().collect();
        taken.extend(output_names.values().cloned());
        for (v, id) in std::mem::take(&mut self.unnamed) {
            let name = match output_names.get(&v) {
                Some(name) => name.clone(),
                None => unique(&id, &mut taken),
            };
            self.set_name(v, name);
        }
        for (v, name, _) in self.outputs {
            let ty = self.g.value(v).ty.clone();
            let info = proto::ValueInfoProto {
                name: Some(name),
                r#type: ty.as_ref().map(TensorType::to_proto),
                ..Default::default()
            };
            self.g.add_output(v, info);
        }
        Ok(self.g)
    }

    /// Names a value, and the tensor behind a constant (encoders write that name too).
    fn set_name(&mut self, v: ValueId, name: String) {
        match &mut self.g.node_mut(v.node).kind {
            NodeKind::Initializer(init) => init.shell.name = Some(name.clone()),
            NodeKind::SparseInitializer(s) => {
                if let Some(values) = &mut s.values {
                    values.name = Some(name.clone());
                }
            }
            _ => {}
        }
        self.g.value_mut(v).name = name;
    }
}

/// `id`, or `id_1`, `id_2`… if taken; records the result as taken.
fn unique(id: &str, taken: &mut HashSet<String>) -> String {
    let mut name = id.to_string();
    let mut k = 1;
    while taken.contains(&name) {
        name = format!("{id}_{k}");
        k += 1;
    }
    taken.insert(name.clone());
    name
}

/// `Conv`, `com.microsoft.QLinearAdd` (domain before the last dot), or `"domain"."op"`.
fn op_name(l: &mut Line) -> Result<(String, String), ParseError> {
    match l.peek() {
        Some(Tok::Ident(w)) => {
            let w = w.clone();
            l.at += 1;
            Ok(match w.rsplit_once('.') {
                Some((d, op)) => (d.to_string(), op.to_string()),
                None => (String::new(), w),
            })
        }
        Some(Tok::Str(_)) => {
            let domain = l.utf8()?;
            l.punct('.')?;
            let op = l.utf8()?;
            Ok((domain, op))
        }
        _ => Err(l.expected("an op name such as Conv")),
    }
}

/// A node name from its trailing comment: quoted when the printer had to quote it.
fn comment_name(comment: &str) -> String {
    if comment.starts_with('"') {
        if let Ok(toks) = lex_line(comment, 0) {
            if let [Token {
                tok: Tok::Str(s), ..
            }] = toks.as_slice()
            {
                return String::from_utf8_lossy(s).into_owned();
            }
        }
    }
    comment.to_string()
}
