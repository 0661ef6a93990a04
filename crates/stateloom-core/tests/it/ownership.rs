//! Ownership: roots, effects and computeds own what they create; disposal order; cleanups.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use stateloom_core::{
    Root, batch, computed, create_detached_root, create_root, effect, on_cleanup, runtime_stats,
    set_batch_hook, signal, untrack,
};

use crate::Log;

#[test]
fn disposing_a_root_disposes_everything_created_under_it_children_first() {
    let log = Log::default();
    let before = runtime_stats();
    let l = log.clone();
    let (handles, root) = create_root(move || {
        let s = signal(1);
        let l2 = l.clone();
        on_cleanup(move || l2.push("root cleanup (registered first)"));
        let l2 = l.clone();
        let e = effect(move || {
            s.get();
            let l3 = l2.clone();
            effect(move || {
                let l4 = l3.clone();
                on_cleanup(move || l4.push("grandchild effect cleanup"));
            });
            let l3 = l2.clone();
            on_cleanup(move || l3.push("child effect cleanup"));
        });
        let l2 = l.clone();
        on_cleanup(move || l2.push("root cleanup (registered last)"));
        (s, e)
    });
    assert!(runtime_stats().nodes > before.nodes);
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    grandchild effect cleanup
    child effect cleanup
    root cleanup (registered last)
    root cleanup (registered first)
    ");
    let (s, e) = handles;
    assert!(!s.is_alive() && !e.is_alive());
    assert_eq!(runtime_stats(), before);
}

#[test]
fn nodes_created_by_a_computed_are_disposed_when_it_recomputes() {
    let source = signal(0);
    let created = Rc::new(Cell::new(None));
    let c = created.clone();
    let derived = computed(move || {
        let v = source.get();
        let inner = signal(v * 100);
        c.set(Some(inner));
        inner.get()
    });
    assert_eq!(derived.get(), 0);
    let first = created.get().expect("created");
    source.set(1);
    assert_eq!(derived.get(), 100);
    assert!(!first.is_alive(), "the previous run's signal was disposed");
    assert!(created.get().expect("created").is_alive());
    derived.dispose();
    assert!(!created.get().expect("created").is_alive());
}

#[test]
fn a_create_dispose_loop_keeps_the_runtime_flat() {
    let before = runtime_stats();
    for round in 0..50 {
        let ((), root) = create_root(|| {
            let s = signal(round);
            let c = computed(move || s.get() * 2);
            effect(move || {
                c.get();
            });
            let _sub = s.subscribe(|_| {});
            s.set(round + 1);
        });
        root.dispose();
        assert_eq!(runtime_stats(), before, "round {round}");
    }
}

#[test]
fn a_panicking_root_body_disposes_what_it_created() {
    let before = runtime_stats();
    let result = std::panic::catch_unwind(|| {
        create_root(|| {
            let s = signal(1);
            effect(move || {
                s.get();
            });
            panic!("setup failed");
        })
    });
    assert!(result.is_err());
    assert_eq!(runtime_stats(), before);
}

#[test]
fn a_detached_root_made_by_an_effect_survives_its_reruns_and_its_root() {
    let before = runtime_stats();
    let trigger = signal(0);
    type Made = Vec<(stateloom_core::Signal<i32>, Root)>;
    let made: Rc<RefCell<Made>> = Rc::default();
    let m = made.clone();
    let ((), outer) = create_root(|| {
        effect(move || {
            let n = trigger.get();
            m.borrow_mut().push(create_detached_root(|| signal(n)));
        });
    });
    trigger.set(1);
    outer.dispose();
    let made = made.take();
    let values: Vec<i32> = made.iter().map(|(s, _)| s.get()).collect();
    assert_eq!(values, [0, 1]);
    for (_, root) in made {
        root.dispose();
    }
    trigger.dispose();
    assert_eq!(runtime_stats(), before);
}

#[test]
fn root_run_adds_owned_nodes_later() {
    let ((), root) = create_root(|| ());
    let s = root.run(|| signal(1));
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    root.run(|| {
        effect(move || {
            s.get();
            r.set(r.get() + 1);
        })
    });
    s.set(2);
    root.dispose();
    assert!(!s.is_alive());
    assert_eq!(runs.get(), 2);
}

#[test]
fn cleanup_can_read_older_siblings_during_disposal() {
    let log = Log::default();
    let l = log.clone();
    let ((), root) = create_root(move || {
        let name = signal("ada");
        effect(move || {
            let l2 = l.clone();
            on_cleanup(move || l2.push(format!("saying goodbye to {}", name.get_untracked())));
        });
    });
    root.dispose();
    insta::assert_snapshot!(log.take(), @"saying goodbye to ada");
}

#[test]
fn disposing_from_a_drop_during_thread_exit_does_nothing() {
    /// Disposes its root when dropped, like a library value that owns nodes.
    struct Owner(Option<Root>);
    impl Drop for Owner {
        fn drop(&mut self) {
            if let Some(root) = self.0.take() {
                root.dispose();
            }
        }
    }
    let dropped = std::thread::spawn(|| {
        let (value, root) = create_root(|| signal(1));
        let owner = Owner(Some(root));
        // The computed's closure, and so `owner`, is dropped by the runtime's teardown when
        // this thread exits, after the runtime can no longer be reached.
        let c = computed(move || {
            let _ = &owner;
            value.get()
        });
        c.get()
    })
    .join();
    assert_eq!(dropped.ok(), Some(1));
}

/// Counts how many values were dropped.
struct Counted(Rc<Cell<u32>>, Vec<u32>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1
    }
}

#[test]
fn a_read_that_disposes_its_own_signal_keeps_the_value_until_it_ends() {
    let drops = Rc::new(Cell::new(0));
    let s = signal(Counted(drops.clone(), vec![1, 2, 3]));
    let sum = s.with(|value| {
        s.dispose();
        assert!(!s.is_alive());
        // The node is gone, but the value this closure borrows is still there.
        let other = signal(Counted(Rc::new(Cell::new(0)), vec![9; 8]));
        other.dispose();
        value.1.iter().sum::<u32>()
    });
    assert_eq!(sum, 6);
    // The value is dropped as soon as no read borrows it.
    assert_eq!(drops.get(), 1);
    assert!(s.try_with(|_| ()).is_err());
}

#[test]
fn a_read_that_disposes_its_own_computed_keeps_the_value_until_it_ends() {
    let drops = Rc::new(Cell::new(0));
    let counter = drops.clone();
    let source = signal(3_u32);
    let c = computed(move || Counted(counter.clone(), vec![source.get(); 2]));
    let before = runtime_stats();
    let total = c.with(|value| {
        c.dispose();
        source.set(4);
        value.1.iter().sum::<u32>()
    });
    assert_eq!(total, 6);
    source.dispose();
    assert_eq!(
        drops.get(),
        1,
        "the computed's value was dropped after the read"
    );
    assert_eq!(runtime_stats().nodes, before.nodes - 2);
}

/// Adds one to a shared count when dropped; sendable, so a thread's drops can be counted
/// after it exits.
struct DropCount(std::sync::Arc<std::sync::atomic::AtomicU32>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl PartialEq for DropCount {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

#[test]
fn a_thread_exit_drops_every_value_and_closure_its_runtime_holds() {
    use std::sync::{Arc, atomic::AtomicU32, atomic::Ordering};
    let drops = Arc::new(AtomicU32::new(0));
    let d = Arc::clone(&drops);
    std::thread::spawn(move || {
        // Nothing here is disposed: a signal's value, a computed's and an effect's closures,
        // a cleanup, and a batch hook are all left for the thread's exit to free.
        let value = signal(DropCount(Arc::clone(&d)));
        let held = DropCount(Arc::clone(&d));
        let c = computed(move || {
            let _ = &held;
            value.with(|_| 1)
        });
        let held = DropCount(Arc::clone(&d));
        let _ = effect(move || {
            let _ = &held;
            c.get();
        });
        let held = DropCount(Arc::clone(&d));
        set_batch_hook(move |run| {
            let _ = &held;
            run();
        });
        let (_, _root) = create_root(|| {
            let held = DropCount(Arc::clone(&d));
            on_cleanup(move || drop(held));
        });
        assert_eq!(
            d.load(Ordering::SeqCst),
            0,
            "nothing is dropped before the exit"
        );
    })
    .join()
    .expect("the thread ends normally");
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn a_thread_that_only_read_and_batched_exits_cleanly() {
    let ran = std::thread::spawn(|| {
        batch(|| ());
        untrack(|| 7)
    })
    .join();
    assert_eq!(ran.ok(), Some(7));
}
