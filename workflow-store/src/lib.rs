//! The engine: executes complaint commands against an event store and hands back what
//! was recorded.
//!
//! [`Engine`] is our own executor over cqrs-es's [`EventStore`] trait (not
//! `CqrsFramework`): it loads a complaint, lets the pure domain decide, attaches the
//! metadata the audit needs (command id, actor, correlation id), commits, and retries a
//! bounded number of times when another writer got there first. Backends plug in under
//! it: today the in-memory [`MemoryStore`] for tests and the demo; the SQLite and
//! PostgreSQL backends, projections and the audit chain build on the same API.
//!
//! This crate must never speak HTTP, parse command lines or print: it returns values
//! and typed [`StoreError`]s, and the host decides how to show them.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use chrono::{TimeZone, Utc};
//! use workflow_core::{Actor, ComplaintCommand, ComplaintServices, CommandEnvelope, Role, Status};
//! use workflow_core::complaint::command::Registration;
//! use workflow_core::complainant::Complainant;
//! use workflow_store::{Engine, MemoryStore};
//!
//! let engine = Engine::new(MemoryStore::default(), ComplaintServices::builtin());
//! let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
//! let register = CommandEnvelope::new("req-1", Actor::new("sari", Role::Upp), now,
//!     ComplaintCommand::Register(Registration {
//!         lapor_id: "LAP-2026-000123".into(),
//!         title: "Lampu jalan padam".into(),
//!         description: "Tiga lampu jalan padam sejak seminggu".into(),
//!         category: "penerangan".into(),
//!         location: None,
//!         reported_at: now,
//!         complainant: Complainant { name: "Siti".into(), ..Default::default() },
//!         upp_review: "Kewenangan Dishub".into(),
//!         attachments: vec![],
//!     }));
//! let done = engine.execute("ADU-0001", register, None).await.unwrap();
//! assert_eq!(done.events.len(), 1);
//! assert_eq!(engine.load("ADU-0001").await.unwrap().status(), Status::Received);
//! # });
//! ```

mod engine;
mod error;
mod memory;
mod sla;

pub use cqrs_es::EventStore;
pub use engine::{metadata_keys, Engine, Executed};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use sla::SweepOutcome;
