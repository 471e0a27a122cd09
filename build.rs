//! Generates the ONNX protobuf types from `proto/onnx.proto`.
//!
//! protox compiles the schema in pure Rust, so no `protoc` is needed on the machine. Every `bytes`
//! field is generated as `bytes::Bytes`: decoding from a `Bytes` buffer then slices it instead of
//! copying, which is how weights stay zero-copy from file to IR.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let descriptors = protox::compile(["proto/onnx.proto"], ["proto"])?;
    prost_build::Config::new()
        .bytes(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
