//! Reactive values as async streams and futures (feature `futures`).
#![cfg(feature = "futures")]

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use stateloom_core::{SubscribableExt, batch, computed, create_root, signal};

#[test]
fn a_stream_starts_with_the_current_value_and_keeps_the_latest() {
    let source = signal(1);
    let doubled = computed(move || source.get() * 2);
    let mut pool = LocalPool::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = Rc::clone(&seen);
    pool.spawner()
        .spawn_local(async move {
            let mut values = doubled.to_stream();
            while let Some(v) = values.next().await {
                out.borrow_mut().push(v);
            }
            out.borrow_mut().push(-1);
        })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(*seen.borrow(), [2]);
    // Two changes before the next poll: only the last is yielded.
    source.set(2);
    source.set(3);
    pool.run_until_stalled();
    assert_eq!(*seen.borrow(), [2, 6]);
    // A batch is one change.
    batch(|| {
        source.set(10);
        source.set(4);
    });
    pool.run_until_stalled();
    assert_eq!(*seen.borrow(), [2, 6, 8]);
    // An equal value is no change.
    source.set(4);
    pool.run_until_stalled();
    assert_eq!(*seen.borrow(), [2, 6, 8]);
}

#[test]
fn a_stream_ends_when_its_owner_is_disposed_and_dropping_it_unsubscribes() {
    let source = signal(0);
    let (mut stream, root) = create_root(|| source.to_stream());
    let mut pool = LocalPool::new();
    assert_eq!(pool.run_until(stream.next()), Some(0));
    root.dispose();
    assert_eq!(pool.run_until(stream.next()), None);

    let calls = Rc::new(RefCell::new(0));
    let counted = Rc::clone(&calls);
    let tracked = computed(move || {
        *counted.borrow_mut() += 1;
        source.get()
    });
    let stream = tracked.to_stream();
    let before = *calls.borrow();
    drop(stream);
    source.set(1);
    // Nothing reads the computed any more: it is not recomputed for the stream.
    assert_eq!(*calls.borrow(), before);
}

#[test]
fn until_resolves_on_the_first_value_that_passes() {
    let source = signal(0);
    let mut pool = LocalPool::new();
    // Already true: ready at once.
    assert_eq!(pool.run_until(source.until(|v| *v == 0)), 0);

    let reached = source.until(|v| *v % 2 == 1 && *v > 2);
    let result = Rc::new(RefCell::new(None));
    let out = Rc::clone(&result);
    pool.spawner()
        .spawn_local(async move { *out.borrow_mut() = Some(reached.await) })
        .unwrap();
    for v in [1, 2, 4, 5, 7] {
        source.set(v);
        pool.run_until_stalled();
    }
    // 5 was the first that passed; 7 came after and is not it.
    assert_eq!(*result.borrow(), Some(5));
}

#[test]
fn a_writer_inside_the_stream_loop_is_seen_by_the_stream() {
    let source = signal(0);
    let mut pool = LocalPool::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = Rc::clone(&seen);
    pool.spawner()
        .spawn_local(async move {
            let mut values = source.to_stream();
            while let Some(v) = values.next().await {
                out.borrow_mut().push(v);
                if v < 3 {
                    // Writing the value being streamed, from the consumer.
                    source.set(v + 1);
                } else {
                    break;
                }
            }
        })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(*seen.borrow(), [0, 1, 2, 3]);
}
