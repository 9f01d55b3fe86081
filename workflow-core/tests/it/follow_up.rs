//! After the BA, returns, reassignment, LAPOR!'s clocks and verdicts that hold, as
//! given / when / then stories. Every command goes through `decide` ([`Case`]), so the
//! events are those the engine records (with the verdicts on the clocks they end), and
//! the state is rebuilt from their stored (serialized, then read back) form.
//!
//! [`Case`]: crate::support::Case

mod feedback;
mod progress;
mod returns;
mod verdicts;

use workflow_core::{Actor, Role};

/// A second liaison officer of PUPR, not the one the disposition names.
fn other_liaison() -> Actor {
    Actor::of_agency("penghubung2.pupr", Role::Liaison, "PUPR")
}
