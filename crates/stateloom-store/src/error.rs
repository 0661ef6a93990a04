//! The crate's error type.

use std::io;

/// Everything that can go wrong in a store: persistence failures, mostly.
///
/// Writes to a live store cannot fail; a write to a destroyed store hands its value back
/// instead (see [`Store::try_set_state`](crate::Store::try_set_state)).
///
/// # Examples
/// ```
/// use stateloom_store::{Error, MemoryStorage, Storage};
///
/// let storage = MemoryStorage::new();
/// storage.save("settings", b"v1\n{}")?;
/// assert_eq!(storage.load("settings")?, Some(b"v1\n{}".to_vec()));
/// let err = Error::Decode { key: "settings".into(), message: "expected a value".into() };
/// assert_eq!(err.to_string(), "persisted data `settings` could not be decoded: expected a value");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store was destroyed; it can no longer be read.
    #[error("the store was destroyed")]
    Destroyed,
    /// A storage backend failed to load, save or remove data.
    #[error("storage `{key}`: {operation} failed: {source}")]
    Storage {
        /// The storage key.
        key: String,
        /// `"load"`, `"save"` or `"remove"`.
        operation: &'static str,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },
    /// A storage key that the backend cannot use (for files: one that is not a plain file name).
    #[error("invalid storage key `{key}`: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Stored data could not be decoded: it is corrupt or not in the codec's format.
    #[error("persisted data `{key}` could not be decoded: {message}")]
    Decode {
        /// The storage key.
        key: String,
        /// What the codec reported.
        message: String,
    },
    /// The state could not be encoded.
    #[error("state for `{key}` could not be encoded: {message}")]
    Encode {
        /// The storage key.
        key: String,
        /// What the codec reported.
        message: String,
    },
    /// Stored data was written by a newer version of the program.
    #[error("persisted data `{key}` has version {found}, newer than the store's version {current}")]
    NewerVersion {
        /// The storage key.
        key: String,
        /// The version found in storage.
        found: u32,
        /// The version the store was configured with.
        current: u32,
    },
    /// Stored data of an older version could not be migrated.
    #[error("persisted data `{key}` could not be migrated from version {from} to {to}: {message}")]
    Migrate {
        /// The storage key.
        key: String,
        /// The version found in storage.
        from: u32,
        /// The version the store was configured with.
        to: u32,
        /// What the migration reported.
        message: String,
    },
    /// Saving is paused because hydration failed; the stored data is kept as it was.
    #[error(
        "saving `{key}` is paused because its stored data could not be hydrated; call `Persist::resume` to allow overwriting it"
    )]
    Paused {
        /// The storage key.
        key: String,
    },
}

/// A crate-wide `Result` defaulting to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
