//! Reading and writing `.onnx` files. Rewrites nothing: what it reads, it writes back.

pub mod decode;
pub mod encode;
pub mod external;

use std::fs;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use prost::Message;
use tempfile::NamedTempFile;

pub use external::ExternalPolicy;
use external::{ExternalReader, ExternalWriter};

use crate::error::Error;
use crate::ir::Model;

/// protobuf cannot encode a message of 2 GiB or more.
const PROTOBUF_LIMIT: usize = i32::MAX as usize;

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Loads a model file; external data is read from (and confined to) the file's folder.
pub fn load(path: &Path) -> Result<Model, Error> {
    let bad = |reason: String| Error::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut external = ExternalReader::in_dir(folder(path)).map_err(bad)?;
    decode::decode_model(Bytes::from(bytes), &mut external).map_err(bad)
}

/// Writes a model atomically: everything goes to temporary files in the target folder, which are
/// renamed into place only when all of it was written. A failure leaves no partial output and
/// never touches an existing file (so `-o` may name the input).
pub fn save(model: &Model, path: &Path, policy: ExternalPolicy) -> Result<(), Error> {
    let fail = |reason: String| Error::Output {
        path: path.to_path_buf(),
        reason,
    };
    check_output_folder(path)?;
    let mut external = ExternalWriter::new(policy, folder(path));
    let bytes = encode::encode_model(model, &mut external)
        .map_err(fail)?
        .encode_to_vec();
    if bytes.len() > PROTOBUF_LIMIT {
        return Err(fail(format!(
            "the model would be {} bytes, over protobuf's 2 GiB limit; store weights outside with --external-data externalize",
            bytes.len()
        )));
    }
    external.commit().map_err(fail)?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |reason: String| Error::Output {
        path: path.to_path_buf(),
        reason,
    };
    check_output_folder(path)?;
    let mut tmp = NamedTempFile::new_in(folder(path))
        .map_err(|e| fail(format!("cannot create a temporary file: {e}")))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail(format!("cannot write: {e}")))?;
    set_permissions_like(tmp.path(), path);
    tmp.persist(path)
        .map_err(|e| fail(format!("cannot write: {}", e.error)))?;
    Ok(())
}

/// Fails unless the folder `path` would be written into exists (checked before any work is done).
pub fn check_output_folder(path: &Path) -> Result<(), Error> {
    let dir = folder(path);
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::Output {
            path: path.to_path_buf(),
            reason: format!("the output folder '{}' does not exist", dir.display()),
        })
    }
}

/// A new file gets the usual 0644 rather than the temporary file's 0600; a replaced file keeps its mode.
fn set_permissions_like(tmp: &Path, target: &Path) {
    let perms = match fs::metadata(target) {
        Ok(m) => m.permissions(),
        Err(_) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::Permissions::from_mode(0o644)
            }
            #[cfg(not(unix))]
            {
                return;
            }
        }
    };
    // Best effort: a file system without modes still gets a correct model.
    let _ = fs::set_permissions(tmp, perms);
}

/// Decodes a model from memory (external data is refused: there is no folder to read it from).
pub fn decode_bytes(bytes: Bytes) -> Result<Model, String> {
    decode::decode_model(bytes, &mut ExternalReader::none())
}

/// Encodes a model to memory with every tensor inline.
pub fn encode_bytes(model: &Model) -> Result<Vec<u8>, String> {
    let mut external = ExternalWriter::new(ExternalPolicy::Inline, Path::new("."));
    Ok(encode::encode_model(model, &mut external)?.encode_to_vec())
}
