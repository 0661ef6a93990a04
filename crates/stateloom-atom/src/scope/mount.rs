//! Mounting: an atom is mounted in a scope while it has a subscriber or a mounted atom
//! depends on it. Mount hooks run (deferred) when an atom becomes mounted, their cleanups
//! when it stops being mounted, and a family member removed while mounted is freed when it
//! stops being mounted. All walks use explicit stacks, so a chain of any depth works.

use std::rc::Rc;

use slotmap::SecondaryMap;

use super::inner::{ScopeInner, Slot, State};
use crate::lifecycle::{self, Task};
use crate::registry::{self, AtomKey};

impl ScopeInner {
    /// A subscriber arrived for `key`.
    pub(crate) fn listen(&self, key: AtomKey) {
        let mut slots = self.slots.borrow_mut();
        self.mount_all(&mut slots, [key]);
    }

    /// A subscriber of `key` left (its subscription was disposed).
    pub(crate) fn unlisten(&self, key: AtomKey) {
        if self.state.get() != State::Live {
            return;
        }
        let mut slots = self.slots.borrow_mut();
        self.unmount_all(&mut slots, [key]);
    }

    /// Stores the dependencies an evaluation of `key` read, and if `key` is mounted, mounts
    /// the new ones and unmounts the ones it no longer reads.
    pub(crate) fn record_deps(&self, key: AtomKey, mut deps: Vec<AtomKey>) {
        deps.sort_unstable();
        deps.dedup();
        let mut slots = self.slots.borrow_mut();
        let Some(slot) = slots.get_mut(key) else {
            return;
        };
        if slot.deps == deps {
            return;
        }
        let old = std::mem::replace(&mut slot.deps, deps);
        if !slot.mounted {
            return;
        }
        let new = slot.deps.clone();
        let added: Vec<AtomKey> = new
            .iter()
            .copied()
            .filter(|k| old.binary_search(k).is_err())
            .collect();
        let removed: Vec<AtomKey> = old
            .iter()
            .copied()
            .filter(|k| new.binary_search(k).is_err())
            .collect();
        self.mount_all(&mut slots, added);
        self.unmount_all(&mut slots, removed);
    }

    /// Adds one mount reference to each of `keys`; an atom whose count becomes one is
    /// mounted and adds a reference to each of its dependencies. Mount hooks are queued
    /// dependencies first.
    pub(super) fn mount_all(
        &self,
        slots: &mut SecondaryMap<AtomKey, Slot>,
        keys: impl IntoIterator<Item = AtomKey>,
    ) {
        let mut stack: Vec<AtomKey> = keys.into_iter().collect();
        let mut hooks = Vec::new();
        while let Some(key) = stack.pop() {
            let Some(slot) = slots.get_mut(key) else {
                continue;
            };
            slot.count += 1;
            if slot.count == 1 {
                slot.mounted = true;
                if slot.has_on_mount {
                    hooks.push(key);
                }
                stack.extend_from_slice(&slot.deps);
            }
        }
        if !hooks.is_empty() {
            self.mark_pending();
        }
        for key in hooks.into_iter().rev() {
            lifecycle::push(Task::Reconcile(self.weak(), key));
        }
    }

    /// Removes one mount reference from each of `keys`; an atom whose count drops to zero is
    /// unmounted and releases its dependencies.
    pub(super) fn unmount_all(
        &self,
        slots: &mut SecondaryMap<AtomKey, Slot>,
        keys: impl IntoIterator<Item = AtomKey>,
    ) {
        let mut stack: Vec<AtomKey> = keys.into_iter().collect();
        while let Some(key) = stack.pop() {
            let Some(slot) = slots.get_mut(key) else {
                continue;
            };
            debug_assert!(slot.count > 0, "an unmount matches an earlier mount");
            slot.count = slot.count.saturating_sub(1);
            if slot.count == 0 {
                slot.mounted = false;
                if slot.active {
                    self.mark_pending();
                    lifecycle::push(Task::Reconcile(self.weak(), key));
                }
                if slot.retired {
                    // Removed from its family while mounted: free it after its cleanup.
                    self.mark_pending();
                    lifecycle::push(Task::Evict(self.weak(), key));
                }
                // Reversed, so dependencies are unmounted in order.
                stack.extend(slot.deps.iter().rev());
            }
        }
    }

    /// Runs the mount hook of a mounted atom that has not run it, or the cleanup of an
    /// unmounted atom that has.
    pub(crate) fn reconcile(self: &Rc<Self>, key: AtomKey) {
        enum Action {
            Mount,
            Unmount(Option<Box<dyn FnOnce()>>),
        }
        let action = {
            let mut slots = self.slots.borrow_mut();
            let Some(slot) = slots.get_mut(key) else {
                return;
            };
            if slot.mounted && !slot.active {
                slot.active = true;
                Action::Mount
            } else if !slot.mounted && slot.active {
                slot.active = false;
                Action::Unmount(slot.cleanup.take())
            } else {
                return;
            }
        };
        match action {
            Action::Mount => {
                let Some(hook) = registry::on_mount(key) else {
                    return;
                };
                let cleanup = hook(self.weak());
                let mut slots = self.slots.borrow_mut();
                match slots.get_mut(key) {
                    // If it was unmounted while the hook ran, a queued reconcile runs this.
                    Some(slot) => slot.cleanup = Some(cleanup),
                    None => {
                        // Removed while its hook ran: clean up at once.
                        drop(slots);
                        cleanup();
                    }
                }
            }
            Action::Unmount(Some(cleanup)) => cleanup(),
            Action::Unmount(None) => {}
        }
    }

    /// Whether `key` is mounted in this scope.
    pub(crate) fn is_mounted(&self, key: AtomKey) -> bool {
        self.slots.borrow().get(key).is_some_and(|s| s.mounted)
    }
}

#[cfg(test)]
mod tests {
    use crate::handle::AtomHandle;
    use crate::{AtomScope, atom, derived};

    /// The mount count of `atom` in `scope`: listeners plus mounted dependents.
    fn count(scope: &AtomScope, atom: impl AtomHandle) -> u32 {
        scope
            .inner()
            .slots
            .borrow()
            .get(atom.id().0)
            .map_or(0, |s| s.count)
    }

    #[test]
    fn counts_are_listeners_plus_mounted_dependents_through_every_change() {
        let scope = AtomScope::new();
        let (flag, a, b) = (atom(true), atom(1), atom(2));
        let left = derived(move |get| get.get(a));
        let pick = derived(move |get| {
            if get.get(flag) {
                get.get(left)
            } else {
                get.get(b)
            }
        });
        let both = derived(move |get| get.get(left) + get.get(pick));
        let s1 = scope.sub(both, |_| {});
        let s2 = scope.sub(left, |_| {});
        // `left` is read by `both` and `pick` (both mounted) and has a listener.
        assert_eq!(count(&scope, left), 3);
        assert_eq!((count(&scope, a), count(&scope, b)), (1, 0));
        scope.set(flag, false);
        assert_eq!((count(&scope, left), count(&scope, b)), (2, 1));
        s2.unsubscribe();
        s1.unsubscribe();
        for c in [
            count(&scope, left),
            count(&scope, a),
            count(&scope, b),
            count(&scope, pick),
        ] {
            assert_eq!(c, 0);
        }
        assert!(!scope.is_mounted(flag));
    }
}
