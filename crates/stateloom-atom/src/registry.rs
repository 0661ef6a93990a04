//! The thread's atom registry: each atom's config (how a scope builds its node, its write
//! function and its mount hook), looked up by a generational key.

use std::any::Any;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

use slotmap::SlotMap;
use stateloom_core::{Signal, computed_with_equals, signal, signal_with_equals};

use crate::context::{Getter, Setter};
use crate::scope::inner::{Made, ScopeInner, evaluate};

slotmap::new_key_type! {
    /// The key of an atom's entry in this thread's registry.
    pub(crate) struct AtomKey;
}

/// How a scope builds the node that holds an atom's value.
pub(crate) trait Config {
    /// Creates the atom's node for `scope`; called inside the scope's root, untracked.
    fn create(self: Rc<Self>, scope: &ScopeInner, key: AtomKey) -> Made;
}

/// Runs an atom's mount hook in a scope and returns the cleanup to run at unmount.
pub(crate) type MountFn = Rc<dyn Fn(Weak<ScopeInner>) -> Box<dyn FnOnce()>>;

/// A write function as user code gives it.
pub(crate) type DynWrite<A, R> = dyn Fn(&Setter<'_>, A) -> R;

/// A write function, boxed so it can sit in the registry as `dyn Any`.
pub(crate) struct WriteFn<A, R>(pub(crate) Box<DynWrite<A, R>>);

/// One registered atom.
pub(crate) struct Entry {
    pub(crate) config: Rc<dyn Config>,
    /// A `WriteFn<A, R>` for writable atoms.
    pub(crate) write: Option<Rc<dyn Any>>,
    pub(crate) on_mount: Option<MountFn>,
    /// Removed from its family but still mounted in some scope: no scope may create a node
    /// for it any more, and the entry goes once no scope holds one.
    pub(crate) retired: bool,
}

impl Entry {
    pub(crate) fn new(config: Rc<dyn Config>) -> Self {
        Self::writable(config, None)
    }

    pub(crate) fn writable(config: Rc<dyn Config>, write: Option<Rc<dyn Any>>) -> Self {
        Self {
            config,
            write,
            on_mount: None,
            retired: false,
        }
    }
}

/// A base atom's equality, as `signal_with_equals` takes it.
type Equals<T> = fn(&T, &T) -> bool;

/// A base atom (and a write-only or reducer atom): a signal starting at a clone of `init`.
pub(crate) struct BaseConfig<T> {
    init: T,
    equals: Equals<T>,
    /// Makes the signal: `signal` for `PartialEq` (the kernel then compares with an inlined
    /// `T::eq`, not through a function pointer), else `signal_with_equals`.
    make: fn(T, Equals<T>) -> Signal<T>,
}

impl<T: 'static> BaseConfig<T> {
    /// A base atom whose writes compare with `PartialEq`.
    pub(crate) fn partial_eq(init: T) -> Self
    where
        T: PartialEq,
    {
        Self {
            init,
            equals: T::eq,
            make: |init, _| signal(init),
        }
    }

    /// A base atom whose writes compare with `equals`.
    pub(crate) fn with_equals(init: T, equals: Equals<T>) -> Self {
        Self {
            init,
            equals,
            make: signal_with_equals,
        }
    }
}

impl<T: Clone + 'static> Config for BaseConfig<T> {
    fn create(self: Rc<Self>, _scope: &ScopeInner, _key: AtomKey) -> Made {
        Made::signal((self.make)(self.init.clone(), self.equals))
    }
}

/// A derived atom (and the read side of a writable atom): a computed that calls `read` with
/// a getter bound to the scope.
pub(crate) struct DerivedConfig<T, F> {
    pub(crate) read: F,
    pub(crate) equals: fn(&T, &T) -> bool,
}

impl<T: 'static, F: Fn(&Getter<'_>) -> T + 'static> Config for DerivedConfig<T, F> {
    fn create(self: Rc<Self>, scope: &ScopeInner, key: AtomKey) -> Made {
        let weak = scope.weak();
        let equals = self.equals;
        Made::computed(computed_with_equals(
            move || evaluate(&weak, key, &self.read),
            equals,
        ))
    }
}

thread_local! {
    static REGISTRY: RefCell<SlotMap<AtomKey, Entry>> = RefCell::new(SlotMap::with_key());
}

/// Registers an atom; `make` receives the new key and must not touch the registry.
pub(crate) fn register(make: impl FnOnce(AtomKey) -> Entry) -> AtomKey {
    REGISTRY.with(|r| r.borrow_mut().insert_with_key(make))
}

/// The config of an atom that scopes may create nodes for: registered and not retired.
pub(crate) fn config(key: AtomKey) -> Option<Rc<dyn Config>> {
    REGISTRY.with(|r| {
        r.borrow()
            .get(key)
            .filter(|e| !e.retired)
            .map(|e| e.config.clone())
    })
}

/// The write function of a registered writable atom (retired or not), and whether it is
/// retired.
pub(crate) fn write_fn(key: AtomKey) -> Option<(Rc<dyn Any>, bool)> {
    REGISTRY.with(|r| {
        r.borrow()
            .get(key)
            .and_then(|e| Some((e.write.clone()?, e.retired)))
    })
}

/// Marks a registered atom as retired. Returns `false` if it was not registered or already
/// retired.
pub(crate) fn retire(key: AtomKey) -> bool {
    REGISTRY.with(|r| match r.borrow_mut().get_mut(key) {
        Some(entry) if !entry.retired => {
            entry.retired = true;
            true
        }
        _ => false,
    })
}

/// Whether `key` is a registered, retired atom. `false` while the thread exits.
pub(crate) fn is_retired(key: AtomKey) -> bool {
    REGISTRY
        .try_with(|r| r.borrow().get(key).is_some_and(|e| e.retired))
        .unwrap_or(false)
}

/// The mount hook of a live atom, if it has one.
pub(crate) fn on_mount(key: AtomKey) -> Option<MountFn> {
    REGISTRY.with(|r| r.borrow().get(key).and_then(|e| e.on_mount.clone()))
}

/// Whether a live atom has a mount hook.
pub(crate) fn has_on_mount(key: AtomKey) -> bool {
    REGISTRY.with(|r| r.borrow().get(key).is_some_and(|e| e.on_mount.is_some()))
}

/// Installs a mount hook; does nothing for a removed atom.
pub(crate) fn set_on_mount(key: AtomKey, hook: MountFn) {
    let old = REGISTRY.with(|r| {
        r.borrow_mut()
            .get_mut(key)
            .and_then(|e| e.on_mount.replace(hook))
    });
    drop(old);
}

/// Removes an atom's entry. The entry (with the user's closures) is dropped after the
/// registry is released.
pub(crate) fn remove(key: AtomKey) -> bool {
    let entry = REGISTRY.with(|r| r.borrow_mut().remove(key));
    entry.is_some()
}

/// How many atoms are registered on this thread. A family member that was removed counts
/// until no scope has it mounted any more. Useful in leak tests.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, atom_family, registered_atoms};
///
/// let before = registered_atoms();
/// let f = atom_family(|id: &u32| atom(*id));
/// f.get(&1);
/// assert_eq!(registered_atoms(), before + 1);
/// f.clear();
/// assert_eq!(registered_atoms(), before);
/// ```
pub fn registered_atoms() -> usize {
    REGISTRY.with(|r| r.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(init: i32) -> AtomKey {
        register(|_| Entry::new(Rc::new(BaseConfig::partial_eq(init))))
    }

    #[test]
    fn a_removed_key_stays_stale_when_its_slot_is_reused() {
        let old = base(1);
        assert!(remove(old));
        assert!(!remove(old), "removing twice is a no-op");
        let new = base(2);
        assert!(config(old).is_none());
        assert!(config(new).is_some());
        assert_ne!(old, new, "the generation tells them apart");
    }

    #[test]
    fn mount_hooks_and_write_functions_are_found_by_key() {
        let key = base(0);
        assert!(!has_on_mount(key) && write_fn(key).is_none());
        set_on_mount(key, Rc::new(|_| Box::new(|| ())));
        assert!(has_on_mount(key) && on_mount(key).is_some());
        remove(key);
        set_on_mount(key, Rc::new(|_| Box::new(|| ())));
        assert!(!has_on_mount(key), "a removed atom gets no hook");
    }

    #[test]
    fn a_retired_atom_keeps_its_hook_but_gives_no_config_until_removed() {
        let key = base(0);
        let before = registered_atoms();
        set_on_mount(key, Rc::new(|_| Box::new(|| ())));
        assert!(!is_retired(key));
        assert!(retire(key) && !retire(key), "retiring twice is a no-op");
        assert!(
            is_retired(key) && config(key).is_none(),
            "no new nodes once retired"
        );
        assert!(on_mount(key).is_some(), "mounted nodes still run its hook");
        assert_eq!(registered_atoms(), before, "it is still registered");
        assert!(remove(key) && !is_retired(key));
        assert!(!retire(key), "a removed atom cannot be retired");
    }
}
