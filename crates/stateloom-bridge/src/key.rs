//! Type-erased map keys: values of different key types in one hash map, compared by type
//! and by value.

use std::any::{Any, TypeId};
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// A key of any `Eq + Hash` type.
///
/// # Invariants
/// `hash` is the hash of `value` under the map's hasher state that made it, so two equal
/// keys made with the same state have the same `hash`.
#[derive(Clone)]
pub(crate) struct DynKey {
    type_id: TypeId,
    hash: u64,
    value: Rc<dyn Any>,
    eq: fn(&dyn Any, &dyn Any) -> bool,
}

impl DynKey {
    pub(crate) fn new<K: Eq + Hash + 'static>(key: K, state: &ahash::RandomState) -> Self {
        let hash = state.hash_one(&key);
        Self {
            type_id: TypeId::of::<K>(),
            hash,
            value: Rc::new(key),
            eq: eq_as::<K>,
        }
    }
}

fn eq_as<K: Eq + 'static>(a: &dyn Any, b: &dyn Any) -> bool {
    match (a.downcast_ref::<K>(), b.downcast_ref::<K>()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

impl PartialEq for DynKey {
    fn eq(&self, other: &Self) -> bool {
        self.type_id == other.type_id
            && self.hash == other.hash
            && (self.eq)(&*self.value, &*other.value)
    }
}

impl Eq for DynKey {}

impl Hash for DynKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_types_never_match() {
        let state = ahash::RandomState::new();
        assert!(DynKey::new(1_u32, &state) == DynKey::new(1_u32, &state));
        assert!(DynKey::new(1_u32, &state) != DynKey::new(2_u32, &state));
        assert!(DynKey::new(1_u32, &state) != DynKey::new(1_u64, &state));
    }
}
