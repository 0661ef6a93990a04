//! The definitions behind this crate's atoms, found from an atom's id: an optimistic
//! function is given the optimistic atom and the mutation as plain atom handles.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;
use stateloom_atom::AtomId;

thread_local! {
    // Keyed by ids this thread's registry hands out, not by outside input: Fx is enough.
    static DEFS: RefCell<FxHashMap<AtomId, Rc<dyn Any>>> = RefCell::new(FxHashMap::default());
}

/// Records the definition of the atom `id`.
pub(crate) fn register(id: AtomId, def: Rc<dyn Any>) {
    DEFS.with(|defs| defs.borrow_mut().insert(id, def));
}

/// The definition of the atom `id`, if this crate made it with that definition type.
pub(crate) fn lookup<D: 'static>(id: AtomId) -> Option<Rc<D>> {
    let def = DEFS.with(|defs| defs.borrow().get(&id).cloned())?;
    def.downcast::<D>().ok()
}
