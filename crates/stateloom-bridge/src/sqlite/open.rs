//! Opening a store: the builder, checking a database before touching it, creating or
//! migrating its tables, and re-materializing them from the log.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::access::AccessCache;
use super::{
    Durability, FORMAT_VERSION, Inner, SqliteStore, SqliteStoreBuilder, StoreStats, Writer,
};
use crate::error::{Error, Result};
use crate::external::BatchUpdates;

const STORE_TABLES: &str = "
    CREATE TABLE stateloom_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE stateloom_events (
        seq INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        payload TEXT NOT NULL
    );";

impl<E: Serialize + DeserializeOwned + 'static> SqliteStoreBuilder<E> {
    /// Adds SQL that creates a table the materializer writes (and its indexes, triggers or
    /// views: several statements may be given). Run once, when the database is created or
    /// re-materialized.
    ///
    /// # Examples
    /// See [`SqliteStore`].
    pub fn table(mut self, sql: impl Into<String>) -> Self {
        self.tables.push(sql.into());
        self
    }

    /// Sets the function that turns an event into writes. It runs inside the commit's
    /// transaction; an error rolls the commit back. It may read the current state through
    /// the [`Writer`]; for [`rebuild`](SqliteStore::rebuild) to give the same state it must
    /// depend on nothing but the event and that state.
    ///
    /// # Examples
    /// See [`SqliteStore`].
    pub fn materializer(
        mut self,
        materialize: impl Fn(&E, &Writer<'_>) -> rusqlite::Result<()> + 'static,
    ) -> Self {
        self.materializer = Some(Rc::new(materialize));
        self
    }

    /// Sets the version of the tables and materializer (default 1). Opening a database
    /// materialized by a lower version re-materializes it from the log; a higher version
    /// is refused with [`Error::NewerSchema`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("events.db");
    /// stateloom_bridge::SqliteStore::<()>::builder().schema_version(2).open(&path)?;
    /// let error = stateloom_bridge::SqliteStore::<()>::builder().open(&path).unwrap_err();
    /// assert_eq!(error.code(), "NEWER_SCHEMA");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema_version(mut self, version: i64) -> Self {
        self.schema_version = version;
        self
    }

    /// Sets the [`BatchUpdates`] the store runs its notification passes in, usually
    /// [`BatchCoordinator::batch_updates`](crate::BatchCoordinator::batch_updates).
    ///
    /// # Examples
    /// See [`StoreBridge`](crate::StoreBridge).
    pub fn batch_updates(mut self, batch_updates: BatchUpdates) -> Self {
        self.batch_updates = batch_updates;
        self
    }

    /// Sets how commits to a file survive crashes (default [`Durability::Normal`]).
    ///
    /// # Examples
    /// See [`Durability`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Opens (or creates) the store in the database file at `path`, in WAL mode.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the file is not a SQLite database or is damaged, and
    /// [`Error::NewerSchema`] if it was written by a newer format or schema version: the
    /// file is not changed. [`Error::Sqlite`] if it cannot be opened (a missing directory,
    /// no permission). A failing materializer while re-materializing an older schema
    /// gives its error and leaves the file as it was.
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::{SqlQuery, SqliteStore};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("events.db");
    /// let open = || {
    ///     SqliteStore::<i64>::builder()
    ///         .table("CREATE TABLE n (v INTEGER)")
    ///         .materializer(|v, db| db.execute("INSERT INTO n VALUES (?1)", [v]).map(drop))
    ///         .open(&path)
    /// };
    /// open()?.commit(7).map_err(|e| e.error)?;
    /// let store = open()?; // nothing is replayed: the tables were committed with the log
    /// assert_eq!(store.query(&SqlQuery::<i64>::value("SELECT v FROM n", []))?, 7);
    /// assert_eq!(store.stats().replayed, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(self, path: impl AsRef<Path>) -> Result<SqliteStore<E>> {
        let path = path.as_ref();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // Another connection writing the same file makes a commit wait, not fail at once.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        self.open_connection(conn, Some(path.to_path_buf()))
    }

    /// Opens a new store in memory.
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails, or the table SQL is invalid.
    ///
    /// # Examples
    /// See [`SqliteStore`].
    pub fn open_in_memory(self) -> Result<SqliteStore<E>> {
        let conn = Connection::open_in_memory()?;
        self.open_connection(conn, None)
    }

    fn open_connection(
        self,
        mut conn: Connection,
        path: Option<PathBuf>,
    ) -> Result<SqliteStore<E>> {
        let label = path
            .as_ref()
            .map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
        // Look before writing anything: a damaged or newer database stays as it is.
        let found = read_versions(&conn).map_err(|source| {
            if is_damaged(&source) {
                Error::Corrupt {
                    path: label,
                    source,
                }
            } else {
                Error::Sqlite(source)
            }
        })?;
        if let Some((format, schema)) = found {
            if format > FORMAT_VERSION {
                return Err(Error::NewerSchema {
                    what: "format",
                    found: format,
                    supported: FORMAT_VERSION,
                });
            }
            if schema > self.schema_version {
                return Err(Error::NewerSchema {
                    what: "schema",
                    found: schema,
                    supported: self.schema_version,
                });
            }
        }
        if path.is_some() {
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        let synchronous = match self.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.set_prepared_statement_cache_capacity(256);
        let access = AccessCache::install(&mut conn)?;
        let inner = Inner {
            conn,
            access: RefCell::new(access),
            tables: self.tables,
            materializer: self.materializer,
            batch: self.batch_updates,
            live: RefCell::new(Vec::new()),
            next_live: Cell::new(0),
            busy: Cell::new(false),
            pending: RefCell::new(VecDeque::new()),
            failed: RefCell::new(Vec::new()),
            path,
            stats: Cell::new(StoreStats::default()),
        };
        match found {
            None => inner.create(self.schema_version)?,
            Some((_, schema)) if schema < self.schema_version => {
                inner.rebuild_tables(Some(self.schema_version))?;
            }
            Some(_) => {}
        }
        Ok(SqliteStore {
            inner: Rc::new(inner),
        })
    }
}

/// Whether SQLite found the file not to be a database, or damaged.
fn is_damaged(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// The format and schema versions of a store database, or `None` for a database without
/// the store's tables (a new file).
fn read_versions(conn: &Connection) -> rusqlite::Result<Option<(i64, i64)>> {
    let has_meta: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'stateloom_meta'",
        [],
        |r| r.get(0),
    )?;
    if has_meta == 0 {
        return Ok(None);
    }
    let version = |key: &str| -> rusqlite::Result<i64> {
        conn.query_row(
            "SELECT value FROM stateloom_meta WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
    };
    Ok(Some((version("format")?, version("schema")?)))
}

impl<E: Serialize + DeserializeOwned + 'static> Inner<E> {
    /// Creates the store's and the user's tables in a new database.
    fn create(&self, schema_version: i64) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute_batch(STORE_TABLES)?;
        tx.execute(
            "INSERT INTO stateloom_meta (key, value) VALUES ('format', ?1), ('schema', ?2)",
            [FORMAT_VERSION, schema_version],
        )?;
        for sql in &self.tables {
            tx.execute_batch(sql)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Drops the user's tables and views, creates them again and materializes every event
    /// of the log, in one transaction; with `schema`, records that schema version.
    pub(super) fn rebuild_tables(&self, schema: Option<i64>) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        let objects: Vec<(String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT type, name FROM sqlite_master
                 WHERE type IN ('table', 'view')
                   AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                   AND name NOT IN ('stateloom_meta', 'stateloom_events')",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (kind, name) in &objects {
            let kind = if kind == "view" { "VIEW" } else { "TABLE" };
            tx.execute_batch(&format!(
                "DROP {kind} IF EXISTS \"{}\"",
                name.replace('"', "\"\"")
            ))?;
        }
        for sql in &self.tables {
            tx.execute_batch(sql)?;
        }
        let writes = RefCell::new(Default::default());
        let writer = Writer {
            conn: &tx,
            access: &self.access,
            writes: &writes,
        };
        let mut replayed = 0;
        if let Some(materialize) = &self.materializer {
            let mut stmt =
                tx.prepare("SELECT seq, name, payload FROM stateloom_events ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let name: String = row.get(1)?;
                let payload: String = row.get(2)?;
                let event: E =
                    serde_json::from_str(&payload).map_err(|source| Error::EventCodec {
                        seq: Some(seq),
                        source,
                    })?;
                materialize(&event, &writer).map_err(|source| Error::Materialize {
                    event: name,
                    source,
                })?;
                replayed += 1;
            }
        }
        if let Some(schema) = schema {
            tx.execute(
                "UPDATE stateloom_meta SET value = ?1 WHERE key = 'schema'",
                [schema],
            )?;
        }
        tx.commit()?;
        self.access.borrow_mut().forget_statements();
        self.bump(|s| {
            s.commits += 1;
            s.replayed += replayed;
        });
        Ok(())
    }
}
