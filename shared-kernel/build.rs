//! Compiles the gRPC APIs in `proto/` with protox (pure Rust: the build
//! machines have no `protoc`), generates their tonic servers and clients,
//! and writes the descriptor set to OUT_DIR for server reflection.

use std::path::PathBuf;

const PROTOS: &[&str] = &["proto/line/v1/line.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("line_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
