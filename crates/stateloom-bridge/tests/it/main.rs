//! Integration tests of stateloom-bridge, through its public API only.

mod coordinator;
#[cfg(feature = "sqlite")]
mod crash;
mod fake;
#[cfg(feature = "sqlite")]
mod query_atom;
#[cfg(feature = "sqlite")]
mod rebuild;
#[cfg(feature = "sqlite")]
mod sqlite_store;
#[cfg(feature = "sqlite")]
mod todo;

/// How many cases a proptest runs: `default`, or `PROPTEST_CASES` when set.
#[cfg(feature = "sqlite")]
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}
