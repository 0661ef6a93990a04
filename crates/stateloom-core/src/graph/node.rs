//! Graph nodes: their flags, kinds, list heads and the type-erased operations on their payloads.
#![allow(unsafe_code)] // `Payload` owns its block through a raw pointer; see its invariant.

use std::alloc::Layout;
use std::any::Any;
use std::panic::Location;
use std::ptr::NonNull;

use crate::arena::{NIL, Slot};
use crate::pool::{BlockPool, free_block};
use crate::runtime::try_with_runtime;

/// What a node is. Signals are sources, effects are consumers, computeds are both, roots only own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum NodeKind {
    /// A vacant arena slot's placeholder.
    #[default]
    Vacant = 0,
    Signal = 1,
    Computed = 2,
    Effect = 3,
    Root = 4,
}

impl NodeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            NodeKind::Signal => "signal",
            NodeKind::Computed => "computed",
            NodeKind::Effect => "effect",
            NodeKind::Root => "root",
            NodeKind::Vacant => "vacant slot",
        }
    }
}

/// Per-node state bits. A node's flags also hold its [`NodeKind`] in the bits from
/// `KIND_SHIFT` up, which the flag constants and operations never touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags(u16);

impl Flags {
    /// Signal: written since its last commit. Computed or effect: a direct dependency changed,
    /// so it must re-run without checking.
    pub(crate) const DIRTY: Flags = Flags(1);
    /// A dependency further up may have changed: check dependencies before re-running.
    pub(crate) const PENDING: Flags = Flags(1 << 1);
    /// Computed: its last run panicked or was interrupted, so the next read recomputes. Unlike
    /// `DIRTY`, it does not stop propagation, because its subscribers were not marked.
    pub(crate) const STALE: Flags = Flags(1 << 2);
    /// The node's closure is on the stack.
    pub(crate) const RUNNING: Flags = Flags(1 << 3);
    /// Effect: in the flush queue.
    pub(crate) const QUEUED: Flags = Flags(1 << 4);
    /// Disposal was requested while the node was running; it happens when the run ends.
    pub(crate) const DISPOSE_REQUESTED: Flags = Flags(1 << 5);
    /// The node has cleanups registered in `Graph::cleanups`.
    pub(crate) const HAS_CLEANUPS: Flags = Flags(1 << 6);
    /// Signal: changed in place by `update`, so its next commit reports a change.
    pub(crate) const FORCED: Flags = Flags(1 << 7);
    /// Signal: a write (`set`, `update` or a commit) is using the payload; it stays allocated
    /// and other writes of the signal are refused until it ends.
    pub(crate) const WRITING: Flags = Flags(1 << 8);
    /// Signal: `update` holds the value mutably, so reads are refused.
    pub(crate) const UPDATING: Flags = Flags(1 << 9);
    /// Signal: the payload's pending slot holds a write not committed yet.
    pub(crate) const HAS_PENDING: Flags = Flags(1 << 10);
    /// Computed or effect: on the path of a dependency check that is in progress (see
    /// `Runtime::check_dirty`). The check keeps ids of this node's links across calls into
    /// user code, so unlinking or freeing it invalidates the check, and reading it is a cycle
    /// (it is being brought up to date), so it never runs meanwhile.
    pub(crate) const CHECKING: Flags = Flags(1 << 11);
    /// Effect: a subscription (`Signal::subscribe`, `Computed::subscribe`), whose run reads
    /// one source and calls back untracked. Once linked, it can run without re-tracking.
    pub(crate) const WATCH: Flags = Flags(1 << 12);

    /// Where the node's kind starts; the flags above stay below it.
    const KIND_SHIFT: u32 = 13;

    /// The flags of a new node of `kind`.
    fn with_kind(self, kind: NodeKind) -> Flags {
        Flags(self.0 & ((1 << Self::KIND_SHIFT) - 1) | (kind as u16) << Self::KIND_SHIFT)
    }

    /// Whether the kind stored in the top bits is `kind`: one shift and compare, cheaper on
    /// hot paths than decoding the kind with [`kind`](Self::kind).
    #[inline]
    pub(crate) fn is_kind(self, kind: NodeKind) -> bool {
        self.0 >> Self::KIND_SHIFT == kind as u16
    }

    /// The kind stored in the top bits.
    #[inline]
    fn kind(self) -> NodeKind {
        match self.0 >> Self::KIND_SHIFT {
            1 => NodeKind::Signal,
            2 => NodeKind::Computed,
            3 => NodeKind::Effect,
            4 => NodeKind::Root,
            _ => NodeKind::Vacant,
        }
    }

    #[inline]
    pub(crate) fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    #[inline]
    pub(crate) fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    #[inline]
    pub(crate) fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    #[inline]
    pub(crate) fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// The operations the runtime performs on a node's typed payload without knowing its type.
pub(crate) trait NodeOps {
    /// The typed storage a handle reads (`SignalCell<T>` or `ComputedCell<T>`), for the type
    /// check debug builds make in [`payload_prefix`].
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn value(&self) -> &dyn Any;
    /// Computed: recomputes and returns whether the value changed. Effect: runs the closure.
    fn update(&self) -> bool {
        false
    }
    /// Computed: whether a read borrows the value right now, so the payload must outlive its
    /// node. (Signals count their borrows in the node instead.)
    fn in_use(&self) -> bool {
        false
    }
    /// Signal: moves the pending write into the value; returns whether the value changed.
    ///
    /// # Safety
    /// The pending slot holds a value, the caller flagged the node `WRITING` and cleared
    /// `HAS_PENDING`, and no borrow of the value is alive.
    unsafe fn commit(&self) -> bool {
        false
    }
    /// Signal: the signal's equality applied to two of its values.
    ///
    /// # Safety
    /// `a` and `b` point at live values of the signal's type.
    unsafe fn equals(&self, _a: *const (), _b: *const ()) -> bool {
        false
    }
    /// Signal: drops the write in the pending slot.
    ///
    /// # Safety
    /// The pending slot holds a value, and nothing else uses it.
    unsafe fn discard_pending(&self) {}
}

/// A node's payload: an owning pointer to its type-erased storage, in a block from the
/// runtime's [`BlockPool`] (or from the global allocator for a large payload).
///
/// Unlike a `Box`, moving it asserts nothing about the pointee, so a pointer the runtime took
/// from it stays usable after the node is freed and its payload moved to the graveyard
/// (`Runtime::release_payload`).
///
/// # Invariants
/// `ptr` points at a live value, freed only by `Drop`. Its memory is a block that
/// [`BlockPool::take`] returned for the value's layout (nothing for a zero-sized value), so
/// dropping the value and giving the block back to a pool, or freeing it with
/// [`free_block`], releases it.
pub(crate) struct Payload {
    ptr: NonNull<dyn NodeOps>,
}

/// The payload of a root or a vacant slot: nothing, and storing it allocates nothing.
struct NoPayload;

impl NodeOps for NoPayload {
    fn value(&self) -> &dyn Any {
        self
    }
}

impl Payload {
    /// The payload of a node that holds nothing (a root, a vacant slot); allocates nothing.
    pub(crate) fn none() -> Self {
        let ptr: NonNull<NoPayload> = NonNull::dangling();
        Self { ptr }
    }

    /// Moves `ops` into a block taken from `pool`.
    #[inline]
    pub(crate) fn new<P: NodeOps + 'static>(pool: &BlockPool, ops: P) -> Self {
        let layout = Layout::new::<P>();
        let ptr: NonNull<P> = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            pool.take(layout).cast()
        };
        // SAFETY: `ptr` is dangling and aligned for a zero-sized `P` (writing it touches no
        // memory), or a block `take` returned for `P`'s layout: large and aligned enough for
        // a `P`, and owned by nobody else.
        unsafe { ptr.write(ops) };
        Self { ptr }
    }

    /// A pointer to the payload, valid until this `Payload` is dropped.
    #[inline]
    pub(crate) fn as_ptr(&self) -> NonNull<dyn NodeOps> {
        self.ptr
    }
}

impl std::ops::Deref for Payload {
    type Target = dyn NodeOps;

    #[inline]
    fn deref(&self) -> &(dyn NodeOps + 'static) {
        // SAFETY: by the invariant, `ptr` is a live value until `drop`.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for Payload {
    /// Drops the value, then gives its block back to this thread's pool: the value's
    /// destructor may run user code that creates or disposes nodes, and the pool is not in use
    /// meanwhile. When the runtime is gone (thread exit), the block goes to the allocator.
    fn drop(&mut self) {
        // SAFETY: by the invariant, `ptr` is a live value.
        let layout = Layout::for_value(unsafe { self.ptr.as_ref() });
        /// Releases the block even if the value's destructor panics.
        struct Release(NonNull<u8>, Layout);
        impl Drop for Release {
            fn drop(&mut self) {
                let Release(block, layout) = *self;
                if layout.size() == 0 {
                    return;
                }
                // SAFETY: the block came from `BlockPool::take` for `layout` (the invariant),
                // and its value was dropped just before.
                let given = try_with_runtime(|rt| unsafe { rt.blocks.give_back(block, layout) });
                if given.is_none() {
                    // SAFETY: as above; the block went to no pool.
                    unsafe { free_block(block, layout) };
                }
            }
        }
        let _release = Release(self.ptr.cast(), layout);
        // SAFETY: the value is live (the invariant) and dropped only here; `_release` frees
        // its memory afterwards, also when this unwinds.
        unsafe { self.ptr.drop_in_place() };
    }
}

/// A pointer to the typed storage at the start of a node's payload, found without a dynamic
/// type check.
///
/// Typed handles use this instead of `Any::downcast_ref` on their hot paths: the handle's type
/// parameter already says what the payload holds. Dereferencing the pointer is the caller's
/// business: it is valid for as long as the payload is alive (see `Runtime::read`), and it
/// points at a `P` when `ops` is the payload of a node whose payload value is a `P`, or a
/// `#[repr(C)]` struct whose first field is a `P`. A handle satisfies this for the node it was
/// created with: the constructor that made the handle made the payload, and the slot
/// generation check in `Runtime::read`/`Runtime::begin_write` guarantees `ops` belongs to that
/// very node. Debug builds check the type through [`NodeOps::value`].
#[inline(always)]
pub(crate) fn payload_prefix<P: 'static>(ops: NonNull<dyn NodeOps>) -> NonNull<P> {
    #[cfg(debug_assertions)]
    {
        // SAFETY: callers pass a pointer to a live payload.
        let ops = unsafe { ops.as_ref() };
        debug_assert!(ops.value().is::<P>(), "payload type matches its handle");
    }
    ops.cast::<P>()
}

/// One node of the graph: 56 bytes in release builds, its slot's generation included.
///
/// # Invariants
/// - `deps` and `subs`..`subs_tail` are the first dependency and the two ends of the
///   subscriber list (`NIL` when empty). `deps_tail` is only read while the node runs, when it
///   is the last dependency tracked by the current run (and, at the run's end, the last
///   dependency), or while a dependency check walks through the node, when it is the link the
///   check is examining (see `Runtime::check_dirty`).
/// - Children of an owner form a list through `prev_sibling`/`next_sibling`, newest first.
///   The first child's `prev_sibling` is its owner's index tagged with [`OWNER_TAG`]; a node
///   without an owner has `prev_sibling == NIL`.
pub(crate) struct Node {
    /// State bits and, in the top bits, the kind (see [`Node::kind`]).
    pub(crate) flags: Flags,
    /// Signals: how many reads borrow the value right now (see `Runtime::read`).
    pub(crate) borrows: u16,
    /// The arena slot's generation (see [`Slot`]).
    generation: u32,
    pub(crate) deps: u32,
    pub(crate) deps_tail: u32,
    pub(crate) subs: u32,
    pub(crate) subs_tail: u32,
    pub(crate) first_child: u32,
    pub(crate) prev_sibling: u32,
    pub(crate) next_sibling: u32,
    /// Effects: creation order, used to order the flush. Signals and computeds: the stamp of
    /// the last run that tracked them, so a repeated read within one run is recognised
    /// without walking any list (see `Graph::link`). `0` is never a run's stamp.
    pub(crate) mark: u32,
    pub(crate) payload: Payload,
    /// Where the node was created, for error messages (debug builds only).
    #[cfg(debug_assertions)]
    pub(crate) origin: &'static Location<'static>,
}

/// Tags an owner's index in its first child's `prev_sibling`, telling it apart from a
/// sibling's index. Arena indices stay below it (see `arena::MAX_SLOTS`).
pub(crate) const OWNER_TAG: u32 = 1 << 31;

impl Slot for Node {
    #[inline]
    fn generation(&self) -> u32 {
        self.generation
    }

    #[inline]
    fn set_generation(&mut self, generation: u32) {
        self.generation = generation;
    }
}

impl Default for Node {
    /// The placeholder left in a vacant arena slot.
    fn default() -> Self {
        Self::new(
            NodeKind::Vacant,
            Flags::default(),
            Payload::none(),
            Location::caller(),
        )
    }
}

impl Node {
    /// What the node is.
    #[inline]
    pub(crate) fn kind(&self) -> NodeKind {
        self.flags.kind()
    }

    /// Where the node was created (only known in debug builds).
    pub(crate) fn origin(&self) -> crate::error::Origin {
        #[cfg(debug_assertions)]
        {
            crate::error::Origin::from_location(self.origin)
        }
        #[cfg(not(debug_assertions))]
        {
            crate::error::Origin::UNKNOWN
        }
    }

    pub(crate) fn new(
        kind: NodeKind,
        flags: Flags,
        payload: Payload,
        origin: &'static Location<'static>,
    ) -> Self {
        #[cfg(not(debug_assertions))]
        let _ = origin;
        Self {
            flags: flags.with_kind(kind),
            borrows: 0,
            generation: 0,
            deps: NIL,
            deps_tail: NIL,
            subs: NIL,
            subs_tail: NIL,
            first_child: NIL,
            prev_sibling: NIL,
            next_sibling: NIL,
            mark: 0,
            payload,
            #[cfg(debug_assertions)]
            origin,
        }
    }
}
