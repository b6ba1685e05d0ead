//! Integration tests of the runner: the real `Runner` over an in-memory store and fake
//! executors whose jobs the tests drive step by step, so every race is decided by the test
//! and every outcome is checked where it is recorded.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod executors;
mod fake;
mod finish;
mod harness;
mod local;
mod memory;
mod output;
mod queue;
mod recovery;
mod shutdown;
mod stop;
