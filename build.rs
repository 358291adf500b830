//! Compiles `proto/order.proto` with prost and adds the protobuf JSON mapping
//! (pbjson) so commands can arrive as JSON and events can be printed as JSON.
//!
//! `protoc` is taken from `$PROTOC` when set, otherwise from
//! `protoc-bin-vendored`, so a fresh machine builds without a system protoc.

use std::{
    env,
    error::Error,
    path::{Path, PathBuf},
};

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    // embed_migrations! reads this folder at compile time.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=PROTOC");
    // Scratch databases copy a template per schema version: the version is
    // the migrations' content, not just their names.
    println!(
        "cargo:rustc-env=MIGRATIONS_FINGERPRINT={:016x}",
        fingerprint("migrations".as_ref())?
    );

    let protoc = match env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let well_known = protoc_bin_vendored::include_path()?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("order_descriptor.bin");

    let mut config = prost_build::Config::new();
    config
        .protoc_executable(protoc)
        .file_descriptor_set_path(&descriptor_path)
        .compile_well_known_types()
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_protos(
            &["proto/order.proto"],
            &[PathBuf::from("proto"), well_known],
        )?;

    let descriptors = std::fs::read(descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        // Print zero values too (`"sequence": "0"`), so JSON readers see every field.
        .emit_fields()
        .build(&[".orders.v1"])?;
    Ok(())
}

/// FNV-1a over every file under `dir`, in path order: names and bytes.
fn fingerprint(dir: &Path) -> Result<u64, Box<dyn Error>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(next)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for file in files {
        let name = file.to_string_lossy().into_owned().into_bytes();
        for byte in name.iter().chain(std::fs::read(&file)?.iter()) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(hash)
}
