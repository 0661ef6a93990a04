//! [`Bound`]: an atom together with a scope, readable and subscribable like any kernel value.

use std::fmt;

use stateloom_core::{Subscribable, Subscription};

use crate::handle::{AtomHandle, Readable};
use crate::scope::AtomScope;

/// An atom bound to a scope: a [`Subscribable`] that reads and subscribes in that scope, for
/// code written against `Subscribable` (adapters, middleware) that should see a request's
/// or a test's values rather than the default scope's.
///
/// Made by [`AtomScope::bind`]. It keeps the scope alive.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, atom, derived};
/// use stateloom_core::Subscribable;
///
/// fn show(value: &dyn Subscribable<i32>) -> String {
///     format!("value {}", value.get())
/// }
/// let n = atom(1);
/// let double = derived(move |get| get.get(n) * 2);
/// let request = AtomScope::new();
/// request.set(n, 21);
/// assert_eq!(show(&request.bind(double)), "value 42");
/// assert_eq!(show(&double), "value 2"); // the handle itself reads the default scope
/// ```
pub struct Bound<H> {
    scope: AtomScope,
    atom: H,
}

impl AtomScope {
    /// Binds `atom` to this scope; see [`Bound`].
    ///
    /// # Examples
    /// See [`Bound`].
    pub fn bind<H: AtomHandle>(&self, atom: H) -> Bound<H> {
        Bound {
            scope: self.clone(),
            atom,
        }
    }
}

impl<H: AtomHandle> Bound<H> {
    /// The bound atom.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom(1);
    /// let scope = stateloom_atom::AtomScope::new();
    /// assert_eq!(scope.bind(n).atom(), n);
    /// ```
    pub fn atom(&self) -> H {
        self.atom
    }

    /// The scope it reads from.
    ///
    /// # Examples
    /// ```
    /// let scope = stateloom_atom::AtomScope::new();
    /// assert_eq!(scope.bind(stateloom_atom::atom(1)).scope(), &scope);
    /// ```
    pub fn scope(&self) -> &AtomScope {
        &self.scope
    }
}

impl<T: Clone + 'static, H: Readable<T>> Subscribable<T> for Bound<H> {
    fn get(&self) -> T {
        self.scope.get(self.atom)
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription {
        self.scope.sub(self.atom, callback)
    }
}

impl<H: Clone> Clone for Bound<H> {
    fn clone(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            atom: self.atom.clone(),
        }
    }
}

impl<H: fmt::Debug> fmt::Debug for Bound<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bound")
            .field("atom", &self.atom)
            .field("scope", &self.scope)
            .finish()
    }
}
