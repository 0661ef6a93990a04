//! `logger`: the `tracing` events it emits, as formatted text.

use std::io;
use std::sync::{Arc, Mutex};

use stateloom_store::{Logger, Store, middleware_fn};

use crate::Counter;

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a plain-text subscriber and returns what it printed.
fn capture(f: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .without_time()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn one_event_per_write_with_the_action_and_a_debug_diff() {
    let output = capture(|| {
        let store = Store::builder(Counter::default())
            .middleware(Logger::new("counter"))
            .build();
        store.named("increment").update(|s| s.count += 1);
        store.update(|s| s.label = "clicks".into());
        store.named("both").set_state(Counter {
            count: 5,
            label: "taps".into(),
        });
    });
    insta::assert_snapshot!(output, @r#"
     INFO stateloom_store::logger: set_state store=counter action=increment diff=count: 0 → 1
     INFO stateloom_store::logger: set_state store=counter action=anonymous diff=label: "" → "clicks"
     INFO stateloom_store::logger: set_state store=counter action=both diff=count: 1 → 5, label: "clicks" → "taps"
    "#);
}

#[test]
fn issue_an_equal_write_logs_nothing() {
    let output = capture(|| {
        let store = Store::builder(Counter::default())
            .middleware(Logger::new("counter"))
            .build();
        store.named("same").set_state(store.get_state());
        store.named("no-op").update(|_| {});
        store.named("increment").update(|s| s.count += 1);
    });
    insta::assert_snapshot!(output, @" INFO stateloom_store::logger: set_state store=counter action=increment diff=count: 0 → 1");
}

#[test]
fn a_store_that_notifies_every_write_logs_an_equal_one_as_no_change() {
    let output = capture(|| {
        let store = Store::builder_with_equals(Counter::default(), |_, _| false)
            .middleware(Logger::new("counter"))
            .build();
        store.named("same").set_state(store.get_state());
    });
    insta::assert_snapshot!(output, @" INFO stateloom_store::logger: set_state store=counter action=same diff=(no change)");
}

#[test]
fn writes_dropped_further_in_are_logged_as_not_committed() {
    let output = capture(|| {
        let store = Store::builder(0)
            .middleware(Logger::new("n"))
            .middleware(middleware_fn(
                |_api, _next, _write: stateloom_store::Write<i32>| {},
            ))
            .build();
        store.named("dropped").set_state(1);
    });
    insta::assert_snapshot!(output, @" INFO stateloom_store::logger: set_state store=n action=dropped diff=(not committed)");
}

#[cfg(feature = "serde")]
#[test]
fn the_json_logger_shows_changed_paths() {
    #[derive(Clone, PartialEq, serde::Serialize)]
    struct Todo {
        title: String,
        done: bool,
    }
    let output = capture(|| {
        let store = Store::builder(vec![Todo {
            title: "milk".into(),
            done: false,
        }])
        .middleware(Logger::json("todos"))
        .build();
        store.named("toggle").update(|t| t[0].done = true);
        store.named("add").update(|t| {
            t.push(Todo {
                title: "eggs".into(),
                done: false,
            })
        });
    });
    insta::assert_snapshot!(output, @r#"
     INFO stateloom_store::logger: set_state store=todos action=toggle diff=[0].done: false → true
     INFO stateloom_store::logger: set_state store=todos action=add diff=[1]: (none) → {"done":false,"title":"eggs"}
    "#);
}
