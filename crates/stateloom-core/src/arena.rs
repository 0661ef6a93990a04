//! A generational arena addressed by `u32` slot indices, with a LIFO free list.
//!
//! The graph stores links between nodes as bare `u32` slot indices so that a link stays small
//! (28 bytes); public handles carry the slot's generation as well, so a handle to a freed node
//! is a checked miss, never a read of whatever node reused the slot.

/// Marks "no slot" in `u32` index fields (list heads, free lists, owners).
pub(crate) const NIL: u32 = u32::MAX;

/// A slot arena that hands out `(index, generation)` pairs.
///
/// # Invariants
/// - `free` is a chain of vacant slots linked through `Entry::Vacant::next_free`, ending in `NIL`.
/// - `len` counts the occupied slots.
/// - A slot's generation changes every time its value is removed, so an old generation never
///   matches a value inserted later into the same slot.
pub(crate) struct Arena<T> {
    slots: Vec<Slot<T>>,
    free: u32,
    len: u32,
}

struct Slot<T> {
    generation: u32,
    entry: Entry<T>,
}

enum Entry<T> {
    Occupied(T),
    Vacant { next_free: u32 },
}

impl<T> Arena<T> {
    /// Creates an empty arena.
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// Number of occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Stores `value` in a free slot (the most recently freed one first) and returns its
    /// index and generation.
    ///
    /// # Panics
    /// If the arena already holds `u32::MAX - 1` slots.
    pub(crate) fn insert(&mut self, value: T) -> (u32, u32) {
        self.len += 1;
        if self.free != NIL {
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            match slot.entry {
                Entry::Vacant { next_free } => self.free = next_free,
                Entry::Occupied(_) => unreachable!("free list points at an occupied slot"),
            }
            slot.entry = Entry::Occupied(value);
            return (index, slot.generation);
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("stateloom arena is full (more than 4 billion live nodes)");
        self.slots.push(Slot {
            generation: 0,
            entry: Entry::Occupied(value),
        });
        (index, 0)
    }

    /// The value at `index` if the slot is occupied by the value of that `generation`.
    pub(crate) fn get(&self, index: u32, generation: u32) -> Option<&T> {
        match self.slots.get(index as usize) {
            Some(Slot {
                generation: g,
                entry: Entry::Occupied(value),
            }) if *g == generation => Some(value),
            _ => None,
        }
    }

    /// The generation of the live value at `index`, if the slot is occupied.
    pub(crate) fn generation(&self, index: u32) -> Option<u32> {
        match self.slots.get(index as usize) {
            Some(Slot {
                generation,
                entry: Entry::Occupied(_),
            }) => Some(*generation),
            _ => None,
        }
    }

    /// The value at an index the graph holds internally.
    ///
    /// # Panics
    /// If the slot is vacant: internal indices never outlive their values.
    #[inline]
    pub(crate) fn at(&self, index: u32) -> &T {
        match &self.slots[index as usize].entry {
            Entry::Occupied(value) => value,
            Entry::Vacant { .. } => panic!("stateloom internal error: slot {index} is vacant"),
        }
    }

    /// Mutable access to the value at an index the graph holds internally.
    ///
    /// # Panics
    /// If the slot is vacant.
    #[inline]
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut T {
        match &mut self.slots[index as usize].entry {
            Entry::Occupied(value) => value,
            Entry::Vacant { .. } => panic!("stateloom internal error: slot {index} is vacant"),
        }
    }

    /// Removes the value at `index`, bumps the slot's generation and puts the slot on the
    /// free list.
    ///
    /// # Panics
    /// If the slot is vacant.
    pub(crate) fn remove(&mut self, index: u32) -> T {
        let slot = &mut self.slots[index as usize];
        let entry = std::mem::replace(
            &mut slot.entry,
            Entry::Vacant {
                next_free: self.free,
            },
        );
        match entry {
            Entry::Occupied(value) => {
                slot.generation = slot.generation.wrapping_add(1);
                self.free = index;
                self.len -= 1;
                value
            }
            Entry::Vacant { .. } => panic!("stateloom internal error: freeing vacant slot {index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut arena = Arena::new();
        let (a, ga) = arena.insert("a");
        let (b, gb) = arena.insert("b");
        assert_eq!((a, b), (0, 1));
        assert_eq!(arena.get(a, ga), Some(&"a"));
        assert_eq!(*arena.at(b), "b");
        assert_eq!(arena.len(), 2);
        assert_eq!(arena.remove(a), "a");
        assert_eq!(arena.len(), 1);
        assert_eq!(arena.get(a, ga), None, "a removed value is a miss");
        assert_eq!(arena.generation(a), None);
        assert_eq!(arena.get(b, gb), Some(&"b"));
    }

    #[test]
    fn freed_slots_are_reused_newest_first_with_a_new_generation() {
        let mut arena = Arena::new();
        let keys: Vec<_> = (0..4).map(|i| arena.insert(i)).collect();
        arena.remove(keys[1].0);
        arena.remove(keys[3].0);
        let (i, g) = arena.insert(10);
        assert_eq!(i, keys[3].0, "the most recently freed slot is reused first");
        assert_ne!(g, keys[3].1);
        assert_eq!(
            arena.get(keys[3].0, keys[3].1),
            None,
            "old handle stays dead"
        );
        let (j, _) = arena.insert(11);
        assert_eq!(j, keys[1].0);
        let (k, _) = arena.insert(12);
        assert_eq!(k, 4, "a full free list grows the arena");
        assert_eq!(arena.len(), 5);
    }

    #[test]
    #[should_panic(expected = "vacant")]
    fn internal_access_to_a_vacant_slot_panics() {
        let mut arena = Arena::new();
        let (i, _) = arena.insert(1);
        arena.remove(i);
        arena.at(i);
    }
}
