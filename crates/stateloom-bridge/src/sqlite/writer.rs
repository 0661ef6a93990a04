//! [`Writer`]: what a materializer gets to turn an event into writes, inside the commit's
//! transaction.

use std::cell::RefCell;

use rusqlite::{Connection, OptionalExtension, Params, Row};

use super::access::{AccessCache, TableSet};

/// The connection as a materializer sees it: inside the transaction of the commit, so
/// everything it writes is committed with the event or not at all. Every table it writes is
/// recorded (SQLite's authorizer reports them), so exactly the queries that read those
/// tables re-run.
///
/// # Examples
/// ```
/// use stateloom_bridge::SqliteStore;
///
/// let store = SqliteStore::<(String, i64)>::builder()
///     .table("CREATE TABLE stock (item TEXT PRIMARY KEY, qty INTEGER NOT NULL)")
///     .materializer(|(item, delta), db| {
///         // Read the current state, then write.
///         let qty: i64 = db
///             .query_optional("SELECT qty FROM stock WHERE item = ?1", [item], |r| r.get(0))?
///             .unwrap_or(0);
///         db.execute("INSERT OR REPLACE INTO stock VALUES (?1, ?2)", (item, qty + delta))?;
///         Ok(())
///     })
///     .open_in_memory()?;
/// store.commit(("pen".into(), 3)).map_err(|e| e.error)?;
/// store.commit(("pen".into(), -1)).map_err(|e| e.error)?;
/// let q = stateloom_bridge::SqlQuery::<i64>::value("SELECT qty FROM stock", []);
/// assert_eq!(store.query(&q)?, 2);
/// # Ok::<(), stateloom_bridge::Error>(())
/// ```
pub struct Writer<'a> {
    pub(super) conn: &'a Connection,
    pub(super) access: &'a RefCell<AccessCache>,
    pub(super) writes: &'a RefCell<TableSet>,
}

impl Writer<'_> {
    /// Runs one statement and returns how many rows it changed.
    ///
    /// # Errors
    /// What SQLite reports.
    ///
    /// # Examples
    /// See [`Writer`].
    pub fn execute(&self, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
        let access = self.access.borrow_mut().access(self.conn, sql)?;
        self.writes.borrow_mut().union_with(&access.writes);
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// Runs a query that returns one row and decodes it with `f`.
    ///
    /// # Errors
    /// What SQLite reports, [`QueryReturnedNoRows`](rusqlite::Error::QueryReturnedNoRows)
    /// included.
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::SqliteStore;
    ///
    /// let store = SqliteStore::<i64>::builder()
    ///     .table("CREATE TABLE t (v INTEGER)")
    ///     .materializer(|v, db| {
    ///         let n: i64 = db.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
    ///         db.execute("INSERT INTO t VALUES (?1)", [v + n]).map(drop)
    ///     })
    ///     .open_in_memory()?;
    /// store.commit(10).map_err(|e| e.error)?;
    /// store.commit(10).map_err(|e| e.error)?;
    /// let q = stateloom_bridge::SqlQuery::<i64>::value("SELECT sum(v) FROM t", []);
    /// assert_eq!(store.query(&q)?, 21);
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.access.borrow_mut().access(self.conn, sql)?;
        self.conn.prepare_cached(sql)?.query_row(params, f)
    }

    /// Like [`query_row`](Self::query_row), with `None` when there is no row.
    ///
    /// # Errors
    /// What SQLite reports.
    ///
    /// # Examples
    /// See [`Writer`].
    pub fn query_optional<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        self.query_row(sql, params, f).optional()
    }
}
