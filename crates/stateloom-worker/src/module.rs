//! Modules: a named store and the methods clients may call on it.

use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stateloom_store::{Store, StoreSubscription};

use crate::error::RemoteError;

/// A method as the host calls it: JSON arguments in, JSON result or error out.
type Method = Rc<dyn Fn(Value) -> Result<Value, MethodError>>;

/// Why a method gave no value.
pub(crate) enum MethodError {
    /// The arguments did not decode into the method's parameter type.
    BadArguments(String),
    /// The method returned an error on purpose.
    Failed(RemoteError),
    /// The return value did not encode.
    BadResult(String),
}

/// The methods of a module, by name: what a typed module's
/// [`into_methods`](crate::worker_module) makes, and what [`Module::methods`] adds.
///
/// # Examples
/// ```
/// use stateloom_worker::MethodTable;
///
/// let mut table = MethodTable::new();
/// table.insert("double", |n: i64| n * 2);
/// assert!(table.contains("double"));
/// ```
#[derive(Default, Clone)]
pub struct MethodTable {
    // Keyed by names from the wire: hashed with aHash's seeded hasher.
    methods: HashMap<String, Method, ahash::RandomState>,
}

impl MethodTable {
    /// An empty table.
    ///
    /// # Examples
    /// See [`MethodTable`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the method `name`, which decodes its arguments into `A` and returns `R`.
    ///
    /// # Examples
    /// See [`MethodTable`].
    pub fn insert<A, R>(&mut self, name: impl Into<String>, f: impl Fn(A) -> R + 'static)
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        self.try_insert(name, move |args: A| Ok::<R, RemoteError>(f(args)));
    }

    /// Adds the method `name`, which may fail with a [`RemoteError`] that reaches the caller
    /// as it is.
    ///
    /// # Examples
    /// ```
    /// use stateloom_worker::{MethodTable, RemoteError};
    ///
    /// let mut table = MethodTable::new();
    /// table.try_insert("sqrt", |n: f64| {
    ///     if n < 0.0 { Err(RemoteError::new("negative", "no square root")) } else { Ok(n.sqrt()) }
    /// });
    /// assert!(table.contains("sqrt"));
    /// ```
    pub fn try_insert<A, R>(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(A) -> Result<R, RemoteError> + 'static,
    ) where
        A: DeserializeOwned,
        R: Serialize,
    {
        let method: Method = Rc::new(move |args: Value| {
            let args = serde_json::from_value(args)
                .map_err(|e| MethodError::BadArguments(e.to_string()))?;
            let result = f(args).map_err(MethodError::Failed)?;
            serde_json::to_value(result).map_err(|e| MethodError::BadResult(e.to_string()))
        });
        self.methods.insert(name.into(), method);
    }

    /// Whether `name` is in the table.
    ///
    /// # Examples
    /// See [`MethodTable`].
    pub fn contains(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// The names in the table, sorted.
    ///
    /// # Examples
    /// ```
    /// let mut table = stateloom_worker::MethodTable::new();
    /// table.insert("b", |(): ()| ());
    /// table.insert("a", |(): ()| ());
    /// assert_eq!(table.names(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.methods.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<Method> {
        self.methods.get(name).cloned()
    }
}

impl std::fmt::Debug for MethodTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodTable")
            .field("methods", &self.names())
            .finish()
    }
}

/// A module of a [`WorkerApp`](crate::WorkerApp): a name, a store whose state is
/// serializable, and the methods clients may call. Only the methods added here can be called;
/// any other name gets an `unknown-method` error.
///
/// # Examples
/// ```
/// use serde::{Deserialize, Serialize};
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, RemoteError};
///
/// #[derive(Clone, PartialEq, Serialize, Deserialize)]
/// struct Account { balance: i64 }
///
/// let module = Module::new("account", Store::new(Account { balance: 10 }))
///     .method("deposit", |store, amount: i64| store.update(move |a| a.balance += amount))
///     .try_method("withdraw", |store, amount: i64| {
///         if store.with_untracked(|a| a.balance) < amount {
///             return Err(RemoteError::new("insufficient-funds", "not enough money"));
///         }
///         store.update(move |a| a.balance -= amount);
///         Ok(())
///     });
/// assert_eq!(module.name(), "account");
/// ```
pub struct Module<S> {
    name: String,
    store: Store<S>,
    methods: MethodTable,
}

impl<S> Module<S>
where
    S: Serialize + DeserializeOwned + Clone + 'static,
{
    /// A module named `name` over `store`, with no methods yet.
    ///
    /// # Examples
    /// See [`Module`].
    pub fn new(name: impl Into<String>, store: Store<S>) -> Self {
        Self {
            name: name.into(),
            store,
            methods: MethodTable::new(),
        }
    }

    /// Adds the method `name`: `f` gets the store and the call's arguments, decoded into `A`,
    /// and returns the result.
    ///
    /// # Examples
    /// See [`Module`].
    #[must_use]
    pub fn method<A, R>(
        mut self,
        name: impl Into<String>,
        f: impl Fn(&Store<S>, A) -> R + 'static,
    ) -> Self
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        let store = self.store.clone();
        self.methods.insert(name, move |args: A| f(&store, args));
        self
    }

    /// Adds the method `name`, which may fail with a [`RemoteError`]; see
    /// [`method`](Self::method).
    ///
    /// # Examples
    /// See [`Module`].
    #[must_use]
    pub fn try_method<A, R>(
        mut self,
        name: impl Into<String>,
        f: impl Fn(&Store<S>, A) -> Result<R, RemoteError> + 'static,
    ) -> Self
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        let store = self.store.clone();
        self.methods
            .try_insert(name, move |args: A| f(&store, args));
        self
    }

    /// Adds every method of `table`, such as a typed module's
    /// [`into_methods`](crate::worker_module).
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::Store;
    /// use stateloom_worker::{MethodTable, Module};
    ///
    /// let mut table = MethodTable::new();
    /// table.insert("ping", |(): ()| "pong");
    /// let module = Module::new("misc", Store::new(0)).methods(table);
    /// # let _ = module;
    /// ```
    #[must_use]
    pub fn methods(mut self, table: MethodTable) -> Self {
        self.methods.methods.extend(table.methods);
        self
    }

    /// The module's name.
    ///
    /// # Examples
    /// See [`Module`].
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A module with its state type erased, as the host keeps it.
pub(crate) trait ErasedModule {
    fn name(&self) -> &str;
    fn method(&self, name: &str) -> Option<Method>;
    /// How many writes the store has committed.
    fn store_version(&self) -> u64;
    fn to_json(&self) -> Result<Value, String>;
    /// Updates `old` to the state's JSON in place, appending the operations that do the same
    /// (paths under `prefix`) to `ops`.
    fn diff(
        &self,
        old: &mut Value,
        prefix: &str,
        ops: &mut Vec<json_patch::PatchOperation>,
    ) -> Result<(), String>;
    /// Puts back a state read from `json`.
    fn restore(&self, json: &Value) -> Result<(), String>;
    fn on_change(&self, f: Box<dyn FnMut()>) -> StoreSubscription;
}

impl<S> ErasedModule for Module<S>
where
    S: Serialize + DeserializeOwned + Clone + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn method(&self, name: &str) -> Option<Method> {
        self.methods.get(name)
    }

    fn store_version(&self) -> u64 {
        self.store.version()
    }

    fn to_json(&self) -> Result<Value, String> {
        self.store
            .with_untracked(|state| serde_json::to_value(state))
            .map_err(|e| e.to_string())
    }

    fn diff(
        &self,
        old: &mut Value,
        prefix: &str,
        ops: &mut Vec<json_patch::PatchOperation>,
    ) -> Result<(), String> {
        self.store
            .with_untracked(|state| crate::host::diff_into(old, state, prefix, ops))
            .map_err(|e| e.to_string())
    }

    fn restore(&self, json: &Value) -> Result<(), String> {
        let state = S::deserialize(json).map_err(|e| e.to_string())?;
        self.store.set_state(state);
        Ok(())
    }

    fn on_change(&self, mut f: Box<dyn FnMut()>) -> StoreSubscription {
        self.store.subscribe(move |_, _| f())
    }
}

impl<S> std::fmt::Debug for Module<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}
