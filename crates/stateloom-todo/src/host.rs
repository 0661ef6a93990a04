//! The state host: the todo list as a store with undo and redo, persisted as events in SQLite.
//!
//! It runs on a worker thread of the app, or alone in a process of its own (`--serve`), and
//! clients change the list only through its methods.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use stateloom::bridge::{SqlQuery, SqliteStore, Writer};
use stateloom::store::{History, Store};
use stateloom::worker::{Module, RemoteError, WorkerApp, WorkerAppBuilder};

/// One todo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Todo {
    pub(crate) id: u64,
    pub(crate) text: String,
    pub(crate) done: bool,
}

/// Whether there is something to undo or redo, published beside the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Flags {
    pub(crate) can_undo: bool,
    pub(crate) can_redo: bool,
}

/// The events kept in SQLite; the `todos` table is materialized from them.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Event {
    Added {
        id: u64,
        text: String,
    },
    Toggled {
        id: u64,
    },
    Edited {
        id: u64,
        text: String,
    },
    Deleted {
        id: u64,
    },
    /// The whole list, after an undo or a redo.
    Restored {
        items: Vec<Todo>,
    },
}

fn materialize(event: &Event, db: &Writer<'_>) -> rusqlite::Result<()> {
    match event {
        Event::Added { id, text } => {
            db.execute(
                "INSERT INTO todos (id, text, done, position) \
                 VALUES (?1, ?2, 0, (SELECT coalesce(max(position), 0) + 1 FROM todos))",
                (*id as i64, text),
            )?;
        }
        Event::Toggled { id } => {
            db.execute(
                "UPDATE todos SET done = 1 - done WHERE id = ?1",
                [*id as i64],
            )?;
        }
        Event::Edited { id, text } => {
            db.execute(
                "UPDATE todos SET text = ?2 WHERE id = ?1",
                (*id as i64, text),
            )?;
        }
        Event::Deleted { id } => {
            db.execute("DELETE FROM todos WHERE id = ?1", [*id as i64])?;
        }
        Event::Restored { items } => {
            db.execute("DELETE FROM todos", [])?;
            for (position, todo) in items.iter().enumerate() {
                db.execute(
                    "INSERT INTO todos (id, text, done, position) VALUES (?1, ?2, ?3, ?4)",
                    (todo.id as i64, &todo.text, todo.done, position as i64),
                )?;
            }
        }
    }
    Ok(())
}

/// Opens (or creates) the database at `path` and builds the host's app description.
pub(crate) fn app(path: &std::path::Path) -> Result<WorkerAppBuilder, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let events = SqliteStore::<Event>::builder()
        .table(
            "CREATE TABLE todos (id INTEGER PRIMARY KEY, text TEXT NOT NULL, \
             done INTEGER NOT NULL, position INTEGER NOT NULL)",
        )
        .materializer(materialize)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let items = events
        .query(&SqlQuery::rows(
            "SELECT id, text, done FROM todos ORDER BY position",
            [],
            |row| {
                Ok(Todo {
                    id: row.get::<_, i64>(0)? as u64,
                    text: row.get(1)?,
                    done: row.get(2)?,
                })
            },
        ))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;

    let history = History::new(100);
    let list = Store::builder(items).middleware(history.clone()).build();
    let flags = Store::new(Flags::default());
    Ok(WorkerApp::builder()
        .module(module(list, flags.clone(), history, events))
        .module(Module::new("history", flags))
        .batch_calls(64))
}

/// The `todos` module: every method logs its event, then makes its write; `travel` undoes
/// or redoes. Each ends by publishing the undo and redo flags.
fn module(
    list: Store<Vec<Todo>>,
    flags: Store<Flags>,
    history: History<Vec<Todo>>,
    events: SqliteStore<Event>,
) -> Module<Vec<Todo>> {
    let host = Rc::new(Host {
        events,
        flags,
        history,
    });
    let (h1, h2, h3, h4, h5) = (
        Rc::clone(&host),
        Rc::clone(&host),
        Rc::clone(&host),
        Rc::clone(&host),
        host,
    );
    Module::new("todos", list)
        .try_method("add", move |s, text: String| {
            let text = text.trim().to_owned();
            if text.is_empty() {
                return Err(RemoteError::new("empty", "a todo needs some text"));
            }
            let id = s.get_state().iter().map(|t| t.id).max().unwrap_or(0) + 1;
            h1.log(Event::Added {
                id,
                text: text.clone(),
            })?;
            s.update(move |l| {
                l.push(Todo {
                    id,
                    text,
                    done: false,
                })
            });
            h1.sync();
            Ok(id)
        })
        .try_method("toggle", move |s, id: u64| {
            exists(s, id)?;
            h2.log(Event::Toggled { id })?;
            s.update(move |l| {
                for todo in l.iter_mut().filter(|t| t.id == id) {
                    todo.done = !todo.done;
                }
            });
            h2.sync();
            Ok(())
        })
        .try_method("edit", move |s, (id, text): (u64, String)| {
            exists(s, id)?;
            h3.log(Event::Edited {
                id,
                text: text.clone(),
            })?;
            s.update(move |l| {
                for todo in l.iter_mut().filter(|t| t.id == id) {
                    todo.text.clone_from(&text);
                }
            });
            h3.sync();
            Ok(())
        })
        .try_method("delete", move |s, id: u64| {
            exists(s, id)?;
            h4.log(Event::Deleted { id })?;
            s.update(move |l| l.retain(|t| t.id != id));
            h4.sync();
            Ok(())
        })
        .try_method("travel", move |s, back: bool| {
            let moved = if back {
                h5.history.undo()
            } else {
                h5.history.redo()
            };
            if moved {
                h5.log(Event::Restored {
                    items: s.get_state(),
                })?;
            }
            h5.sync();
            Ok(moved)
        })
}

/// What the methods share besides their store.
struct Host {
    events: SqliteStore<Event>,
    flags: Store<Flags>,
    history: History<Vec<Todo>>,
}

impl Host {
    fn log(&self, event: Event) -> Result<(), RemoteError> {
        self.events
            .commit(event)
            .map(|_| ())
            .map_err(|e| RemoteError::new("storage", e.error.to_string()))
    }

    fn sync(&self) {
        self.flags.set_state(Flags {
            can_undo: self.history.can_undo().get(),
            can_redo: self.history.can_redo().get(),
        });
    }
}

fn exists(s: &Store<Vec<Todo>>, id: u64) -> Result<(), RemoteError> {
    if s.get_state().iter().any(|t| t.id == id) {
        Ok(())
    } else {
        Err(RemoteError::new("not-found", format!("no todo {id}")))
    }
}
