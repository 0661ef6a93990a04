//! The `persist` middleware: saves the state to a storage backend and hydrates it on start.

mod codec;
mod file;
mod storage;

#[cfg(feature = "serde")]
pub use codec::JsonCodec;
pub use codec::{Codec, FnCodec};
pub use file::FileStorage;
pub use storage::{MemoryStorage, Storage};

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::middleware::{Api, Middleware};
use crate::store::StoreSubscription;
use crate::write::Write;

/// Type of a migration: from the stored version and its data to the current state.
type Migrate<S, D> = Box<dyn Fn(u32, D) -> Result<S, String>>;

/// Type of the error hook.
type ErrorHook = Box<dyn Fn(&Error)>;

/// Saves a store's state under a key and restores it when the store is built.
///
/// `Persist` is a cheap `Clone` handle: give one clone to
/// [`StoreBuilder::middleware`](crate::StoreBuilder::middleware) and keep another to
/// [`flush`](Self::flush) or inspect it. One `Persist` serves one store.
///
/// - **Hydration.** When the store is built, the stored data is loaded and decoded; data of
///   an older version goes through [`migrate`](PersistBuilder::migrate) (and is saved again
///   in the current version). The result replaces the initial state directly, without
///   passing through other middleware (it is not an undo step or a logged write).
/// - **Saving.** Every committed write is saved, whatever its path through the pipeline.
///   With [`debounce`](PersistBuilder::debounce), at most one save happens per interval;
///   there is no timer thread: a write inside the interval marks the state dirty, and the
///   latest state is saved by the next write after the interval, by [`flush`](Self::flush),
///   or when the store is destroyed.
/// - **Failures.** Errors go to the [`on_error`](PersistBuilder::on_error) hook; writes to
///   the store still succeed. If the stored data cannot be read, decoded or migrated, the
///   store keeps its initial state and saving is **paused**, so the data that could not be
///   read is never overwritten by the default; [`resume`](Self::resume) allows overwriting.
///
/// # Examples
/// ```
/// use stateloom_store::{FnCodec, MemoryStorage, Persist, Store};
///
/// let codec = || FnCodec::new(
///     |n: &i32| n.to_string().into_bytes(),
///     |b: &[u8]| String::from_utf8_lossy(b).parse().map_err(|e| format!("{e}")),
/// );
/// let storage = MemoryStorage::new();
///
/// let persist = Persist::builder("count", storage.clone(), codec()).build();
/// let store = Store::builder(0).middleware(persist).build();
/// store.set_state(7);
/// store.destroy();
///
/// // Later, a new store starts from the saved state.
/// let persist = Persist::builder("count", storage.clone(), codec()).build();
/// let store = Store::builder(0).middleware(persist.clone()).build();
/// assert!(persist.has_hydrated());
/// assert_eq!(store.get_state(), 7);
/// ```
pub struct Persist<S, C: Codec<S>> {
    inner: Rc<PersistInner<S, C>>,
}

/// Configures a [`Persist`], created by [`Persist::builder`].
///
/// # Examples
/// See [`Persist`] and [`migrate`](Self::migrate).
#[must_use = "a builder does nothing until `build` is called"]
pub struct PersistBuilder<S, C: Codec<S>> {
    key: String,
    storage: Rc<dyn Storage>,
    codec: C,
    version: u32,
    migrate: Option<Migrate<S, C::Data>>,
    debounce: Option<Duration>,
    on_error: Option<ErrorHook>,
}

struct PersistInner<S, C: Codec<S>> {
    /// What the builder was given.
    config: PersistBuilder<S, C>,
    /// Set by `on_init`, cleared by `on_destroy`.
    api: RefCell<Option<Api<S>>>,
    subscription: RefCell<Option<StoreSubscription>>,
    hydrated: Cell<bool>,
    paused: Cell<bool>,
    /// The store changed since the last successful save.
    dirty: Cell<bool>,
    last_save: Cell<Option<Instant>>,
    saves: Cell<u64>,
}

impl<S: Clone + 'static, C: Codec<S> + 'static> Persist<S, C> {
    /// Starts a `Persist` that saves under `key` in `storage` with `codec`, as version 0.
    ///
    /// # Examples
    /// See [`Persist`].
    pub fn builder(
        key: impl Into<String>,
        storage: impl Storage + 'static,
        codec: C,
    ) -> PersistBuilder<S, C> {
        PersistBuilder {
            key: key.into(),
            storage: Rc::new(storage),
            codec,
            version: 0,
            migrate: None,
            debounce: None,
            on_error: None,
        }
    }

    /// Saves the latest state now if a debounced write left it unsaved; does nothing if the
    /// storage is up to date.
    ///
    /// # Errors
    /// [`Error::Paused`] if saving is paused after a failed hydration; an encoding or storage
    /// error if the save fails (the hook is not called for errors returned here).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stateloom_store::{FnCodec, MemoryStorage, Persist, Store};
    ///
    /// let codec = FnCodec::new(|n: &u8| vec![*n], |b: &[u8]| b.first().copied().ok_or("empty".to_string()));
    /// let persist = Persist::builder("n", MemoryStorage::new(), codec)
    ///     .debounce(Duration::from_secs(3600))
    ///     .build();
    /// let store = Store::builder(0).middleware(persist.clone()).build();
    /// store.set_state(1); // saved: the first save is never delayed
    /// store.set_state(2); // inside the interval: only marked dirty
    /// assert_eq!(persist.save_count(), 1);
    /// persist.flush()?;
    /// assert_eq!(persist.save_count(), 2);
    /// # Ok::<(), stateloom_store::Error>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        let inner = &*self.inner;
        if inner.paused.get() {
            return Err(Error::Paused {
                key: inner.config.key.clone(),
            });
        }
        if !inner.dirty.get() {
            return Ok(());
        }
        let api = inner.api.borrow().clone();
        match api {
            Some(api) => api.with(|state| inner.save(state)),
            None => Ok(()),
        }
    }

    /// Allows saving again after a failed hydration. The store's current state is marked
    /// unsaved: the next write or [`flush`](Self::flush) overwrites the stored data.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{FnCodec, MemoryStorage, Persist, Storage, Store};
    ///
    /// let storage = MemoryStorage::new();
    /// storage.save("n", b"garbage")?;
    /// let codec = FnCodec::new(|n: &u8| vec![*n], |b: &[u8]| b.first().copied().ok_or("empty".to_string()));
    /// let persist = Persist::builder("n", storage.clone(), codec).build();
    /// let store = Store::builder(0).middleware(persist.clone()).build();
    /// assert!(persist.is_paused());
    /// store.set_state(1);
    /// assert_eq!(storage.load("n")?, Some(b"garbage".to_vec()));
    /// persist.resume();
    /// persist.flush()?;
    /// assert_eq!(storage.load("n")?, Some(b"v0\n\x01".to_vec()));
    /// # Ok::<(), stateloom_store::Error>(())
    /// ```
    pub fn resume(&self) {
        if self.inner.paused.replace(false) {
            self.inner.dirty.set(true);
        }
    }

    /// Whether saving is paused because hydration failed.
    ///
    /// # Examples
    /// See [`resume`](Self::resume).
    pub fn is_paused(&self) -> bool {
        self.inner.paused.get()
    }

    /// Whether hydration succeeded: stored data was restored, or there was none.
    ///
    /// # Examples
    /// See [`Persist`].
    pub fn has_hydrated(&self) -> bool {
        self.inner.hydrated.get()
    }

    /// How many saves succeeded.
    ///
    /// # Examples
    /// See [`flush`](Self::flush).
    pub fn save_count(&self) -> u64 {
        self.inner.saves.get()
    }

    /// Removes the stored data. The store keeps its state; a later write saves it again.
    ///
    /// # Errors
    /// A storage error if the removal fails.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{FnCodec, MemoryStorage, Persist, Store};
    ///
    /// let storage = MemoryStorage::new();
    /// let codec = FnCodec::new(|n: &u8| vec![*n], |b: &[u8]| b.first().copied().ok_or("empty".to_string()));
    /// let persist = Persist::builder("n", storage.clone(), codec).build();
    /// let store = Store::builder(0).middleware(persist.clone()).build();
    /// store.set_state(1);
    /// persist.clear_storage()?;
    /// assert!(storage.is_empty());
    /// # Ok::<(), stateloom_store::Error>(())
    /// ```
    pub fn clear_storage(&self) -> Result<()> {
        self.inner.config.storage.remove(&self.inner.config.key)
    }
}

impl<S: Clone + 'static, C: Codec<S> + 'static> PersistBuilder<S, C> {
    /// The version saved with the data (default 0). Data saved with a lower version is
    /// migrated; data with a higher version is an error ([`Error::NewerVersion`]).
    ///
    /// # Examples
    /// See [`migrate`](Self::migrate).
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// How to turn data saved by an older version into the current state: `migrate(version,
    /// data)`, with the codec's undecoded [`Data`](Codec::Data). Without it, old data is an
    /// [`Error::Migrate`].
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{FnCodec, MemoryStorage, Persist, Storage, Store};
    ///
    /// // Version 0 stored a count of Celsius degrees; version 1 stores tenths of a degree.
    /// let storage = MemoryStorage::new();
    /// storage.save("temp", b"v0\n21")?;
    /// let codec = FnCodec::new(
    ///     |t: &i64| t.to_string().into_bytes(),
    ///     |b: &[u8]| String::from_utf8_lossy(b).parse().map_err(|e| format!("{e}")),
    /// );
    /// let persist = Persist::builder("temp", storage.clone(), codec)
    ///     .version(1)
    ///     .migrate(|from, data| match from {
    ///         0 => String::from_utf8_lossy(&data).parse::<i64>().map(|c| c * 10).map_err(|e| e.to_string()),
    ///         v => Err(format!("unknown version {v}")),
    ///     })
    ///     .build();
    /// let store = Store::builder(0).middleware(persist).build();
    /// assert_eq!(store.get_state(), 210);
    /// assert_eq!(storage.load("temp")?, Some(b"v1\n210".to_vec()));
    /// # Ok::<(), stateloom_store::Error>(())
    /// ```
    pub fn migrate(
        mut self,
        migrate: impl Fn(u32, C::Data) -> Result<S, String> + 'static,
    ) -> Self {
        self.migrate = Some(Box::new(migrate));
        self
    }

    /// Saves at most once per `interval`; see [`Persist`] for when a delayed state is saved.
    ///
    /// # Examples
    /// See [`Persist::flush`].
    pub fn debounce(mut self, interval: Duration) -> Self {
        self.debounce = Some(interval);
        self
    }

    /// Calls `hook` with every error: failed hydration, encoding or saving.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use stateloom_store::{FnCodec, MemoryStorage, Persist, Storage, Store};
    ///
    /// let storage = MemoryStorage::new();
    /// storage.save("n", b"no header")?;
    /// let errors = Rc::new(RefCell::new(Vec::new()));
    /// let e = errors.clone();
    /// let codec = FnCodec::new(|n: &u8| vec![*n], |b: &[u8]| b.first().copied().ok_or("empty".to_string()));
    /// let persist = Persist::builder("n", storage, codec)
    ///     .on_error(move |err| e.borrow_mut().push(err.to_string()))
    ///     .build();
    /// let store = Store::builder(5).middleware(persist).build();
    /// assert_eq!(store.get_state(), 5);
    /// assert_eq!(*errors.borrow(), ["persisted data `n` could not be decoded: missing the version header line"]);
    /// # Ok::<(), stateloom_store::Error>(())
    /// ```
    pub fn on_error(mut self, hook: impl Fn(&Error) + 'static) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    /// Creates the `Persist`.
    ///
    /// # Examples
    /// See [`Persist`].
    pub fn build(self) -> Persist<S, C> {
        Persist {
            inner: Rc::new(PersistInner {
                config: self,
                api: RefCell::new(None),
                subscription: RefCell::new(None),
                hydrated: Cell::new(false),
                paused: Cell::new(false),
                dirty: Cell::new(false),
                last_save: Cell::new(None),
                saves: Cell::new(0),
            }),
        }
    }
}

impl<S: Clone + 'static, C: Codec<S> + 'static> Middleware<S> for Persist<S, C> {
    fn on_init(&self, api: &Api<S>) {
        let inner = &self.inner;
        *inner.api.borrow_mut() = Some(api.clone());
        match inner.hydrate() {
            Ok(Some((state, migrated))) => {
                api.commit(Write::replace(state).with_action("persist/hydrate"));
                inner.hydrated.set(true);
                if migrated {
                    let result = api.with(|state| inner.save(state));
                    inner.report(result);
                }
            }
            Ok(None) => inner.hydrated.set(true),
            Err(err) => {
                inner.paused.set(true);
                inner.report(Err(err));
            }
        }
        let weak = Rc::downgrade(&self.inner);
        let subscription = api.store().subscribe(move |new, _| {
            if let Some(inner) = weak.upgrade() {
                inner.changed(new);
            }
        });
        *inner.subscription.borrow_mut() = Some(subscription);
    }

    fn on_destroy(&self, _api: &Api<S>) {
        let inner = &self.inner;
        if inner.dirty.get() && !inner.paused.get() {
            let result = self.flush();
            inner.report(result);
        }
        if let Some(subscription) = inner.subscription.borrow_mut().take() {
            subscription.unsubscribe();
        }
        inner.api.borrow_mut().take();
    }
}

impl<S: Clone + 'static, C: Codec<S> + 'static> PersistInner<S, C> {
    /// Loads, decodes and, for old versions, migrates the stored state. `Ok(None)` if nothing
    /// is stored; the flag says whether a migration ran.
    fn hydrate(&self) -> Result<Option<(S, bool)>> {
        let Some(bytes) = self.config.storage.load(&self.config.key)? else {
            return Ok(None);
        };
        let decode_error = |message| Error::Decode {
            key: self.config.key.clone(),
            message,
        };
        let (found, data) = self.config.codec.decode(&bytes).map_err(decode_error)?;
        if found > self.config.version {
            return Err(Error::NewerVersion {
                key: self.config.key.clone(),
                found,
                current: self.config.version,
            });
        }
        if found == self.config.version {
            let state = self.config.codec.to_state(data).map_err(decode_error)?;
            return Ok(Some((state, false)));
        }
        let migrated = match &self.config.migrate {
            Some(migrate) => migrate(found, data),
            None => Err("no `migrate` function was given".to_owned()),
        };
        let state = migrated.map_err(|message| Error::Migrate {
            key: self.config.key.clone(),
            from: found,
            to: self.config.version,
            message,
        })?;
        Ok(Some((state, true)))
    }

    /// Reacts to a committed write: saves now, or marks the state dirty.
    fn changed(&self, state: &S) {
        self.dirty.set(true);
        if self.paused.get() {
            return;
        }
        if let (Some(interval), Some(last)) = (self.config.debounce, self.last_save.get())
            && last.elapsed() < interval
        {
            return;
        }
        let result = self.save(state);
        self.report(result);
    }

    /// Encodes and stores `state`.
    fn save(&self, state: &S) -> Result<()> {
        let bytes = self
            .config
            .codec
            .encode(state, self.config.version)
            .map_err(|message| Error::Encode {
                key: self.config.key.clone(),
                message,
            })?;
        self.config.storage.save(&self.config.key, &bytes)?;
        self.dirty.set(false);
        self.last_save.set(Some(Instant::now()));
        self.saves.set(self.saves.get() + 1);
        Ok(())
    }

    fn report(&self, result: Result<()>) {
        if let (Err(err), Some(hook)) = (result, &self.config.on_error) {
            hook(&err);
        }
    }
}

impl<S, C: Codec<S>> Clone for Persist<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<S, C: Codec<S>> fmt::Debug for Persist<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persist")
            .field("key", &self.inner.config.key)
            .field("version", &self.inner.config.version)
            .field("paused", &self.inner.paused.get())
            .field("saves", &self.inner.saves.get())
            .finish()
    }
}

impl<S, C: Codec<S>> fmt::Debug for PersistBuilder<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistBuilder")
            .field("key", &self.key)
            .field("version", &self.version)
            .finish()
    }
}
