//! The crate's error type, with a stable code per kind of failure.

/// What can go wrong in the bridge and the SQLite store.
///
/// Each variant has a stable [`code`](Error::code) for logs and tests; messages may change.
///
/// # Examples
/// ```
/// use stateloom_bridge::Error;
///
/// let error = Error::FlushStarvation { deferrals: 1000, queued: 3 };
/// assert_eq!(error.code(), "FLUSH_STARVATION");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store was not created with this coordinator's [`BatchUpdates`](crate::BatchUpdates):
    /// its notifications would reach atoms one by one, during its dispatch.
    #[error(
        "store is not wired to batch coordinator {expected} (code BRIDGE_UNWIRED): create the store with `coordinator.batch_updates()`"
    )]
    NotWired {
        /// The coordinator that expected to be wired.
        expected: u64,
        /// The coordinator the store is wired to, if any.
        found: Option<u64>,
    },
    /// The external dispatch never ended while updates waited to be flushed.
    #[error(
        "flush starved: the external store was still dispatching after {deferrals} deferrals, {queued} updates queued (code FLUSH_STARVATION)"
    )]
    FlushStarvation {
        /// How many times the flush was put off.
        deferrals: u32,
        /// How many atom updates are waiting.
        queued: usize,
    },
    /// The dispose pool (or the bridge that owns it) was disposed.
    #[error("the dispose pool was disposed (code POOL_DISPOSED)")]
    PoolDisposed,
    /// The SQLite store was asked to rebuild while it dispatches a change.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("the store is dispatching a change; rebuild after it (code BUSY)")]
    Busy,
    /// Commits made while settling kept making more commits: the rest were not applied.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("commits made while settling did not stop after {rounds} rounds (code SETTLE_LOOP)")]
    SettleLoop {
        /// How many rounds ran.
        rounds: u32,
    },
    /// An error from SQLite.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("sqlite: {0} (code SQLITE)")]
    Sqlite(#[from] rusqlite::Error),
    /// The file is not a SQLite database, or is damaged. It was not changed.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("{path} is not a readable event store: {source} (code CORRUPT_DATABASE)")]
    Corrupt {
        /// The file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of the store format or of the user's schema.
    /// It was not changed.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("the database has {what} version {found}, newer than {supported} (code NEWER_SCHEMA)")]
    NewerSchema {
        /// `"format"` (the store's own tables) or `"schema"` (the user's tables).
        what: &'static str,
        /// The version in the file.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
    /// A materializer failed; its transaction was rolled back.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("materializing event `{event}` failed: {source} (code MATERIALIZE)")]
    Materialize {
        /// The event's name.
        event: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// An event could not be encoded or decoded as JSON.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[error("event {seq:?} could not be encoded or decoded: {source} (code EVENT_CODEC)")]
    EventCodec {
        /// The event's sequence number, when it was read from the log.
        seq: Option<i64>,
        /// What serde_json said.
        source: serde_json::Error,
    },
}

impl Error {
    /// The stable code of this kind of error.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stateloom_bridge::Error::PoolDisposed.code(), "POOL_DISPOSED");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotWired { .. } => "BRIDGE_UNWIRED",
            Error::FlushStarvation { .. } => "FLUSH_STARVATION",
            Error::PoolDisposed => "POOL_DISPOSED",
            #[cfg(feature = "sqlite")]
            Error::Busy => "BUSY",
            #[cfg(feature = "sqlite")]
            Error::SettleLoop { .. } => "SETTLE_LOOP",
            #[cfg(feature = "sqlite")]
            Error::Sqlite(_) => "SQLITE",
            #[cfg(feature = "sqlite")]
            Error::Corrupt { .. } => "CORRUPT_DATABASE",
            #[cfg(feature = "sqlite")]
            Error::NewerSchema { .. } => "NEWER_SCHEMA",
            #[cfg(feature = "sqlite")]
            Error::Materialize { .. } => "MATERIALIZE",
            #[cfg(feature = "sqlite")]
            Error::EventCodec { .. } => "EVENT_CODEC",
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
