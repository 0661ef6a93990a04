//! A scope's state: one slot per atom it has used, holding the kernel node for that atom,
//! and the steps that create, read, write and free those nodes.

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::{Rc, Weak};

use slotmap::SecondaryMap;
use stateloom_core::{Computed, ErasedNode, Root, Signal, batch, create_detached_root, untrack};

use crate::context::{Getter, Setter};
use crate::error::{Error, Result};
use crate::handle::AtomId;
use crate::lifecycle::{self, Task};
use crate::registry::{self, AtomKey};
use crate::scope::cache::NodeCache;

/// The kernel node behind an atom in one scope.
pub(crate) enum TypedNode<T> {
    Signal(Signal<T>),
    Computed(Computed<T>),
}

impl<T> Clone for TypedNode<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TypedNode<T> {}

impl<T: 'static> TypedNode<T> {
    #[inline(always)]
    #[track_caller]
    pub(crate) fn with<R>(self, f: impl FnOnce(&T) -> R) -> R {
        match self {
            TypedNode::Signal(s) => s.with(f),
            TypedNode::Computed(c) => c.with(f),
        }
    }

    pub(crate) fn try_with<R>(self, f: impl FnOnce(&T) -> R) -> Result<R> {
        Ok(match self {
            TypedNode::Signal(s) => s.try_with(f)?,
            TypedNode::Computed(c) => c.try_with(f)?,
        })
    }

    /// The signal of a base atom.
    #[track_caller]
    pub(crate) fn signal(self) -> Signal<T> {
        match self {
            TypedNode::Signal(s) => s,
            TypedNode::Computed(_) => unreachable!("only atoms with a stored value are set"),
        }
    }
}

impl<T: 'static> TypedNode<T> {
    /// The typed node behind an erased one, if its value type is `T`.
    #[inline(always)]
    fn from_erased(node: ErasedNode) -> Option<Self> {
        if node.is_signal() {
            node.signal().map(TypedNode::Signal)
        } else {
            node.computed().map(TypedNode::Computed)
        }
    }
}

/// A freshly created node, type-erased for the scope's map.
pub(crate) struct Made {
    node: ErasedNode,
}

impl Made {
    pub(crate) fn signal<T: 'static>(signal: Signal<T>) -> Self {
        Self {
            node: signal.into(),
        }
    }

    pub(crate) fn computed<T: 'static>(computed: Computed<T>) -> Self {
        Self {
            node: computed.into(),
        }
    }
}

/// What a scope knows about one atom.
///
/// # Invariants
/// `count` is the number of listeners plus the number of mounted atoms whose `deps` list
/// this one; `mounted == (count > 0)`. `active` says the mount hook ran and its cleanup (if
/// any) is in `cleanup`.
pub(crate) struct Slot {
    /// The kernel node, with its value type checked by comparison when it is read.
    node: ErasedNode,
    /// The atoms the last evaluation read through its getter, sorted, without duplicates.
    pub(super) deps: Vec<AtomKey>,
    pub(super) count: u32,
    pub(super) mounted: bool,
    pub(super) has_on_mount: bool,
    pub(super) active: bool,
    pub(super) cleanup: Option<Box<dyn FnOnce()>>,
    /// The atom was removed from its family while mounted here: its node is freed once it is
    /// unmounted.
    pub(super) retired: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    Live,
    Disposing,
    Disposed,
}

/// The shared state behind an [`AtomScope`](crate::AtomScope) handle.
pub(crate) struct ScopeInner {
    me: Weak<ScopeInner>,
    pub(super) slots: RefCell<SecondaryMap<AtomKey, Slot>>,
    /// The signals of `slots`, where reads and writes find them fast.
    // Invariant: holds an entry for exactly the keys in `slots` whose node is a signal, with
    // that signal; for the default scope, so does `DEFAULT_MIRROR` (see `cache_insert`,
    // `cache_remove`, `cache_clear`).
    pub(super) cache: NodeCache,
    /// Owns every node the scope creates; `None` once disposed.
    root: RefCell<Option<Root>>,
    pub(super) state: Cell<State>,
    /// Set when lifecycle work for this scope was queued, so a plain read knows to drain.
    pub(super) pending: Cell<bool>,
    /// Whether dropping the last handle disposes the scope (not for the thread's default).
    auto_dispose: bool,
}

thread_local! {
    /// The scopes alive on this thread, so removing an atom frees its node in each of them.
    static LIVE: RefCell<Vec<Weak<ScopeInner>>> = const { RefCell::new(Vec::new()) };
    /// What [`Atom`](crate::Atom)'s methods need of this thread's default scope, mirrored
    /// where they reach it without the scope. Without a destructor, so reaching it costs no
    /// thread-local state check; the default scope frees the table when it is dropped.
    static DEFAULT_MIRROR: ManuallyDrop<DefaultMirror> = const {
        ManuallyDrop::new(DefaultMirror {
            cache: NodeCache::new(),
            pending: Cell::new(false),
        })
    };
}

/// The parts of the default scope that reads and writes through atom handles use, in one
/// thread-local so both are reached from one address.
struct DefaultMirror {
    /// The default scope's node cache.
    // Invariant: equal to the default scope's `cache` while that scope lives, empty after
    // (see `cache_insert`, `cache_remove`, `cache_clear`).
    cache: NodeCache,
    /// The default scope's `pending` flag.
    // Invariant: equal to the default scope's `pending` (see `mark_pending`, `take_pending`).
    pending: Cell<bool>,
}

/// The signal of a base atom in this thread's default scope, if that scope made it.
#[inline(always)]
#[track_caller]
pub(crate) fn default_signal<T: 'static>(key: AtomKey) -> Option<Signal<T>> {
    DEFAULT_MIRROR.with(|mirror| mirror.cache.signal(key))
}

/// Whether lifecycle work was queued for this thread's default scope and not yet taken.
#[inline(always)]
pub(crate) fn default_pending() -> bool {
    DEFAULT_MIRROR.with(|mirror| mirror.pending.get())
}

/// Creates the root that owns a scope's nodes. It is detached: no running effect or computed
/// owns it, so a scope created (or first used) inside one keeps its nodes when that one re-runs.
fn detached_root() -> Root {
    create_detached_root(|| ()).1
}

impl ScopeInner {
    pub(crate) fn new(auto_dispose: bool) -> Rc<Self> {
        let root = detached_root();
        lifecycle::arm();
        let inner = Rc::new_cyclic(|me| ScopeInner {
            me: me.clone(),
            slots: RefCell::new(SecondaryMap::new()),
            cache: NodeCache::new(),
            root: RefCell::new(Some(root)),
            state: Cell::new(State::Live),
            pending: Cell::new(false),
            auto_dispose,
        });
        LIVE.with(|live| {
            let mut live = live.borrow_mut();
            if live.len() >= 16 && live.len().is_power_of_two() {
                live.retain(|w| w.strong_count() > 0);
            }
            live.push(Rc::downgrade(&inner));
        });
        inner
    }

    pub(crate) fn weak(&self) -> Weak<ScopeInner> {
        self.me.clone()
    }

    /// A strong handle to this scope; only called while a caller borrows it, so it exists.
    pub(crate) fn rc(&self) -> Rc<ScopeInner> {
        self.me
            .upgrade()
            .expect("a scope being used is referenced by its handle")
    }

    /// Whether lifecycle work was queued since the last call; clears the flag.
    #[inline]
    pub(crate) fn take_pending(&self) -> bool {
        // Read first: the common case must not write.
        let taken = self.pending.get() && self.pending.replace(false);
        if taken && self.is_default() {
            DEFAULT_MIRROR.with(|mirror| mirror.pending.set(false));
        }
        taken
    }

    /// Records that lifecycle work was queued for this scope.
    pub(super) fn mark_pending(&self) {
        self.pending.set(true);
        if self.is_default() {
            DEFAULT_MIRROR.with(|mirror| mirror.pending.set(true));
        }
    }

    /// Whether this is a thread's default scope: the only scope made without `auto_dispose`.
    fn is_default(&self) -> bool {
        !self.auto_dispose
    }

    pub(crate) fn is_live(&self) -> bool {
        self.state.get() == State::Live
    }

    /// The node of an atom this scope already created.
    #[inline(always)]
    fn lookup<T: 'static>(&self, key: AtomKey) -> Option<TypedNode<T>> {
        let node = self.slots.borrow().get(key)?.node;
        Some(TypedNode::from_erased(node).expect("an atom handle's type matches its config"))
    }

    /// The signal of a base atom this scope already created.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn lookup_signal<T: 'static>(&self, key: AtomKey) -> Option<Signal<T>> {
        self.cache.signal(key)
    }

    /// The signal of a base atom, created on first use; panics with the error's message.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn signal_or_panic<T: 'static>(&self, key: AtomKey) -> Signal<T> {
        match self.lookup_signal(key) {
            Some(signal) => signal,
            None => self.resolve_signal_or_panic(key),
        }
    }

    /// The rest of [`signal_or_panic`](Self::signal_or_panic): creates the node. Out of line,
    /// so the fast path keeps its values in registers.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn resolve_signal_or_panic<T: 'static>(&self, key: AtomKey) -> Signal<T> {
        self.resolve::<T>(key)
            .unwrap_or_else(|e| panic!("{e}"))
            .signal()
    }

    /// The node of an atom, created on first use.
    #[inline]
    pub(crate) fn node<T: 'static>(&self, key: AtomKey) -> Result<TypedNode<T>> {
        match self.lookup(key) {
            Some(node) => Ok(node),
            None => self.resolve(key),
        }
    }

    /// Like [`node`](Self::node), panicking with the error's message.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn node_or_panic<T: 'static>(&self, key: AtomKey) -> TypedNode<T> {
        match self.lookup(key) {
            Some(node) => node,
            None => self.resolve(key).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    #[cold]
    #[inline(never)]
    fn resolve<T: 'static>(&self, key: AtomKey) -> Result<TypedNode<T>> {
        if !self.is_live() {
            return Err(Error::ScopeDisposed);
        }
        let config = registry::config(key).ok_or(Error::Removed { id: AtomId(key) })?;
        let made = {
            let root = self.root.borrow();
            let root = root.as_ref().expect("a live scope has its root");
            root.run(|| config.create(self, key))
        };
        let node =
            TypedNode::from_erased(made.node).expect("an atom handle's type matches its config");
        let slot = Slot {
            node: made.node,
            deps: Vec::new(),
            count: 0,
            mounted: false,
            has_on_mount: registry::has_on_mount(key),
            active: false,
            cleanup: None,
            retired: false,
        };
        self.slots.borrow_mut().insert(key, slot);
        self.cache_insert::<T>(key, made.node);
        Ok(node)
    }

    /// Reads an atom, tracked by the running computed or effect.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn read<T: 'static, R>(&self, key: AtomKey, f: impl FnOnce(&T) -> R) -> R {
        self.node_or_panic::<T>(key).with(f)
    }

    pub(crate) fn try_read<T: 'static, R>(
        &self,
        key: AtomKey,
        f: impl FnOnce(&T) -> R,
    ) -> Result<R> {
        self.node::<T>(key)?.try_with(f)
    }

    /// Runs a write function: untracked, as one batch, with lifecycle work deferred to its end.
    pub(crate) fn write_with<R>(&self, f: impl FnOnce(&Setter<'_>) -> R) -> R {
        let result = {
            let _busy = lifecycle::busy();
            untrack(|| batch(|| f(&Setter::new(self))))
        };
        lifecycle::drain();
        result
    }

    /// Whether this scope holds a node for `key`.
    pub(crate) fn holds(&self, key: AtomKey) -> bool {
        self.slots.borrow().contains_key(key)
    }

    /// An atom was removed from its family: frees its node here unless it is mounted, in
    /// which case the node lives on until it is unmounted.
    fn retire(&self, key: AtomKey) {
        let evict = match self.slots.borrow_mut().get_mut(key) {
            Some(slot) => {
                slot.retired = true;
                !slot.mounted
            }
            None => false,
        };
        if evict {
            self.evict(key);
        }
    }

    /// Frees the node of a removed atom that is no longer mounted here (a queued
    /// [`Task::Evict`] whose atom was mounted again meanwhile does nothing).
    pub(crate) fn evict_if_unmounted(&self, key: AtomKey) {
        let evict = self.is_live()
            && self
                .slots
                .borrow()
                .get(key)
                .is_some_and(|slot| slot.retired && !slot.mounted);
        if evict {
            self.evict(key);
        }
    }

    /// Frees the node of a removed atom (and runs its mount cleanup).
    pub(crate) fn evict(&self, key: AtomKey) {
        let slot = {
            let mut slots = self.slots.borrow_mut();
            let Some(slot) = slots.remove(key) else {
                return;
            };
            self.cache_remove(key);
            if slot.mounted {
                self.unmount_all(&mut slots, slot.deps.iter().copied());
            }
            slot
        };
        if slot.active
            && let Some(cleanup) = slot.cleanup
        {
            lifecycle::push(Task::Run(cleanup));
        }
        slot.node.dispose();
    }

    /// Disposes every node: runs active mount cleanups, disposes the root (subscriptions
    /// included) and forgets every slot. With `reopen`, starts again with a fresh root.
    pub(crate) fn shutdown(&self, reopen: bool) {
        if !self.is_live() {
            return;
        }
        self.state.set(State::Disposing);
        let cleanups: Vec<Box<dyn FnOnce()>> = self
            .slots
            .borrow_mut()
            .values_mut()
            .filter_map(|slot| {
                slot.count = 0;
                slot.mounted = false;
                let active = std::mem::replace(&mut slot.active, false);
                if active { slot.cleanup.take() } else { None }
            })
            .collect();
        // One batch for all of them: what they write elsewhere is seen once, at its end.
        let mut first_panic = None;
        let all = catch_unwind(AssertUnwindSafe(|| {
            untrack(|| {
                batch(|| {
                    for cleanup in cleanups {
                        if let Err(payload) = catch_unwind(AssertUnwindSafe(cleanup)) {
                            first_panic.get_or_insert(payload);
                        }
                    }
                })
            })
        }));
        if let Err(payload) = all {
            first_panic.get_or_insert(payload);
        }
        let root = self.root.borrow_mut().take();
        if let Some(root) = root {
            root.dispose();
        }
        let slots = std::mem::take(&mut *self.slots.borrow_mut());
        self.cache_clear();
        let retired: Vec<AtomKey> = slots
            .iter()
            .filter(|(_, slot)| slot.retired)
            .map(|(key, _)| key)
            .collect();
        drop(slots);
        if reopen {
            *self.root.borrow_mut() = Some(detached_root());
            self.state.set(State::Live);
        } else {
            self.state.set(State::Disposed);
        }
        // Removed family members that this scope alone kept alive.
        for key in retired {
            release_if_unused(key);
        }
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
    }

    /// Caches the node of a slot just inserted, if it is a signal.
    fn cache_insert<T: 'static>(&self, key: AtomKey, node: ErasedNode) {
        self.cache.insert::<T>(key, node);
        if self.is_default() {
            DEFAULT_MIRROR.with(|mirror| mirror.cache.insert::<T>(key, node));
        }
    }

    /// Forgets the node of a slot just removed.
    fn cache_remove(&self, key: AtomKey) {
        self.cache.remove(key);
        if self.is_default() {
            DEFAULT_MIRROR.with(|mirror| mirror.cache.remove(key));
        }
    }

    /// Forgets every node, as the slots are dropped.
    fn cache_clear(&self) {
        self.cache.clear();
        if self.is_default() {
            DEFAULT_MIRROR.with(|mirror| mirror.cache.clear());
        }
    }

    /// How many atoms have a node in this scope.
    pub(crate) fn len(&self) -> usize {
        self.slots.borrow().len()
    }

    /// Runs `f` with this scope's root as the owner of the nodes it creates.
    #[track_caller]
    pub(crate) fn in_root<R>(&self, f: impl FnOnce() -> R) -> R {
        let root = self.root.borrow();
        let root = root
            .as_ref()
            .unwrap_or_else(|| panic!("{}", Error::ScopeDisposed));
        root.run(f)
    }
}

impl Drop for ScopeInner {
    fn drop(&mut self) {
        if self.is_default() {
            // The thread is exiting: free the mirror, which has no destructor of its own.
            self.cache_clear();
        }
        if !self.auto_dispose || !self.is_live() || lifecycle::tearing_down() {
            return;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.shutdown(false)))
            && !lifecycle::tearing_down()
        {
            resume_unwind(payload);
        }
    }
}

/// Evaluates a derived atom's read function in the scope, recording what it reads.
pub(crate) fn evaluate<T>(
    scope: &Weak<ScopeInner>,
    key: AtomKey,
    read: &impl Fn(&Getter<'_>) -> T,
) -> T {
    let scope = scope
        .upgrade()
        .unwrap_or_else(|| panic!("{}", Error::ScopeDisposed));
    let _busy = lifecycle::busy();
    let getter = Getter::new(&scope);
    let value = read(&getter);
    scope.record_deps(key, getter.into_deps());
    value
}

/// The scopes alive on this thread.
fn live_scopes() -> Vec<Rc<ScopeInner>> {
    LIVE.try_with(|live| {
        let mut live = live.borrow_mut();
        live.retain(|w| w.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
    })
    .unwrap_or_default()
}

/// Takes an atom out of use as a family removes it. Each scope where it is not mounted frees
/// its node at once; a scope where it is mounted keeps it working (subscribers, reads and
/// writes) and frees it when it is unmounted there. The config goes with the last node.
pub(crate) fn retire_atom(key: AtomKey) {
    if !registry::retire(key) {
        return;
    }
    let scopes = live_scopes();
    for scope in &scopes {
        scope.retire(key);
    }
    drop(scopes);
    release_if_unused(key);
    lifecycle::drain();
}

/// Removes a retired atom's config from the registry once no live scope holds its node.
pub(crate) fn release_if_unused(key: AtomKey) {
    if !registry::is_retired(key) {
        return;
    }
    let scopes = live_scopes();
    let used = scopes.iter().any(|scope| scope.holds(key));
    drop(scopes);
    if !used {
        registry::remove(key);
    }
}
