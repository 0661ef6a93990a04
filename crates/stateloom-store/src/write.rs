//! Writes: what a `set_state` asks for, as one value that middleware can inspect and change.

use std::borrow::Cow;
use std::fmt;

/// How a write changes the state.
///
/// # Examples
/// ```
/// use stateloom_store::Update;
///
/// let mut count = 1;
/// Update::Mutate(Box::new(|n: &mut i32| *n += 1)).apply(&mut count);
/// Update::Replace(10).apply(&mut count);
/// assert_eq!(count, 10);
/// ```
#[non_exhaustive]
pub enum Update<S> {
    /// Replace the whole state with this value.
    Replace(S),
    /// Change the state in place (also what a [`Patch`] becomes).
    Mutate(Box<dyn FnOnce(&mut S)>),
}

impl<S> Update<S> {
    /// Applies the update to `state`.
    ///
    /// # Examples
    /// See [`Update`].
    pub fn apply(self, state: &mut S) {
        match self {
            Update::Replace(value) => *state = value,
            Update::Mutate(f) => f(state),
        }
    }
}

impl<S> fmt::Debug for Update<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Update::Replace(_) => f.write_str("Replace(..)"),
            Update::Mutate(_) => f.write_str("Mutate(..)"),
        }
    }
}

/// A partial update: a value that knows how to change some fields of `S`.
///
/// This is the typed counterpart of Zustand's `set({ count: 1 })`: write a small struct with
/// the fields to change and implement `Patch` for it, then pass it to
/// [`Store::patch`](crate::Store::patch). Every `FnOnce(&mut S)` is a patch too.
///
/// # Examples
/// ```
/// use stateloom_store::{Patch, Store};
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Profile { name: String, age: u32, city: String }
///
/// /// Only the fields that are `Some` change.
/// #[derive(Default)]
/// struct ProfilePatch { name: Option<String>, age: Option<u32> }
///
/// impl Patch<Profile> for ProfilePatch {
///     fn apply(self, p: &mut Profile) {
///         if let Some(name) = self.name { p.name = name; }
///         if let Some(age) = self.age { p.age = age; }
///     }
/// }
///
/// let store = Store::new(Profile { name: "Ada".into(), age: 36, city: "London".into() });
/// store.patch(ProfilePatch { age: Some(37), ..Default::default() });
/// assert_eq!(store.get_state().age, 37);
/// assert_eq!(store.get_state().city, "London");
/// ```
pub trait Patch<S> {
    /// Changes the patched fields of `state`.
    fn apply(self, state: &mut S);
}

impl<S, F: FnOnce(&mut S)> Patch<S> for F {
    fn apply(self, state: &mut S) {
        self(state)
    }
}

/// One write: an [`Update`] and an optional action name, as middleware sees it.
///
/// Middleware may pass a write on unchanged, replace its update ([`map_update`]), rename it,
/// hold it to pass on later, or drop it.
///
/// [`map_update`]: Write::map_update
///
/// # Examples
/// ```
/// use stateloom_store::{Store, Write};
///
/// let store = Store::new(0);
/// store.dispatch(Write::update(|n: &mut i32| *n += 5).with_action("add five"));
/// assert_eq!(store.get_state(), 5);
/// ```
pub struct Write<S> {
    update: Update<S>,
    action: Option<Cow<'static, str>>,
    /// The history middleware that issued this write (an undo or redo), or 0.
    pub(crate) from_history: usize,
}

impl<S: 'static> Write<S> {
    /// A write that replaces the state.
    ///
    /// # Examples
    /// ```
    /// let w = stateloom_store::Write::replace(3);
    /// assert!(w.action().is_none());
    /// ```
    pub fn replace(state: S) -> Self {
        Self::new(Update::Replace(state))
    }

    /// A write that changes the state in place.
    ///
    /// # Examples
    /// ```
    /// let w = stateloom_store::Write::update(|v: &mut Vec<i32>| v.push(1));
    /// let mut v = Vec::new();
    /// w.apply(&mut v);
    /// assert_eq!(v, [1]);
    /// ```
    pub fn update(f: impl FnOnce(&mut S) + 'static) -> Self {
        Self::new(Update::Mutate(Box::new(f)))
    }

    /// A write that applies a [`Patch`].
    ///
    /// # Examples
    /// See [`Patch`].
    pub fn patch(patch: impl Patch<S> + 'static) -> Self {
        Self::new(Update::Mutate(Box::new(move |s| patch.apply(s))))
    }
}

impl<S> Write<S> {
    /// A write with this update and no action name.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Update, Write};
    ///
    /// let w = Write::new(Update::Replace("hi"));
    /// assert!(matches!(w.as_update(), Update::Replace("hi")));
    /// ```
    pub fn new(update: Update<S>) -> Self {
        Self {
            update,
            action: None,
            from_history: 0,
        }
    }

    /// Names the action this write performs, for middleware such as the logger.
    ///
    /// # Examples
    /// ```
    /// let w = stateloom_store::Write::replace(1).with_action("reset");
    /// assert_eq!(w.action(), Some("reset"));
    /// ```
    pub fn with_action(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.action = Some(name.into());
        self
    }

    /// The action name, if the write has one.
    ///
    /// # Examples
    /// See [`with_action`](Self::with_action).
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The update.
    ///
    /// # Examples
    /// See [`new`](Self::new).
    pub fn as_update(&self) -> &Update<S> {
        &self.update
    }

    /// Splits the write into its update, dropping the name.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Update, Write};
    ///
    /// assert!(matches!(Write::replace(2).into_update(), Update::Replace(2)));
    /// ```
    pub fn into_update(self) -> Update<S> {
        self.update
    }

    /// Replaces the update with `f(update)`, keeping the name: how a middleware transforms a
    /// write.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Update, Write};
    ///
    /// // Clamp whatever the write does to at most 10.
    /// let w = Write::replace(42).map_update(|u| {
    ///     Update::Mutate(Box::new(move |n: &mut i32| {
    ///         u.apply(n);
    ///         *n = (*n).min(10);
    ///     }))
    /// });
    /// let mut n = 0;
    /// w.apply(&mut n);
    /// assert_eq!(n, 10);
    /// ```
    pub fn map_update(mut self, f: impl FnOnce(Update<S>) -> Update<S>) -> Self {
        self.update = f(self.update);
        self
    }

    /// Applies the update to `state`.
    ///
    /// # Examples
    /// See [`update`](Self::update).
    pub fn apply(self, state: &mut S) {
        self.update.apply(state);
    }
}

impl<S> fmt::Debug for Write<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("update", &self.update)
            .field("action", &self.action)
            .finish()
    }
}
