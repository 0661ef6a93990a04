//! Split access to a list atom: [`split_atom`] gives one writable atom per item.

use crate::atom::Atom;
use crate::derived::{Derived, derived};
use crate::family::atom_family;
use crate::writable::{WritableAtom, writable_atom};

/// Splits a list atom into one writable atom per item: reading item `i` gives
/// `Some(list[i])` (or `None` once the list is shorter), and writing it replaces `list[i]`.
///
/// The returned atom holds the item atoms of the list's current length. It only changes
/// when the length does, so a view of the list does not re-render when one item is edited;
/// each item's subscribers hear only about their item. Item atoms are made once per index
/// and kept for the life of the thread (as many as the list's greatest length). To add or
/// remove items, update the list itself.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use stateloom_atom::{atom, split_atom};
///
/// let names = atom(vec!["Ada".to_string(), "Grace".to_string()]);
/// let items = split_atom(names);
/// let second = items.get()[1];
/// assert_eq!(second.get(), Some("Grace".to_string()));
///
/// let relists = Rc::new(Cell::new(0));
/// let r = relists.clone();
/// let _sub = items.subscribe(move |_| r.set(r.get() + 1));
/// second.write("Barbara".into());
/// assert_eq!(names.get()[1], "Barbara");
/// assert_eq!(relists.get(), 0, "same length: the list of items did not change");
/// names.update(|v| v.push("Hedy".into()));
/// assert_eq!(relists.get(), 1);
/// ```
pub fn split_atom<T: Clone + PartialEq + 'static>(
    list: Atom<Vec<T>>,
) -> Derived<Vec<WritableAtom<Option<T>, T>>> {
    let items = atom_family(move |index: &usize| {
        let i = *index;
        writable_atom(
            move |get| get.with(list, |v| v.get(i).cloned()),
            move |set, value: T| {
                if set.with(list, |v| v.get(i).is_none_or(|old| *old == value)) {
                    return;
                }
                set.update(list, |v| v[i] = value);
            },
        )
    });
    derived(move |get| {
        let len = get.with(list, Vec::len);
        (0..len).map(|i| items.get(&i)).collect()
    })
}
