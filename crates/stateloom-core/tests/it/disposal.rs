//! Disposal under panics: a panicking cleanup or destructor never stops a disposal halfway.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_core::{
    Root, computed, create_root, effect, on_cleanup, runtime_capacity, runtime_stats,
    set_retained_slots, signal,
};

use crate::alloc::allocations;
use crate::{Log, on_small_stack, panic_message};

/// Regression: a cleanup that panicked aborted the disposal of its root: the other cleanups
/// never ran, older siblings and the root stayed alive and kept reacting, nodes leaked, and the
/// consumed `Root` could not be disposed again.
#[test]
fn issue_a_panicking_cleanup_does_not_stop_a_root_disposal() {
    let log = Log::default();
    let before = runtime_stats();
    let l = log.clone();
    let (s, root) = create_root(move || {
        let s = signal(0);
        for name in ["a", "b", "c"] {
            let l = l.clone();
            effect(move || {
                let v = s.get();
                l.push(format!("{name} runs with {v}"));
                let l = l.clone();
                on_cleanup(move || {
                    l.push(format!("{name} cleanup"));
                    assert!(name == "a", "cleanup {name} failed");
                });
            });
        }
        let l = l.clone();
        on_cleanup(move || l.push("root cleanup"));
        s
    });
    log.take();
    let panic = catch_unwind(AssertUnwindSafe(|| root.dispose())).expect_err("re-raised");
    assert_eq!(
        panic_message(&*panic),
        "cleanup c failed",
        "the first panic, in disposal order (newest first)"
    );
    insta::assert_snapshot!(log.take(), @r"
    c cleanup
    b cleanup
    a cleanup
    root cleanup
    ");
    assert!(!s.is_alive());
    assert_eq!(runtime_stats(), before, "every node was freed");
}

/// Regression: before an effect re-ran, a panicking cleanup of one of its children left the
/// other children alive, and the effect's own cleanups never ran.
#[test]
fn issue_a_panicking_cleanup_before_a_rerun_still_disposes_every_child() {
    let log = Log::default();
    let s = signal(0);
    let l = log.clone();
    effect(move || {
        let v = s.get();
        l.push(format!("parent runs with {v}"));
        for name in ["first", "second"] {
            let l = l.clone();
            effect(move || {
                let l = l.clone();
                on_cleanup(move || {
                    l.push(format!("{name} child cleanup"));
                    assert!(name != "second" || v != 0, "{name} child cleanup failed");
                });
            });
        }
        let l = l.clone();
        on_cleanup(move || l.push(format!("parent cleanup {v}")));
    });
    let after_first_run = runtime_stats();
    log.take();
    let panic = catch_unwind(AssertUnwindSafe(|| s.set(1))).expect_err("re-raised");
    assert_eq!(panic_message(&*panic), "second child cleanup failed");
    // Everything the first run made was disposed; the panic stopped the re-run itself.
    insta::assert_snapshot!(log.take(), @r"
    second child cleanup
    first child cleanup
    parent cleanup 0
    ");
    assert_eq!(runtime_stats().nodes, after_first_run.nodes - 2);
    // The effect kept its dependencies and runs normally on the next change.
    s.set(2);
    insta::assert_snapshot!(log.take(), @"parent runs with 2");
    assert_eq!(runtime_stats(), after_first_run);
}

/// A value whose destructor panics.
struct Bomb(&'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("dropping {} failed", self.0);
    }
}

impl PartialEq for Bomb {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

#[test]
fn a_panicking_destructor_does_not_stop_the_disposal() {
    let log = Log::default();
    let before = runtime_stats();
    let l = log.clone();
    let ((first, second), root) = create_root(move || {
        let first = signal(Bomb("first"));
        let second = signal(Bomb("second"));
        let l = l.clone();
        on_cleanup(move || l.push("root cleanup"));
        (first, second)
    });
    let panic = catch_unwind(AssertUnwindSafe(|| root.dispose())).expect_err("re-raised");
    assert_eq!(panic_message(&*panic), "dropping second failed");
    insta::assert_snapshot!(log.take(), @"root cleanup");
    assert!(!first.is_alive() && !second.is_alive());
    assert_eq!(runtime_stats(), before);
}

#[test]
fn a_panicking_cleanup_of_a_disposed_effect_still_frees_it() {
    let before = runtime_stats();
    let s = signal(0);
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let e = effect(move || {
        s.get();
        r.set(r.get() + 1);
        on_cleanup(|| panic!("effect cleanup failed"));
        on_cleanup(|| {});
    });
    let panic = catch_unwind(AssertUnwindSafe(|| e.dispose())).expect_err("re-raised");
    assert_eq!(panic_message(&*panic), "effect cleanup failed");
    assert!(!e.is_alive());
    s.set(1);
    assert_eq!(runs.get(), 1, "a disposed effect does not run");
    s.dispose();
    assert_eq!(runtime_stats(), before);
}

/// An effect that disposes itself during its run is disposed when the run ends; a cleanup
/// that panics then reaches the caller once, and the runtime's batch and run bookkeeping is
/// restored exactly once.
#[test]
fn a_run_that_disposes_itself_with_a_panicking_cleanup_restores_the_runtime() {
    let before = runtime_stats();
    let s = signal(0);
    let me: Rc<Cell<Option<stateloom_core::Effect>>> = Rc::new(Cell::new(None));
    let m = me.clone();
    let e = effect(move || {
        if s.get() == 1 {
            on_cleanup(|| panic!("cleanup at the end of the run"));
            m.get().expect("set").dispose();
        }
    });
    me.set(Some(e));
    let panic = catch_unwind(AssertUnwindSafe(|| s.set(1))).expect_err("re-raised");
    assert_eq!(panic_message(&*panic), "cleanup at the end of the run");
    assert!(!e.is_alive());
    // Writes outside a batch still flush at once: the batch depth is back to zero.
    let seen = Rc::new(Cell::new(0));
    let sn = seen.clone();
    let watcher = effect(move || sn.set(s.get()));
    s.set(5);
    assert_eq!(seen.get(), 5);
    watcher.dispose();
    s.dispose();
    assert_eq!(runtime_stats(), before);
}

// ---------------------------------------------------------------------------------------------
// Model: random ownership trees with panicking cleanups, against the documented order.
// ---------------------------------------------------------------------------------------------

/// A node of an ownership tree.
#[derive(Clone, Debug)]
enum Spec {
    Signal,
    /// A root or an effect: its children, then its cleanups (`true` panics).
    Owner {
        effect: bool,
        children: Vec<Spec>,
        cleanups: Vec<bool>,
    },
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    let leaf = prop_oneof![
        Just(Spec::Signal),
        (
            any::<bool>(),
            prop::collection::vec(prop::bool::weighted(0.3), 0..3)
        )
            .prop_map(|(effect, cleanups)| Spec::Owner {
                effect,
                children: Vec::new(),
                cleanups,
            }),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        (
            any::<bool>(),
            prop::collection::vec(inner, 0..4),
            prop::collection::vec(prop::bool::weighted(0.3), 0..3),
        )
            .prop_map(|(effect, children, cleanups)| Spec::Owner {
                effect,
                children,
                cleanups,
            })
    })
}

/// Creates `spec`'s children and cleanups under the current owner; cleanups log `name#i`.
fn build_body(children: &[Spec], cleanups: &[bool], name: &str, log: &Log) {
    for (i, child) in children.iter().enumerate() {
        build(child, &format!("{name}.{i}"), log);
    }
    for (i, &panics) in cleanups.iter().enumerate() {
        let (label, l) = (format!("{name}#{i}"), log.clone());
        on_cleanup(move || {
            l.push(&label);
            assert!(!panics, "{label} panicked");
        });
    }
}

fn build(spec: &Spec, name: &str, log: &Log) {
    match spec {
        Spec::Signal => {
            signal(0);
        }
        Spec::Owner {
            effect: true,
            children,
            cleanups,
        } => {
            let (children, cleanups, name, log) = (
                children.clone(),
                cleanups.clone(),
                name.to_string(),
                log.clone(),
            );
            effect(move || build_body(&children, &cleanups, &name, &log));
        }
        Spec::Owner {
            effect: false,
            children,
            cleanups,
        } => {
            let ((), _root) = create_root(|| build_body(children, cleanups, name, log));
        }
    }
}

/// The documented order: an owner's children newest first, each before its owner, then the
/// owner's own cleanups, newest first.
fn expected_order(spec: &Spec, name: &str, out: &mut Vec<(String, bool)>) {
    if let Spec::Owner {
        children, cleanups, ..
    } = spec
    {
        for (i, child) in children.iter().enumerate().rev() {
            expected_order(child, &format!("{name}.{i}"), out);
        }
        for (i, &panics) in cleanups.iter().enumerate().rev() {
            out.push((format!("{name}#{i}"), panics));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: crate::cases(128),
        ..ProptestConfig::default()
    })]

    /// Disposing a root whose tree has panicking cleanups runs every cleanup once, in the
    /// documented order, frees every node, and then raises the first panic.
    #[test]
    fn disposal_finishes_and_raises_the_first_panic(children in prop::collection::vec(spec_strategy(), 0..4), cleanups in prop::collection::vec(prop::bool::weighted(0.3), 0..3)) {
        let log = Log::default();
        let before = runtime_stats();
        let top = Spec::Owner { effect: false, children, cleanups };
        let Spec::Owner { children, cleanups, .. } = &top else { unreachable!() };
        let ((), root): ((), Root) = create_root(|| build_body(children, cleanups, "r", &log));
        let mut expected = Vec::new();
        expected_order(&top, "r", &mut expected);
        let result = catch_unwind(AssertUnwindSafe(|| root.dispose()));
        let ran = log.take();
        let want: Vec<&str> = expected.iter().map(|(label, _)| label.as_str()).collect();
        prop_assert_eq!(ran, want.join("\n"));
        match expected.iter().find(|(_, panics)| *panics) {
            Some((label, _)) => {
                let payload = result.expect_err("a cleanup panicked");
                prop_assert_eq!(panic_message(&*payload), format!("{label} panicked"));
            }
            None => prop_assert!(result.is_ok()),
        }
        prop_assert_eq!(runtime_stats(), before);
    }
}

/// A panic inside a cleanup leaves the runtime usable: tracking and ownership are restored.
#[test]
fn after_a_panicking_disposal_the_runtime_tracks_and_owns_as_before() {
    let (_, root) = create_root(|| {
        on_cleanup(|| panic!("boom"));
    });
    let _ = catch_unwind(AssertUnwindSafe(|| root.dispose()));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = signal(1);
    let sn = seen.clone();
    let ((), root) = create_root(move || {
        effect(move || sn.borrow_mut().push(s.get()));
    });
    s.set(2);
    root.dispose();
    s.set(3);
    assert_eq!(*seen.borrow(), [1, 2]);
}

// ---------------------------------------------------------------------------------------------
// Payload blocks: disposal keeps the memory of dropped payloads for the next nodes.
// ---------------------------------------------------------------------------------------------

/// Bytes of payload blocks kept for reuse.
fn cached() -> usize {
    runtime_capacity().payload_bytes
}

/// A root with one signal, one computed and one effect reading them.
fn small_graph() -> Root {
    let ((), root) = create_root(|| {
        let s = signal(1_i64);
        let c = computed(move || s.get() + 1);
        effect(move || {
            c.get();
        });
    });
    root
}

#[test]
fn nodes_created_after_a_disposal_reuse_the_payload_blocks_without_allocating() {
    let (kept, left, made, again) = on_small_stack(|| {
        // The first graph grows the arenas; its disposal keeps its three payload blocks.
        small_graph().dispose();
        let kept = cached();
        let before = allocations();
        let root = small_graph();
        let made = allocations() - before;
        let left = cached();
        root.dispose();
        (kept, left, made, cached())
    });
    assert!(kept > 0, "disposal kept the payload blocks");
    assert_eq!(left, 0, "the same graph takes every block back");
    assert_eq!(made, 0, "so it allocates nothing");
    assert_eq!(again, kept, "and its disposal returns them");
}

#[test]
fn a_payload_read_while_its_node_is_disposed_keeps_its_block_until_the_read_ends() {
    let s = signal(String::from("kept"));
    let c = computed(move || s.get().len());
    assert_eq!(c.get(), 4);
    let before = cached();
    s.with(|value| {
        s.dispose();
        assert_eq!(cached(), before, "the read still holds the payload");
        // Nodes of the same sizes made now take other blocks.
        let t = signal(String::from("other"));
        let d = computed(move || t.get().len());
        assert_eq!(
            (value.as_str(), t.get(), d.get()),
            ("kept", "other".into(), 5)
        );
    });
    assert!(cached() > before, "the block came back when the read ended");
    let with_signal = cached();
    c.with(|len| {
        c.dispose();
        assert_eq!(*len, 4);
        assert_eq!(
            cached(),
            with_signal,
            "the computed's read holds its payload"
        );
    });
    // A borrowed computed's payload is dropped at the next disposal.
    signal(0_u8).dispose();
    assert!(cached() > with_signal, "the computed's block came back too");
}

#[test]
fn the_payload_blocks_kept_stay_under_the_caps() {
    let (one_size, all_sizes) = on_small_stack(|| {
        // Keep every slot, so that no disposal cuts the blocks to the arena's room.
        set_retained_slots(1 << 20);
        let ((), root) = create_root(|| {
            for i in 0..700_usize {
                signal([i as u8; 120]); // a 240-byte payload
            }
        });
        root.dispose();
        let one_size = cached();
        let ((), root) = create_root(|| {
            for i in 0..800 {
                signal([i as u8; 100]); // 200 bytes
                signal([i as u8; 90]); // 180 bytes
            }
        });
        root.dispose();
        (one_size, cached())
    });
    assert_eq!(
        one_size,
        128 * 1024 / 240 * 240,
        "one size keeps at most 128 KiB"
    );
    assert!(
        all_sizes <= 256 * 1024,
        "all sizes at most 256 KiB: {all_sizes}"
    );
    assert!(
        all_sizes > 256 * 1024 - 240,
        "and the total fills up: {all_sizes}"
    );
}

#[test]
fn a_disposal_that_shrinks_the_arenas_gives_the_payload_blocks_back() {
    let (kept, after) = on_small_stack(|| {
        set_retained_slots(0);
        // Three nodes under a root: the arena does not shrink below twice the live count, so
        // this disposal keeps their blocks.
        let (s, root) = create_root(|| signal(1_i64));
        let c = computed(move || s.get());
        c.get();
        let keep = signal(0_i64);
        c.dispose();
        let kept = cached();
        root.dispose();
        let ((), root) = create_root(|| {
            for i in 0..64 {
                signal(i);
            }
        });
        keep.dispose();
        root.dispose();
        let after = runtime_capacity();
        (kept, after)
    });
    assert!(kept > 0);
    assert_eq!(after.nodes, 0, "no node is live and no slot is retained");
    assert_eq!(after.payload_bytes, 0, "so no payload block is kept either");
}
