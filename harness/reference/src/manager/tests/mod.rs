//! The manager's tests that need its insides (the raw protocol, fake servers, fuzzing). The
//! ones that need only its API, or processes, are in `tests/manager.rs`.

mod fuzz;
mod raw;
