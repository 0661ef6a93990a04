//! Reactivity keys: what a query depends on and what a mutation changes, at table level or
//! at `(table, id)` level, and the per-scope registry that connects them.

use std::cell::RefCell;
use std::fmt;
use std::rc::{Rc, Weak};

use ahash::{HashMap, HashSet};
use stateloom_atom::{AtomScope, Derived, derived_with_equals};

/// A reactivity key: a whole table (`Key::table("todos")`) or one row of it
/// (`Key::item("todos", 7)`).
///
/// A query registered under a table key is refreshed by any invalidation in that table; a
/// query registered under an item key is refreshed by an invalidation of that item or of the
/// whole table, never by another item.
///
/// # Examples
/// ```
/// use stateloom_optimistic::Key;
///
/// let table = Key::table("todos");
/// let row = Key::item("todos", 7);
/// assert_eq!(row.table_name(), "todos");
/// assert_eq!(row.id(), Some("7"));
/// assert_eq!(table.id(), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    table: Rc<str>,
    id: Option<Rc<str>>,
}

impl Key {
    /// A key for a whole table.
    ///
    /// # Examples
    /// See [`Key`].
    pub fn table(table: impl Into<Rc<str>>) -> Self {
        Self {
            table: table.into(),
            id: None,
        }
    }

    /// A key for one row of a table; the id is compared by its `Display` form.
    ///
    /// # Examples
    /// See [`Key`].
    pub fn item(table: impl Into<Rc<str>>, id: impl fmt::Display) -> Self {
        Self {
            table: table.into(),
            id: Some(id.to_string().into()),
        }
    }

    /// The table's name.
    ///
    /// # Examples
    /// See [`Key`].
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The row id of an item key.
    ///
    /// # Examples
    /// See [`Key`].
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}:{}", self.table, id),
            None => write!(f, "{}", self.table),
        }
    }
}

/// Refreshes every query registered under `keys` in `scope`, in one batch: subscribers see
/// the queries start their requests once.
///
/// Mutations call this for their keys when they succeed; call it yourself when something
/// else changed the data (a push message, another tab).
///
/// # Examples
/// ```
/// use stateloom_optimistic::{Key, QueryBuilder, invalidate};
/// use stateloom_atom::default_scope;
/// use std::{cell::Cell, rc::Rc};
///
/// let fetches = Rc::new(Cell::new(0));
/// let counter = fetches.clone();
/// let row = QueryBuilder::new(move |_| {
///     counter.set(counter.get() + 1);
///     async { Ok::<_, ()>(()) }
/// })
/// .keys([Key::item("todos", 1)])
/// .build();
/// let _watch = row.subscribe(|_| {});
/// invalidate(&default_scope(), &[Key::item("todos", 2)]); // another row: not refreshed
/// invalidate(&default_scope(), &[Key::table("todos")]); // the whole table: refreshed
/// assert_eq!(fetches.get(), 2);
/// ```
pub fn invalidate(scope: &AtomScope, keys: &[Key]) {
    let registry = registry_in(scope);
    let handlers = registry.handlers_for(keys);
    if handlers.is_empty() {
        return;
    }
    stateloom_core::batch(|| {
        for handler in handlers {
            handler();
        }
    });
}

/// The registry of `scope`.
pub(crate) fn registry_in(scope: &AtomScope) -> Rc<Registry> {
    scope.get(registry_atom())
}

thread_local! {
    static REGISTRY: Derived<Rc<Registry>> =
        derived_with_equals(|_| Rc::new(Registry::default()), Rc::ptr_eq);
}

fn registry_atom() -> Derived<Rc<Registry>> {
    REGISTRY.with(|atom| *atom)
}

type Handler = Rc<dyn Fn()>;

/// Which handlers listen to which keys, in one scope.
#[derive(Default)]
pub(crate) struct Registry {
    inner: RefCell<Tables>,
}

#[derive(Default)]
struct Tables {
    next_id: u64,
    handlers: HashMap<u64, Handler>,
    tables: HashMap<Rc<str>, Table>,
}

#[derive(Default)]
struct Table {
    /// Registered under the whole table.
    whole: HashSet<u64>,
    /// Registered under one row.
    rows: HashMap<Rc<str>, HashSet<u64>>,
}

impl Registry {
    /// Registers `handler` under `keys` until the returned registration is dropped.
    pub(crate) fn register(self: &Rc<Self>, keys: &[Key], handler: Handler) -> Registration {
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.handlers.insert(id, handler);
        for key in keys {
            let table = inner.tables.entry(key.table.clone()).or_default();
            match &key.id {
                None => table.whole.insert(id),
                Some(row) => table.rows.entry(row.clone()).or_default().insert(id),
            };
        }
        Registration {
            registry: Rc::downgrade(self),
            id,
            keys: keys.to_vec(),
        }
    }

    /// The handlers an invalidation of `keys` wakes, each once.
    fn handlers_for(&self, keys: &[Key]) -> Vec<Handler> {
        let inner = self.inner.borrow();
        let mut ids = HashSet::default();
        for key in keys {
            let Some(table) = inner.tables.get(&key.table) else {
                continue;
            };
            ids.extend(table.whole.iter().copied());
            match &key.id {
                None => {
                    for rows in table.rows.values() {
                        ids.extend(rows.iter().copied());
                    }
                }
                Some(row) => {
                    if let Some(rows) = table.rows.get(row) {
                        ids.extend(rows.iter().copied());
                    }
                }
            }
        }
        let mut ids: Vec<u64> = ids.into_iter().collect();
        // Registration order, so refreshes start in a stable order.
        ids.sort_unstable();
        ids.iter()
            .filter_map(|id| inner.handlers.get(id).cloned())
            .collect()
    }

    /// How many handlers are registered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.borrow().handlers.len()
    }
}

/// A handler's place in a registry; dropping it unregisters the handler.
pub(crate) struct Registration {
    registry: Weak<Registry>,
    id: u64,
    keys: Vec<Key>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(registry) = self.registry.upgrade() else {
            return;
        };
        let Ok(mut inner) = registry.inner.try_borrow_mut() else {
            return;
        };
        inner.handlers.remove(&self.id);
        for key in &self.keys {
            let Some(table) = inner.tables.get_mut(&key.table) else {
                continue;
            };
            match &key.id {
                None => {
                    table.whole.remove(&self.id);
                }
                Some(row) => {
                    if let Some(rows) = table.rows.get_mut(row) {
                        rows.remove(&self.id);
                        if rows.is_empty() {
                            table.rows.remove(row);
                        }
                    }
                }
            }
            if table.whole.is_empty() && table.rows.is_empty() {
                inner.tables.remove(&key.table);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn counting(registry: &Rc<Registry>, keys: &[Key]) -> (Registration, Rc<Cell<u32>>) {
        let count = Rc::new(Cell::new(0));
        let c = count.clone();
        let reg = registry.register(keys, Rc::new(move || c.set(c.get() + 1)));
        (reg, count)
    }

    fn fire(registry: &Registry, keys: &[Key]) {
        for handler in registry.handlers_for(keys) {
            handler();
        }
    }

    #[test]
    fn an_item_registration_is_woken_by_its_row_or_its_table_only() {
        let registry = Rc::new(Registry::default());
        let (_one, one) = counting(&registry, &[Key::item("todos", 1)]);
        let (_all, all) = counting(&registry, &[Key::table("todos")]);
        let (_other, other) = counting(&registry, &[Key::table("users")]);
        fire(&registry, &[Key::item("todos", 2)]);
        assert_eq!((one.get(), all.get(), other.get()), (0, 1, 0));
        fire(&registry, &[Key::item("todos", 1)]);
        assert_eq!((one.get(), all.get(), other.get()), (1, 2, 0));
        fire(&registry, &[Key::table("todos")]);
        assert_eq!((one.get(), all.get(), other.get()), (2, 3, 0));
    }

    #[test]
    fn a_handler_under_several_matching_keys_runs_once() {
        let registry = Rc::new(Registry::default());
        let (_r, n) = counting(&registry, &[Key::item("t", 1), Key::table("t")]);
        fire(&registry, &[Key::item("t", 1), Key::table("t")]);
        assert_eq!(n.get(), 1);
    }

    #[test]
    fn dropping_a_registration_removes_it_and_its_empty_tables() {
        let registry = Rc::new(Registry::default());
        let (reg, n) = counting(&registry, &[Key::item("t", 1)]);
        drop(reg);
        fire(&registry, &[Key::table("t")]);
        assert_eq!((n.get(), registry.len()), (0, 0));
        assert!(registry.inner.borrow().tables.is_empty());
    }
}
