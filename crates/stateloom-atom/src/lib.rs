//! Jotai-style atoms for StateLoom: small `Copy` handles that describe state, whose values
//! live in an [`AtomScope`] on the reactive kernel of `stateloom-core`.
//!
//! ```
//! use stateloom_atom::{AtomScope, atom, derived, writable_atom};
//!
//! let celsius = atom(20.0_f64);
//! let fahrenheit = writable_atom(
//!     move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
//!     move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
//! );
//! let label = derived(move |get| format!("{:.0}°F", get.get(fahrenheit)));
//!
//! let request = AtomScope::new(); // its own values; atoms are shared definitions
//! request.write(fahrenheit, 212.0);
//! assert_eq!(request.get(label), "212°F");
//! assert_eq!(label.get(), "68°F"); // the thread's default scope is untouched
//! ```
//!
//! # Design
//! - **Atoms are configs, scopes hold values.** [`atom`], [`derived`] and [`writable_atom`]
//!   register a description in this thread's registry and return a `Copy + Eq + Hash` key.
//!   Each [`AtomScope`] creates a kernel signal or computed for an atom the first time it is
//!   used there, so the same definitions serve every request or test with isolated values.
//! - **The kernel does the work.** A derived atom is a kernel computed whose read function
//!   gets its inputs from the same scope; dependency tracking, glitch-free propagation,
//!   laziness and depth without recursion come from `stateloom-core`.
//! - **Writes are batches.** Everything one write function sets is one kernel batch:
//!   subscribers run once, after it returns, with the final values.
//! - **One thread.** Atom handles, families and scopes are not `Send`: the registry and the
//!   kernel are per thread, so using an atom on another thread does not compile:
//!   ```compile_fail
//!   let count = stateloom_atom::atom(0);
//!   std::thread::spawn(move || count.get()); // `Atom<i32>` is not `Send`
//!   ```
//!   Move state between threads with messages.
//! - **Nothing leaks.** [`AtomScope::dispose`] frees every node the scope made. Removing a
//!   family member frees its nodes in every scope where it is not mounted at once, and
//!   elsewhere when it is unmounted (its subscribers keep working until then, as in Jotai);
//!   its config goes with its last node.
//! - **Lifecycle work is deferred and batched.** Mount hooks and cleanups run after the
//!   operation that set them off, never inside a read function, and all of one operation's
//!   run in one batch: subscribers see their combined writes once.
//!
//! # Which construct do I use?
//! | you want | use |
//! |---|---|
//! | a value you set | [`atom`] → [`Atom`] |
//! | a value computed from atoms | [`derived`] → [`Derived`] |
//! | a slice of a big value, notified only when the slice changes | [`select_atom`] |
//! | a computed value with a custom write (two-way binding) | [`writable_atom`] → [`WritableAtom`] |
//! | an action that writes several atoms at once | [`write_only_atom`] |
//! | state changed by actions | [`atom_with_reducer`] |
//! | one atom per id (todo items, users) | [`atom_family`] → [`AtomFamily`] |
//! | one atom per id the program makes itself (indices), hashed faster | [`atom_family_with_hasher`] with [`FxBuildHasher`] |
//! | an atom per item of a list atom | [`split_atom`] |
//! | start/stop work while an atom is observed | [`Atom::on_mount`], [`WritableAtom::on_mount`] → [`MountContext`] |
//! | separate values per request or test | [`AtomScope::new`] |
//! | notifications on change | [`AtomScope::sub`], `subscribe` on a handle |
//! | pass an atom in a given scope to code taking a `Subscribable` | [`AtomScope::bind`] |
//!
//! # Features
//! None yet: the crate depends on the kernel only.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![deny(unsafe_code)]

mod atom;
mod bound;
mod context;
mod derived;
mod error;
mod family;
mod handle;
mod lifecycle;
mod registry;
mod scope;
mod split;
mod writable;

pub use atom::{Atom, atom, atom_with_equals};
pub use bound::Bound;
pub use context::{Getter, MountContext, Setter};
pub use derived::{Derived, derived, derived_with_equals, select_atom};
pub use error::{Error, Result};
pub use family::{
    AtomFamily, DefaultHashBuilder, FxBuildHasher, atom_family, atom_family_with_hasher,
};
pub use handle::{AtomHandle, AtomId, Readable, Writable};
pub use registry::registered_atoms;
pub use scope::{AtomScope, WeakAtomScope, default_scope};
pub use split::split_atom;
pub use writable::{WritableAtom, atom_with_reducer, writable_atom, write_only_atom};

/// The names most programs need, for a glob import.
///
/// # Examples
/// ```
/// use stateloom_atom::prelude::*;
///
/// let n = atom(1);
/// let next = derived(move |get| get.get(n) + 1);
/// assert_eq!(next.get(), 2);
/// ```
pub mod prelude {
    pub use crate::{
        Atom, AtomScope, Derived, Readable, Writable, WritableAtom, atom, atom_family, derived,
        writable_atom, write_only_atom,
    };
}

/// The examples of the guide, `docs/atom.md`, run as doc tests so the guide cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/atom.md")]
struct GuideExamples;
