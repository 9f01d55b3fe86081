//! The engine: executes complaint commands against a durable, hash-chained event log
//! on SQLite (the embedded default) or PostgreSQL, and keeps read views and the SLA
//! board up to date through checkpointed projections.
//!
//! - [`Store`] opens a database by URL, migrates it and hands out the rest.
//! - [`Engine`] is our own executor over cqrs-es's `EventStore` trait (not
//!   `CqrsFramework`): load, let the pure domain decide, attach metadata (command id,
//!   actor, correlation id) and the hash chain, commit, wake projectors; retry a bounded
//!   number of times when another writer got there first.
//! - [`Projector`] applies the log, in commit order, to the views; [`Views`] reads them.
//! - [`MemoryStore`] is an in-memory `EventStore` for fast unit tests.
//!
//! This crate must never speak HTTP, parse command lines or print: it returns values
//! and typed [`StoreError`]s, and the host decides how to show them.
//!
//! ```no_run
//! # async fn example() -> Result<(), workflow_store::StoreError> {
//! use chrono::Utc;
//! use workflow_core::{Actor, ComplaintCommand, ComplaintServices, CommandEnvelope, Role};
//! # use workflow_core::complaint::command::Registration;
//! # let registration: Registration = todo_registration();
//! # fn todo_registration() -> Registration { unimplemented_in_doc() }
//! # fn unimplemented_in_doc() -> Registration { panic!() }
//! use workflow_store::Store;
//!
//! let store = Store::open("sqlite://aduan.db", ComplaintServices::builtin()).await?;
//! let command = CommandEnvelope::new("request-1", Actor::new("sari", Role::Upp), Utc::now(),
//!     ComplaintCommand::Register(registration));
//! let done = store.engine().execute("ADU-2026-0001", command, None).await?;
//! store.projector().catch_up().await?;
//! let view = store.views().detail("ADU-2026-0001").await?;
//! # Ok(()) }
//! ```

mod backend;
pub mod chain;
mod engine;
mod error;
mod log;
mod memory;
pub mod projection;
mod sla;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;

pub use backend::BackendKind;
pub use cqrs_es::EventStore;
pub use engine::{metadata_keys, Engine, Executed};
pub use error::StoreError;
pub use log::{LogContext, SqlLog, StoredEvent};
pub use memory::MemoryStore;
pub use projection::{ProjectionStatus, Projector, ReplayProgress};
pub use sla::SweepOutcome;
pub use store::{Store, TickReport};
pub use views::Views;

/// The fixed-width UTC form every view stores instants in, so that text order is time
/// order: `2026-11-30T02:00:00.000000Z`.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
