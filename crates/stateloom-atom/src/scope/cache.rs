//! A scope's signal cache: a dense table from a base atom's key to the signal the scope made
//! for it, so reads and writes reach the signal with a bounds check and one key comparison
//! instead of the slot map's borrow, bounds, occupancy, version and type checks.

use std::cell::{Cell, UnsafeCell};
use std::mem::size_of;

use slotmap::Key;
use stateloom_core::{ErasedNode, RawNode, Signal};

use crate::registry::AtomKey;

/// One cached signal, with the full key (index and version) it belongs to.
///
/// A vacant entry has `key == 0`, which no key has (a key's version is at least one), and
/// any node (the one whose insertion made the table grow): it is never returned.
#[derive(Clone, Copy)]
struct Entry {
    key: u64,
    node: RawNode,
}

/// A dense table indexed by an [`AtomKey`]'s slot index, holding the signals of base atoms.
///
/// The table sits in an `UnsafeCell` rather than a `RefCell`, so a read has no borrow flag
/// to check, raise and restore; and it keeps each signal as a [`RawNode`] (no type to
/// compare), so a read is a bounds check and a key comparison.
///
/// # Invariants
/// - The table mirrors one scope's slot map: it holds an entry for a key exactly while the
///   scope's slot map holds a slot for that key whose node is a signal, and the entry's node
///   is that signal. An entry is found only by the key it was stored under: a key whose slot
///   index the registry reused carries another version and misses.
/// - The entry for a key holds a `Signal<T>` where `T` is the value type of every handle of
///   that key: a key's handles all have the value type of the atom's definition, and the
///   scope made the signal from that definition ([`insert`](Self::insert) checks it).
/// - No reference into the table outlives a method of `NodeCache`, and no method calls code
///   that could reach the table while it holds one: they call no user code, no kernel code
///   and no other method of this type.
pub(crate) struct NodeCache {
    entries: UnsafeCell<Vec<Entry>>,
    /// The table's length in bytes. A read checks an entry's byte offset against it, so the
    /// offset is the only value it derives from the key besides the key itself.
    // Invariant: `limit == entries.len() * size_of::<Entry>()` (see `with_mut`).
    limit: Cell<usize>,
}

impl NodeCache {
    /// An empty cache; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            entries: UnsafeCell::new(Vec::new()),
            limit: Cell::new(0),
        }
    }

    /// The signal cached for a base atom's `key`, if any. `T` must be the value type of the
    /// handle `key` came from (debug builds check it).
    #[inline(always)]
    #[track_caller]
    pub(crate) fn signal<T: 'static>(&self, key: AtomKey) -> Option<Signal<T>> {
        let data = key.data().as_ffi();
        // At most `u32::MAX * size_of::<Entry>()`: no overflow on a 64-bit target, and on a
        // 32-bit one only past the length any table can have, which the check then refuses.
        let offset = index(data).wrapping_mul(size_of::<Entry>());
        if offset >= self.limit.get() {
            return None;
        }
        // SAFETY: `offset` is a multiple of the entry size below the table's length in bytes
        // (`limit`), so it is the offset of an initialised entry, and the reference ends with
        // this statement (see the invariants).
        let entry = unsafe { *(*self.entries.get()).as_ptr().byte_add(offset) };
        // SAFETY: the entry was stored under this key (same index and version), so it is
        // the signal the scope made for this atom, a `Signal<T>` (see the invariants).
        (entry.key == data).then(|| unsafe { entry.node.signal::<T>() })
    }

    /// Caches `node` for `key` if it is a signal of `T`, replacing what the key's index held.
    pub(crate) fn insert<T: 'static>(&self, key: AtomKey, node: ErasedNode) {
        if node.signal::<T>().is_none() {
            return;
        }
        let data = key.data().as_ffi();
        let index = index(data);
        let node = node.raw();
        self.with_mut(|entries| {
            if entries.len() <= index {
                entries.resize(index + 1, Entry { key: 0, node });
            }
            entries[index] = Entry { key: data, node };
        });
    }

    /// Forgets the signal cached for `key`, if any.
    pub(crate) fn remove(&self, key: AtomKey) {
        let data = key.data().as_ffi();
        self.with_mut(|entries| {
            if let Some(entry) = entries.get_mut(index(data))
                && entry.key == data
            {
                entry.key = 0;
            }
        });
    }

    /// Forgets every signal and frees the table.
    pub(crate) fn clear(&self) {
        // Dropping entries runs no code (they are `Copy`), so this may drop inside.
        self.with_mut(|entries| *entries = Vec::new());
    }

    /// How many signals are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.with_mut(|entries| entries.iter().filter(|entry| entry.key != 0).count())
    }

    /// Runs `f` on the table, which no other reference reaches meanwhile, then brings
    /// `limit` up to date.
    fn with_mut<R>(&self, f: impl FnOnce(&mut Vec<Entry>) -> R) -> R {
        // SAFETY: the only reference to the table while `f` runs: `f` is one of this type's
        // closures, which touch nothing but the table (see the invariants).
        let entries = unsafe { &mut *self.entries.get() };
        let result = f(entries);
        self.limit.set(entries.len() * size_of::<Entry>());
        result
    }
}

/// The slot index of a key's FFI form (its low 32 bits).
#[inline(always)]
fn index(data: u64) -> usize {
    (data & u64::from(u32::MAX)) as usize
}

#[cfg(test)]
mod tests {
    use slotmap::KeyData;
    use stateloom_core::{computed, signal};

    use super::*;

    fn key(index: u32, version: u32) -> AtomKey {
        KeyData::from_ffi((u64::from(version) << 32) | u64::from(index)).into()
    }

    #[test]
    fn an_entry_is_found_only_by_the_key_it_was_stored_under() {
        let cache = NodeCache::new();
        let s = signal(7_i32);
        assert!(cache.signal::<i32>(key(3, 1)).is_none(), "empty");
        cache.insert::<i32>(key(3, 1), s.into());
        assert_eq!(cache.signal::<i32>(key(3, 1)), Some(s));
        assert_eq!(cache.len(), 1, "the gap below index 3 holds vacant entries");
        assert!(cache.signal::<i32>(key(3, 3)).is_none(), "a reused index");
        assert!(cache.signal::<i32>(key(2, 1)).is_none(), "a vacant entry");
        assert!(
            cache.signal::<i32>(key(0, 1)).is_none(),
            "the growth filler"
        );
        assert!(cache.signal::<i32>(key(9, 1)).is_none(), "past the end");
        cache.remove(key(3, 3));
        assert_eq!(
            cache.signal::<i32>(key(3, 1)),
            Some(s),
            "another key's removal"
        );
        cache.remove(key(3, 1));
        assert!(cache.signal::<i32>(key(3, 1)).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn growing_keeps_earlier_entries_and_clearing_frees_the_table() {
        let cache = NodeCache::new();
        let signals: Vec<_> = (0..100_u32).map(|i| signal(i)).collect();
        for (i, s) in signals.iter().enumerate().rev().step_by(3) {
            cache.insert::<u32>(key(i as u32 * 7, 5), (*s).into());
        }
        for (i, s) in signals.iter().enumerate() {
            let found = cache.signal::<u32>(key(i as u32 * 7, 5));
            assert_eq!(found, ((99 - i) % 3 == 0).then_some(*s), "entry {i}");
        }
        assert_eq!(found_value(&cache, key(99 * 7, 5)), Some(99));
        cache.clear();
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.limit.get(), 0, "the table is freed");
        assert!(cache.signal::<u32>(key(99 * 7, 5)).is_none());
    }

    fn found_value(cache: &NodeCache, key: AtomKey) -> Option<u32> {
        cache.signal::<u32>(key).map(|s| s.get())
    }

    #[test]
    fn only_signals_of_the_handle_type_are_cached() {
        let cache = NodeCache::new();
        let s = signal(1_u8);
        let c = computed(move || s.get());
        cache.insert::<u8>(key(1, 1), c.into());
        cache.insert::<u16>(key(2, 1), s.into());
        assert_eq!(cache.len(), 0);
        cache.insert::<u8>(key(2, 1), s.into());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "made with another type or as a computed")]
    fn debug_builds_check_the_type_of_a_cached_signal() {
        let cache = NodeCache::new();
        cache.insert::<u8>(key(1, 1), signal(1_u8).into());
        let _ = cache.signal::<u16>(key(1, 1));
    }
}
