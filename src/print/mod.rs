//! The text IR: one op per line, the snapshot medium and the language of pass cases.
//!
//! ```text
//! input %0 "images": f32[1,3,160,160]
//! const %1: f32[4] = [0.5, 1.0, 2.0, 3.0]
//! const %2: i8[16,3,3,3] #3f9a1c2e
//! %3: f32[1,16,80,80] = Conv(%0, %2, _) {group=1, kernel_shape=[3,3], strides=[2,2]}  # /model.0/conv/Conv
//! %4, %5 = Split(%3) {axis=1}
//! %6 = com.microsoft.FastGelu(%4, %1)
//! output %6 "output0"
//! ```
//!
//! **Canonical.** [`print_graph`] numbers values `%0…%n` in print order: graph inputs (declaration
//! order), then constants (declaration order), then ops in `Graph::op_order()`. Intermediate ONNX
//! names are not printed (exporters scramble them); graph inputs and outputs keep theirs, quoted,
//! because they are the model's signature. Attributes are sorted by name; a node's name is the
//! trailing comment. Types are printed when known. Two graphs that differ only in intermediate
//! names or node/initializer storage print the same.
//!
//! Lists inside attributes are written without blanks (`[1,1]`), element lists of constants with
//! them (`[0.5, 1.0]`). `--dump-after PASS` prints this text too.
//!
//! **Constants.** At most 8 elements are written out (floats always with a `.` or an exponent,
//! integers plain, `true`/`false`, quoted strings); larger tensors, and element types that have no
//! written form (f8, 4-bit, complex), print the low 32 bits of the xxh3 content hash of their
//! little-endian bytes. Hand-written text may also say `= random(7)` (deterministic data: floats
//! in [-1, 1), integers over their full range), `= zeros` or `= ones`; a printed `#hash` parses to
//! data seeded by the hash and prints back as the same hash (see `tensor_text`).
//!
//! **Notations for the rarer parts.**
//! - A missing optional input is `_`, up to the node's arity (trailing ones included).
//! - An optional output the model left unnamed (`""`) and nothing reads is `_`, unnumbered.
//!   An op with no outputs at all is written `() = Op(..)`.
//! - A graph input with a default value (IR < 4 models list weights as inputs): the input line
//!   ends with `default <f32[4] = [..]>`; it is an input, not a constant, and is numbered as one.
//! - A sparse initializer: `sparse %3: f32[100,100] nnz=12 #1a2b3c4d`, the hash over the values'
//!   and the indices' bytes. Parsed, it holds stand-in values at the first `nnz` linear positions.
//! - A subgraph attribute is shown, not printed: `body=<graph "loop_body": 4 nodes>`; the values
//!   its node reads by name from this graph follow the attributes as `captures(%3, %4)`. Parsed,
//!   it becomes a graph of that name holding that many stand-in nodes (op type `Opaque`).
//! - Tensor attributes: `value=<f32[1] = [0.0]>` or `<f32[16] #3f9a1c2e>`; sparse ones
//!   `<sparse f32[4,4] nnz=2 #..>`; type attributes `<type f32[1,2]>` (`<type ?>` for non-tensor
//!   types); empty lists `[]` (INTS) or with their kind, `floats[]`, `strings[]`, `tensors[]`…
//! - Names that are not plain words (dim parameters, attribute names, ops, domains) are quoted;
//!   so is a node name that would not read back as written (surrounding spaces, control
//!   characters, a leading quote).
//!
//! **Diffs.** [`print_graph_numbered`] prints a rewritten graph with the numbers [`print_graph`]
//! gave it before the rewrite (new values numbered after the last), so a before/after diff shows
//! the lines a pass touched and not every line behind a removed value. Pass snapshots use it.
//!
//! Room is left after a value's type for quantization (`q(s=0.0039, zp=-128)`) and after an op's
//! call for placement (`@npu(r0)`); neither exists yet.
//!
//! **Grammar** (EBNF; `NL` ends a line, blanks separate tokens, `#`-comment lines are ignored):
//! ```text
//! graph       = { [ statement ] [ comment ] NL } ;
//! statement   = input | const | sparse | op | output ;
//! input       = "input" value string [ ":" type ] [ "default" "<" tensor ">" ] ;
//! const       = "const" value ":" tensor ;
//! sparse      = "sparse" value ":" sparse_body ;
//! output      = "output" value string ;
//! op          = results "=" op_name "(" [ arg { "," arg } ] ")" [ attrs ] [ captures ] ;
//! results     = "(" ")" | result { "," result } ;
//! result      = value [ ":" type ] | "_" ;
//! arg         = value | "_" ;
//! op_name     = word | string "." string ;        (* word: domain is what precedes the last dot *)
//! attrs       = "{" [ name "=" attr_value { "," name "=" attr_value } ] "}" ;
//! captures    = "captures" "(" value { "," value } ")" ;
//! type        = dtype [ "[" [ dim { "," dim } ] "]" ] ;   (* no brackets: rank unknown *)
//! dim         = int | "?" | name ;
//! tensor      = type body ;                       (* every dim a known size *)
//! body        = "=" ( "[" [ scalar { "," scalar } ] "]" | "random" "(" int ")" | "zeros" | "ones" )
//!             | hash ;
//! sparse_body = type "nnz" "=" int hash ;
//! attr_value  = item | [ list_kind ] "[" [ item { "," item } ] "]" ;
//! item        = int | float | string | "<" literal ">" ;
//! literal     = tensor | "graph" string ":" int ( "node" | "nodes" ) | "sparse" sparse_body
//!             | "type" ( type | "?" ) | "undefined" ;
//! list_kind   = "ints" | "floats" | "strings" | "tensors" | "graphs" | "sparse_tensors"
//!             | "type_protos" ;
//! scalar      = int | float | "true" | "false" | string ;
//! name        = word | string ;
//! dtype       = "f32" | "f16" | "bf16" | "f64" | "i8" | "u8" | "i16" | … | "bool" | "str"
//!             | "dtype" int ;                     (* codes this build does not name *)
//! value       = "%" ( letter | digit | "_" | "." ) { letter | digit | "_" | "." } ;
//! word        = ( letter | "_" ) { letter | digit | "_" | "." } ;
//! int         = [ "-" ] digit { digit } ;
//! float       = [ "-" ] digit { digit } ( "." { digit } [ exponent ] | exponent )
//!             | [ "-" ] "inf" | "NaN" ;
//! exponent    = ( "e" | "E" ) [ "+" | "-" ] digit { digit } ;
//! string      = '"' { char | "\\" ( '"' | "\\" | "n" | "r" | "t" | "x" hex hex ) } '"' ;
//! hash        = "#" hex hex hex hex hex hex hex hex ;   (* no blank after "#" *)
//! comment     = "#" [ not_hex { char } ] ;        (* on an op line: the node's name *)
//! ```
//! An integer where a FLOAT/FLOATS attribute is meant must be written as a float (`1.0`): the
//! literal decides the attribute's type (`1` INT, `1.0`/`1e-3` FLOAT, `"s"` STRING, `[1,2]` INTS,
//! `[1.0]` FLOATS, `["a"]` STRINGS, `<f32[..] = [..]>` TENSOR).

mod lexer;
mod parser;
mod printer;
pub(crate) mod synth;
mod tensor_text;

#[cfg(test)]
mod tests;

pub use parser::{parse_graph, ParseError, STAND_IN_OP};
pub use printer::{print_graph, print_graph_numbered, Numbering};
