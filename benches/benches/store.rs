//! Placeholder for the store benches.

fn main() {}
