//! Live queries: a subscribed query with its last result and its subscriber.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rusqlite::Connection;

use super::access::TableSet;
use super::query::SqlQuery;

/// A subscription as the store keeps it.
pub(super) struct LiveEntry {
    pub(super) id: u64,
    /// The tables the query reads.
    pub(super) reads: TableSet,
    pub(super) query: Rc<dyn LiveQuery>,
}

/// A live query, whatever its result type.
pub(super) trait LiveQuery {
    /// Re-runs the query; returns whether the result changed (and keeps the new one).
    /// A query that fails keeps its last result.
    fn refresh(&self, conn: &Connection) -> bool;
    /// Calls the subscriber with the last result, unless the subscription ended.
    fn notify(&self);
}

type Callback<T> = Box<dyn FnMut(&T)>;

pub(super) struct Live<T> {
    query: SqlQuery<T>,
    last: RefCell<T>,
    callback: RefCell<Callback<T>>,
    active: Cell<bool>,
}

impl<T> Live<T> {
    pub(super) fn new(query: SqlQuery<T>, initial: T, callback: Callback<T>) -> Self {
        Self {
            query,
            last: RefCell::new(initial),
            callback: RefCell::new(callback),
            active: Cell::new(true),
        }
    }

    pub(super) fn deactivate(&self) {
        self.active.set(false);
    }
}

impl<T> LiveQuery for Live<T> {
    fn refresh(&self, conn: &Connection) -> bool {
        if !self.active.get() {
            return false;
        }
        let result = conn
            .prepare_cached(self.query.sql())
            .and_then(|mut stmt| self.query.run(&mut stmt));
        let Ok(result) = result else {
            return false;
        };
        let equals = self.query.equals();
        if equals(&self.last.borrow(), &result) {
            return false;
        }
        *self.last.borrow_mut() = result;
        true
    }

    fn notify(&self) {
        if !self.active.get() {
            return;
        }
        // A subscriber that re-enters its own callback (it cannot: commits made while the
        // store dispatches are queued) would find the callback borrowed; skip it then.
        if let Ok(mut callback) = self.callback.try_borrow_mut() {
            callback(&self.last.borrow());
        }
    }
}
