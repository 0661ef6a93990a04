//! Storage backends: where persisted bytes live. The trait and the in-memory backend.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::error::Result;

/// A place to keep persisted state: bytes under string keys.
///
/// Implement it for a database, a browser-like key-value store or a remote service. A failed
/// operation returns an error (usually [`Error::Storage`](crate::Error::Storage)); `persist`
/// reports it through its error hook.
///
/// # Examples
/// ```
/// use std::{cell::RefCell, collections::BTreeMap};
/// use stateloom_store::{Result, Storage};
///
/// /// A backend that keeps data in a sorted map.
/// #[derive(Default)]
/// struct Sorted(RefCell<BTreeMap<String, Vec<u8>>>);
///
/// impl Storage for Sorted {
///     fn load(&self, key: &str) -> Result<Option<Vec<u8>>> {
///         Ok(self.0.borrow().get(key).cloned())
///     }
///     fn save(&self, key: &str, data: &[u8]) -> Result<()> {
///         self.0.borrow_mut().insert(key.to_owned(), data.to_vec());
///         Ok(())
///     }
///     fn remove(&self, key: &str) -> Result<()> {
///         self.0.borrow_mut().remove(key);
///         Ok(())
///     }
/// }
///
/// let s = Sorted::default();
/// s.save("a", b"1")?;
/// assert_eq!(s.load("a")?, Some(b"1".to_vec()));
/// # Ok::<(), stateloom_store::Error>(())
/// ```
pub trait Storage {
    /// The bytes stored under `key`, or `None` if there are none.
    ///
    /// # Errors
    /// If the backend cannot be read.
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Stores `data` under `key`, replacing what was there. A failed save should leave the
    /// previous data in place.
    ///
    /// # Errors
    /// If the backend cannot be written.
    fn save(&self, key: &str, data: &[u8]) -> Result<()>;

    /// Removes the data under `key`; removing a missing key is not an error.
    ///
    /// # Errors
    /// If the backend cannot be written.
    fn remove(&self, key: &str) -> Result<()>;
}

impl<T: Storage + ?Sized> Storage for Rc<T> {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>> {
        (**self).load(key)
    }

    fn save(&self, key: &str, data: &[u8]) -> Result<()> {
        (**self).save(key, data)
    }

    fn remove(&self, key: &str) -> Result<()> {
        (**self).remove(key)
    }
}

/// Storage in memory, for tests and for state that should survive a store but not the
/// process. Clones share the same map, so a test can keep one to look inside.
///
/// # Examples
/// ```
/// use stateloom_store::{MemoryStorage, Storage};
///
/// let storage = MemoryStorage::new();
/// let view = storage.clone();
/// storage.save("k", b"data")?;
/// assert_eq!(view.load("k")?, Some(b"data".to_vec()));
/// storage.remove("k")?;
/// assert!(view.is_empty());
/// # Ok::<(), stateloom_store::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct MemoryStorage {
    entries: Rc<RefCell<HashMap<String, Vec<u8>>>>,
}

impl MemoryStorage {
    /// Creates an empty storage.
    ///
    /// # Examples
    /// See [`MemoryStorage`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no key holds data.
    ///
    /// # Examples
    /// See [`MemoryStorage`].
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }
}

impl Storage for MemoryStorage {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    fn save(&self, key: &str, data: &[u8]) -> Result<()> {
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), data.to_vec());
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.entries.borrow().keys().cloned().collect();
        keys.sort();
        f.debug_struct("MemoryStorage")
            .field("keys", &keys)
            .finish()
    }
}
