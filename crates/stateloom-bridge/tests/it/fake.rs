//! A small external store for the coordinator tests: named numbers, with a dispatch flag,
//! and phases only when asked for.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use stateloom_bridge::{
    BatchUpdates, Error, ExternalStore, ExternalSubscription, Phase, SubscribeOptions,
};

type Listener = Rc<RefCell<dyn FnMut(&i64)>>;

#[derive(Clone)]
pub(crate) struct FakeStore {
    values: Rc<RefCell<HashMap<&'static str, i64>>>,
    listeners: Rc<RefCell<Vec<(&'static str, Listener)>>>,
    batch: BatchUpdates,
    phases: bool,
    pub(crate) dispatching: Rc<Cell<bool>>,
}

impl FakeStore {
    pub(crate) fn new(batch: BatchUpdates, phases: bool) -> Self {
        Self {
            values: Rc::default(),
            listeners: Rc::default(),
            batch,
            phases,
            dispatching: Rc::default(),
        }
    }

    /// Sets several names in one change: one notification pass.
    pub(crate) fn set(&self, changes: &[(&'static str, i64)]) {
        if self.phases {
            self.batch.phase(Phase::BeforeChange);
        }
        self.dispatching.set(true);
        for (name, value) in changes {
            self.values.borrow_mut().insert(name, *value);
        }
        let calls: Vec<(Listener, i64)> = changes
            .iter()
            .flat_map(|(name, value)| {
                self.listeners
                    .borrow()
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, l)| (l.clone(), *value))
                    .collect::<Vec<_>>()
            })
            .collect();
        self.batch.run(&mut || {
            for (listener, value) in &calls {
                (listener.borrow_mut())(value);
            }
        });
        self.dispatching.set(false);
        if self.phases {
            self.batch.phase(Phase::AfterSettle);
        }
    }
}

fn cast<T: Clone + 'static>(value: &i64) -> T {
    (value as &dyn Any)
        .downcast_ref::<T>()
        .cloned()
        .expect("the fake store holds i64")
}

impl ExternalStore for FakeStore {
    type Query<T: 'static> = &'static str;
    type Error = Error;

    fn query<T: Clone + 'static>(&self, name: &&'static str) -> Result<T, Error> {
        Ok(cast(&self.values.borrow().get(name).copied().unwrap_or(0)))
    }

    fn subscribe<T: Clone + 'static>(
        &self,
        name: &&'static str,
        options: SubscribeOptions,
        mut callback: Box<dyn FnMut(&T)>,
    ) -> Result<ExternalSubscription, Error> {
        if !options.skip_initial_run {
            callback(&self.query::<T>(name)?);
        }
        let listener: Listener = Rc::new(RefCell::new(move |v: &i64| callback(&cast::<T>(v))));
        self.listeners.borrow_mut().push((name, listener.clone()));
        let listeners = self.listeners.clone();
        Ok(ExternalSubscription::new(move || {
            listeners
                .borrow_mut()
                .retain(|(_, l)| !Rc::ptr_eq(l, &listener))
        }))
    }

    fn batch_updates(&self) -> BatchUpdates {
        self.batch.clone()
    }

    fn is_dispatching(&self) -> bool {
        self.dispatching.get()
    }
}
