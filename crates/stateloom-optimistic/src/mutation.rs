//! Mutations: atoms that run a future per call, with an explicit [`Concurrency`] policy,
//! that invalidate their reactivity keys when a call succeeds.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use rustc_hash::FxHashMap;
use stateloom_atom::{
    Atom, AtomHandle, AtomScope, Derived, WeakAtomScope, WritableAtom, atom, derived_with_equals,
    writable_atom,
};

use crate::defs;
use crate::error::CallError;
use crate::keys::{Key, invalidate};
use crate::result::{AsyncResult, Stamp};
use crate::runtime::{Task, in_drop, poll_once, spawn};

/// A mutation: an atom whose value is the [`AsyncResult`] of its latest call. Writing an
/// argument to it starts a call and returns the call's [`Call`] future.
pub type Mutation<A, T, E> = WritableAtom<AsyncResult<T, E>, A, Call<T, E>>;

/// What a new call does to the calls of the same mutation (in the same scope) that are still
/// running.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{Concurrency, mutation};
///
/// // Saving a draft: only the latest matters.
/// let save = mutation(Concurrency::Switch, |text: String, _| async move { Ok::<_, ()>(text) });
/// // Appending to a log: every call must land, in order.
/// let append = mutation(Concurrency::Queue, |line: String, _| async move { Ok::<_, ()>(line) });
/// # let _ = (save, append);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// A new call cancels the running ones (their calls end with [`CallError::Cancelled`]).
    Switch,
    /// Every call runs to completion, side by side.
    Concurrent,
    /// One call at a time, in the order they were made.
    Queue,
}

/// A mutation with no reactivity keys; see [`MutationBuilder`].
///
/// `run` gets the call's argument and a [`MutationContext`] and returns the future to run.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{Concurrency, mutation, run_until_stalled};
///
/// let double = mutation(Concurrency::Concurrent, |n: i32, _| async move { Ok::<_, ()>(n * 2) });
/// let call = double.write(21);
/// run_until_stalled();
/// assert_eq!(double.get().value(), Some(&42));
/// assert_eq!(futures::executor::block_on(call), Ok(42));
/// ```
pub fn mutation<A, T, E, Fut>(
    concurrency: Concurrency,
    run: impl Fn(A, MutationContext) -> Fut + 'static,
) -> Mutation<A, T, E>
where
    A: 'static,
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
{
    MutationBuilder::new(concurrency, run).build()
}

type Run<A, T, E> = dyn Fn(A, MutationContext) -> LocalBoxFuture<'static, Result<T, E>>;
type KeysFn<A> = dyn Fn(&A) -> Vec<Key>;

/// Builds a [`Mutation`] with the reactivity keys it invalidates when a call succeeds.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{Concurrency, Key, MutationBuilder};
///
/// let rename = MutationBuilder::new(Concurrency::Switch, |(_id, name): (u32, String), _| async move {
///     Ok::<_, String>(name)
/// })
/// .invalidates([Key::table("projects")])
/// .invalidates_with(|(id, _): &(u32, String)| vec![Key::item("todos", id)])
/// .build();
/// # let _ = rename;
/// ```
pub struct MutationBuilder<A, T, E> {
    run: Rc<Run<A, T, E>>,
    concurrency: Concurrency,
    keys: Vec<Key>,
    keys_fn: Option<Rc<KeysFn<A>>>,
}

impl<A, T, E> MutationBuilder<A, T, E>
where
    A: 'static,
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
{
    /// A builder for a mutation that runs `run` per call under `concurrency`.
    ///
    /// # Examples
    /// See [`MutationBuilder`].
    pub fn new<Fut>(
        concurrency: Concurrency,
        run: impl Fn(A, MutationContext) -> Fut + 'static,
    ) -> Self
    where
        Fut: Future<Output = Result<T, E>> + 'static,
    {
        Self {
            run: Rc::new(move |arg, cx| Box::pin(run(arg, cx)) as LocalBoxFuture<'_, _>),
            concurrency,
            keys: Vec::new(),
            keys_fn: None,
        }
    }

    /// Invalidate `keys` whenever a call succeeds.
    ///
    /// # Examples
    /// See [`MutationBuilder`].
    #[must_use]
    pub fn invalidates(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Invalidate the keys `keys` computes from a call's argument when that call succeeds.
    ///
    /// # Examples
    /// See [`MutationBuilder`].
    #[must_use]
    pub fn invalidates_with(mut self, keys: impl Fn(&A) -> Vec<Key> + 'static) -> Self {
        self.keys_fn = Some(Rc::new(keys));
        self
    }

    /// Registers the mutation and returns its atom.
    ///
    /// # Examples
    /// See [`MutationBuilder`].
    pub fn build(self) -> Mutation<A, T, E> {
        let tick = atom(0_u64);
        let shared = Rc::new(Shared {
            run: self.run,
            concurrency: self.concurrency,
            keys: self.keys,
            keys_fn: self.keys_fn,
            tick,
        });
        let cell = derived_with_equals(
            |get| {
                Rc::new(MutationCell {
                    scope: get.scope().downgrade(),
                    state: RefCell::new(State::default()),
                })
            },
            Rc::ptr_eq,
        );
        let def = Rc::new(MutationDef { cell, shared });
        let write_def = def.clone();
        let mutation = writable_atom(
            move |get| {
                get.get(tick);
                let cell = get.get(cell);
                cell.state.borrow().value.clone()
            },
            move |set, arg: A| write_def.call(&set.scope(), arg, Hooks::default()),
        );
        defs::register(mutation.id(), def);
        mutation
    }
}

impl<A, T, E> fmt::Debug for MutationBuilder<A, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutationBuilder")
            .field("concurrency", &self.concurrency)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// What a running call can reach: its scope, and the optimistic value of the
/// [`optimistic_fn`](crate::optimistic_fn) that made it, if any.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{Concurrency, mutation};
///
/// let who = mutation(Concurrency::Switch, |_: (), cx| {
///     let live = cx.scope().is_some();
///     async move { Ok::<_, ()>(live) }
/// });
/// who.write(());
/// assert_eq!(who.get().value(), Some(&true));
/// ```
#[derive(Clone)]
pub struct MutationContext {
    scope: WeakAtomScope,
    intermediate: Option<Rc<PushIntermediate>>,
}

impl MutationContext {
    /// The scope the call was made in, while it is live.
    ///
    /// # Examples
    /// See [`MutationContext`].
    pub fn scope(&self) -> Option<AtomScope> {
        self.scope.upgrade()
    }

    /// Shows `value` as this call's optimistic value in place of its reducer's output, while
    /// the call runs (a server's progress report, a placeholder that got a real id).
    ///
    /// Returns `false`, doing nothing, when the call was not made by an
    /// [`optimistic_fn`](crate::optimistic_fn), when `V` is not the optimistic atom's value
    /// type, or when the call has settled.
    ///
    /// # Examples
    /// ```
    /// use stateloom_optimistic::{Concurrency, mutation};
    ///
    /// let plain = mutation(Concurrency::Switch, |_: (), cx| {
    ///     let shown = cx.set_optimistic(5_i32);
    ///     async move { Ok::<_, ()>(shown) }
    /// });
    /// plain.write(());
    /// assert_eq!(plain.get().value(), Some(&false)); // no optimistic atom to show it in
    /// ```
    pub fn set_optimistic<V: 'static>(&self, value: V) -> bool {
        match &self.intermediate {
            Some(push) => push(Box::new(value)),
            None => false,
        }
    }
}

impl fmt::Debug for MutationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutationContext")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The future of one mutation call: its outcome, once the call has settled.
///
/// Dropping it does not cancel the call (the mutation atom still shows the outcome);
/// [`cancel`](Self::cancel) does.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{CallError, Concurrency, mutation};
///
/// let slow = mutation(Concurrency::Concurrent, |_: (), _| futures::future::pending::<Result<(), ()>>());
/// let call = slow.write(());
/// assert!(slow.get().is_waiting());
/// call.cancel();
/// assert!(!slow.get().is_waiting());
/// assert_eq!(futures::executor::block_on(call), Err(CallError::Cancelled));
/// ```
pub struct Call<T, E> {
    receiver: oneshot::Receiver<Result<T, CallError<E>>>,
    slot: Weak<Slot<T, E>>,
}

impl<T, E> Call<T, E> {
    /// Cancels the call if it has not settled: its future is dropped, and the call ends with
    /// [`CallError::Cancelled`].
    ///
    /// # Examples
    /// See [`Call`].
    pub fn cancel(&self) {
        if let Some(slot) = self.slot.upgrade() {
            let guard = slot.borrow_mut().take();
            drop(guard);
        }
    }
}

impl<T, E> Future for Call<T, E> {
    type Output = Result<T, CallError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|outcome| match outcome {
                Ok(outcome) => outcome,
                Err(oneshot::Canceled) => Err(CallError::Cancelled),
            })
    }
}

impl<T, E> fmt::Debug for Call<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field(
                "settled",
                &self.slot.upgrade().is_none_or(|s| s.borrow().is_none()),
            )
            .finish()
    }
}

/// How a call ended, as told to the hooks of an optimistic function.
pub(crate) enum Outcome<'a, T> {
    Succeeded(&'a T),
    Failed,
    Cancelled,
}

/// What an optimistic function attaches to a call.
pub(crate) struct Hooks<T> {
    /// Runs once when the call settles, however it settles.
    pub(crate) on_settle: Option<Box<OnSettle<T>>>,
    /// Receives values pushed with [`MutationContext::set_optimistic`].
    pub(crate) intermediate: Option<Rc<PushIntermediate>>,
}

impl<T> Default for Hooks<T> {
    fn default() -> Self {
        Self {
            on_settle: None,
            intermediate: None,
        }
    }
}

/// What the crate knows about a mutation from its id.
pub(crate) struct MutationDef<A, T, E> {
    cell: Derived<Rc<MutationCell<T, E>>>,
    shared: Rc<Shared<A, T, E>>,
}

struct Shared<A, T, E> {
    run: Rc<Run<A, T, E>>,
    concurrency: Concurrency,
    keys: Vec<Key>,
    keys_fn: Option<Rc<KeysFn<A>>>,
    tick: Atom<u64>,
}

/// A mutation's calls in one scope.
struct MutationCell<T, E> {
    scope: WeakAtomScope,
    state: RefCell<State<T, E>>,
}

struct State<T, E> {
    value: AsyncResult<T, E>,
    next_id: u64,
    /// Started calls that have not settled, by id.
    running: FxHashMap<u64, Running<T, E>>,
    /// Calls waiting for their turn (`Queue`), in order.
    queued: VecDeque<Queued<T, E>>,
}

impl<T, E> Default for State<T, E> {
    fn default() -> Self {
        Self {
            value: AsyncResult::initial(false),
            next_id: 0,
            running: FxHashMap::default(),
            queued: VecDeque::new(),
        }
    }
}

/// A started call: its guard's slot, and its task once spawned.
type Running<T, E> = (Rc<Slot<T, E>>, Option<Task>);

/// A call waiting for its turn: its guard's slot and what starts it.
type Queued<T, E> = (Rc<Slot<T, E>>, Box<dyn FnOnce()>);

/// Receives a value pushed with [`MutationContext::set_optimistic`]; says whether it was shown.
pub(crate) type PushIntermediate = dyn Fn(Box<dyn Any>) -> bool;

/// Told once how a call settled.
pub(crate) type OnSettle<T> = dyn FnOnce(Outcome<'_, T>);

/// Where an unsettled call's guard lives; whoever takes the guard settles the call.
type Slot<T, E> = RefCell<Option<CallGuard<T, E>>>;

/// An unsettled call. Settling it consumes it; dropping it unsettled cancels the call.
struct CallGuard<T, E> {
    id: u64,
    cell: Weak<MutationCell<T, E>>,
    tick: Atom<u64>,
    sender: Option<oneshot::Sender<Result<T, CallError<E>>>>,
    /// The call's future panicked.
    panicked: bool,
    on_settle: Option<Box<OnSettle<T>>>,
    keys: Vec<Key>,
    started: bool,
}

impl<A: 'static, T: Clone + 'static, E: Clone + 'static> MutationDef<A, T, E> {
    /// Makes a call in `scope`.
    pub(crate) fn call(&self, scope: &AtomScope, arg: A, hooks: Hooks<T>) -> Call<T, E> {
        let cell = scope.get(self.cell);
        let shared = &self.shared;
        let (sender, receiver) = oneshot::channel();
        let mut keys = shared.keys.clone();
        if let Some(keys_fn) = &shared.keys_fn {
            keys.extend(keys_fn(&arg));
        }
        let id = {
            let mut state = cell.state.borrow_mut();
            state.next_id += 1;
            state.next_id
        };
        let slot: Rc<Slot<T, E>> = Rc::new(RefCell::new(Some(CallGuard {
            id,
            cell: Rc::downgrade(&cell),
            tick: shared.tick,
            sender: Some(sender),
            panicked: false,
            on_settle: hooks.on_settle,
            keys,
            started: false,
        })));
        let call = Call {
            receiver,
            slot: Rc::downgrade(&slot),
        };
        let cx = MutationContext {
            scope: scope.downgrade(),
            intermediate: hooks.intermediate,
        };
        let start = {
            let (run, slot, cell) = (shared.run.clone(), slot.clone(), cell.clone());
            move || start(&cell, id, slot, run(arg, cx))
        };
        match shared.concurrency {
            Concurrency::Switch => {
                let superseded: Vec<_> = {
                    let mut state = cell.state.borrow_mut();
                    let mut calls: Vec<_> = state.running.drain().collect();
                    // In call order, so their transitions roll back in a stable order.
                    calls.sort_unstable_by_key(|(id, _)| *id);
                    calls.into_iter().map(|(_, call)| call).collect()
                };
                // Settles each superseded call as cancelled; no borrow is held meanwhile.
                for (slot, task) in superseded {
                    let guard = slot.borrow_mut().take();
                    drop(guard);
                    drop(task);
                }
                start();
            }
            Concurrency::Concurrent => start(),
            Concurrency::Queue => {
                let busy = !cell.state.borrow().running.is_empty();
                if busy {
                    cell.state
                        .borrow_mut()
                        .queued
                        .push_back((slot, Box::new(start)));
                    cell.set_waiting(true);
                    cell.notify(shared.tick);
                } else {
                    start();
                }
            }
        }
        call
    }
}

/// Starts call `id`: polls its future once here, and spawns it if it is not done.
fn start<T: Clone + 'static, E: Clone + 'static>(
    cell: &Rc<MutationCell<T, E>>,
    id: u64,
    slot: Rc<Slot<T, E>>,
    future: LocalBoxFuture<'static, Result<T, E>>,
) {
    let tick = match slot.borrow_mut().as_mut() {
        Some(guard) => {
            guard.started = true;
            guard.tick
        }
        // Cancelled while queued.
        None => return,
    };
    cell.state
        .borrow_mut()
        .running
        .insert(id, (slot.clone(), None));
    cell.set_waiting(true);
    cell.notify(tick);
    let mut future = future;
    let polled = catch_unwind(AssertUnwindSafe(|| poll_once(future.as_mut())));
    match polled {
        Err(payload) => {
            settle_panicked(&slot);
            resume_unwind(payload);
        }
        Ok(Poll::Ready(outcome)) => settle(&slot, outcome),
        Ok(Poll::Pending) => {
            let task_slot = slot.clone();
            let task = spawn(async move {
                match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(outcome) => settle(&task_slot, outcome),
                    Err(payload) => {
                        settle_panicked(&task_slot);
                        resume_unwind(payload);
                    }
                }
            });
            let mut state = cell.state.borrow_mut();
            if let Some(entry) = state.running.get_mut(&id) {
                entry.1 = Some(task);
            }
        }
    }
}

/// Settles the call in `slot` as panicked: its caller gets [`CallError::Panicked`], and the
/// rest (queue, `waiting`, optimistic transition) goes as for a cancellation.
fn settle_panicked<T, E>(slot: &Slot<T, E>) {
    let guard = slot.borrow_mut().take();
    if let Some(mut guard) = guard {
        guard.panicked = true;
        drop(guard);
    }
}

/// Settles the call in `slot` with `outcome`, unless it was settled already.
fn settle<T: Clone + 'static, E: Clone + 'static>(slot: &Slot<T, E>, outcome: Result<T, E>) {
    let guard = slot.borrow_mut().take();
    if let Some(mut guard) = guard {
        guard.finish(outcome);
    }
}

impl<T: Clone + 'static, E: Clone + 'static> CallGuard<T, E> {
    /// Records how the call ended (`None`: cancelled), tells the hooks and the caller, and
    /// starts the next queued call.
    fn finish(&mut self, outcome: Result<T, E>) {
        let on_settle = self.on_settle.take();
        let sender = self.sender.take();
        let cell = self.cell.upgrade();
        let scope = cell.as_ref().and_then(|cell| cell.scope.upgrade());
        let keys = std::mem::take(&mut self.keys);
        let id = self.id;
        let started = self.started;
        let tick = self.tick;
        let scope_in = scope.clone();
        let work = move || {
            let scope = scope_in;
            let next = cell.as_ref().and_then(|cell| {
                {
                    let mut state = cell.state.borrow_mut();
                    let value = std::mem::take(&mut state.value);
                    state.value = value.settle(outcome.clone(), Stamp::next());
                }
                cell.release(id, started)
            });
            if let (Ok(_), Some(scope)) = (&outcome, &scope)
                && !keys.is_empty()
            {
                invalidate(scope, &keys);
            }
            if let Some(on_settle) = on_settle {
                on_settle(match &outcome {
                    Ok(value) => Outcome::Succeeded(value),
                    Err(_) => Outcome::Failed,
                });
            }
            if let Some(cell) = &cell {
                cell.notify(tick);
            }
            if let Some((_, start_next)) = next {
                start_next();
            }
            if let Some(sender) = sender {
                let _ = sender.send(outcome.map_err(CallError::Failed));
            }
        };
        let live = scope.is_some();
        if live {
            // One batch: the mutation's value, the refreshed queries and the optimistic value
            // change together.
            stateloom_core::batch(work);
        } else {
            work();
        }
    }
}

impl<T, E> Drop for CallGuard<T, E> {
    fn drop(&mut self) {
        if self.sender.is_none() && self.on_settle.is_none() {
            return;
        }
        // Unsettled: the call was cancelled, panicked or its future was dropped.
        let cell = self.cell.upgrade();
        let next = cell
            .as_ref()
            .and_then(|cell| cell.release(self.id, self.started));
        cancel_rest(self, cell, next);
    }
}

/// The rest of a cancellation: tells the caller and the hook, and starts the next queued call.
fn cancel_rest<T, E>(
    guard: &mut CallGuard<T, E>,
    cell: Option<Rc<MutationCell<T, E>>>,
    next: Option<Queued<T, E>>,
) {
    let on_settle = guard.on_settle.take();
    if let Some(sender) = guard.sender.take()
        && guard.panicked
    {
        let _ = sender.send(Err(CallError::Panicked));
    }
    let tick = guard.tick;
    let work = move || {
        if let Some(on_settle) = on_settle {
            on_settle(Outcome::Cancelled);
        }
        if let Some(cell) = &cell {
            cell.notify(tick);
        }
        if let Some((_, start_next)) = next {
            start_next();
        }
    };
    in_drop(|| stateloom_core::batch(work));
}

impl<T, E> MutationCell<T, E> {
    /// Takes settled call `id` out of the running or queued calls, updates `waiting`, and
    /// returns the queued call to start next, if it is now its turn.
    fn release(&self, id: u64, started: bool) -> Option<Queued<T, E>> {
        let mut state = self.state.try_borrow_mut().ok()?;
        state.running.remove(&id);
        if !started {
            // Its guard has left its slot already; the other queued calls' are still there.
            state
                .queued
                .retain(|(slot, _)| slot.try_borrow().is_ok_and(|g| g.is_some()));
        }
        let next = if state.running.is_empty() {
            state.queued.pop_front()
        } else {
            None
        };
        let waiting = !state.running.is_empty() || next.is_some();
        state.value = std::mem::take(&mut state.value).with_waiting(waiting);
        next
    }

    fn set_waiting(&self, waiting: bool) {
        let mut state = self.state.borrow_mut();
        state.value = std::mem::take(&mut state.value).with_waiting(waiting);
    }

    fn notify(&self, tick: Atom<u64>) {
        if let Some(scope) = self.scope.upgrade() {
            scope.update(tick, |n| *n += 1);
        }
    }
}

impl<T, E> Drop for MutationCell<T, E> {
    fn drop(&mut self) {
        // The scope is going: cancel every call now, so their callers and optimistic
        // transitions settle at once instead of at the executor's next poll.
        let state = std::mem::take(self.state.get_mut());
        let mut guards = Vec::new();
        for (slot, task) in state.running.into_values() {
            guards.extend(slot.borrow_mut().take());
            drop(task);
        }
        for (slot, _) in state.queued {
            guards.extend(slot.borrow_mut().take());
        }
        drop(guards);
    }
}
