//! [`SqlQuery`]: a read of the SQLite store, with how to decode its rows and when two
//! results are equal.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use rusqlite::types::{FromSql, Value};
use rusqlite::{Row, Statement, params_from_iter};

type Run<T> = dyn Fn(&mut Statement<'_>, &[Value]) -> rusqlite::Result<T>;

/// A query of a [`SqliteStore`](crate::SqliteStore): SQL, its parameters, how to decode the
/// rows into a `T`, and an equality that decides whether a new result is a change.
///
/// Two queries are equal when their SQL, parameters and decoding are: the bridge keeps one
/// atom per distinct query. The tables a query reads come from SQLite when it is first
/// prepared.
///
/// # Examples
/// ```
/// use rusqlite::types::Value;
/// use stateloom_bridge::SqlQuery;
///
/// let names = SqlQuery::rows("SELECT name FROM users WHERE age > ?1", [Value::from(30)], |row| {
///     row.get::<_, String>(0)
/// });
/// let count = SqlQuery::<i64>::value("SELECT count(*) FROM users", []);
/// let first = SqlQuery::<Option<String>>::optional("SELECT name FROM users LIMIT 1", []);
/// assert_eq!(count.sql(), "SELECT count(*) FROM users");
/// assert_eq!(names.params(), [Value::Integer(30)]);
/// assert_ne!(format!("{first:?}"), "");
/// ```
pub struct SqlQuery<T> {
    sql: Rc<str>,
    params: Rc<[Value]>,
    /// Identifies the decoding, for equality: the kind and the row function's address.
    decoder: (u8, usize),
    run: Rc<Run<T>>,
    equals: fn(&T, &T) -> bool,
}

impl<R: PartialEq + 'static> SqlQuery<Vec<R>> {
    /// Every row, each decoded by `map`.
    ///
    /// # Examples
    /// See [`SqlQuery`].
    pub fn rows(
        sql: &str,
        params: impl IntoIterator<Item = Value>,
        map: fn(&Row<'_>) -> rusqlite::Result<R>,
    ) -> Self {
        Self::new(
            sql,
            params,
            (0, map as usize),
            Rc::new(move |stmt, params| {
                stmt.query_map(params_from_iter(params), map)?
                    .collect::<rusqlite::Result<Vec<R>>>()
            }),
        )
    }
}

impl<T: FromSql + PartialEq + 'static> SqlQuery<T> {
    /// The first column of the first row; no row is an error
    /// ([`QueryReturnedNoRows`](rusqlite::Error::QueryReturnedNoRows)).
    ///
    /// # Examples
    /// See [`SqlQuery`].
    pub fn value(sql: &str, params: impl IntoIterator<Item = Value>) -> Self {
        Self::new(
            sql,
            params,
            (1, 0),
            Rc::new(|stmt, params| stmt.query_row(params_from_iter(params), |row| row.get(0))),
        )
    }
}

impl<T: FromSql + PartialEq + 'static> SqlQuery<Option<T>> {
    /// The first column of the first row, or `None` when there is no row.
    ///
    /// # Examples
    /// See [`SqlQuery`].
    pub fn optional(sql: &str, params: impl IntoIterator<Item = Value>) -> Self {
        Self::new(
            sql,
            params,
            (2, 0),
            Rc::new(|stmt, params| {
                let mut rows = stmt.query(params_from_iter(params))?;
                match rows.next()? {
                    Some(row) => row.get(0),
                    None => Ok(None),
                }
            }),
        )
    }
}

impl<T: PartialEq + 'static> SqlQuery<T> {
    fn new(
        sql: &str,
        params: impl IntoIterator<Item = Value>,
        decoder: (u8, usize),
        run: Rc<Run<T>>,
    ) -> Self {
        Self {
            sql: sql.into(),
            params: params.into_iter().collect(),
            decoder,
            run,
            equals: T::eq,
        }
    }
}

impl<T> SqlQuery<T> {
    /// Uses `equals` instead of `PartialEq` to decide whether a new result is a change.
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::SqlQuery;
    ///
    /// // Only the number of rows matters to this subscriber.
    /// let q = SqlQuery::rows("SELECT x FROM t", [], |row| row.get::<_, i64>(0))
    ///     .with_equals(|a, b| a.len() == b.len());
    /// # let _ = q;
    /// ```
    pub fn with_equals(mut self, equals: fn(&T, &T) -> bool) -> Self {
        self.equals = equals;
        self
    }

    /// The SQL text.
    ///
    /// # Examples
    /// See [`SqlQuery`].
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters.
    ///
    /// # Examples
    /// See [`SqlQuery`].
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    pub(crate) fn run(&self, stmt: &mut Statement<'_>) -> rusqlite::Result<T> {
        (self.run)(stmt, &self.params)
    }

    pub(crate) fn equals(&self) -> fn(&T, &T) -> bool {
        self.equals
    }
}

impl<T> Clone for SqlQuery<T> {
    fn clone(&self) -> Self {
        Self {
            sql: self.sql.clone(),
            params: self.params.clone(),
            decoder: self.decoder,
            run: self.run.clone(),
            equals: self.equals,
        }
    }
}

impl<T> PartialEq for SqlQuery<T> {
    fn eq(&self, other: &Self) -> bool {
        self.sql == other.sql
            && self.decoder == other.decoder
            && self.params.len() == other.params.len()
            && self
                .params
                .iter()
                .zip(other.params.iter())
                .all(|(a, b)| same_value(a, b))
    }
}

impl<T> Eq for SqlQuery<T> {}

impl<T> Hash for SqlQuery<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.sql.hash(state);
        self.decoder.hash(state);
        for value in self.params.iter() {
            match value {
                Value::Null => state.write_u8(0),
                Value::Integer(i) => {
                    state.write_u8(1);
                    i.hash(state);
                }
                Value::Real(r) => {
                    state.write_u8(2);
                    r.to_bits().hash(state);
                }
                Value::Text(t) => {
                    state.write_u8(3);
                    t.hash(state);
                }
                Value::Blob(b) => {
                    state.write_u8(4);
                    b.hash(state);
                }
            }
        }
    }
}

/// Equality by representation, so that it agrees with `Hash` (a NaN parameter equals itself).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Real(a), Value::Real(b)) => a.to_bits() == b.to_bits(),
        _ => a == b,
    }
}

impl<T> fmt::Debug for SqlQuery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlQuery")
            .field("sql", &&*self.sql)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}
