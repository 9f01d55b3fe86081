//! Properties of the domain over generated histories: random commands by random actors
//! (well formed or not) never panic, only follow the SOP's transitions, are accepted
//! only from the roles the SOP gives them, fix a verdict in each event that ends a
//! clock, and replaying the recorded (serialized, then read back) events on a fresh
//! complaint always rebuilds the same state; the generator reaches every status and
//! every refusal of the domain. SLA deadlines fall on working days, grow with pauses and
//! never move earlier as time passes.
//!
//! Failing cases proptest has found are kept beside the file whose test found them
//! (`histories.proptest-regressions`) and run first.

mod deadlines;
mod generator;
mod histories;
mod refusals;

use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` cases, failures kept beside the source file that runs them
/// (`<file>.proptest-regressions`). Proptest's default looks for a `main.rs` above the
/// file and keeps them in a `proptest-regressions/` folder beside it instead: the
/// cases found so far would be looked for there, and silently not found.
fn config(cases: u32) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::with_cases(cases)
    }
}
