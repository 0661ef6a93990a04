//! A guided walk through StateLoom, printing what happens at each step.

fn main() {}
