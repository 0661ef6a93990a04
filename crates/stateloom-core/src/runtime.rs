//! The per-thread runtime: the graph in its cell, the tracking context, and every step
//! that calls user code (recomputing, committing, checking, running effects, disposing).
//!
//! The rule that keeps this sound and re-entrant: the graph is never borrowed while user code
//! runs. Each step borrows it, copies out what it needs (indices, flags, a pointer to the
//! payload), releases it, calls the user, and borrows again. A pointer to a payload is only
//! kept while something stops the payload from being freed: a signal's borrow count or
//! `WRITING` flag (see `borrow`), a borrow of a computed's value cell, or the `RUNNING` flag of
//! a computed or effect that runs.

mod borrow;
mod check;
mod dispose;
mod flush;

pub(crate) use borrow::{ReadBorrow, Write};
use check::Check;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Rc;

use crate::arena::{NIL, Slot};
use crate::error::{Error, Origin};
use crate::graph::{Flags, Freed, Graph, GraphCell, Node, NodeKind, Payload, payload_prefix};
use crate::pool::BlockPool;

/// The marker inside typed handles: covariant in `T` without owning one, and neither `Send`
/// nor `Sync`, because a handle only means something on the thread whose graph holds its node.
pub(crate) type HandleMarker<T> = std::marker::PhantomData<(fn() -> T, *const ())>;

/// A user function wrapped around every notification flush.
pub(crate) type BatchHook = Rc<dyn Fn(&mut dyn FnMut())>;

/// Nesting depth of consumer runs after which user closures run on a stack segment that is
/// grown on demand, so a cold read of a very deep chain cannot overflow the thread's stack.
const GROW_AFTER_DEPTH: u32 = 32;
/// Space that must be left on the stack before a nested run starts on the current segment.
const RED_ZONE: usize = 128 * 1024;
/// Size of each newly allocated stack segment.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// A checked reference to a node: its slot, the slot's generation and (in debug builds) where
/// the node was created.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeRef {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    #[cfg(debug_assertions)]
    origin: &'static Location<'static>,
}

impl NodeRef {
    pub(crate) fn origin(&self) -> Origin {
        #[cfg(debug_assertions)]
        {
            Origin::from_location(self.origin)
        }
        #[cfg(not(debug_assertions))]
        {
            Origin::UNKNOWN
        }
    }
}

impl std::fmt::Debug for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}v{}", self.index, self.generation)
    }
}

/// The owner of nodes created now: a node's index and generation, so an owner that user code
/// disposed while it was current is recognised instead of adopting children in a freed slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl Owner {
    /// No owner: nodes created now belong to nobody.
    pub(crate) const NONE: Owner = Owner {
        index: NIL,
        generation: 0,
    };
}

impl From<NodeRef> for Owner {
    fn from(node: NodeRef) -> Self {
        Owner {
            index: node.index,
            generation: node.generation,
        }
    }
}

/// The state of one thread's reactive world.
pub(crate) struct Runtime {
    pub(crate) graph: GraphCell,
    /// The consumer whose reads are tracked, or `NIL`.
    pub(crate) active: Cell<u32>,
    /// The run stamp of `active`'s current run.
    pub(crate) stamp: Cell<u32>,
    /// The owner of nodes created now, or [`Owner::NONE`].
    pub(crate) owner: Cell<Owner>,
    /// Depth of nested batches; consumer runs count as batches too.
    pub(crate) batch_depth: Cell<u32>,
    pub(crate) flushing: Cell<bool>,
    /// Depth of nested consumer runs (for growing the stack).
    run_depth: Cell<u32>,
    /// The subscription effect running untracked (`run_watcher`) that has not handed its value
    /// to its callback yet, or `NIL`; see `notify_untracked`.
    watching: Cell<u32>,
    /// The cycle error a panicking `get` raised, for the `try_get` that catches the unwind.
    pub(crate) cycle: Cell<Option<Error>>,
    pub(crate) batch_hook: RefCell<Option<BatchHook>>,
    /// Scopes entered with `run_in_scope`, innermost last.
    pub(crate) scopes: RefCell<Vec<crate::scope::Scope>>,
    pub(crate) in_scope: Cell<bool>,
    /// Payloads of freed nodes that a read or write still uses; dropped once it ends.
    graveyard: RefCell<Vec<Freed>>,
    /// Flush rounds after which effects that keep re-triggering each other are given up on.
    pub(crate) flush_round_limit: Cell<usize>,
    /// Node and link slots kept for reuse however few nodes are live (`set_retained_slots`).
    pub(crate) retained_slots: Cell<usize>,
    /// Blocks of dropped payloads, kept for the next payloads of the same size.
    pub(crate) blocks: BlockPool,
    /// Whether the runtime holds anything its teardown must free, or was torn down.
    life: Cell<Life>,
}

thread_local! {
    /// This thread's runtime. It has no destructor, so reaching it is a plain thread-pointer
    /// offset, without the "registered, alive or destroyed" check a thread-local with a
    /// destructor makes on every access; [`TEARDOWN`] frees what it holds at thread exit.
    static RUNTIME: ManuallyDrop<Runtime> = const { ManuallyDrop::new(Runtime::new()) };
    /// Tears this thread's runtime down when the thread exits; registered by
    /// [`Runtime::hold`] before the runtime first holds anything.
    static TEARDOWN: Teardown = const { Teardown };
}

/// Where a thread's runtime is in its life (see [`Runtime::life`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Holds nothing that needs freeing; [`TEARDOWN`] is not registered yet.
    Empty,
    /// [`TEARDOWN`] is registered and will free what the runtime holds.
    Holding,
    /// Torn down at thread exit: what it held is freed or being freed, and it takes nothing
    /// new.
    TornDown,
}

/// Frees what this thread's runtime holds when the thread exits (its thread-local's
/// destructor).
struct Teardown;

impl Drop for Teardown {
    fn drop(&mut self) {
        with_runtime(Runtime::tear_down);
    }
}

/// Runs `f` with this thread's runtime.
///
/// The thread-local is only used to find the runtime's address; `f` runs outside
/// `LocalKey::with`. That keeps the access a direct thread-pointer offset on every hot path:
/// inside `with`, a closure as large as a read made the compiler leave `with` out of line and
/// reach the runtime through an indirect call (17 % of the instructions of `kairo_repeated`).
#[inline(always)]
pub(crate) fn with_runtime<R>(f: impl FnOnce(&Runtime) -> R) -> R {
    let rt: *const ManuallyDrop<Runtime> = RUNTIME.with(std::ptr::from_ref);
    // SAFETY: the runtime's thread-local has no destructor, so its memory stays valid until
    // the thread's thread-local storage is released, after every thread-local destructor has
    // run and no code of the thread runs any more; it is never dropped in place (its
    // teardown only swaps owned parts out of its cells). `Runtime` is only used through `&`
    // (its mutable parts are cells), so the shared reference aliases nothing mutable.
    #[allow(unsafe_code)]
    let rt = unsafe { &*rt };
    f(rt)
}

/// Runs `f` with this thread's runtime, or returns `None` when the thread is exiting and the
/// runtime is torn down (or being torn down). Disposal uses it: a value whose `Drop` disposes
/// nodes may be dropped by the runtime's own teardown, when there is nothing left to free.
#[inline]
pub(crate) fn try_with_runtime<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    with_runtime(|rt| (rt.life.get() != Life::TornDown).then(|| f(rt)))
}

/// Why a read failed, kept small so the hot path returns in registers instead of moving a
/// large [`Error`] through memory; [`ReadFail::into_error`] adds the creation site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadFail {
    Disposed,
    Cycle,
}

impl ReadFail {
    #[cold]
    pub(crate) fn into_error(self, node: NodeRef, kind: NodeKind) -> Error {
        match self {
            ReadFail::Disposed => Error::Disposed {
                kind: kind.name(),
                origin: node.origin(),
            },
            ReadFail::Cycle => Error::Cycle {
                origin: node.origin(),
            },
        }
    }
}

/// Panics for a read that would overflow a signal's borrow count.
#[cold]
fn too_many_reads() -> ! {
    panic!(
        "a signal's value was borrowed by more than {} nested reads",
        u16::MAX
    )
}

/// Restores the tracking context when a run or an untracked section ends, even by panic.
struct ContextGuard<'a> {
    rt: &'a Runtime,
    active: u32,
    owner: Owner,
    stamp: u32,
}

impl Drop for ContextGuard<'_> {
    fn drop(&mut self) {
        self.rt.active.set(self.active);
        self.rt.owner.set(self.owner);
        self.rt.stamp.set(self.stamp);
    }
}

impl Runtime {
    const fn new() -> Self {
        Self {
            graph: GraphCell::new(Graph::new()),
            active: Cell::new(NIL),
            stamp: Cell::new(0),
            owner: Cell::new(Owner::NONE),
            batch_depth: Cell::new(0),
            flushing: Cell::new(false),
            run_depth: Cell::new(0),
            watching: Cell::new(NIL),
            cycle: Cell::new(None),
            batch_hook: RefCell::new(None),
            scopes: RefCell::new(Vec::new()),
            in_scope: Cell::new(false),
            graveyard: RefCell::new(Vec::new()),
            flush_round_limit: Cell::new(flush::DEFAULT_FLUSH_ROUND_LIMIT),
            retained_slots: Cell::new(dispose::DEFAULT_RETAINED_SLOTS),
            blocks: BlockPool::new(),
            life: Cell::new(Life::Empty),
        }
    }

    /// Called before the runtime starts holding something that must be freed at thread exit
    /// (a node, a scope, a batch hook): registers the teardown the first time.
    ///
    /// # Panics
    /// If the runtime was already torn down: the thread is exiting, and a thread-local's
    /// destructor tried to create a node or enter a scope after the runtime's own teardown.
    #[inline]
    pub(crate) fn hold(&self) {
        if self.life.get() != Life::Holding {
            self.hold_first();
        }
    }

    #[cold]
    #[inline(never)]
    fn hold_first(&self) {
        match self.life.get() {
            Life::Holding => {}
            Life::Empty => {
                // Registering may fail once the thread's thread-local destructors have begun;
                // then what the runtime holds stays allocated until the thread is gone.
                let _ = TEARDOWN.try_with(|_| ());
                self.life.set(Life::Holding);
            }
            Life::TornDown => panic!(
                "the stateloom runtime was used after its teardown at thread exit (from a \
                 thread-local's destructor)"
            ),
        }
    }

    /// Frees what the runtime holds, at thread exit. Values' destructors may run user code;
    /// the runtime counts as gone meanwhile ([`try_with_runtime`] returns `None`), as it does
    /// after.
    fn tear_down(&self) {
        self.life.set(Life::TornDown);
        let graph = std::mem::replace(&mut *self.graph.borrow_mut(), Graph::new());
        drop(graph);
        drop(self.cycle.take());
        drop(self.batch_hook.take());
        drop(self.scopes.take());
        drop(self.graveyard.take());
        self.blocks.trim(0);
    }

    /// Swaps in a tracking context and returns a guard that restores the previous one.
    fn enter(&self, active: u32, owner: Owner, stamp: u32) -> ContextGuard<'_> {
        ContextGuard {
            rt: self,
            active: self.active.replace(active),
            owner: self.owner.replace(owner),
            stamp: self.stamp.replace(stamp),
        }
    }

    /// Runs `f` without tracking reads (and without an owner when `detach` is set).
    pub(crate) fn untracked<R>(&self, detach: bool, f: impl FnOnce() -> R) -> R {
        let owner = if detach {
            Owner::NONE
        } else {
            self.owner.get()
        };
        let _guard = self.enter(NIL, owner, self.stamp.get());
        f()
    }

    /// Calls a subscription's callback (`f`), untracked and owned by nobody, once its source
    /// has been read.
    ///
    /// A subscription run by `run_watcher` does not re-track its read, so its link stays
    /// while its `deps_tail` is `NIL`, as in a tracked run before the read: a change of the
    /// source committed by the read itself is one it reads, not one that runs it again. From
    /// here on the read counts as made, as a tracked read would have recorded it, so a change
    /// committed during the callback runs the subscription again in the next round.
    pub(crate) fn notify_untracked<R>(&self, f: impl FnOnce() -> R) -> R {
        let watcher = self.watching.replace(NIL);
        if watcher != NIL {
            let mut graph = self.graph.borrow_mut();
            let node = graph.nodes.at_mut(watcher);
            node.deps_tail = node.deps;
        }
        self.untracked(true, f)
    }

    /// Runs `f` with `owner` as the owner of new nodes, untracked.
    pub(crate) fn with_owner<R>(&self, owner: Owner, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter(NIL, owner, self.stamp.get());
        f()
    }

    /// The current owner's index if it is still alive, else `NIL`: a node created under an
    /// owner that user code disposed meanwhile (a `Root::run` closure that disposed an
    /// ancestor of the root, say) belongs to nobody.
    pub(crate) fn live_owner(&self, graph: &Graph) -> u32 {
        let owner = self.owner.get();
        // `Owner::NONE` names no slot, so it is never current.
        if graph.nodes.is_current(owner.index, owner.generation) {
            owner.index
        } else {
            NIL
        }
    }

    /// Creates a node owned by the current owner.
    pub(crate) fn create(
        &self,
        kind: NodeKind,
        flags: Flags,
        payload: Payload,
        origin: &'static Location<'static>,
    ) -> NodeRef {
        self.hold();
        let mut graph = self.graph.borrow_mut();
        let owner = self.live_owner(&graph);
        let (index, generation) = graph.insert(Node::new(kind, flags, payload, origin), owner);
        NodeRef {
            index,
            generation,
            #[cfg(debug_assertions)]
            origin,
        }
    }

    pub(crate) fn is_live(&self, node: NodeRef) -> bool {
        self.graph
            .borrow()
            .nodes
            .get(node.index, node.generation)
            .is_some()
    }

    /// Brings a signal or computed up to date, tracks the read if `track` is set, and returns
    /// a pointer to its payload's typed prefix `P` (the `SignalCell<T>` or `ComputedCell<T>`
    /// the handle knows).
    ///
    /// No reference count is taken. A signal's read is counted in its node instead: the
    /// caller must end it with [`end_read`](Self::end_read) (through a [`ReadBorrow`]), and
    /// until then the payload stays allocated, even if the node is disposed meanwhile (see
    /// [`release_payload`](Self::release_payload)). A computed's caller must borrow the
    /// payload's value cell before it runs any user code and use the pointer only while the
    /// borrow lasts; disposal never frees a payload whose value is borrowed.
    ///
    /// The fast path (an up-to-date node, read again by the consumer that read it last or not
    /// tracked) is small enough to inline into every typed read.
    #[inline(always)]
    pub(crate) fn read<P: 'static>(
        &self,
        node: NodeRef,
        kind: NodeKind,
        track: bool,
    ) -> Result<NonNull<P>, ReadFail> {
        let mut graph = self.graph.borrow_mut();
        let Some(n) = graph.nodes.get_mut(node.index, node.generation) else {
            return Err(ReadFail::Disposed);
        };
        let flags = n.flags;
        let stale = match kind {
            NodeKind::Signal => flags.intersects(Flags::DIRTY | Flags::UPDATING),
            _ => flags.intersects(Flags::DIRTY | Flags::PENDING | Flags::STALE | Flags::RUNNING),
        };
        if stale {
            drop(graph);
            return self.read_slow(node, kind, track, flags);
        }
        if kind == NodeKind::Signal {
            n.borrows = n.borrows.checked_add(1).unwrap_or_else(|| too_many_reads());
        }
        let payload = &n.payload;
        let ptr = payload_prefix::<P>(payload.as_ptr());
        let active = self.active.get();
        if track && active != NIL {
            graph.link(node.index, active, self.stamp.get());
        }
        Ok(ptr)
    }

    /// The fast path of [`read`](Self::read) for a signal, small enough to inline into every
    /// typed read: the pointer to its cell with the read counted, or `None`, having changed
    /// nothing, when the read needs the full path (a scope is entered, or the signal was
    /// disposed, has a write to commit, is being updated or has `u16::MAX` reads open).
    #[inline(always)]
    pub(crate) fn read_signal_fast<P: 'static>(
        &self,
        node: NodeRef,
        track: bool,
    ) -> Option<NonNull<P>> {
        if self.in_scope.get() {
            return None;
        }
        let mut graph = self.graph.borrow_mut();
        let n = graph.nodes.get_mut(node.index, node.generation)?;
        if n.flags.intersects(Flags::DIRTY | Flags::UPDATING) || n.borrows == u16::MAX {
            return None;
        }
        let ptr = payload_prefix::<P>(n.payload.as_ptr());
        n.borrows += 1;
        let active = self.active.get();
        if track && active != NIL {
            graph.link(node.index, active, self.stamp.get());
        }
        Some(ptr)
    }

    #[cold]
    fn read_slow<P: 'static>(
        &self,
        node: NodeRef,
        kind: NodeKind,
        track: bool,
        flags: Flags,
    ) -> Result<NonNull<P>, ReadFail> {
        if kind == NodeKind::Signal {
            if flags.contains(Flags::UPDATING) {
                panic!(
                    "a signal was read while `update` was changing it ({})",
                    node.origin()
                );
            }
            self.commit_signal(node.index);
            self.flush_if_idle();
        } else {
            // A computed that is computing, or that a dependency check is bringing up to date
            // (it is read by user code the check runs for one of its own dependencies), is
            // part of a cycle.
            if flags.intersects(Flags::RUNNING | Flags::CHECKING) {
                return Err(ReadFail::Cycle);
            }
            self.refresh(node, flags);
            self.flush_if_idle();
        }
        let mut graph = self.graph.borrow_mut();
        let Some(n) = graph.nodes.get_mut(node.index, node.generation) else {
            return Err(ReadFail::Disposed);
        };
        if kind == NodeKind::Signal {
            n.borrows = n.borrows.checked_add(1).unwrap_or_else(|| too_many_reads());
        }
        let payload = &n.payload;
        let ptr = payload_prefix::<P>(payload.as_ptr());
        let active = self.active.get();
        if track && active != NIL {
            graph.link(node.index, active, self.stamp.get());
        }
        Ok(ptr)
    }

    /// Brings a computed up to date (unless user code disposed it during the check).
    fn refresh(&self, node: NodeRef, flags: Flags) {
        if flags.intersects(Flags::DIRTY | Flags::STALE) {
            self.recompute(node.index);
            return;
        }
        match self.check_dirty(node.index, node.generation) {
            Check::Dirty => self.recompute(node.index),
            Check::Clean => {
                let mut graph = self.graph.borrow_mut();
                graph.nodes.at_mut(node.index).flags.remove(Flags::PENDING);
            }
            Check::Disposed => {}
        }
    }

    /// Recomputes a computed and marks its subscribers if the value changed.
    #[inline]
    pub(crate) fn recompute(&self, index: u32) {
        if self.run_consumer(index) {
            self.graph.borrow_mut().mark_changed(index);
        }
    }

    /// Moves a signal's pending write into its value and marks subscribers if it changed.
    ///
    /// # Panics
    /// If the signal has a pending write and a `with` borrows its value, or a write of it is
    /// in progress (a read from inside its own equality function or `update`).
    pub(crate) fn commit_signal(&self, index: u32) {
        let (ops, generation, forced) = {
            let mut graph = self.graph.borrow_mut();
            let generation = graph
                .nodes
                .generation(index)
                .expect("committed signal is live");
            let node = graph.nodes.at_mut(index);
            let forced = node.flags.contains(Flags::FORCED);
            if !node.flags.contains(Flags::HAS_PENDING) {
                node.flags.remove(Flags::DIRTY | Flags::FORCED);
                if forced {
                    graph.mark_changed(index);
                }
                return;
            }
            if node.borrows != 0 || node.flags.contains(Flags::WRITING) {
                let origin = node.origin();
                drop(graph);
                borrow::write_conflict(origin);
            }
            node.flags
                .remove(Flags::DIRTY | Flags::FORCED | Flags::HAS_PENDING);
            node.flags.insert(Flags::WRITING);
            let payload = &node.payload;
            (payload.as_ptr(), generation, forced)
        };
        let write = Write::begun(self, index, generation, ops);
        // SAFETY: `HAS_PENDING` was set, so the pending slot holds a value; the node is now
        // flagged `WRITING` with `HAS_PENDING` cleared, and no read borrows the value.
        #[allow(unsafe_code)]
        let changed = unsafe { write.ops().commit() };
        if write.end(Flags::default()) && (changed || forced) {
            self.graph.borrow_mut().mark_changed(index);
        }
    }

    /// Whether no batch, run or flush is in progress.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.batch_depth.get() == 0 && !self.flushing.get()
    }

    /// Records a write that was committed at once (the runtime is idle): marks the
    /// subscribers and flushes.
    ///
    /// When the signal's only subscriber is a subscription that can run untracked (see
    /// [`watcher_ready`](Graph::watcher_ready)) and nothing else is scheduled, the flush's
    /// first round would run exactly that subscription: it is called at once instead, without
    /// marking, queueing or sorting, and the flush goes on from its second round only if the
    /// call scheduled more.
    pub(crate) fn signal_changed(&self, index: u32) {
        let mut graph = self.graph.borrow_mut();
        let link = graph.nodes.at(index).subs;
        if link != NIL {
            let l = graph.links.at(link);
            let sub = l.sub;
            if l.next_sub == NIL
                && graph.queue.is_empty()
                && graph.dirty_signals.is_empty()
                && graph.watcher_ready(sub)
                && !graph.nodes.at(sub).flags.contains(Flags::QUEUED)
                && self.batch_hook.borrow().is_none()
            {
                let generation = graph.nodes.at(sub).generation();
                graph.nodes.at_mut(sub).flags.insert(Flags::QUEUED);
                drop(graph);
                self.flush_one(sub, generation);
                return;
            }
        }
        graph.mark_changed(index);
        drop(graph);
        self.flush_if_idle();
    }

    /// Records that a signal's value was changed in place (`update`, `replace`): outside any
    /// batch, run or flush, and with no write of it pending (`was_dirty`), the change is
    /// committed at once, as `set` does, without going through the pending writes; otherwise
    /// it counts as a change at the next commit.
    #[inline]
    pub(crate) fn signal_changed_in_place(&self, index: u32, was_dirty: bool) {
        if !was_dirty && self.is_idle() {
            self.signal_changed(index);
        } else {
            self.signal_written(index, true);
        }
    }

    /// Records a write to a signal: it becomes `DIRTY` and everything downstream `PENDING`.
    /// The write is committed at the end of the outermost batch, or by an earlier read.
    pub(crate) fn signal_written(&self, index: u32, forced: bool) {
        {
            let mut graph = self.graph.borrow_mut();
            let generation = graph
                .nodes
                .generation(index)
                .expect("written signal is live");
            let node = graph.nodes.at_mut(index);
            if forced {
                node.flags.insert(Flags::FORCED);
            }
            if !node.flags.contains(Flags::DIRTY) {
                node.flags.insert(Flags::DIRTY);
                let subs = node.subs;
                graph.dirty_signals.push((index, generation));
                if subs != NIL {
                    graph.propagate(subs);
                }
            }
        }
        self.flush_if_idle();
    }

    /// Runs a computed's or effect's closure with tracking, disposing what its previous run
    /// created first. Returns whether a computed's value changed and the computed is still
    /// alive (its run, or a cleanup, may have disposed it).
    ///
    /// `index` must be a live node that is not running and not on the path of a dependency
    /// check (reads report both as a cycle), so running it never rewrites links a check holds.
    ///
    /// Inlined into each caller, so recomputing computeds and running effects call their
    /// closures from different call sites: one shared indirect call mispredicts whenever the
    /// kinds alternate, as they do in every flush (check an effect, recompute, run it).
    #[inline(always)]
    pub(crate) fn run_consumer(&self, index: u32) -> bool {
        let (ops, stamp, has_owned, generation) = {
            let mut graph = self.graph.borrow_mut();
            let stamp = graph.new_stamp();
            let node = graph.nodes.at_mut(index);
            debug_assert!(
                !node.flags.intersects(Flags::RUNNING | Flags::CHECKING),
                "stateloom internal error: node {index} runs inside its own run or check"
            );
            node.flags
                .remove(Flags::DIRTY | Flags::PENDING | Flags::STALE);
            node.flags.insert(Flags::RUNNING);
            node.deps_tail = NIL;
            let has_owned = node.first_child != NIL || node.flags.contains(Flags::HAS_CLEANUPS);
            let ops = node.payload.as_ptr();
            let generation = node.generation();
            (ops, stamp, has_owned, generation)
        };
        // SAFETY: the node is flagged `RUNNING` from above until `RunGuard` drops, after the
        // call below returns. Nothing frees the payload of a running node: `dispose` and
        // `dispose_index` only flag it `DISPOSE_REQUESTED`, and `RunGuard` disposes it once
        // the flag is cleared; `Graph::free` has no other caller. So the payload outlives
        // this reference.
        #[allow(unsafe_code)]
        let ops = unsafe { ops.as_ref() };
        let depth = self.run_depth.get() + 1;
        let disposed = Cell::new(false);
        let mut run = RunGuard {
            rt: self,
            index,
            finished: false,
            disposed: &disposed,
            active: self.active.replace(index),
            owner: self.owner.replace(Owner { index, generation }),
            stamp: self.stamp.replace(stamp),
        };
        self.batch_depth.set(self.batch_depth.get() + 1);
        self.run_depth.set(depth);
        if has_owned {
            // What the previous run created goes first, untracked: inner cleanups run before
            // outer ones.
            self.active.set(NIL);
            self.dispose_owned(index);
            self.active.set(index);
            if self.is_dispose_requested(index) {
                // A cleanup disposed this node: it does not run again.
                run.finished = true;
                return false;
            }
        }
        #[cfg(feature = "tracing")]
        let _span = tracing::trace_span!("stateloom.run", node = index).entered();
        let changed = if depth > GROW_AFTER_DEPTH {
            stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || ops.update())
        } else {
            ops.update()
        };
        run.finished = true;
        drop(run);
        changed && !disposed.get()
    }

    /// Runs a subscription effect that [`Graph::watcher_ready`] accepted, without tracking:
    /// its one link stays as it is, so there is no stamp, no tracking context and no purge of
    /// unread links. It owns what it creates and is disposed at the end of its run if it asks
    /// to be, as any run.
    pub(crate) fn run_watcher(&self, index: u32) {
        let (ops, generation) = {
            let mut graph = self.graph.borrow_mut();
            let node = graph.nodes.at_mut(index);
            debug_assert!(
                !node.flags.intersects(Flags::RUNNING | Flags::CHECKING),
                "stateloom internal error: node {index} runs inside its own run or check"
            );
            node.flags
                .remove(Flags::DIRTY | Flags::PENDING | Flags::STALE);
            node.flags.insert(Flags::RUNNING);
            // Until the callback is called, the source's changes are ones this run reads (see
            // `notify_untracked`).
            node.deps_tail = NIL;
            (node.payload.as_ptr(), node.generation())
        };
        // SAFETY: as in `run_consumer`: the node is `RUNNING` until `WatchGuard` drops, after
        // the call below returns, and nothing frees the payload of a running node.
        #[allow(unsafe_code)]
        let ops = unsafe { ops.as_ref() };
        let mut run = WatchGuard {
            rt: self,
            index,
            finished: false,
            active: self.active.replace(NIL),
            owner: self.owner.replace(Owner { index, generation }),
            watching: self.watching.replace(index),
        };
        self.batch_depth.set(self.batch_depth.get() + 1);
        #[cfg(feature = "tracing")]
        let _span = tracing::trace_span!("stateloom.run", node = index).entered();
        ops.update();
        run.finished = true;
    }

    /// Whether `index`, a running node, was asked to be disposed when its run ends.
    #[cold]
    fn is_dispose_requested(&self, index: u32) -> bool {
        self.graph
            .borrow()
            .nodes
            .at(index)
            .flags
            .contains(Flags::DISPOSE_REQUESTED)
    }

    /// Whether a flush has anything to do.
    fn has_work(&self) -> bool {
        let graph = self.graph.borrow();
        !graph.queue.is_empty() || !graph.dirty_signals.is_empty()
    }

    /// Flushes if no batch, run or flush is in progress.
    #[inline]
    pub(crate) fn flush_if_idle(&self) {
        if self.is_idle() && self.has_work() {
            self.flush_with_hook();
        }
    }

    /// Looks up an override for `node` in the scopes entered with `run_in_scope`; only reads
    /// made directly in the scope's closure see overrides, never reads from computeds or
    /// effects, which are shared by every scope.
    #[inline]
    pub(crate) fn scope_override(&self, node: NodeRef) -> Option<Rc<dyn Any>> {
        if !self.in_scope.get() || self.active.get() != NIL {
            return None;
        }
        let scopes = self.scopes.borrow();
        scopes.last().and_then(|scope| scope.lookup(node))
    }
}

/// Ends a [`Runtime::run_watcher`] run: restores the context and the flags, and disposes the
/// node if it asked to be while it ran.
struct WatchGuard<'a> {
    rt: &'a Runtime,
    index: u32,
    finished: bool,
    active: u32,
    owner: Owner,
    watching: u32,
}

impl Drop for WatchGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let rt = self.rt;
        rt.active.set(self.active);
        rt.owner.set(self.owner);
        rt.watching.set(self.watching);
        rt.batch_depth.set(rt.batch_depth.get() - 1);
        let dispose = {
            let mut graph = rt.graph.borrow_mut();
            let node = graph.nodes.at_mut(self.index);
            // The links were not touched: the one link (or none, if its source was disposed
            // meanwhile) is the whole list again.
            node.deps_tail = node.deps;
            node.flags.remove(Flags::RUNNING);
            node.flags.contains(Flags::DISPOSE_REQUESTED)
        };
        if dispose {
            rt.dispose_after_run(self.index, self.finished);
        }
    }
}

impl Runtime {
    /// Disposes `index`, whose run has just ended, because it asked to be disposed while it
    /// ran. `finished` is false when the run is unwinding from a panic.
    #[cold]
    fn dispose_after_run(&self, index: u32, finished: bool) {
        if finished {
            self.dispose_index(index, true);
        } else {
            // Already unwinding: a second panic from a cleanup would abort the process.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.dispose_index(index, true)
            }));
        }
    }
}

/// Ends a consumer run: restores flags and tracking, and on panic leaves the graph consistent.
struct RunGuard<'a> {
    rt: &'a Runtime,
    index: u32,
    finished: bool,
    /// Set when the run's end disposed the node.
    disposed: &'a Cell<bool>,
    active: u32,
    owner: Owner,
    stamp: u32,
}

impl Drop for RunGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let rt = self.rt;
        rt.active.set(self.active);
        rt.owner.set(self.owner);
        rt.stamp.set(self.stamp);
        rt.run_depth.set(rt.run_depth.get() - 1);
        rt.batch_depth.set(rt.batch_depth.get() - 1);
        let mut graph = rt.graph.borrow_mut();
        let node = graph.nodes.at_mut(self.index);
        node.flags.remove(Flags::RUNNING);
        if self.finished && !node.flags.contains(Flags::DISPOSE_REQUESTED) {
            graph.purge_untracked(self.index);
            return;
        }
        drop(graph);
        self.end_unusually();
    }
}

impl RunGuard<'_> {
    /// A run that panicked, or whose node asked to be disposed while it ran.
    #[cold]
    fn end_unusually(&self) {
        let rt = self.rt;
        let dispose = {
            let mut graph = rt.graph.borrow_mut();
            let node = graph.nodes.at_mut(self.index);
            let kind = node.kind();
            let dispose = node.flags.contains(Flags::DISPOSE_REQUESTED);
            if self.finished {
                graph.purge_untracked(self.index);
            } else {
                graph.keep_untracked(self.index);
                if kind == NodeKind::Computed {
                    let node = graph.nodes.at_mut(self.index);
                    node.flags.remove(Flags::DIRTY | Flags::PENDING);
                    node.flags.insert(Flags::STALE);
                    graph.mark_stale_downstream(self.index);
                }
            }
            dispose
        };
        if dispose {
            self.disposed.set(true);
            rt.dispose_after_run(self.index, self.finished);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_runtime;
    use crate::{computed, signal};

    /// Sets the stamp the next run's stamp follows.
    fn set_next_stamp(stamp: u32) {
        with_runtime(|rt| rt.graph.borrow_mut().next_stamp = stamp);
    }

    #[test]
    fn a_stamp_handed_out_again_after_the_counter_wraps_does_not_hide_a_dependency() {
        let a = signal(1);
        let first = computed(move || a.get());
        set_next_stamp(0);
        assert_eq!(first.get(), 1, "this run has stamp 1, the signal's mark");
        set_next_stamp(u32::MAX);
        // This run's stamp wraps to 1: its read of `a` is its first, not a repeat.
        let second = computed(move || a.get() + 10);
        assert_eq!(second.get(), 11);
        a.set(2);
        assert_eq!(
            second.get(),
            12,
            "the second computed depends on the signal"
        );
        assert_eq!(first.get(), 2);
    }

    #[test]
    fn a_run_in_progress_when_the_counter_wraps_still_reruns_for_a_change_it_read() {
        use std::cell::RefCell;
        use std::rc::Rc;

        let a = signal(0);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = Rc::clone(&seen);
        let _effect = crate::effect(move || {
            let value = a.get();
            // The nested computed's first run takes the last stamp before the wrap, so the
            // stamps restart while this effect runs.
            set_next_stamp(u32::MAX);
            let nested = computed(move || a.get() + 1);
            assert_eq!(nested.get(), value + 1);
            log.borrow_mut().push(value);
            if value == 0 {
                // A change of a source this run has already read, committed during the run
                // by the read that follows: the effect must run again.
                a.set(1);
                assert_eq!(a.get(), 1);
            }
        });
        assert_eq!(*seen.borrow(), [0, 1]);
    }
}
