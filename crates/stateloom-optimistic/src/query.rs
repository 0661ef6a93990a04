//! Query atoms: a future's [`AsyncResult`] as an atom, refreshed on demand, by reactivity
//! keys or when the atoms its fetch function read change, and dropped when idle.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::rc::{Rc, Weak};
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use stateloom_atom::{
    Atom, AtomHandle, AtomScope, Getter, WeakAtomScope, WritableAtom, atom, derived_with_equals,
    writable_atom,
};

use crate::defs;
use crate::keys::{Key, Registration, registry_in};
use crate::result::{AsyncResult, Stamp};
use crate::runtime::{Task, clock, poll_once, spawn};

/// A query: an atom whose value is the [`AsyncResult`] of a fetch. Write a [`QueryAction`]
/// to it to refresh it or to set its value.
///
/// It is an atom like any other: read it with `scope.get(q)` or `q.get()`, subscribe with
/// `scope.sub(..)`, use it in [`derived`](stateloom_atom::derived), make one per id with
/// [`atom_family`](stateloom_atom::atom_family).
pub type Query<T, E> = WritableAtom<AsyncResult<T, E>, QueryAction<T>, ()>;

/// What can be written to a [`Query`].
///
/// # Examples
/// ```
/// use stateloom_optimistic::{QueryAction, query, run_until_stalled};
///
/// let q = query(|_| async {
///     futures::pending!(); // not ready at once: answered when the pool runs
///     Ok::<_, ()>(1)
/// });
/// q.get(); // the first read fetches
/// run_until_stalled();
/// q.write(QueryAction::Set(5)); // e.g. a response that carries the new value
/// assert_eq!(q.get().value(), Some(&5));
/// q.write(QueryAction::Refresh); // fetch again; 5 stays visible while waiting
/// assert_eq!((q.get().value(), q.get().is_waiting()), (Some(&5), true));
/// run_until_stalled();
/// assert_eq!(q.get().value(), Some(&1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAction<T> {
    /// Fetch again; the current value stays visible with `waiting` set until the new one
    /// arrives (stale-while-revalidate).
    Refresh,
    /// Make `T` the value, stamped now. A request that started earlier cannot overwrite it.
    Set(T),
}

/// How long a query keeps its value in a scope where nothing subscribes to it.
///
/// # Examples
/// See [`QueryBuilder::time_to_live`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Keep the value while the scope lives.
    KeepAlive,
    /// Drop the value (and cancel its request) after it has been unused this long: no
    /// subscriber, and no request started.
    Idle(Duration),
}

/// A query with the default options: kept alive, no reactivity keys.
///
/// `fetch` runs inside the query's read, with a [`Getter`]: the atoms it reads are
/// dependencies, and when one changes the query fetches again. The future it returns runs
/// on this thread's [`Spawner`](crate::Spawner); a future that is ready at once is used at
/// once.
///
/// # Examples
/// ```
/// use stateloom_atom::atom;
/// use stateloom_optimistic::{query, run_until_stalled};
///
/// let user_id = atom(1);
/// let user = query(move |get| {
///     let id = get.get(user_id);
///     async move { Ok::<_, String>(format!("user {id}")) }
/// });
/// assert_eq!(user.get().value().map(String::as_str), Some("user 1"));
/// user_id.set(2); // the request depends on user_id: a new one starts
/// run_until_stalled();
/// assert_eq!(user.get().value().map(String::as_str), Some("user 2"));
/// ```
pub fn query<T, E, Fut>(fetch: impl Fn(&Getter<'_>) -> Fut + 'static) -> Query<T, E>
where
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
{
    QueryBuilder::new(fetch).build()
}

type Fetch<T, E> = dyn Fn(&Getter<'_>) -> LocalBoxFuture<'static, Result<T, E>>;

/// Builds a [`Query`] with reactivity keys and a [`Lifetime`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_optimistic::{Key, QueryBuilder};
///
/// let todos = QueryBuilder::new(|_| async { Ok::<_, ()>(vec!["write docs"]) })
///     .keys([Key::table("todos")])
///     .time_to_live(Duration::from_secs(30))
///     .build();
/// assert_eq!(todos.get().value().map(Vec::len), Some(1));
/// ```
pub struct QueryBuilder<T, E> {
    fetch: Rc<Fetch<T, E>>,
    keys: Vec<Key>,
    lifetime: Lifetime,
}

impl<T, E> QueryBuilder<T, E>
where
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
{
    /// A builder for a query that fetches with `fetch`; see [`query`].
    ///
    /// # Examples
    /// See [`QueryBuilder`].
    pub fn new<Fut>(fetch: impl Fn(&Getter<'_>) -> Fut + 'static) -> Self
    where
        Fut: Future<Output = Result<T, E>> + 'static,
    {
        Self {
            fetch: Rc::new(move |get: &Getter<'_>| Box::pin(fetch(get)) as LocalBoxFuture<'_, _>),
            keys: Vec::new(),
            lifetime: Lifetime::KeepAlive,
        }
    }

    /// Refresh the query when one of `keys` is invalidated (by a mutation that succeeded, or
    /// by [`invalidate`](crate::invalidate)).
    ///
    /// # Examples
    /// See [`invalidate`](crate::invalidate).
    #[must_use]
    pub fn keys(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Drop the value after `ttl` unused in a scope; see [`Lifetime::Idle`].
    ///
    /// # Examples
    /// See [`set_clock`](crate::set_clock).
    #[must_use]
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.lifetime = Lifetime::Idle(ttl);
        self
    }

    /// Keep the value while the scope lives (the default).
    ///
    /// # Examples
    /// ```
    /// use stateloom_optimistic::QueryBuilder;
    /// let config = QueryBuilder::new(|_| async { Ok::<_, ()>("config") }).keep_alive().build();
    /// assert!(config.get().is_success());
    /// ```
    #[must_use]
    pub fn keep_alive(mut self) -> Self {
        self.lifetime = Lifetime::KeepAlive;
        self
    }

    /// Registers the query and returns its atom.
    ///
    /// # Examples
    /// See [`QueryBuilder`].
    pub fn build(self) -> Query<T, E> {
        let refresh = atom(0_u64);
        let tick = atom(0_u64);
        let fetch = self.fetch;
        let request = derived_with_equals(
            move |get| {
                get.get(refresh);
                Rc::new(Request {
                    future: RefCell::new(Some(fetch(get))),
                })
            },
            |_, _| false,
        );
        let shared = Rc::new(Shared {
            refresh,
            tick,
            keys: self.keys,
            lifetime: self.lifetime,
        });
        let cell = {
            let shared = shared.clone();
            derived_with_equals(
                move |get| QueryCell::new(&get.scope(), shared.clone()),
                Rc::ptr_eq,
            )
        };
        let query = writable_atom(
            move |get| {
                let cell = get.get(cell);
                get.get(tick);
                let request = get.get(request);
                cell.observe(request)
            },
            move |set, action: QueryAction<T>| match action {
                QueryAction::Refresh => set.update(refresh, |n| *n += 1),
                QueryAction::Set(value) => {
                    set.get(cell).set_value(value);
                    set.update(tick, |n| *n += 1);
                }
            },
        )
        .on_mount(move |ctx| {
            let cell = ctx.scope().map(|scope| scope.get(cell));
            if let Some(cell) = &cell {
                cell.mount();
            }
            move || {
                if let Some(cell) = cell {
                    cell.unmount();
                }
            }
        });
        defs::register(query.id(), Rc::new(QueryDef { refresh }));
        query
    }
}

impl<T, E> fmt::Debug for QueryBuilder<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryBuilder")
            .field("keys", &self.keys)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// What the crate knows about a query from its id.
pub(crate) struct QueryDef {
    refresh: Atom<u64>,
}

impl QueryDef {
    /// Starts a new request in `scope` the next time the query is read.
    pub(crate) fn refresh(&self, scope: &AtomScope) {
        scope.update(self.refresh, |n| *n += 1);
    }
}

/// The atoms and options every scope's cell of one query shares.
struct Shared {
    refresh: Atom<u64>,
    tick: Atom<u64>,
    keys: Vec<Key>,
    lifetime: Lifetime,
}

/// One fetch: the future, until a scope starts it.
struct Request<T, E> {
    future: RefCell<Option<LocalBoxFuture<'static, Result<T, E>>>>,
}

/// A query's state in one scope.
struct QueryCell<T, E> {
    scope: WeakAtomScope,
    shared: Rc<Shared>,
    state: RefCell<State<T, E>>,
    _registration: Option<Registration>,
}

struct State<T, E> {
    value: AsyncResult<T, E>,
    /// The request the value belongs to.
    current: Option<Rc<Request<T, E>>>,
    /// Moves with every request, so a superseded request's result is ignored.
    generation: u64,
    /// The running request; dropping it cancels the request.
    task: Option<Task>,
    mounts: usize,
    /// The idle timer; dropping it cancels the timer.
    idle: Option<Task>,
}

impl<T: Clone + 'static, E: Clone + 'static> QueryCell<T, E> {
    fn new(scope: &AtomScope, shared: Rc<Shared>) -> Rc<Self> {
        let registration = (!shared.keys.is_empty()).then(|| {
            let weak = scope.downgrade();
            let refresh = shared.refresh;
            registry_in(scope).register(
                &shared.keys,
                Rc::new(move || {
                    if let Some(scope) = weak.upgrade() {
                        scope.update(refresh, |n| *n += 1);
                    }
                }),
            )
        });
        Rc::new(Self {
            scope: scope.downgrade(),
            shared,
            state: RefCell::new(State {
                value: AsyncResult::initial(false),
                current: None,
                generation: 0,
                task: None,
                mounts: 0,
                idle: None,
            }),
            _registration: registration,
        })
    }

    /// The value for `request`, starting it if it is new. Runs inside the query's read.
    fn observe(self: &Rc<Self>, request: Rc<Request<T, E>>) -> AsyncResult<T, E> {
        let is_new = !self
            .state
            .borrow()
            .current
            .as_ref()
            .is_some_and(|current| Rc::ptr_eq(current, &request));
        if is_new {
            self.start(request);
        }
        self.state.borrow().value.clone()
    }

    fn start(self: &Rc<Self>, request: Rc<Request<T, E>>) {
        let future = request.future.borrow_mut().take();
        let (generation, superseded) = {
            let mut state = self.state.borrow_mut();
            state.current = Some(request);
            state.generation += 1;
            (state.generation, state.task.take())
        };
        drop(superseded);
        let Some(mut future) = future else {
            return;
        };
        let stamp = Stamp::next();
        // No borrow is held while user code runs: it may read this query.
        match poll_once(future.as_mut()) {
            Poll::Ready(outcome) => {
                self.apply(generation, outcome, stamp);
            }
            Poll::Pending => {
                let weak = Rc::downgrade(self);
                let task = spawn(async move {
                    let outcome = AssertUnwindSafe(future).catch_unwind().await;
                    let Some(cell) = weak.upgrade() else {
                        return;
                    };
                    match outcome {
                        Ok(outcome) => {
                            if cell.apply(generation, outcome, stamp) {
                                cell.notify();
                            }
                        }
                        Err(payload) => {
                            // The request ends with nothing to show: stop waiting, then let the
                            // executor see the panic.
                            if cell.abandon(generation) {
                                cell.notify();
                            }
                            resume_unwind(payload);
                        }
                    }
                });
                let mut state = self.state.borrow_mut();
                if state.generation == generation {
                    state.value = std::mem::take(&mut state.value).waiting_from();
                    state.task = Some(task);
                }
            }
        }
        if self.state.borrow().mounts == 0 {
            self.arm_idle();
        }
    }

    /// Records the outcome of request `generation`; returns whether the value changed.
    fn apply(&self, generation: u64, outcome: Result<T, E>, stamp: Stamp) -> bool {
        let mut state = self.state.borrow_mut();
        if state.generation != generation {
            return false;
        }
        let finished = state.task.take();
        let value = std::mem::take(&mut state.value);
        state.value = if value.stamp().is_some_and(|newer| newer > stamp) {
            // Set after this request started: the request cannot overwrite it.
            value.with_waiting(false)
        } else {
            value.settle(outcome, stamp)
        };
        drop(state);
        drop(finished);
        true
    }

    /// Ends request `generation` without a result (its future panicked); returns whether the
    /// value changed.
    fn abandon(&self, generation: u64) -> bool {
        let mut state = self.state.borrow_mut();
        if state.generation != generation {
            return false;
        }
        let finished = state.task.take();
        state.value = std::mem::take(&mut state.value).with_waiting(false);
        drop(state);
        drop(finished);
        true
    }

    fn set_value(&self, value: T) {
        let mut state = self.state.borrow_mut();
        let waiting = state.task.is_some();
        state.value = AsyncResult::success(value).with_waiting(waiting);
    }

    /// Tells the query's readers that the value changed.
    fn notify(&self) {
        if let Some(scope) = self.scope.upgrade() {
            scope.update(self.shared.tick, |n| *n += 1);
        }
    }

    fn mount(&self) {
        let timer = {
            let mut state = self.state.borrow_mut();
            state.mounts += 1;
            state.idle.take()
        };
        drop(timer);
    }

    fn unmount(self: &Rc<Self>) {
        let idle = {
            let mut state = self.state.borrow_mut();
            state.mounts = state.mounts.saturating_sub(1);
            state.mounts == 0
        };
        if idle {
            self.arm_idle();
        }
    }

    fn arm_idle(self: &Rc<Self>) {
        let Lifetime::Idle(ttl) = self.shared.lifetime else {
            return;
        };
        let weak: Weak<Self> = Rc::downgrade(self);
        let sleep = clock().sleep(ttl);
        let timer = spawn(async move {
            sleep.await;
            if let Some(cell) = weak.upgrade() {
                cell.expire();
            }
        });
        let previous = self.state.borrow_mut().idle.replace(timer);
        drop(previous);
    }

    /// Drops the value and cancels the request of a query unused for its time to live.
    fn expire(&self) {
        let (request, timer) = {
            let mut state = self.state.borrow_mut();
            if state.mounts > 0 {
                return;
            }
            state.value = AsyncResult::initial(false);
            state.current = None;
            state.generation += 1;
            (state.task.take(), state.idle.take())
        };
        drop((request, timer));
        if let Some(scope) = self.scope.upgrade() {
            let (refresh, tick) = (self.shared.refresh, self.shared.tick);
            stateloom_core::batch(|| {
                scope.update(refresh, |n| *n += 1);
                scope.update(tick, |n| *n += 1);
            });
        }
    }
}
