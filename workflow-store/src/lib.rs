//! The engine: executes complaint commands against a durable, hash-chained event log
//! on SQLite (the embedded default) or PostgreSQL, and keeps read views and the SLA
//! board up to date through checkpointed projections.
//!
//! - [`Store`] opens a database by URL, migrates it and hands out the rest. It changes
//!   only a database of its own ([`identity`]); [`Store::adopt`] takes over a plain
//!   sqlite-es or postgres-es store of complaints, on purpose. [`StoreOptions`] sets the
//!   timeouts every PostgreSQL session carries ([`Store::open_with_options`]);
//!   [`Store::open_read_only`] opens a database, or an auditor's copy of it, without
//!   writing anything.
//! - [`Engine`] is our own executor over cqrs-es's `EventStore` trait (not
//!   `CqrsFramework`): load, let the pure domain decide, attach metadata (command id,
//!   actor, correlation id) and the hash chain, commit, wake projectors; retry a bounded
//!   number of times, after a jittered, growing wait ([`Backoff`]), when another writer
//!   got there first.
//! - [`Projector`] applies the log, in commit order, to the views; [`Views`] reads them.
//! - [`settings`] keeps the holiday table amendment and the SLA policy in the database
//!   with their history; a store opened with [`SettingsSource::Stored`] judges deadlines
//!   with the ones in force, and follows a change another process records.
//! - [`MemoryStore`] is an in-memory `EventStore` for fast unit tests.
//!
//! Backends are cargo features, both on by default: `sqlite` (sqlite-es and sqlx's
//! SQLite driver) and `postgres` (postgres-es and sqlx's PostgreSQL driver). A build
//! with one alone does not compile the other's crates, and refuses its URLs with
//! [`StoreError::BadUrl`].
//!
//! This crate must never speak HTTP, parse command lines or print: it returns values
//! and typed [`StoreError`]s, and the host decides how to show them.
//!
//! **The surface an embedding service builds on**: [`Store`] and what it hands out
//! ([`Engine`], [`Projector`], [`Views`], the audit methods of [`Store`] with the types
//! of [`audit`]), [`settings`] with [`SettingsSource`], [`projection::Projection`] for
//! views of one's own with [`Extensions`], the read models of [`views`],
//! [`StoredEvent`], [`Position`], [`StoreOptions`] and [`StoreError`]. Beside it: [`chain`] defines the event hash, for verifiers written
//! elsewhere; [`identity`] names the marks of a database of this engine; [`health`] is
//! what [`Store::readiness`] judges from; [`access`] keeps the host's tokens and
//! idempotency answers (the `aduan` host's, not needed to embed the engine); `testing`
//! (a cargo feature) serves tests only. Everything else is private to the crate.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use chrono::{TimeZone, Utc};
//! use workflow_core::complainant::Complainant;
//! use workflow_core::complaint::command::Registration;
//! use workflow_core::{Actor, CommandEnvelope, ComplaintCommand, ComplaintId, Role};
//! use workflow_store::{SettingsSource, Store};
//!
//! # if cfg!(not(feature = "sqlite")) { return Ok(()); } // this example opens a file
//! # let dir = std::env::temp_dir().join(format!("aduan-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let url = format!("sqlite://{}", dir.join("aduan.db").display());
//! // `url` is `sqlite://aduan.db` or `postgres://user:password@host/database`.
//! // Deadlines judged with the holiday table and policy the database records.
//! let store = Store::open(&url, SettingsSource::Stored).await?;
//! let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap(); // your clock
//! let register = CommandEnvelope::new(
//!     "request-1",                      // your idempotency key
//!     Actor::new("sari", Role::Upp),    // who, as you authenticated them
//!     now,
//!     ComplaintCommand::Register(Registration {
//!         lapor_id: "LAP-2026-000123".into(),
//!         title: "Lampu jalan padam".into(),
//!         description: "Tiga lampu jalan padam sejak seminggu".into(),
//!         category: "penerangan".into(),
//!         location: None,
//!         reported_at: now,
//!         complainant: Complainant::named("Siti"),
//!         upp_review: "Kewenangan Dishub".into(),
//!         attachments: vec![],
//!     }),
//! );
//! // Ids are checked where they enter: `ComplaintId::new` refuses `../x` or an empty id.
//! let id: ComplaintId = "ADU-2026-0001".parse().expect("a valid id");
//! let done = store.engine().execute(&id, register, None).await?;
//! assert_eq!(done.events[0].sequence, 1);
//!
//! store.projector().catch_up().await?; // or run `Projector::run` in the background
//! let view = store.views().detail(&id).await?.expect("projected");
//! assert_eq!(view.summary.status, workflow_core::Status::Received);
//! # store.close().await;
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), workflow_store::StoreError>(())
//! # }).unwrap();
//! ```

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!(
    "workflow-store needs a database backend: enable the `sqlite` feature, the `postgres` \
     feature, or both (the default)"
);

pub mod access;
mod adopt;
pub mod agency;
pub mod audit;
mod backend;
pub mod chain;
mod codec;
mod engine;
mod error;
pub mod health;
pub mod identity;
pub mod keys;
pub mod lapor;
mod log;
mod memory;
mod options;
pub mod outbox;
pub mod people;
mod position;
pub mod projection;
pub mod settings;
mod sla;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;

pub use adopt::AdoptReport;
/// The `#[async_trait]` attribute that implementations of [`projection::Projection`] need.
pub use async_trait::async_trait;
pub use backend::BackendKind;
pub use codec::timestamp;
pub use cqrs_es::EventStore;
pub use engine::{metadata_keys, Backoff, Engine, Executed};
pub use error::{Refusal, StoreError};
pub use log::{LogContext, SqlLog, StoredEvent, Unreadable, SNAPSHOT_EVERY};
pub use memory::MemoryStore;
pub use options::StoreOptions;
pub use position::Position;
pub use projection::{Parked, ProjectionStatus, Projector, ReplayProgress};
pub use settings::SettingsSource;
pub use sla::SweepOutcome;
/// The sqlx this crate is built with, for projections of one's own (the connection
/// [`projection::Projection::apply`] is given is its `AnyConnection`): no version to match.
pub use sqlx;
pub use store::{
    Check, Extensions, PlainIdentity, Readiness, ReadinessPolicy, Store, TickReport,
    RETENTION_BATCH,
};
pub use views::Views;
