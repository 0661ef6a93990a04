//! A generational arena addressed by `u32` slot indices, with a LIFO free list.
//!
//! The graph stores links between nodes as bare `u32` slot indices so that a link stays small
//! (28 bytes); public handles carry the slot's generation as well, so a handle to a freed node
//! is a checked miss, never a read of whatever node reused the slot.
#![allow(unsafe_code)] // Unchecked indexing by internal indices; see `Arena::at`.

/// Marks "no slot" in `u32` index fields (list heads, free lists, owners).
pub(crate) const NIL: u32 = u32::MAX;

/// A value that can sit in an [`Arena`] slot: it carries the slot's generation itself, so a
/// checked lookup reads one cache line, not two arrays.
///
/// `T::default()` is the placeholder of a vacant slot. It must own nothing (no allocation,
/// no value with a destructor that does anything): the arena forgets it instead of dropping
/// it when the slot is reused.
pub(crate) trait Slot: Default {
    /// The generation stored in this slot.
    fn generation(&self) -> u32;
    /// Stores the slot's generation.
    fn set_generation(&mut self, generation: u32);
}

/// Indices at or above this are never handed out: the graph uses the top bit of an index
/// field as a tag (see `Graph::adopt`), and the largest index stays below `0x7fff_ffff`, which
/// tagged would read as `NIL`.
pub(crate) const MAX_SLOTS: u32 = (1 << 31) - 1;

/// A slot arena that hands out `(index, generation)` pairs.
///
/// Values sit in a flat `Vec<T>`, so internal access by index is one bounds check; a freed slot
/// keeps a `T::default()` placeholder (holding the slot's generation) until it is reused.
/// Generations are only compared at the API edge.
///
/// # Invariants
/// - `free` holds exactly the vacant slots; the most recently freed is last (reused first).
/// - A slot's generation is odd while it is occupied and even while it is vacant, and it
///   changes on every insert and remove, so an old generation never matches a later value.
/// - `floor` is at least the generation of every slot [`shrink`](Self::shrink) removed, and a
///   slot pushed later starts above it, so a handle to a removed slot never matches the value
///   that takes its index.
/// - Slots leave the `Vec` only through `shrink`, which removes vacant slots only: an index
///   of an occupied slot is always in bounds.
pub(crate) struct Arena<T> {
    slots: Vec<T>,
    free: Vec<u32>,
    floor: u32,
}

impl<T: Slot> Arena<T> {
    /// Creates an empty arena.
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            floor: 0,
        }
    }

    /// Number of occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Stores `value` in a free slot (the most recently freed one first) and returns its
    /// index and generation.
    ///
    /// # Panics
    /// If the arena already holds [`MAX_SLOTS`] slots.
    pub(crate) fn insert(&mut self, mut value: T) -> (u32, u32) {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            let generation = slot.generation().wrapping_add(1);
            value.set_generation(generation);
            // The placeholder owns nothing (see `Slot`): forgetting it skips a drop that
            // would do nothing, at the cost of a call through the payload's vtable.
            std::mem::forget(std::mem::replace(slot, value));
            return (index, generation);
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i < MAX_SLOTS)
            .expect("stateloom arena is full (more than 2 billion live nodes)");
        // `floor` is even (a vacant slot's generation), so this is odd: occupied.
        let generation = self.floor.wrapping_add(1);
        value.set_generation(generation);
        self.slots.push(value);
        (index, generation)
    }

    /// The number of slots the arena has room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Gives memory back when less than a quarter of the slots are occupied: removes the
    /// vacant slots at the end of the `Vec` (those below the highest occupied one stay, since
    /// occupied slots never move) and shrinks the slot and free-list buffers to twice the
    /// occupied count, but not below `keep` slots. Returns whether anything was removed.
    ///
    /// The caller must hold no index of a vacant slot that it will use without a bounds check
    /// (see the invariants): internal indices name occupied slots, and handles are checked.
    pub(crate) fn shrink(&mut self, keep: usize) -> bool {
        let live = self.len();
        if self.slots.capacity() <= keep || live.saturating_mul(4) >= self.slots.len() {
            return false;
        }
        let mut end = self.slots.len();
        while end > 0 && self.slots[end - 1].generation().is_multiple_of(2) {
            end -= 1;
            self.floor = self.floor.max(self.slots[end].generation());
        }
        self.slots.truncate(end);
        self.free.retain(|&index| (index as usize) < end);
        let room = end.max(live.saturating_mul(2)).max(keep);
        self.slots.shrink_to(room);
        self.free.shrink_to(room.saturating_sub(live));
        true
    }

    /// The value at `index` if the slot is occupied by the value of that `generation`.
    #[inline]
    pub(crate) fn get(&self, index: u32, generation: u32) -> Option<&T> {
        self.slots
            .get(index as usize)
            .filter(|slot| slot.generation() == generation)
    }

    /// Mutable access to the value at `index` if the slot is occupied by the value of that
    /// `generation`.
    #[inline]
    pub(crate) fn get_mut(&mut self, index: u32, generation: u32) -> Option<&mut T> {
        self.slots
            .get_mut(index as usize)
            .filter(|slot| slot.generation() == generation)
    }

    /// [`get_mut`](Self::get_mut) for the index of a read or write that is still open, which
    /// is in bounds: see the caller's contract.
    ///
    /// The caller guarantees that `index` came from [`insert`](Self::insert) and that
    /// [`shrink`](Self::shrink) has not run since while the slot was vacant. The runtime keeps
    /// this for the reads and writes it ends: their node is either still live (its slot
    /// occupied, so `shrink` keeps it) or was freed with its payload pinned in the graveyard,
    /// and the runtime does not shrink while the graveyard holds anything.
    #[inline]
    pub(crate) fn get_mut_handed_out(&mut self, index: u32, generation: u32) -> Option<&mut T> {
        debug_assert!(
            (index as usize) < self.slots.len(),
            "index {index} was handed out and not removed"
        );
        // SAFETY: `index < slots.len()` by the caller's contract above (asserted in debug
        // builds).
        let slot = unsafe { self.slots.get_unchecked_mut(index as usize) };
        (slot.generation() == generation).then_some(slot)
    }

    /// Whether the slot at `index` holds the value of `generation` (`false` for `NIL`).
    #[inline]
    pub(crate) fn is_current(&self, index: u32, generation: u32) -> bool {
        self.slots
            .get(index as usize)
            .is_some_and(|slot| slot.generation() == generation)
    }

    /// Mutable access to the value at `index` if the slot is occupied, by whichever value.
    ///
    /// For indices kept across calls into user code, which may have freed the slot (and
    /// possibly reused it): unlike [`at_mut`](Self::at_mut), a vacant slot is a checked miss.
    pub(crate) fn occupied_mut(&mut self, index: u32) -> Option<&mut T> {
        self.slots
            .get_mut(index as usize)
            .filter(|slot| slot.generation() % 2 == 1)
    }

    /// The generation of the live value at `index`, if the slot is occupied.
    pub(crate) fn generation(&self, index: u32) -> Option<u32> {
        self.slots
            .get(index as usize)
            .map(T::generation)
            .filter(|g| g % 2 == 1)
    }

    /// The value at an index the graph holds internally (always a live one).
    ///
    /// # Panics
    /// In debug builds, if `index` is out of bounds or vacant (a bug in this crate).
    #[inline]
    pub(crate) fn at(&self, index: u32) -> &T {
        self.check(index);
        // SAFETY: internal indices name occupied slots (checked in debug builds by `check`),
        // and only vacant slots are ever removed from the `Vec` (`shrink`), so
        // `index < slots.len()`.
        unsafe { self.slots.get_unchecked(index as usize) }
    }

    /// Mutable access to the value at an index the graph holds internally.
    ///
    /// # Panics
    /// As [`at`](Self::at).
    #[inline]
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut T {
        self.check(index);
        // SAFETY: as in `at`.
        unsafe { self.slots.get_unchecked_mut(index as usize) }
    }

    /// Debug builds: asserts that an internal index names a live slot.
    #[inline]
    fn check(&self, index: u32) {
        debug_assert!(
            self.slots
                .get(index as usize)
                .is_some_and(|slot| slot.generation() % 2 == 1),
            "stateloom internal error: slot {index} is vacant or out of bounds"
        );
    }

    /// Every slot's value, occupied or vacant (vacant ones hold a placeholder).
    pub(crate) fn slots_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut()
    }

    /// Removes the value at `index`, leaving a placeholder, and puts the slot on the free list.
    ///
    /// # Panics
    /// If the slot is vacant.
    pub(crate) fn remove(&mut self, index: u32) -> T {
        let slot = &mut self.slots[index as usize];
        let generation = slot.generation();
        assert!(
            generation % 2 == 1,
            "stateloom internal error: freeing vacant slot {index}"
        );
        let mut placeholder = T::default();
        placeholder.set_generation(generation.wrapping_add(1));
        self.free.push(index);
        std::mem::replace(slot, placeholder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test value with its generation.
    #[derive(Debug, Default, PartialEq)]
    struct V<T>(T, u32);

    impl<T: Default> Slot for V<T> {
        fn generation(&self) -> u32 {
            self.1
        }
        fn set_generation(&mut self, generation: u32) {
            self.1 = generation;
        }
    }

    fn v<T>(value: T) -> V<T> {
        V(value, 0)
    }

    #[test]
    fn insert_get_remove() {
        let mut arena = Arena::new();
        let (a, ga) = arena.insert(v("a"));
        let (b, gb) = arena.insert(v("b"));
        assert_eq!((a, b), (0, 1));
        assert_eq!(arena.get(a, ga).map(|x| x.0), Some("a"));
        assert_eq!(arena.at(b).0, "b");
        assert_eq!(arena.len(), 2);
        assert_eq!(arena.remove(a).0, "a");
        assert_eq!(arena.len(), 1);
        assert!(arena.get(a, ga).is_none(), "a removed value is a miss");
        assert_eq!(arena.generation(a), None);
        assert_eq!(arena.get(b, gb).map(|x| x.0), Some("b"));
    }

    #[test]
    fn freed_slots_are_reused_newest_first_with_a_new_generation() {
        let mut arena = Arena::new();
        let keys: Vec<_> = (0..4).map(|i| arena.insert(v(i))).collect();
        arena.remove(keys[1].0);
        arena.remove(keys[3].0);
        let (i, g) = arena.insert(v(10));
        assert_eq!(i, keys[3].0, "the most recently freed slot is reused first");
        assert_ne!(g, keys[3].1);
        assert_eq!(arena.get(i, g).map(|x| x.0), Some(10));
        assert!(
            arena.get(keys[3].0, keys[3].1).is_none(),
            "old handle stays dead"
        );
        let (j, _) = arena.insert(v(11));
        assert_eq!(j, keys[1].0);
        let (k, _) = arena.insert(v(12));
        assert_eq!(k, 4, "a full free list grows the arena");
        assert_eq!(arena.len(), 5);
    }

    #[test]
    #[should_panic(expected = "vacant")]
    fn freeing_a_vacant_slot_panics() {
        let mut arena = Arena::new();
        let (i, _) = arena.insert(v(1));
        arena.remove(i);
        arena.remove(i);
    }
}
