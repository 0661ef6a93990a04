//! Shared helpers for the StateLoom benchmarks; the benches themselves are in `benches/`.

/// Builds a chain of `depth` computeds, each adding one to the previous, on top of `head`.
///
/// # Examples
/// ```
/// let head = stateloom_core::signal(0);
/// let tail = stateloom_benches::chain(head, 10);
/// assert_eq!(tail.get(), 10);
/// ```
pub fn chain(head: stateloom_core::Signal<i64>, depth: usize) -> stateloom_core::Computed<i64> {
    let mut last = stateloom_core::computed(move || head.get() + 1);
    for _ in 1..depth {
        let prev = last;
        last = stateloom_core::computed(move || prev.get() + 1);
    }
    last
}
