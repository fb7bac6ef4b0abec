//! What a `harness run` reports, in each of its forms: lines for people (coloured on a
//! terminal), JSON with a schema version and a summary, and JUnit XML for CI.

pub mod human;
pub mod json;
pub mod junit;
