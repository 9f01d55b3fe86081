//! What the topics share, so that their tests read as stories: given / when / then over
//! the aggregate ([`given`]), a complaint driven through `decide` with its log kept as
//! the store keeps it ([`Case`]), and its SLA clocks read back ([`latest`], …).

mod case;
mod clocks;
mod given;

pub use case::Case;
pub use clocks::{clocks_ended, latest, with_extra_holidays};
pub use given::given;
