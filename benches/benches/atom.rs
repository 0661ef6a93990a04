//! Placeholder for the atom benches.

fn main() {}
