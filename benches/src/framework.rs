//! The [`Framework`] trait: the handful of operations every workload uses, implemented once per
//! reactive library so that each workload is written once and monomorphised per library.

/// What a node can hold: every library can store, compare and clone it on any thread.
///
/// `Send + Sync` is here because `reactive_graph` keeps its values in a process-global arena;
/// every value the workloads use (`i64`, `Arc<[i64]>`) satisfies it, so no library pays for it.
pub trait Value: Clone + PartialEq + Send + Sync + 'static {}

impl<T: Clone + PartialEq + Send + Sync + 'static> Value for T {}

/// A reactive library under test, reduced to what the ported js-reactivity-benchmark cases need.
///
/// Every method is an associated function taking handles by reference, so generic workload code
/// compiles to direct calls into the library: no boxing, no dynamic dispatch and no extra
/// indirection on reads, for any library. Handles are `Copy` and captured by value, exactly as a
/// user of each library would write the closures.
///
/// # Contract
/// - `computed` is lazy or eager as the library is, but must cut off propagation when its new
///   value equals the old one (`PartialEq`), as all the JS frameworks do.
/// - `effect` runs its closure once on creation (at the latest when the enclosing [`root`]
///   returns) and again after anything it read changed (at the latest when the enclosing
///   [`batch`] returns), so effect run counts are comparable across libraries.
/// - Writes happen inside [`batch`]; a library without batching just runs the closure and then
///   flushes whatever it defers.
///
/// [`root`]: Framework::root
/// [`batch`]: Framework::batch
///
/// # Examples
/// ```
/// use stateloom_benches::{Framework, adapters::Stateloom};
///
/// fn double<F: Framework>() -> i64 {
///     let ((s, c), root) = F::root(|| {
///         let s = F::signal(2_i64);
///         (s, F::computed(move || F::get(&s) * 2))
///     });
///     F::batch(|| F::set(&s, 21));
///     let v = F::read(&c);
///     F::dispose(root);
///     v
/// }
/// assert_eq!(double::<Stateloom>(), 42);
/// ```
pub trait Framework: 'static {
    /// The benchmark function id of this library in every criterion group.
    const NAME: &'static str;
    /// Whether a computed runs only when something reads it (upstream's `testPullCounts`);
    /// an eager library recomputes unread computeds too, so run counts that depend on it are
    /// not checked.
    const LAZY: bool = true;
    /// A writable signal holding a `T`.
    type Signal<T: Value>: Copy + 'static;
    /// A derived, cached value of type `T`.
    type Computed<T: Value>: Copy + 'static;
    /// An owner: disposing it frees (or, for libraries that never free, unlinks) what was
    /// created under it.
    type Root;

    /// Creates a signal.
    fn signal<T: Value>(value: T) -> Self::Signal<T>;
    /// Reads a signal, tracking it in the running computed or effect.
    fn get<T: Value>(signal: &Self::Signal<T>) -> T;
    /// Writes a signal.
    fn set<T: Value>(signal: &Self::Signal<T>, value: T);
    /// Creates a computed from `f`, compared with `PartialEq`.
    fn computed<T: Value>(f: impl Fn() -> T + 'static) -> Self::Computed<T>;
    /// Reads a computed (cloning the value), tracking it.
    fn read<T: Value>(computed: &Self::Computed<T>) -> T;
    /// Reads a computed by reference where the library allows it, tracking it.
    fn with<T: Value, R>(computed: &Self::Computed<T>, f: impl FnOnce(&T) -> R) -> R;
    /// Creates an effect owned by the current root.
    fn effect(f: impl Fn() + 'static);
    /// Runs `f` as one batch and runs the effects it scheduled before returning.
    fn batch(f: impl FnOnce());
    /// Runs `f` under a new owner and returns its value with that owner, after the first run of
    /// every effect `f` created.
    fn root<R: 'static>(f: impl FnOnce() -> R + 'static) -> (R, Self::Root);
    /// Disposes an owner and everything created under it.
    fn dispose(root: Self::Root);
}

/// Spins for about a hundred additions, like the upstream `busy()`; `black_box` on every step
/// keeps the optimiser from folding the loop away.
///
/// # Examples
/// ```
/// stateloom_benches::busy();
/// ```
#[inline(never)]
pub fn busy() {
    let mut a = 0_u32;
    for _ in 0..100 {
        a = std::hint::black_box(a) + 1;
    }
    std::hint::black_box(a);
}
