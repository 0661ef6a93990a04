//! Behaviour shared by every crate, checked through the umbrella crate: one scenario run against
//! every kind of readable value, and values from different crates combined in one graph.

mod backends;
mod interop;
