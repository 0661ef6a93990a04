//! The file backend: one file per key in a directory, replaced atomically on every save.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::storage::Storage;
use crate::error::{Error, Result};

/// Storage in files: the data for key `k` is the file `k` in a directory.
///
/// A save never leaves a half-written file: the data goes to a temporary file
/// `.<key>.<process id>.tmp` in the same directory, which is flushed to disk (`fsync`) and
/// then renamed over the old file; on Unix the directory is synced too, so the rename itself
/// survives a crash. If any step fails the old file is left as it was and the temporary file
/// is removed.
///
/// Keys must be plain file names: not empty, no path separators, no NUL, not starting with a
/// dot (those names are kept for temporary files).
///
/// # Examples
/// ```
/// use stateloom_store::{FileStorage, Storage};
///
/// let dir = tempfile::tempdir().unwrap();
/// let storage = FileStorage::new(dir.path());
/// storage.save("settings.json", b"{}")?;
/// assert_eq!(std::fs::read(dir.path().join("settings.json")).unwrap(), b"{}");
/// assert_eq!(storage.load("missing")?, None);
/// # Ok::<(), stateloom_store::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    /// Storage in `dir`, which must exist when data is saved.
    ///
    /// # Examples
    /// See [`FileStorage`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file that holds `key`'s data.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if `key` is not a plain file name.
    ///
    /// # Examples
    /// ```
    /// let storage = stateloom_store::FileStorage::new("/var/lib/app");
    /// assert_eq!(storage.path("todos")?, std::path::Path::new("/var/lib/app/todos"));
    /// assert!(storage.path("../etc/passwd").is_err());
    /// # Ok::<(), stateloom_store::Error>(())
    /// ```
    pub fn path(&self, key: &str) -> Result<PathBuf> {
        let reason = if key.is_empty() {
            Some("a key must not be empty")
        } else if key.contains(['/', '\\', '\0']) {
            Some("a key must be a plain file name, without separators")
        } else if key.starts_with('.') {
            Some("a key must not start with a dot")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidKey {
                key: key.to_owned(),
                reason,
            }),
            None => Ok(self.dir.join(key)),
        }
    }

    /// The temporary file a save of `key` writes first.
    fn temp_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!(".{key}.{}.tmp", std::process::id()))
    }
}

impl Storage for FileStorage {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(storage_error(key, "load", source)),
        }
    }

    fn save(&self, key: &str, data: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        let temp = self.temp_path(key);
        write_atomically(&temp, &path, data).map_err(|source| {
            // Best effort: a temporary file that could not be renamed is garbage.
            let _ = fs::remove_file(&temp);
            storage_error(key, "save", source)
        })
    }

    fn remove(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir).map_err(|e| storage_error(key, "remove", e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(storage_error(key, "remove", source)),
        }
    }
}

/// Writes `data` to `temp`, syncs it, renames it to `path` and syncs the directory.
fn write_atomically(temp: &Path, path: &Path, data: &[u8]) -> io::Result<()> {
    let mut file = File::create(temp)?;
    file.write_all(data)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp, path)?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Makes a rename or removal in `dir` durable, where the platform supports it.
fn sync_dir(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

fn storage_error(key: &str, operation: &'static str, source: io::Error) -> Error {
    Error::Storage {
        key: key.to_owned(),
        operation,
        source,
    }
}
