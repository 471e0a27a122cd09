//! External data: tensors whose bytes live in files beside the model.
//!
//! Reading is confined to the model's folder. A location that is absolute, climbs with `..`, or
//! reaches outside through a symbolic link is refused: a model is untrusted input, and the ONNX
//! loaders that followed such paths had to be fixed for it (CVE-2022-25882, CVE-2024-27318).
//!
//! Writing follows an [`ExternalPolicy`]. Data files are written to temporary files in the output
//! folder and renamed into place only when the whole model has been encoded (see `onnx::save`).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use tempfile::NamedTempFile;

use crate::proto::{self, tensor_proto::DataLocation};

const LOCATION: &str = "location";
const OFFSET: &str = "offset";
const LENGTH: &str = "length";

fn entry<'a>(t: &'a proto::TensorProto, key: &str) -> Option<&'a str> {
    t.external_data
        .iter()
        .find(|e| e.key() == key)
        .map(|e| e.value())
}

/// Reads external tensors of one model, confined to its folder.
pub struct ExternalReader {
    /// The model's folder, canonical; `None` when the model came from memory.
    dir: Option<PathBuf>,
    files: HashMap<PathBuf, Bytes>,
}

impl ExternalReader {
    /// A reader for a model stored in `dir`.
    pub fn in_dir(dir: &Path) -> Result<ExternalReader, String> {
        let dir =
            fs::canonicalize(dir).map_err(|e| format!("cannot resolve the model's folder: {e}"))?;
        Ok(ExternalReader {
            dir: Some(dir),
            files: HashMap::new(),
        })
    }

    /// A reader for a model decoded from memory: any external tensor is an error.
    pub fn none() -> ExternalReader {
        ExternalReader {
            dir: None,
            files: HashMap::new(),
        }
    }

    /// The bytes of an external tensor.
    pub fn read(&mut self, t: &proto::TensorProto) -> Result<Bytes, String> {
        let name = t.name();
        let location = entry(t, LOCATION)
            .ok_or_else(|| format!("tensor '{name}': external data without a location"))?;
        let Some(dir) = &self.dir else {
            return Err(format!(
                "tensor '{name}': external data '{location}' needs the model's folder (load the model from a file)"
            ));
        };
        let path = confined(dir, location)
            .map_err(|e| format!("tensor '{name}': external data '{location}': {e}"))?;
        let parse = |key: &str| -> Result<Option<usize>, String> {
            entry(t, key)
                .map(|v| {
                    v.parse::<usize>().map_err(|_| {
                        format!("tensor '{name}': external data {key} '{v}' is not a byte count")
                    })
                })
                .transpose()
        };
        let offset = parse(OFFSET)?.unwrap_or(0);
        let length = parse(LENGTH)?;
        let file = match self.files.get(&path) {
            Some(b) => b.clone(),
            None => {
                let b = Bytes::from(fs::read(&path).map_err(|e| {
                    format!("tensor '{name}': cannot read external data '{location}': {e}")
                })?);
                self.files.insert(path.clone(), b.clone());
                b
            }
        };
        let end = match length {
            Some(len) => offset.checked_add(len),
            None => Some(file.len()),
        };
        match end {
            Some(end) if offset <= end && end <= file.len() => Ok(file.slice(offset..end)),
            _ => Err(format!(
                "tensor '{name}': external data '{location}' has {} bytes, the tensor wants offset {offset} length {}",
                file.len(),
                length.map_or("to the end".to_string(), |l| l.to_string())
            )),
        }
    }
}

/// Resolves `location` inside `dir` (canonical), refusing anything that leaves it.
fn confined(dir: &Path, location: &str) -> Result<PathBuf, String> {
    let rel = Path::new(location);
    if location.is_empty() {
        return Err("empty location".into());
    }
    for c in rel.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(
                    "the location climbs out with '..'; it must stay inside the model's folder"
                        .into(),
                )
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(
                    "absolute locations are refused; it must be relative to the model's folder"
                        .into(),
                )
            }
        }
    }
    let path = fs::canonicalize(dir.join(rel)).map_err(|e| format!("cannot open: {e}"))?;
    if !path.starts_with(dir) {
        return Err(
            "the location leads outside the model's folder (through a symbolic link)".into(),
        );
    }
    if !path.is_file() {
        return Err("not a regular file".into());
    }
    Ok(path)
}

/// Where tensor data goes when a model is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalPolicy {
    /// External tensors stay external, in files of the same names beside the output.
    Keep,
    /// Every tensor is stored inside the model file.
    Inline,
    /// Tensors of at least `threshold` bytes go to `file` beside the output; others are inlined.
    Externalize { threshold: usize, file: String },
}

/// Collects external tensor data while a model is encoded; [`ExternalWriter::commit`] renames the
/// files into place.
pub struct ExternalWriter {
    policy: ExternalPolicy,
    dir: PathBuf,
    files: Vec<(String, NamedTempFile, u64)>,
}

impl ExternalWriter {
    /// A writer for a model that will be written into `dir`.
    pub fn new(policy: ExternalPolicy, dir: &Path) -> ExternalWriter {
        ExternalWriter {
            policy,
            dir: dir.to_path_buf(),
            files: Vec::new(),
        }
    }

    /// Puts a tensor's bytes into `t`: inline as `raw_data`, or appended to a data file with the
    /// location entries updated. `was_external` says where the model had it.
    pub fn place(
        &mut self,
        t: &mut proto::TensorProto,
        bytes: &Bytes,
        was_external: bool,
    ) -> Result<(), String> {
        let location = match &self.policy {
            ExternalPolicy::Keep if was_external => entry(t, LOCATION).map(str::to_string),
            ExternalPolicy::Externalize { threshold, file } if bytes.len() >= *threshold => {
                Some(file.clone())
            }
            _ => None,
        };
        let Some(location) = location else {
            if was_external {
                t.external_data.clear();
                t.data_location = None;
            }
            t.raw_data = Some(bytes.clone());
            return Ok(());
        };
        let offset = self.append(&location, bytes)?;
        set_entry(t, LOCATION, &location);
        set_entry(t, OFFSET, &offset.to_string());
        set_entry(t, LENGTH, &bytes.len().to_string());
        t.data_location = Some(DataLocation::External as i32);
        t.raw_data = None;
        Ok(())
    }

    fn append(&mut self, location: &str, bytes: &[u8]) -> Result<u64, String> {
        let index = match self.files.iter().position(|(l, _, _)| l == location) {
            Some(i) => i,
            None => {
                let target = self.dir.join(location);
                let parent = target.parent().unwrap_or(&self.dir).to_path_buf();
                fs::create_dir_all(&parent)
                    .map_err(|e| format!("cannot create '{}': {e}", parent.display()))?;
                let tmp = NamedTempFile::new_in(&parent).map_err(|e| {
                    format!(
                        "cannot create a temporary file in '{}': {e}",
                        parent.display()
                    )
                })?;
                self.files.push((location.to_string(), tmp, 0));
                self.files.len() - 1
            }
        };
        let (_, file, len) = &mut self.files[index];
        let offset = *len;
        file.write_all(bytes)
            .map_err(|e| format!("cannot write external data '{location}': {e}"))?;
        *len += bytes.len() as u64;
        Ok(offset)
    }

    /// Flushes and renames every data file into place.
    pub fn commit(self) -> Result<(), String> {
        for (location, file, _) in self.files {
            file.as_file()
                .sync_all()
                .map_err(|e| format!("cannot write external data '{location}': {e}"))?;
            file.persist(self.dir.join(&location))
                .map_err(|e| format!("cannot write external data '{location}': {}", e.error))?;
        }
        Ok(())
    }
}

fn set_entry(t: &mut proto::TensorProto, key: &str, value: &str) {
    match t.external_data.iter_mut().find(|e| e.key() == key) {
        Some(e) => e.value = Some(value.to_string()),
        None => t.external_data.push(proto::StringStringEntryProto {
            key: Some(key.to_string()),
            value: Some(value.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(dir.path()).unwrap();
        fs::write(base.join("w.bin"), [0u8; 4]).unwrap();
        assert!(confined(&base, "w.bin").is_ok());
        assert!(confined(&base, "./w.bin").is_ok());
        assert!(confined(&base, "../w.bin").unwrap_err().contains(".."));
        assert!(confined(&base, "/etc/passwd")
            .unwrap_err()
            .contains("absolute"));
        assert!(confined(&base, "").is_err());
        assert!(confined(&base, "missing.bin").is_err());
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            fs::write(outside.path().join("secret"), b"x").unwrap();
            std::os::unix::fs::symlink(outside.path().join("secret"), base.join("link.bin"))
                .unwrap();
            assert!(confined(&base, "link.bin")
                .unwrap_err()
                .contains("symbolic link"));
        }
    }
}
