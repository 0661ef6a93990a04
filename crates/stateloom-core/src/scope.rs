//! Scopes: isolated sets of signal values for server-side rendering and tests.

#[cfg(feature = "serde")]
mod serde;

#[cfg(feature = "serde")]
pub use self::serde::{HydrateEntry, ScopeSnapshot, SerializeEntry};

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::runtime::{NodeRef, with_runtime};
use crate::signal::Signal;

/// An isolated set of signal values layered over the global graph, for one server request or
/// one test.
///
/// [`set`](Scope::set) stores a value in this scope only; [`get`](Scope::get) looks in this
/// scope, then in the scope it was forked from, then at the signal itself. Inside
/// [`run_in_scope`], reads made directly by the closure see the scope's values too.
///
/// Computeds and effects are shared by every scope, so they always compute from the signals'
/// own values: a request's values never leak into a cached computed. For derived values per
/// request, give each request its own atom scope (`stateloom-atom`).
///
/// Cloning a `Scope` gives another handle to the same scope.
///
/// # Examples
/// ```
/// use stateloom_core::{Scope, run_in_scope, signal};
///
/// let user = signal("anonymous");
/// let request = Scope::new();
/// request.set(user, "ada");
/// let child = request.fork();
/// assert_eq!(child.get(user), "ada");
/// assert_eq!(run_in_scope(&request, || user.get()), "ada");
/// assert_eq!(user.get(), "anonymous");
/// ```
#[derive(Clone, Default)]
pub struct Scope {
    inner: Rc<ScopeInner>,
}

#[derive(Default)]
struct ScopeInner {
    parent: Option<Scope>,
    values: RefCell<HashMap<NodeRef, Rc<dyn Any>>>,
}

impl Scope {
    /// Creates an empty scope.
    ///
    /// # Examples
    /// ```
    /// let scope = stateloom_core::Scope::new();
    /// assert!(scope.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a child scope that sees this scope's values and can override them without
    /// changing this scope.
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::{Scope, signal};
    ///
    /// let theme = signal("light");
    /// let parent = Scope::new();
    /// parent.set(theme, "dark");
    /// let child = parent.fork();
    /// child.set(theme, "sepia");
    /// assert_eq!((parent.get(theme), child.get(theme)), ("dark", "sepia"));
    /// ```
    pub fn fork(&self) -> Self {
        Self {
            inner: Rc::new(ScopeInner {
                parent: Some(self.clone()),
                values: RefCell::default(),
            }),
        }
    }

    /// Stores `value` for `signal` in this scope only. The signal itself is unchanged and no
    /// effect runs.
    ///
    /// # Examples
    /// See [`Scope`].
    pub fn set<T: 'static>(&self, signal: Signal<T>, value: T) {
        self.inner
            .values
            .borrow_mut()
            .insert(signal.node, Rc::new(value));
    }

    /// The value of `signal` in this scope: this scope's own, else the nearest parent's, else
    /// the signal's (a tracked read).
    ///
    /// # Panics
    /// If no scope holds a value and the signal was disposed.
    ///
    /// # Examples
    /// See [`Scope`].
    #[track_caller]
    pub fn get<T: Clone + 'static>(&self, signal: Signal<T>) -> T {
        match self.lookup(signal.node) {
            Some(value) => value
                .downcast_ref::<T>()
                .expect("scope value has the signal's type")
                .clone(),
            None => signal.get(),
        }
    }

    /// Removes this scope's own value for `signal`, returning whether there was one.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(1);
    /// let scope = stateloom_core::Scope::new();
    /// scope.set(s, 2);
    /// assert!(scope.remove(s));
    /// assert_eq!(scope.get(s), 1);
    /// ```
    pub fn remove<T: 'static>(&self, signal: Signal<T>) -> bool {
        self.inner
            .values
            .borrow_mut()
            .remove(&signal.node)
            .is_some()
    }

    /// Whether this scope holds no values of its own.
    pub fn is_empty(&self) -> bool {
        self.inner.values.borrow().is_empty()
    }

    /// Looks `node` up in this scope and its parents, without cloning the value.
    pub(crate) fn lookup(&self, node: NodeRef) -> Option<Rc<dyn Any>> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some(value) = s.inner.values.borrow().get(&node) {
                return Some(Rc::clone(value));
            }
            scope = s.inner.parent.as_ref();
        }
        None
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("values", &self.inner.values.borrow().len())
            .field("forked", &self.inner.parent.is_some())
            .finish()
    }
}

/// Runs `f` with `scope` entered: reads of signals made directly in `f` (not from inside a
/// computed or effect) return the scope's values. Scopes nest; the innermost wins.
///
/// # Examples
/// ```
/// use stateloom_core::{Scope, run_in_scope, signal};
///
/// let locale = signal("en");
/// let outer = Scope::new();
/// outer.set(locale, "fr");
/// let inner = outer.fork();
/// inner.set(locale, "de");
/// run_in_scope(&outer, || {
///     assert_eq!(locale.get(), "fr");
///     run_in_scope(&inner, || assert_eq!(locale.get(), "de"));
///     assert_eq!(locale.get(), "fr");
/// });
/// ```
pub fn run_in_scope<R>(scope: &Scope, f: impl FnOnce() -> R) -> R {
    struct Exit;
    impl Drop for Exit {
        fn drop(&mut self) {
            with_runtime(|rt| {
                let mut scopes = rt.scopes.borrow_mut();
                scopes.pop();
                rt.in_scope.set(!scopes.is_empty());
            });
        }
    }
    with_runtime(|rt| {
        rt.hold();
        rt.scopes.borrow_mut().push(scope.clone());
        rt.in_scope.set(true);
    });
    let _exit = Exit;
    f()
}

/// Runs `f` outside every scope entered with [`run_in_scope`]: reads in `f` see the signals'
/// own values again, as they do at the top level. A `run_in_scope` inside `f` still applies
/// within its own closure.
///
/// Libraries whose writes go to a signal's own value use it, so the value they start from is
/// the one they write to, never a request's override.
///
/// # Examples
/// ```
/// use stateloom_core::{Scope, run_in_scope, run_outside_scopes, signal};
///
/// let user = signal("anonymous");
/// let request = Scope::new();
/// request.set(user, "ada");
/// run_in_scope(&request, || {
///     assert_eq!(user.get(), "ada");
///     assert_eq!(run_outside_scopes(|| user.get()), "anonymous");
///     assert_eq!(user.get(), "ada");
/// });
/// ```
pub fn run_outside_scopes<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the entered scopes back, also on unwind.
    struct Restore(Vec<Scope>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let saved = std::mem::take(&mut self.0);
            with_runtime(|rt| {
                rt.in_scope.set(!saved.is_empty());
                *rt.scopes.borrow_mut() = saved;
            });
        }
    }
    let saved = with_runtime(|rt| {
        if !rt.in_scope.get() {
            return None;
        }
        rt.in_scope.set(false);
        Some(std::mem::take(&mut *rt.scopes.borrow_mut()))
    });
    match saved {
        None => f(),
        Some(saved) => {
            let _restore = Restore(saved);
            f()
        }
    }
}
