//! The pure complaint domain of the LAPOR!-SP4N follow-up SOP.
//!
//! This crate decides what may happen to a complaint and what it means: the SOP state
//! machine ([`complaint`]), who may do what ([`actor`]), the complainant's identity and
//! confidentiality ([`complainant`]), evidence references ([`evidence`]), the
//! working-day calendar with Indonesia's holidays and cuti bersama ([`calendar`]) and
//! the SLA clocks ([`sla`]).
//!
//! It must never do I/O, read a clock or invent an id: time, ids and the actor arrive in
//! a [`CommandEnvelope`] from the caller, the holiday table arrives as text, and the same
//! events always rebuild the same state. It must never depend on sqlx, axum or clap.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use workflow_core::{Actor, Complaint, ComplaintCommand, ComplaintServices, CommandEnvelope, Role, Status};
//! use workflow_core::complaint::command::{Disposition, Registration};
//! use workflow_core::complainant::Complainant;
//!
//! let services = ComplaintServices::builtin();
//! let upp = Actor::new("sari", Role::Upp);
//! let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
//! let register = CommandEnvelope::new("cmd-1", upp.clone(), now, ComplaintCommand::Register(Registration {
//!     lapor_id: "LAP-2026-000123".into(),
//!     title: "Jalan berlubang".into(),
//!     description: "Jalan di depan SDN 3 berlubang dalam".into(),
//!     category: "infrastruktur".into(),
//!     location: Some("Jl. Tambun Bungai, Kuala Kapuas".into()),
//!     reported_at: now,
//!     complainant: Complainant::named("Budi"),
//!     upp_review: "Kewenangan Dinas PUPR".into(),
//!     attachments: vec![],
//! }));
//! let mut complaint = Complaint::default();
//! for event in complaint.decide(&register, &services).unwrap() {
//!     complaint.apply_event(&event);
//! }
//! assert_eq!(complaint.status(), Status::Received);
//!
//! // The same command id again is a no-op: safe to retry.
//! assert!(complaint.decide(&register, &services).unwrap().is_empty());
//!
//! // A liaison officer cannot act on a complaint not disposed to their agency.
//! let dispose = ComplaintCommand::Dispose(Disposition {
//!     agency: "PUPR".into(), liaison_officer: "andi".into(), sub_unit: None, note: None,
//! });
//! let liaison = Actor::of_agency("andi", Role::Liaison, "PUPR");
//! let refused = complaint.decide(&CommandEnvelope::new("cmd-2", liaison, now, dispose), &services);
//! assert!(refused.is_err());
//! ```

pub mod actor;
pub mod calendar;
pub mod complainant;
pub mod complaint;
pub mod error;
pub mod evidence;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod schema;
pub mod sla;
pub mod upcast;

pub use actor::{Actor, AgencyCode, BadAgencyCode, Role, UserId};
pub use calendar::{HolidayTable, TimeZoneSpec, WorkingCalendar};
pub use complaint::command::{CommandEnvelope, CommandId, ComplaintCommand};
pub use complaint::event::{ComplaintEvent, EventBody};
pub use complaint::id::{ComplaintId, InvalidComplaintId};
pub use complaint::sequence::Sequence;
pub use complaint::{Complaint, ComplaintServices, LaporStatus, Status};
pub use error::{DomainError, RefusalKind};
pub use sla::{SlaPolicy, Step, StepStatus};
