//! Runtime diagnostics and options: live counts, the batch hook and the flush round limit.

use std::rc::Rc;

use crate::runtime::with_runtime;

/// Counts of what this thread's runtime holds, for tests and leak checks.
///
/// # Examples
/// ```
/// use stateloom_core::{runtime_stats, signal};
///
/// let before = runtime_stats();
/// let s = signal(1);
/// assert_eq!(runtime_stats().nodes, before.nodes + 1);
/// s.dispose();
/// assert_eq!(runtime_stats(), before);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Live nodes: signals, computeds, effects (subscriptions included) and roots.
    pub nodes: usize,
    /// Live dependency links.
    pub links: usize,
    /// Effects waiting to run.
    pub queued: usize,
}

/// Returns the live counts of this thread's runtime.
///
/// # Examples
/// See [`RuntimeStats`].
pub fn runtime_stats() -> RuntimeStats {
    with_runtime(|rt| {
        let graph = rt.graph.borrow();
        RuntimeStats {
            nodes: graph.nodes.len(),
            links: graph.links.len(),
            queued: graph.queue.len(),
        }
    })
}

/// How many nodes and links this thread's runtime has room for without allocating: the
/// capacity of its arenas, live slots included, and the payload memory kept for reuse.
///
/// Disposal keeps freed slots for reuse, so a graph that is disposed and built again takes no
/// new memory. Once less than a quarter of the slots are live after a disposal, the vacant
/// slots at the end of each arena are given back, down to twice the live count but never
/// below 4,096 slots per arena ([`set_retained_slots`]); a vacant slot below the highest live
/// one stays.
///
/// Disposal also keeps the memory block of each dropped payload of up to 256 bytes (a
/// signal's value, a computed's closure and value, an effect's closure), for the next node
/// whose payload has the same size rounded up to 8 bytes: at most 256 KiB in all and
/// 128 KiB per size. When the arenas give slots back, the blocks are cut to as many as the
/// node arena has room for.
///
/// # Examples
/// ```
/// use stateloom_core::{create_root, runtime_capacity, signal};
///
/// let ((), root) = create_root(|| {
///     for i in 0..100_000 {
///         signal(i);
///     }
/// });
/// assert!(runtime_capacity().nodes >= 100_000);
/// root.dispose();
/// let after = runtime_capacity();
/// assert!(after.nodes < 100_000);
/// assert!(after.payload_bytes <= 16 * after.nodes); // one 16-byte block per free slot at most
/// ```
pub fn runtime_capacity() -> RuntimeCapacity {
    with_runtime(|rt| {
        let graph = rt.graph.borrow();
        RuntimeCapacity {
            nodes: graph.nodes.capacity(),
            links: graph.links.capacity(),
            payload_bytes: rt.blocks.cached_bytes(),
        }
    })
}

/// The room this thread's runtime has for nodes and links, returned by [`runtime_capacity`].
///
/// # Examples
/// See [`runtime_capacity`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeCapacity {
    /// Node slots, live or vacant.
    pub nodes: usize,
    /// Link slots, live or vacant.
    pub links: usize,
    /// Bytes of memory blocks of dropped payloads (values and closures of disposed nodes)
    /// kept for the next nodes whose payloads have the same size.
    pub payload_bytes: usize,
}

/// Sets how many node slots and link slots this thread's runtime keeps for reuse, however
/// few nodes are live, when a disposal gives memory back (see [`runtime_capacity`]); returns
/// the previous number. The default is 4,096: a graph of that size can be built and disposed
/// again and again without the arenas reallocating. `0` gives back everything it can.
///
/// # Examples
/// ```
/// use stateloom_core::{create_root, runtime_capacity, set_retained_slots, signal};
///
/// let previous = set_retained_slots(0);
/// let ((), root) = create_root(|| {
///     for i in 0..10_000 {
///         signal(i);
///     }
/// });
/// root.dispose();
/// assert!(runtime_capacity().nodes < 10_000);
/// set_retained_slots(previous);
/// ```
pub fn set_retained_slots(slots: usize) -> usize {
    with_runtime(|rt| rt.retained_slots.replace(slots))
}

/// Installs a hook that wraps every notification flush on this thread: `hook` receives the
/// flush and must call it once (a UI toolkit or an external store can run it inside its own
/// batch). If the hook returns without calling it, the flush runs right after, so no effect
/// is lost. Replaces any previous hook.
///
/// # Examples
/// ```
/// use stateloom_core::{clear_batch_hook, effect, set_batch_hook, signal};
/// use std::{cell::RefCell, rc::Rc};
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let (l1, l2) = (log.clone(), log.clone());
/// let s = signal(0);
/// effect(move || l1.borrow_mut().push(format!("effect {}", s.get())));
/// set_batch_hook(move |flush| {
///     l2.borrow_mut().push("begin".to_string());
///     flush();
///     l2.borrow_mut().push("end".to_string());
/// });
/// s.set(1);
/// clear_batch_hook();
/// assert_eq!(*log.borrow(), ["effect 0", "begin", "effect 1", "end"]);
/// ```
pub fn set_batch_hook(hook: impl Fn(&mut dyn FnMut()) + 'static) {
    with_runtime(|rt| {
        rt.hold();
        *rt.batch_hook.borrow_mut() = Some(Rc::new(hook));
    });
}

/// Sets how many flush rounds this thread's runtime runs before it concludes that effects
/// keep re-triggering each other, and returns the previous limit. The default is 100.
///
/// A flush runs the scheduled effects in rounds: the effects scheduled by one round's writes
/// run in the next. An effect that writes what it reads re-runs until the graph settles, which
/// is right; one that never settles (it writes `f64::NAN`, or toggles a flag) would run its side
/// effects without end. After `limit` rounds the flush stops with
/// [`Error::EffectLoop`](crate::Error::EffectLoop), raised as a panic by the write that
/// started it: the effects still scheduled are dropped from the flush without running, and
/// stay subscribed, so the next change to what they read runs them again. Every other effect
/// and the rest of the graph keep working.
///
/// # Panics
/// If `limit` is 0 (no effect could ever run in a flush).
///
/// # Examples
/// ```
/// use stateloom_core::{effect, set_flush_round_limit, signal};
/// use std::{cell::Cell, panic, rc::Rc};
///
/// let previous = set_flush_round_limit(5);
/// let s = signal(0.0_f64);
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// let outcome = panic::catch_unwind(panic::AssertUnwindSafe(|| {
///     effect(move || {
///         r.set(r.get() + 1);
///         s.get();
///         s.set(f64::NAN); // never equal to itself: the effect never settles
///     });
/// }));
/// assert!(outcome.is_err()); // `Error::EffectLoop`, raised as a panic
/// assert_eq!(runs.get(), 1 + 5); // its first run, then one per round
/// set_flush_round_limit(previous);
/// ```
pub fn set_flush_round_limit(limit: usize) -> usize {
    assert!(limit > 0, "the flush round limit must be at least 1");
    with_runtime(|rt| rt.flush_round_limit.replace(limit))
}

/// Removes the batch hook installed with [`set_batch_hook`].
///
/// # Examples
/// See [`set_batch_hook`].
pub fn clear_batch_hook() {
    with_runtime(|rt| *rt.batch_hook.borrow_mut() = None);
}
