//! Placeholder: the stateloom-atom crate is being written.
