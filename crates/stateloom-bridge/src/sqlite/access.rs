//! Which tables a statement reads and writes, as SQLite itself reports them to the
//! authorizer while it prepares the statement; and small table sets to compare them.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// A set of tables, by interned id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TableSet {
    words: Vec<u64>,
}

impl TableSet {
    pub(crate) fn insert(&mut self, id: u32) {
        let (word, bit) = ((id / 64) as usize, id % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub(crate) fn union_with(&mut self, other: &TableSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    pub(crate) fn intersects(&self, other: &TableSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub(crate) fn all(count: u32) -> TableSet {
        let mut set = TableSet::default();
        for id in 0..count {
            set.insert(id);
        }
        set
    }
}

/// The tables one statement reads and writes.
#[derive(Debug, Default)]
pub(crate) struct Access {
    pub(crate) reads: TableSet,
    pub(crate) writes: TableSet,
}

/// What the authorizer saw while recording.
#[derive(Default)]
struct Log {
    recording: bool,
    calls: usize,
    reads: Vec<String>,
    writes: Vec<String>,
}

/// Statement access, learnt once per SQL text from the authorizer.
pub(crate) struct AccessCache {
    log: Arc<Mutex<Log>>,
    by_sql: HashMap<Box<str>, Rc<Access>, ahash::RandomState>,
    ids: HashMap<String, u32, ahash::RandomState>,
}

impl AccessCache {
    /// Installs the authorizer on `conn`; it records only while a statement is being learnt.
    pub(crate) fn install(conn: &mut Connection) -> rusqlite::Result<Self> {
        let log = Arc::new(Mutex::new(Log::default()));
        let sink = log.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if let Ok(mut log) = sink.lock()
                && log.recording
            {
                log.calls += 1;
                match ctx.action {
                    AuthAction::Read { table_name, .. } => log.reads.push(table_name.to_owned()),
                    AuthAction::Insert { table_name }
                    | AuthAction::Delete { table_name }
                    | AuthAction::Update { table_name, .. } => {
                        log.writes.push(table_name.to_owned());
                    }
                    _ => {}
                }
            }
            Authorization::Allow
        }))?;
        Ok(Self {
            log,
            by_sql: HashMap::with_hasher(ahash::RandomState::new()),
            ids: HashMap::with_hasher(ahash::RandomState::new()),
        })
    }

    /// The access of `sql`, preparing it (into the connection's statement cache) the first
    /// time. Later calls find it without asking SQLite.
    pub(crate) fn access(&mut self, conn: &Connection, sql: &str) -> rusqlite::Result<Rc<Access>> {
        if let Some(access) = self.by_sql.get(sql) {
            return Ok(access.clone());
        }
        self.start();
        let prepared = conn.prepare_cached(sql).map(drop);
        let mut log = self.stop();
        prepared?;
        if log.calls == 0 {
            // The statement was in the connection's cache already, so SQLite did not
            // prepare it: prepare a fresh copy to hear what it touches.
            self.start();
            let prepared = conn.prepare(sql).map(drop);
            log = self.stop();
            prepared?;
        }
        let mut access = Access::default();
        for table in &log.reads {
            if let Some(id) = self.id(table) {
                access.reads.insert(id);
            }
        }
        for table in &log.writes {
            if let Some(id) = self.id(table) {
                access.writes.insert(id);
            }
        }
        let access = Rc::new(access);
        self.by_sql.insert(sql.into(), access.clone());
        Ok(access)
    }

    /// Every table seen so far.
    pub(crate) fn all_tables(&self) -> TableSet {
        TableSet::all(self.ids.len() as u32)
    }

    /// Forgets what statements touch (after the schema changed).
    pub(crate) fn forget_statements(&mut self) {
        self.by_sql.clear();
    }

    fn id(&mut self, table: &str) -> Option<u32> {
        let name = table.to_ascii_lowercase();
        if name.starts_with("sqlite_") {
            return None;
        }
        let next = self.ids.len() as u32;
        Some(*self.ids.entry(name).or_insert(next))
    }

    fn start(&self) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        *log = Log {
            recording: true,
            ..Log::default()
        };
    }

    fn stop(&self) -> Log {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (Connection, AccessCache) {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE a (x INTEGER, y INTEGER); CREATE TABLE b (x INTEGER);
             CREATE VIEW v AS SELECT x FROM b;",
        )
        .unwrap();
        let cache = AccessCache::install(&mut conn).unwrap();
        (conn, cache)
    }

    fn names(cache: &AccessCache, set: &TableSet) -> Vec<String> {
        let mut names: Vec<String> = cache
            .ids
            .iter()
            .filter(|(_, id)| {
                let mut one = TableSet::default();
                one.insert(**id);
                set.intersects(&one)
            })
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn sqlite_reports_read_and_written_tables() {
        let (conn, mut cache) = cache();
        let cases = [
            ("SELECT x FROM a", vec!["a"], vec![]),
            ("SELECT count(*) FROM a", vec!["a"], vec![]),
            (
                "SELECT a.x FROM a JOIN b ON a.x = b.x",
                vec!["a", "b"],
                vec![],
            ),
            ("SELECT x FROM v", vec!["b", "v"], vec![]),
            ("INSERT INTO a (x) SELECT x FROM b", vec!["b"], vec!["a"]),
            ("DELETE FROM b", vec![], vec!["b"]),
            ("UPDATE a SET y = 1 WHERE x = 2", vec!["a"], vec!["a"]),
            ("SELECT 1", vec![], vec![]),
        ];
        for (sql, reads, writes) in cases {
            let access = cache.access(&conn, sql).unwrap();
            assert_eq!(names(&cache, &access.reads), reads, "reads of {sql}");
            assert_eq!(names(&cache, &access.writes), writes, "writes of {sql}");
        }
    }

    #[test]
    fn a_statement_already_cached_is_still_learnt() {
        let (conn, mut cache) = cache();
        conn.prepare_cached("SELECT y FROM a").unwrap();
        let access = cache.access(&conn, "SELECT y FROM a").unwrap();
        assert!(!access.reads.is_empty());
    }
}
