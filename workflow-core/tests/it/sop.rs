//! The SOP as given / when / then stories over the complaint aggregate, a module per
//! stretch of it.
//!
//! Each test reads: given these events, when this command, then these events or this
//! refusal. The story starts on Monday 30 November 2026, 09:00 WIB.

mod breaches;
mod closing;
mod disposition;
mod door;
mod erasure;
mod field_step;
mod identity;
mod import;
mod registration;
mod review;
mod time_order;

use workflow_core::fixtures::*;

fn start() -> Story {
    Story::starting(wib("2026-11-30 09:00"))
}

fn at_review(agency: &str) -> Story {
    start().registered().disposed_to(agency)
}

fn at_field_step() -> Story {
    at_review("PUPR")
        .reviewed("PUPR", true)
        .clarified("PUPR", true)
}

/// Clarified without a field examination: the next step is the response.
fn at_response() -> Story {
    at_review("PUPR")
        .reviewed("PUPR", true)
        .clarified("PUPR", false)
}

fn ba_on_desk() -> Story {
    at_field_step()
        .field_verified("PUPR", "2026-11-30")
        .ba_issued("PUPR", "2026-11-30")
}

/// Responded on Tuesday 1 December 2026 in the afternoon.
fn responded() -> Story {
    at_response().at(wib("2026-12-01 14:00")).responded("PUPR")
}
