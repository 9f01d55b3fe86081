//! LAPOR!-SP4N in and out.
//!
//! In (`report`, `import`): a file LAPOR! exported — JSON Lines or CSV, with LAPOR!'s
//! own field names (`docs/lapor.md`) — read line by line into reports, each registered
//! by one command (`Import`), so that a report is in the log whole or not at all. A line
//! that cannot be read is refused with its number and the field at fault, and the rest
//! go on. The tracking number is the complaint's id: a report already registered is
//! found, not registered twice, so a second import of the same file changes nothing.
//!
//! Out (`export`): the follow-ups recorded since the previous export, in the shape an
//! operator uploads to LAPOR!, each in exactly one batch (`workflow_store::lapor`).
//!
//! Used by `aduan import lapor` and `aduan export lapor` (`verbs`, the only part that
//! knows the terminal) and by `POST /api/v1/imports/lapor`.

pub mod export;
pub mod import;
pub mod report;
pub mod verbs;

pub use export::{write_follow_ups, ExportFormat};
pub use import::{import, Attachments, ImportSummary, LineOutcome};
pub use report::{read_reports, Format, LineRefusal, Report};
