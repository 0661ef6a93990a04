//! Serializing a scope's values to stable, user-chosen keys, and hydrating a scope from them.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Scope;
use crate::error::{Error, Result};
use crate::signal::Signal;

/// The values of a scope under stable keys: what a server sends along with rendered HTML so
/// the client can start from the same state. Serializes as a JSON-style map.
///
/// # Examples
/// ```
/// use stateloom_core::{Scope, ScopeSnapshot, signal};
///
/// let count = signal(0);
/// let server = Scope::new();
/// server.set(count, 41);
/// let snapshot = server.serialize(&[("count", &count)])?;
/// let wire = serde_json::to_string(&snapshot).unwrap();
/// assert_eq!(wire, r#"{"count":41}"#);
///
/// let client = Scope::new();
/// let received: ScopeSnapshot = serde_json::from_str(&wire).unwrap();
/// client.hydrate(&received, &[("count", &count)])?;
/// assert_eq!(client.get(count), 41);
/// # Ok::<(), stateloom_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeSnapshot(BTreeMap<String, Value>);

impl ScopeSnapshot {
    /// The serialized value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Something whose value in a scope can be serialized: signals of serializable types.
pub trait SerializeEntry {
    /// The value as seen by `scope` ([`Scope::get`]), serialized.
    ///
    /// # Errors
    /// If the value's `Serialize` implementation fails.
    fn to_json(&self, scope: &Scope) -> Result<Value, serde_json::Error>;
}

/// Something whose value can be restored into a scope: signals of deserializable types.
pub trait HydrateEntry {
    /// Deserializes `value` and stores it in `scope` ([`Scope::set`]).
    ///
    /// # Errors
    /// If `value` does not deserialize to the signal's type.
    fn hydrate(&self, scope: &Scope, value: Value) -> Result<(), serde_json::Error>;
}

impl<T: Serialize + Clone + 'static> SerializeEntry for Signal<T> {
    fn to_json(&self, scope: &Scope) -> Result<Value, serde_json::Error> {
        serde_json::to_value(scope.get(*self))
    }
}

impl<T: DeserializeOwned + 'static> HydrateEntry for Signal<T> {
    fn hydrate(&self, scope: &Scope, value: Value) -> Result<(), serde_json::Error> {
        scope.set(*self, serde_json::from_value(value)?);
        Ok(())
    }
}

impl Scope {
    /// Serializes the scope's view of each listed signal under its key.
    ///
    /// # Errors
    /// [`Error::Scope`] naming the key whose value failed to serialize.
    ///
    /// # Examples
    /// See [`ScopeSnapshot`].
    pub fn serialize(&self, entries: &[(&str, &dyn SerializeEntry)]) -> Result<ScopeSnapshot> {
        let mut map = BTreeMap::new();
        for (key, entry) in entries {
            let value = entry.to_json(self).map_err(|e| Error::Scope {
                key: (*key).to_owned(),
                message: e.to_string(),
            })?;
            map.insert((*key).to_owned(), value);
        }
        Ok(ScopeSnapshot(map))
    }

    /// Stores into this scope the value of each listed signal found in `snapshot`. Keys
    /// missing from the snapshot are skipped; nothing is stored if any value fails to
    /// deserialize.
    ///
    /// # Errors
    /// [`Error::Scope`] naming the key whose value does not fit its signal's type.
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::{Error, Scope, signal};
    ///
    /// let count = signal(0_u32);
    /// let good = Scope::new();
    /// good.set(count, 3);
    /// let snapshot = good.serialize(&[("n", &count)])?;
    /// let name = signal(String::new());
    /// let scope = Scope::new();
    /// let err = scope.hydrate(&snapshot, &[("n", &name)]).unwrap_err();
    /// assert!(matches!(err, Error::Scope { ref key, .. } if key == "n"));
    /// assert!(scope.is_empty());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn hydrate(
        &self,
        snapshot: &ScopeSnapshot,
        entries: &[(&str, &dyn HydrateEntry)],
    ) -> Result<()> {
        let staging = Scope::new();
        for (key, entry) in entries {
            if let Some(value) = snapshot.0.get(*key) {
                entry
                    .hydrate(&staging, value.clone())
                    .map_err(|e| Error::Scope {
                        key: (*key).to_owned(),
                        message: e.to_string(),
                    })?;
            }
        }
        let staged = std::mem::take(&mut *staging.inner.values.borrow_mut());
        self.inner.values.borrow_mut().extend(staged);
        Ok(())
    }
}
