//! Optimistic atoms: an authoritative value (usually a [`Query`]) shown with the expected
//! effect of in-flight mutations applied on top, one transition per call.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use stateloom_atom::{
    Atom, AtomHandle, AtomScope, Derived, Getter, Readable, WritableAtom, atom,
    derived_with_equals, writable_atom,
};

use crate::defs;
use crate::error::Error;
use crate::mutation::{Call, Hooks, Mutation, MutationDef, Outcome};
use crate::query::{Query, QueryAction, QueryDef};
use crate::result::{AsyncResult, Stamp};

/// An optimistic atom: the authoritative value with the in-flight transitions of its
/// [`optimistic_fn`]s applied on top. Made by [`optimistic`] or [`optimistic_value`].
pub type Optimistic<V> = WritableAtom<V, OptimisticAction, ()>;

/// An optimistic function: call it like a [`Mutation`] (its value is the mutation's
/// result); each call also shows its reducer's output in the optimistic atom until it
/// settles.
pub type OptimisticFn<A, T, E> = WritableAtom<AsyncResult<T, E>, A, Call<T, E>>;

/// What can be written to an [`Optimistic`] atom.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{OptimisticAction, optimistic, query};
///
/// let q = query(|_| async { Ok::<_, ()>(1) });
/// let shown = optimistic(q);
/// shown.write(OptimisticAction::Refresh); // refreshes the query behind it
/// assert!(q.get().is_success());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptimisticAction {
    /// Refresh the authoritative value.
    Refresh,
}

/// Wraps a query: shows its value, with the transitions of in-flight optimistic calls on
/// top.
///
/// The query's value replaces what is shown only when it is not waiting and not older than
/// what is shown, so a refetch in progress never makes the screen flicker back to a stale
/// value. A transition that succeeded stays applied until a value fetched after it arrives.
///
/// # Examples
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use stateloom_optimistic::{Concurrency, mutation, optimistic, optimistic_fn, query, run_until_stalled};
///
/// let server = Rc::new(RefCell::new(vec!["milk".to_string()]));
/// let list = {
///     let server = server.clone();
///     query(move |_| {
///         let rows = server.borrow().clone();
///         async move { Ok::<_, String>(rows) }
///     })
/// };
/// let add = {
///     let server = server.clone();
///     mutation(Concurrency::Concurrent, move |item: String, _| {
///         let server = server.clone();
///         async move {
///             futures::future::ready(()).await;
///             server.borrow_mut().push(item);
///             Ok::<_, String>(())
///         }
///     })
/// };
/// let shown = optimistic(list);
/// let add = optimistic_fn(shown, |rows, item: &String| rows.clone().map(|mut r| {
///     r.push(item.clone());
///     r
/// }), add);
///
/// assert_eq!(shown.get().value().map(Vec::len), Some(1));
/// add.write("eggs".to_string());
/// assert_eq!(shown.get().value().map(Vec::len), Some(2)); // at once, before the server
/// run_until_stalled();
/// assert_eq!(shown.get().value().map(Vec::len), Some(2)); // the server agrees
/// assert_eq!(server.borrow().len(), 2);
/// ```
pub fn optimistic<T, E>(query: Query<T, E>) -> Optimistic<AsyncResult<T, E>>
where
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
{
    let query_def = defs::lookup::<QueryDef>(query.id());
    let refresh: Rc<dyn Fn(&AtomScope)> = match query_def {
        Some(def) => Rc::new(move |scope| def.refresh(scope)),
        None => Rc::new(move |scope| scope.write(query, QueryAction::Refresh)),
    };
    build(
        Rc::new(move |get: &Getter<'_>| get.get(query)),
        Rc::new(move |scope: &AtomScope| scope.get(query)),
        refresh,
        Some(Rc::new(
            move |scope: &AtomScope, value: AsyncResult<T, E>| {
                if let Some(value) = value.value() {
                    scope.write(query, QueryAction::Set(value.clone()));
                }
            },
        )),
        Kind {
            accept: accept_result,
            same: |a, b| a.stamp() == b.stamp() && a.is_waiting() == b.is_waiting(),
            stamp: AsyncResult::stamp,
            mark_waiting: |r| r.with_waiting(true),
            timeless: false,
        },
    )
}

/// Wraps any readable value that is not an [`AsyncResult`] (a counter, a list computed from
/// other atoms); `refresh` makes the source fetch the truth again.
///
/// Values have no stamps, so a new source value always replaces the shown one when no
/// transition is in flight, and succeeded transitions are dropped as soon as `refresh` has
/// run.
///
/// # Examples
/// ```
/// use stateloom_atom::atom;
/// use stateloom_optimistic::{Concurrency, mutation, optimistic_fn, optimistic_value};
///
/// let likes = atom(10);
/// let shown = optimistic_value(likes, |_| {}); // the atom is the truth: nothing to refetch
/// let like = mutation(Concurrency::Concurrent, move |_: (), _| futures::future::pending::<Result<(), ()>>());
/// let like = optimistic_fn(shown, |n, _: &()| n + 1, like);
/// like.write(());
/// assert_eq!((likes.get(), shown.get()), (10, 11));
/// ```
pub fn optimistic_value<V>(
    source: impl Readable<V>,
    refresh: impl Fn(&AtomScope) + 'static,
) -> Optimistic<V>
where
    V: Clone + PartialEq + 'static,
{
    build(
        Rc::new(move |get: &Getter<'_>| get.get(source)),
        Rc::new(move |scope: &AtomScope| scope.get(source)),
        Rc::new(refresh),
        None,
        Kind {
            accept: |_, _| true,
            same: V::eq,
            stamp: |_| None,
            mark_waiting: |v| v,
            timeless: true,
        },
    )
}

/// An optimistic function with the default options; see [`OptimisticFnBuilder`].
///
/// Each call runs `reducer` on the optimistic atom's current value (in-flight transitions
/// included, so calls stack), shows the output at once, and makes a call of `mutation`
/// with the same argument. When the call fails or is cancelled, its transition is removed
/// and the others stay stacked; when every transition has settled and at least one
/// succeeded, the authoritative value is refreshed once.
///
/// Reducers are run again when the authoritative value changes under in-flight calls, or a
/// call before them fails: keep them pure.
///
/// # Examples
/// See [`optimistic`].
///
/// # Panics
/// If `optimistic_atom` was not made by [`optimistic`] or [`optimistic_value`] with value
/// type `V`, or `mutation` by this crate's mutation functions.
#[track_caller]
pub fn optimistic_fn<V, A, T, E>(
    optimistic_atom: Optimistic<V>,
    reducer: impl Fn(&V, &A) -> V + 'static,
    mutation: Mutation<A, T, E>,
) -> OptimisticFn<A, T, E>
where
    V: Clone + PartialEq + 'static,
    A: Clone + 'static,
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
{
    OptimisticFnBuilder::new(optimistic_atom, reducer, mutation).build()
}

type Reducer<V, A> = dyn Fn(&V, &A) -> V;
type ApplyResponse<V, A, T> = dyn Fn(&V, &A, &T) -> V;

/// Builds an [`OptimisticFn`], optionally writing each response into the query instead of
/// refetching it.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use stateloom_optimistic::{Concurrency, OptimisticFnBuilder, mutation, optimistic, query, run_until_stalled};
///
/// let fetches = Rc::new(Cell::new(0));
/// let count = {
///     let fetches = fetches.clone();
///     query(move |_| {
///         fetches.set(fetches.get() + 1);
///         async { Ok::<i64, ()>(0) }
///     })
/// };
/// // The server answers with the new total.
/// let add = mutation(Concurrency::Queue, |n: i64, _| async move { Ok::<i64, ()>(n) });
/// let shown = optimistic(count);
/// let add = OptimisticFnBuilder::new(shown, |r, n: &i64| r.clone().map(|v| v + n), add)
///     .apply_response(|_current, _n, total: &i64| stateloom_optimistic::AsyncResult::success(*total))
///     .build();
/// assert_eq!(shown.get().value(), Some(&0));
/// add.write(5);
/// run_until_stalled();
/// assert_eq!(shown.get().value(), Some(&5));
/// assert_eq!(count.get().value(), Some(&5)); // written into the query
/// assert_eq!(fetches.get(), 1); // no refetch
/// ```
pub struct OptimisticFnBuilder<V, A, T, E> {
    optimistic: Optimistic<V>,
    reducer: Rc<Reducer<V, A>>,
    mutation: Mutation<A, T, E>,
    apply_response: Option<Rc<ApplyResponse<V, A, T>>>,
}

impl<V, A, T, E> OptimisticFnBuilder<V, A, T, E>
where
    V: Clone + PartialEq + 'static,
    A: Clone + 'static,
    T: Clone + PartialEq + 'static,
    E: Clone + PartialEq + 'static,
{
    /// A builder; see [`optimistic_fn`].
    ///
    /// # Examples
    /// See [`OptimisticFnBuilder`].
    pub fn new(
        optimistic: Optimistic<V>,
        reducer: impl Fn(&V, &A) -> V + 'static,
        mutation: Mutation<A, T, E>,
    ) -> Self {
        Self {
            optimistic,
            reducer: Rc::new(reducer),
            mutation,
            apply_response: None,
        }
    }

    /// On success, write `apply(authoritative, arg, response)` into the query (stamped now)
    /// instead of refetching it. Only for optimistic atoms made by [`optimistic`].
    ///
    /// # Examples
    /// See [`OptimisticFnBuilder`].
    #[must_use]
    pub fn apply_response(mut self, apply: impl Fn(&V, &A, &T) -> V + 'static) -> Self {
        self.apply_response = Some(Rc::new(apply));
        self
    }

    /// Registers the optimistic function and returns its atom.
    ///
    /// # Examples
    /// See [`OptimisticFnBuilder`].
    ///
    /// # Panics
    /// As [`optimistic_fn`], and if [`apply_response`](Self::apply_response) was given for an
    /// optimistic atom made by [`optimistic_value`].
    #[track_caller]
    pub fn build(self) -> OptimisticFn<A, T, E> {
        let def = defs::lookup::<OptimisticDef<V>>(self.optimistic.id())
            .unwrap_or_else(|| panic!("{}", Error::NotOptimistic(self.optimistic.id())));
        let mutation_def = defs::lookup::<MutationDef<A, T, E>>(self.mutation.id())
            .unwrap_or_else(|| panic!("{}", Error::NotMutation(self.mutation.id())));
        if self.apply_response.is_some() && def.write_source.is_none() {
            panic!("{}", Error::NoResponseTarget(self.optimistic.id()));
        }
        let mutation = self.mutation;
        let optimistic = self.optimistic;
        let reducer = self.reducer;
        let apply_response = self.apply_response;
        writable_atom(
            move |get| get.get(mutation),
            move |set, arg: A| {
                let scope = set.scope();
                let reducer = reducer.clone();
                let reducer_arg = arg.clone();
                let id = def.begin(
                    &scope,
                    optimistic,
                    Rc::new(move |value: &V| reducer(value, &reducer_arg)),
                );
                let weak = scope.downgrade();
                let settle_def = def.clone();
                let settle_arg = arg.clone();
                let apply_response = apply_response.clone();
                let on_settle = Box::new(move |outcome: Outcome<'_, T>| {
                    let Some(scope) = weak.upgrade() else {
                        return;
                    };
                    let settled = match outcome {
                        Outcome::Succeeded(response) => Settled::Succeeded(
                            apply_response
                                .as_ref()
                                .map(|apply| (apply.clone(), settle_arg, response.clone())),
                        ),
                        Outcome::Failed | Outcome::Cancelled => Settled::RolledBack,
                    };
                    settle_def.settle(&scope, id, settled);
                });
                let weak = scope.downgrade();
                let push_def = def.clone();
                let intermediate = Rc::new(move |value: Box<dyn Any>| {
                    let (Some(scope), Ok(value)) = (weak.upgrade(), value.downcast::<V>()) else {
                        return false;
                    };
                    push_def.set_intermediate(&scope, id, *value)
                });
                mutation_def.call(
                    &scope,
                    arg,
                    Hooks {
                        on_settle: Some(on_settle),
                        intermediate: Some(intermediate),
                    },
                )
            },
        )
    }
}

impl<V, A, T, E> fmt::Debug for OptimisticFnBuilder<V, A, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptimisticFnBuilder")
            .field("optimistic", &self.optimistic)
            .field("mutation", &self.mutation)
            .field("apply_response", &self.apply_response.is_some())
            .finish()
    }
}

/// Whether an authoritative result may replace the one shown: not waiting and not older;
/// anything with a value replaces "nothing yet"; "nothing yet" replaces only itself.
fn accept_result<T, E>(shown: &AsyncResult<T, E>, incoming: &AsyncResult<T, E>) -> bool {
    match (shown.stamp(), incoming.stamp()) {
        (_, None) => shown.is_initial(),
        (None, Some(_)) => true,
        (Some(shown), Some(incoming_stamp)) => !incoming.is_waiting() && incoming_stamp >= shown,
    }
}

/// How one kind of value is compared and marked.
struct Kind<V> {
    accept: fn(&V, &V) -> bool,
    /// Whether two values are the same authoritative value.
    same: fn(&V, &V) -> bool,
    stamp: fn(&V) -> Option<Stamp>,
    mark_waiting: fn(V) -> V,
    /// Values carry no stamps: succeeded transitions go when the refresh has run.
    timeless: bool,
}

type SourceRead<V> = dyn Fn(&Getter<'_>) -> V;
type SourceGet<V> = dyn Fn(&AtomScope) -> V;
type SourceWrite<V> = dyn Fn(&AtomScope, V);

/// What the crate knows about an optimistic atom from its id.
struct OptimisticDef<V> {
    cell: Derived<Rc<OptimisticCell<V>>>,
    tick: Atom<u64>,
    source_get: Rc<SourceGet<V>>,
    refresh: Rc<dyn Fn(&AtomScope)>,
    write_source: Option<Rc<SourceWrite<V>>>,
    kind: Rc<Kind<V>>,
}

fn build<V: Clone + PartialEq + 'static>(
    source_read: Rc<SourceRead<V>>,
    source_get: Rc<SourceGet<V>>,
    refresh: Rc<dyn Fn(&AtomScope)>,
    write_source: Option<Rc<SourceWrite<V>>>,
    kind: Kind<V>,
) -> Optimistic<V> {
    let kind = Rc::new(kind);
    let tick = atom(0_u64);
    let cell = derived_with_equals(
        |_| {
            Rc::new(OptimisticCell {
                state: RefCell::new(State {
                    base: None,
                    transitions: Vec::new(),
                    folded: None,
                    next_id: 0,
                    in_flight: 0,
                    refresh_due: false,
                }),
            })
        },
        Rc::ptr_eq,
    );
    let read_kind = kind.clone();
    let write_refresh = refresh.clone();
    let optimistic = writable_atom(
        move |get| {
            let cell = get.get(cell);
            get.get(tick);
            let incoming = source_read(get);
            cell.observe(incoming, &read_kind)
        },
        move |set, action: OptimisticAction| match action {
            OptimisticAction::Refresh => write_refresh(&set.scope()),
        },
    );
    defs::register(
        optimistic.id(),
        Rc::new(OptimisticDef {
            cell,
            tick,
            source_get,
            refresh,
            write_source,
            kind,
        }),
    );
    optimistic
}

/// A call's reducer with its argument bound.
type Step<V> = dyn Fn(&V) -> V;

/// One call's effect on the optimistic value.
struct Transition<V> {
    id: u64,
    reducer: Rc<Step<V>>,
    /// A value the call pushed, shown in place of the reducer's output.
    intermediate: Option<V>,
    /// When the call succeeded; `None` while it is in flight.
    settled: Option<Stamp>,
}

/// A response to write into the query: the function, the call's argument and the response.
type Response<V, A, T> = (Rc<ApplyResponse<V, A, T>>, A, T);

/// How a call ended, for its transition.
enum Settled<V, A, T> {
    /// Succeeded; with a response to write into the query, if so configured.
    Succeeded(Option<Response<V, A, T>>),
    /// Failed or cancelled.
    RolledBack,
}

/// An optimistic atom's state in one scope.
struct OptimisticCell<V> {
    state: RefCell<State<V>>,
}

struct State<V> {
    /// The newest authoritative value accepted.
    base: Option<V>,
    /// In call order: the in-flight transitions, and the succeeded ones that no authoritative
    /// value fetched after them has replaced yet.
    transitions: Vec<Transition<V>>,
    /// `base` with every transition applied; `None` when it must be computed again.
    folded: Option<V>,
    next_id: u64,
    /// How many transitions are in flight (not settled).
    in_flight: usize,
    /// A transition succeeded since the last refresh.
    refresh_due: bool,
}

impl<V: Clone + 'static> OptimisticCell<V> {
    /// The value to show, given the source's current value. Runs inside the atom's read.
    fn observe(&self, incoming: V, kind: &Kind<V>) -> V {
        {
            let mut state = self.state.borrow_mut();
            let accept = match &state.base {
                None => true,
                // The same authoritative value seen again (the atom re-read for a transition's
                // sake) changes nothing; checking costs a stamp comparison, not a fold.
                Some(base) => !(kind.same)(base, &incoming) && (kind.accept)(base, &incoming),
            };
            if accept {
                if let Some(at) = (kind.stamp)(&incoming) {
                    let before = state.transitions.len();
                    // A value fetched after a transition succeeded includes its effect.
                    state
                        .transitions
                        .retain(|t| t.settled.is_none_or(|settled| settled > at));
                    if state.transitions.len() != before {
                        state.folded = None;
                    }
                }
                state.base = Some(incoming);
                state.folded = None;
            }
        }
        let folded = self.folded();
        if self.state.borrow().transitions.is_empty() {
            folded
        } else {
            (kind.mark_waiting)(folded)
        }
    }

    /// `base` with every transition applied, computed again if needed. No borrow is held
    /// while reducers run.
    fn folded(&self) -> V {
        let (base, steps) = {
            let state = self.state.borrow();
            if let Some(folded) = &state.folded {
                return folded.clone();
            }
            let base = state
                .base
                .clone()
                .expect("an optimistic atom is read before its value is folded");
            let steps: Vec<(Rc<Step<V>>, Option<V>)> = state
                .transitions
                .iter()
                .map(|t| (t.reducer.clone(), t.intermediate.clone()))
                .collect();
            (base, steps)
        };
        let mut value = base;
        for (reducer, intermediate) in steps {
            value = match intermediate {
                Some(pushed) => pushed,
                None => reducer(&value),
            };
        }
        self.state.borrow_mut().folded = Some(value.clone());
        value
    }
}

impl<V: Clone + PartialEq + 'static> OptimisticDef<V> {
    /// Applies a new call's reducer on top of the current optimistic value and returns its
    /// transition's id.
    fn begin(&self, scope: &AtomScope, optimistic: Optimistic<V>, reducer: Rc<Step<V>>) -> u64 {
        // Reading brings the base up to date with the source.
        scope.get(optimistic);
        let cell = scope.get(self.cell);
        let current = cell.folded();
        let next = reducer(&current);
        let id = {
            let mut state = cell.state.borrow_mut();
            state.next_id += 1;
            let id = state.next_id;
            let incremental = state.folded.is_some();
            state.in_flight += 1;
            state.transitions.push(Transition {
                id,
                reducer,
                intermediate: None,
                settled: None,
            });
            state.folded = incremental.then_some(next);
            id
        };
        scope.update(self.tick, |n| *n += 1);
        id
    }

    /// Shows `value` for transition `id` while it is in flight.
    fn set_intermediate(&self, scope: &AtomScope, id: u64, value: V) -> bool {
        let cell = scope.get(self.cell);
        {
            let mut state = cell.state.borrow_mut();
            let Some(t) = state
                .transitions
                .iter_mut()
                .find(|t| t.id == id && t.settled.is_none())
            else {
                return false;
            };
            t.intermediate = Some(value);
            state.folded = None;
        }
        scope.update(self.tick, |n| *n += 1);
        true
    }

    /// Settles transition `id`.
    fn settle<A, T>(&self, scope: &AtomScope, id: u64, settled: Settled<V, A, T>) {
        let cell = scope.get(self.cell);
        let mut response = None;
        let refresh = {
            let mut state = cell.state.borrow_mut();
            let Ok(index) = state.transitions.binary_search_by_key(&id, |t| t.id) else {
                return;
            };
            if state.transitions[index].settled.is_some() {
                return;
            }
            state.in_flight -= 1;
            match settled {
                Settled::Succeeded(apply) => {
                    state.transitions[index].settled = Some(Stamp::next());
                    match apply {
                        Some(apply) => response = Some(apply),
                        None => state.refresh_due = true,
                    }
                }
                Settled::RolledBack => {
                    // The later transitions' outputs depended on this one: fold again (lazily).
                    state.transitions.remove(index);
                    state.folded = None;
                }
            }
            let refresh = state.in_flight == 0 && std::mem::take(&mut state.refresh_due);
            if refresh && self.kind.timeless {
                state.transitions.clear();
                state.folded = None;
            }
            refresh
        };
        stateloom_core::batch(|| {
            if let (Some((apply, arg, value)), Some(write)) = (response, &self.write_source) {
                let current = (self.source_get)(scope);
                write(scope, apply(&current, &arg, &value));
            }
            if refresh {
                (self.refresh)(scope);
            }
            scope.update(self.tick, |n| *n += 1);
        });
    }
}
