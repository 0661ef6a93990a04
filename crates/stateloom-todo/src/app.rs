//! The client side: the mirror of the host's list as an optimistic query, atoms for what the
//! screen shows, and the commands the keys and scripts send.

use serde_json::Value;
use stateloom::atom::{Atom, AtomScope, Derived, atom, derived};
use stateloom::core::Subscription;
use stateloom::optimistic::{
    AsyncResult, Concurrency, Mutation, MutationBuilder, Optimistic, OptimisticFn, optimistic,
    optimistic_fn, query, run_until_stalled,
};
use stateloom::worker::WorkerClient;

use crate::host::{Flags, Todo};

/// Which todos the list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    All,
    Active,
    Done,
}

impl Filter {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Active => "active",
            Filter::Done => "done",
        }
    }

    fn next(self) -> Self {
        match self {
            Filter::All => Filter::Active,
            Filter::Active => Filter::Done,
            Filter::Done => Filter::All,
        }
    }
}

/// A line being typed: a new todo, or new text for one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Editing {
    /// The todo being renamed; `None` for a new one.
    pub(crate) id: Option<u64>,
    pub(crate) buffer: String,
}

/// A command, from a key or a script line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Command {
    Add(String),
    Toggle,
    Edit(String),
    Delete,
    Undo,
    Redo,
    Filter(Option<Filter>),
    Select(usize),
    Up,
    Down,
}

type List = AsyncResult<Vec<Todo>, String>;

/// Everything the UI reads and writes, in one atom scope.
pub(crate) struct App {
    pub(crate) scope: AtomScope,
    pub(crate) client: WorkerClient,
    /// The list as shown: the host's, with the edits in flight applied.
    pub(crate) shown: Optimistic<List>,
    pub(crate) visible: Derived<Vec<Todo>>,
    pub(crate) filter: Atom<Filter>,
    pub(crate) selected: Atom<usize>,
    pub(crate) editing: Atom<Option<Editing>>,
    pub(crate) flags: Atom<Flags>,
    /// The last error, until the next command.
    pub(crate) message: Atom<Option<String>>,
    add: OptimisticFn<String, Value, String>,
    toggle: OptimisticFn<u64, Value, String>,
    edit: OptimisticFn<(u64, String), Value, String>,
    delete: OptimisticFn<u64, Value, String>,
    travel: Mutation<bool, Value, String>,
    _mirror: Subscription,
}

impl App {
    pub(crate) fn new(client: WorkerClient) -> Self {
        let scope = AtomScope::new();
        let message: Atom<Option<String>> = atom(None);
        // The mirror, as atoms: the host's list and flags.
        let mirror: Atom<Vec<Todo>> = atom(Vec::new());
        let flags: Atom<Flags> = atom(Flags::default());
        let read = |client: &WorkerClient| {
            let list = client
                .module_state::<Vec<Todo>>("todos")
                .unwrap_or_default();
            let flags = client.module_state::<Flags>("history").unwrap_or_default();
            (list, flags)
        };
        let (list, now) = read(&client);
        scope.set(mirror, list);
        scope.set(flags, now);
        let _mirror = {
            let scope = scope.clone();
            client.watch(
                |state| state.clone(),
                move |state| {
                    let list = serde_json::from_value(state["todos"].clone()).unwrap_or_default();
                    let now = serde_json::from_value(state["history"].clone()).unwrap_or_default();
                    scope.set(mirror, list);
                    scope.set(flags, now);
                },
            )
        };
        // The host's list as a query: refetched whenever the mirror changes.
        let todos = query(move |get| {
            let rows = get.get(mirror);
            async move { Ok::<_, String>(rows) }
        });
        let shown = optimistic(todos);

        let call = |method: &'static str| {
            let client = client.clone();
            let scope = scope.clone();
            move |args: Value| {
                let pending = client.call("todos", method, args);
                let scope = scope.clone();
                async move {
                    pending.await.map_err(|e| {
                        let text = e.to_string();
                        scope.set(message, Some(text.clone()));
                        text
                    })
                }
            }
        };
        let run = call("add");
        let add = MutationBuilder::new(Concurrency::Queue, move |text: String, _| {
            run(Value::String(text))
        })
        .build();
        let run = call("toggle");
        let toggle =
            MutationBuilder::new(Concurrency::Queue, move |id: u64, _| run(id.into())).build();
        let run = call("edit");
        let edit = MutationBuilder::new(Concurrency::Queue, move |(id, text): (u64, String), _| {
            run(serde_json::json!([id, text]))
        })
        .build();
        let run = call("delete");
        let delete =
            MutationBuilder::new(Concurrency::Queue, move |id: u64, _| run(id.into())).build();
        let run = call("travel");
        let travel =
            MutationBuilder::new(Concurrency::Queue, move |back: bool, _| run(back.into())).build();

        // What each edit does to the list, shown at once; the host's answer replaces it.
        let add = optimistic_fn(
            shown,
            |list: &List, text: &String| {
                list.clone().map(|mut rows| {
                    rows.push(Todo {
                        id: 0,
                        text: text.clone(),
                        done: false,
                    });
                    rows
                })
            },
            add,
        );
        let toggle = optimistic_fn(
            shown,
            |list: &List, id: &u64| {
                list.clone().map(|rows| {
                    rows.into_iter()
                        .map(|t| {
                            if t.id == *id {
                                Todo { done: !t.done, ..t }
                            } else {
                                t
                            }
                        })
                        .collect()
                })
            },
            toggle,
        );
        let edit = optimistic_fn(
            shown,
            |list: &List, (id, text): &(u64, String)| {
                list.clone().map(|rows| {
                    rows.into_iter()
                        .map(|t| {
                            if t.id == *id {
                                Todo {
                                    text: text.clone(),
                                    ..t
                                }
                            } else {
                                t
                            }
                        })
                        .collect()
                })
            },
            edit,
        );
        let delete = optimistic_fn(
            shown,
            |list: &List, id: &u64| {
                list.clone()
                    .map(|rows| rows.into_iter().filter(|t| t.id != *id).collect())
            },
            delete,
        );

        let filter = atom(Filter::All);
        let visible = derived(move |get| {
            let filter = get.get(filter);
            get.with(shown, |list| {
                list.value()
                    .map(|rows| {
                        rows.iter()
                            .filter(|t| match filter {
                                Filter::All => true,
                                Filter::Active => !t.done,
                                Filter::Done => t.done,
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default()
            })
        });
        Self {
            scope,
            client,
            shown,
            visible,
            filter,
            selected: atom(0),
            editing: atom(None),
            flags,
            message,
            add,
            toggle,
            edit,
            delete,
            travel,
            _mirror,
        }
    }

    /// The selected todo among the visible ones, if any.
    pub(crate) fn selection(&self) -> Option<Todo> {
        let visible = self.scope.get(self.visible);
        let index = self
            .scope
            .get(self.selected)
            .min(visible.len().saturating_sub(1));
        visible.get(index).cloned()
    }

    /// Runs one command.
    pub(crate) fn run(&self, command: Command) {
        let s = &self.scope;
        s.set(self.message, None);
        match command {
            Command::Add(text) => {
                s.write(self.add, text);
                let last = s.get(self.visible).len().saturating_sub(1);
                s.set(self.selected, last);
            }
            Command::Toggle => {
                if let Some(todo) = self.selection() {
                    s.write(self.toggle, todo.id);
                }
            }
            Command::Edit(text) => {
                if let Some(todo) = self.selection() {
                    s.write(self.edit, (todo.id, text));
                }
            }
            Command::Delete => {
                if let Some(todo) = self.selection() {
                    s.write(self.delete, todo.id);
                }
            }
            Command::Undo => {
                s.write(self.travel, true);
            }
            Command::Redo => {
                s.write(self.travel, false);
            }
            Command::Filter(filter) => {
                let next = filter.unwrap_or_else(|| s.get(self.filter).next());
                s.set(self.filter, next);
                s.set(self.selected, 0);
            }
            Command::Select(index) => s.set(self.selected, index),
            Command::Up => s.update(self.selected, |i| *i = i.saturating_sub(1)),
            Command::Down => {
                let last = s.get(self.visible).len().saturating_sub(1);
                s.update(self.selected, |i| *i = (*i + 1).min(last));
            }
        }
    }

    /// Handles what arrived from the host and runs the futures that are ready.
    pub(crate) fn tick(&self) {
        self.client.pump();
        run_until_stalled();
    }

    /// Whether edits are still in flight.
    pub(crate) fn busy(&self) -> bool {
        self.scope.with(self.shown, AsyncResult::is_waiting)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use stateloom::worker::{WorkerClient, spawn_worker};

    use super::*;

    fn app_on(path: std::path::PathBuf) -> App {
        let (transport, _thread) =
            spawn_worker(move |transport| crate::host::app(&path).unwrap().build(transport))
                .unwrap();
        let client = WorkerClient::new(transport);
        client.wait_ready(Duration::from_secs(30)).unwrap();
        App::new(client)
    }

    fn settle(app: &App) {
        let start = Instant::now();
        while app.busy() {
            assert!(start.elapsed() < Duration::from_secs(30), "never settled");
            app.tick();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn an_edit_shows_before_the_host_answers_and_is_replaced_by_its_answer() {
        let dir = tempfile::tempdir().unwrap();
        let app = app_on(dir.path().join("todos.db"));
        app.run(Command::Add("milk".into()));
        // Shown at once, with no id yet, while the call is in flight.
        let shown = app.scope.get(app.visible);
        assert_eq!(shown.len(), 1);
        assert_eq!((shown[0].id, shown[0].text.as_str()), (0, "milk"));
        assert!(app.busy());
        settle(&app);
        let shown = app.scope.get(app.visible);
        assert_eq!((shown[0].id, shown[0].text.as_str()), (1, "milk"));
        assert!(app.scope.get(app.flags).can_undo);
    }

    #[test]
    fn a_refused_edit_rolls_back_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let app = app_on(dir.path().join("todos.db"));
        app.run(Command::Add("   ".into()));
        settle(&app);
        assert!(app.scope.get(app.visible).is_empty());
        let message = app.scope.get(app.message).unwrap_or_default();
        assert!(message.contains("empty"), "{message}");
    }
}
