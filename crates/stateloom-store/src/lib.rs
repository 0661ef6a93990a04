//! Placeholder: the stateloom-store crate is being written.
