//! The todo schema the SQLite tests share.

use serde::{Deserialize, Serialize};
use stateloom_bridge::{SqlQuery, SqliteStore, SqliteStoreBuilder, Writer};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum TodoEvent {
    Added { id: i64, text: String },
    Completed { id: i64 },
    Renamed { id: i64, text: String },
    Removed { id: i64 },
    Tagged { id: i64, tag: String },
    Cleared,
}

pub(crate) const TABLES: &str = "
    CREATE TABLE todos (id INTEGER PRIMARY KEY, text TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE tags (todo INTEGER NOT NULL, tag TEXT NOT NULL);";

pub(crate) fn materialize(event: &TodoEvent, db: &Writer<'_>) -> rusqlite::Result<()> {
    match event {
        TodoEvent::Added { id, text } => {
            db.execute("INSERT INTO todos (id, text) VALUES (?1, ?2)", (id, text))?
        }
        TodoEvent::Completed { id } => {
            db.execute("UPDATE todos SET done = 1 WHERE id = ?1", [id])?
        }
        TodoEvent::Renamed { id, text } => {
            db.execute("UPDATE todos SET text = ?2 WHERE id = ?1", (id, text))?
        }
        TodoEvent::Removed { id } => {
            db.execute("DELETE FROM tags WHERE todo = ?1", [id])?;
            db.execute("DELETE FROM todos WHERE id = ?1", [id])?
        }
        TodoEvent::Tagged { id, tag } => {
            db.execute("INSERT INTO tags (todo, tag) VALUES (?1, ?2)", (id, tag))?
        }
        TodoEvent::Cleared => {
            db.execute("DELETE FROM tags", [])?;
            db.execute("DELETE FROM todos", [])?
        }
    };
    Ok(())
}

pub(crate) fn builder() -> SqliteStoreBuilder<TodoEvent> {
    SqliteStore::builder()
        .table(TABLES)
        .materializer(materialize)
}

pub(crate) fn added(id: i64, text: &str) -> TodoEvent {
    TodoEvent::Added {
        id,
        text: text.to_string(),
    }
}

/// Every row of the user's tables, as text: the state to compare.
pub(crate) fn dump(store: &SqliteStore<TodoEvent>) -> String {
    let todos = SqlQuery::rows("SELECT id, text, done FROM todos ORDER BY id", [], |r| {
        Ok(format!(
            "todo {} {:?} {}",
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?
        ))
    });
    let tags = SqlQuery::rows("SELECT todo, tag FROM tags ORDER BY todo, tag", [], |r| {
        Ok(format!(
            "tag {} {:?}",
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?
        ))
    });
    let mut lines = store.query(&todos).unwrap();
    lines.extend(store.query(&tags).unwrap());
    lines.join("\n")
}

pub(crate) fn todo_texts() -> SqlQuery<Vec<String>> {
    SqlQuery::rows("SELECT text FROM todos ORDER BY id", [], |r| r.get(0))
}

pub(crate) fn count(table: &str) -> SqlQuery<i64> {
    SqlQuery::value(&format!("SELECT count(*) FROM {table}"), [])
}
