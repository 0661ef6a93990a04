//! One [`Framework`](crate::Framework) implementation per library, each in its own module.

mod alien_signals;
mod reactive_graph;
mod stateloom;
mod sycamore;

pub use alien_signals::AlienSignals;
pub use reactive_graph::ReactiveGraph;
pub use stateloom::Stateloom;
pub use sycamore::Sycamore;
