//! The middleware pipeline: order, composition, and each way a middleware can treat a write.

use std::cell::RefCell;
use std::rc::Rc;

use stateloom_store::{Api, Middleware, Next, Store, Update, Write, middleware_fn};

use crate::Log;

/// Logs every hook with its name, and passes writes on.
struct Tracer {
    name: &'static str,
    log: Log,
}

impl Middleware<i32> for Tracer {
    fn on_init(&self, api: &Api<i32>) {
        self.log
            .push(format!("{} init, state {}", self.name, api.get_state()));
    }

    fn on_set(&self, api: &Api<i32>, next: Next<i32>, write: Write<i32>) {
        let action = write.action().unwrap_or("-").to_owned();
        self.log.push(format!(
            "{} before {action}, state {}",
            self.name,
            api.get_state()
        ));
        next.run(write);
        self.log.push(format!(
            "{} after {action}, state {}",
            self.name,
            api.get_state()
        ));
    }

    fn on_destroy(&self, _api: &Api<i32>) {
        self.log.push(format!("{} destroy", self.name));
    }
}

#[test]
fn the_first_middleware_added_is_the_outermost() {
    let log = Log::default();
    let tracer = |name| Tracer {
        name,
        log: log.clone(),
    };
    let store = Store::builder(0)
        .middleware(tracer("outer"))
        .middleware(tracer("middle"))
        .middleware(tracer("inner"))
        .build();
    let l = log.clone();
    let _sub = store.subscribe(move |new, _| l.push(format!("listener {new}")));
    store.named("increment").update(|n| *n += 1);
    store.destroy();
    insta::assert_snapshot!(log.take(), @r"
    inner init, state 0
    middle init, state 0
    outer init, state 0
    outer before increment, state 0
    middle before increment, state 0
    inner before increment, state 0
    listener 1
    inner after increment, state 1
    middle after increment, state 1
    outer after increment, state 1
    outer destroy
    middle destroy
    inner destroy
    ");
}

#[test]
fn a_middleware_can_veto_a_write() {
    let store = Store::builder(0)
        .middleware(middleware_fn(|_api, next: Next<i32>, write: Write<i32>| {
            if write.action() != Some("forbidden") {
                next.run(write);
            }
        }))
        .build();
    let log = Log::default();
    let l = log.clone();
    let _sub = store.subscribe(move |new, _| l.push(new));
    store.named("forbidden").set_state(13);
    store.named("allowed").set_state(7);
    assert_eq!(store.get_state(), 7);
    insta::assert_snapshot!(log.take(), @"7");
}

#[test]
fn a_middleware_can_transform_a_write_and_the_inner_one_sees_the_result() {
    let log = Log::default();
    let clamp = middleware_fn(|_api, next: Next<i32>, write: Write<i32>| {
        next.run(write.map_update(|update| {
            Update::Mutate(Box::new(move |n: &mut i32| {
                update.apply(n);
                *n = (*n).clamp(0, 10);
            }))
        }));
    });
    let store = Store::builder(0)
        .middleware(clamp)
        .middleware(Tracer {
            name: "inner",
            log: log.clone(),
        })
        .build();
    store.named("big").set_state(50);
    store.named("negative").update(|n| *n -= 100);
    assert_eq!(store.get_state(), 0);
    insta::assert_snapshot!(log.take(), @r"
    inner init, state 0
    inner before big, state 0
    inner after big, state 10
    inner before negative, state 10
    inner after negative, state 0
    ");
}

#[test]
fn a_middleware_can_delay_writes_and_run_them_later() {
    type Held = Rc<RefCell<Vec<(Next<i32>, Write<i32>)>>>;
    let held: Held = Rc::default();
    let h = held.clone();
    let log = Log::default();
    let store = Store::builder(0)
        .middleware(middleware_fn(move |_api, next, write| {
            h.borrow_mut().push((next, write))
        }))
        .middleware(Tracer {
            name: "inner",
            log: log.clone(),
        })
        .build();
    store.named("one").set_state(1);
    store.named("two").update(|n| *n += 1);
    assert_eq!(store.get_state(), 0);
    let pending: Vec<_> = held.borrow_mut().drain(..).collect();
    for (next, write) in pending {
        next.run(write);
    }
    assert_eq!(store.get_state(), 2);
    insta::assert_snapshot!(log.take(), @r"
    inner init, state 0
    inner before one, state 0
    inner after one, state 1
    inner before two, state 1
    inner after two, state 2
    ");
}

#[test]
fn a_middleware_writing_through_the_api_reenters_the_pipeline() {
    let log = Log::default();
    // Every write of an odd number is followed by a write of the next even number.
    let evens = middleware_fn(|api: &Api<i32>, next, write: Write<i32>| {
        next.run(write);
        let n = api.get_state();
        if n % 2 == 1 {
            api.set_state(Write::replace(n + 1).with_action("even"));
        }
    });
    let store = Store::builder(0)
        .middleware(Tracer {
            name: "outer",
            log: log.clone(),
        })
        .middleware(evens)
        .build();
    log.take();
    store.named("odd").set_state(3);
    assert_eq!(store.get_state(), 4);
    insta::assert_snapshot!(log.take(), @r"
    outer before odd, state 0
    outer before even, state 3
    outer after even, state 4
    outer after odd, state 4
    ");
}

#[test]
fn api_commit_skips_every_middleware_but_notifies_listeners() {
    let log = Log::default();
    let api_slot: Rc<RefCell<Option<Api<i32>>>> = Rc::default();

    struct Grab(Rc<RefCell<Option<Api<i32>>>>);
    impl Middleware<i32> for Grab {
        fn on_init(&self, api: &Api<i32>) {
            *self.0.borrow_mut() = Some(api.clone());
        }
    }

    let store = Store::builder(0)
        .middleware(Tracer {
            name: "outer",
            log: log.clone(),
        })
        .middleware(Grab(api_slot.clone()))
        .build();
    log.take();
    let l = log.clone();
    let _sub = store.subscribe(move |new, _| l.push(format!("listener {new}")));
    let api = api_slot.borrow().clone().unwrap();
    api.commit(Write::replace(5));
    api.next().run(Write::replace(6));
    assert_eq!(store.get_state(), 6);
    insta::assert_snapshot!(log.take(), @r"
    listener 5
    listener 6
    ");
}
