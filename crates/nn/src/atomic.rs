//! Writing a file so that its name only ever holds a complete file: the
//! bytes go to a temporary file beside it, are flushed to disk, and the
//! temporary is renamed over the name. A crash, a full disk or a kill
//! leaves the old file (or none); a failure removes the temporary.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary a write of `path` goes through: hidden, beside it, and
/// named for this process so two writers never share one.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// Writes `bytes` to `path` atomically (see the module docs).
///
/// ```
/// let path = std::env::temp_dir().join(format!("gradus-atomic-doc-{}", std::process::id()));
/// gradus_nn::write_atomic(&path, b"epoch,loss\n").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"epoch,loss\n");
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
/// The I/O error of creating, writing, flushing or renaming; the temporary
/// is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("gradus-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.csv");
        write_atomic(&path, b"old").unwrap();
        // A directory where the file should go makes the rename fail.
        let blocked = dir.join("blocked");
        std::fs::create_dir_all(blocked.join("inner")).unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
