//! Runtime diagnostics and options: live counts and the batch hook.

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
    with_runtime(|rt| *rt.batch_hook.borrow_mut() = Some(Rc::new(hook)));
}

/// Removes the batch hook installed with [`set_batch_hook`].
///
/// # Examples
/// See [`set_batch_hook`].
pub fn clear_batch_hook() {
    with_runtime(|rt| *rt.batch_hook.borrow_mut() = None);
}
