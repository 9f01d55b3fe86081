//! The command executor.

use std::collections::HashMap;

use cqrs_es::{AggregateContext, EventEnvelope, EventStore};
use workflow_core::{CommandEnvelope, Complaint, ComplaintServices, Status};

use crate::error::StoreError;

/// Names of the metadata stored beside every event.
pub mod metadata_keys {
    /// The command's idempotency key.
    pub const COMMAND_ID: &str = "command_id";
    /// The acting user.
    pub const ACTOR: &str = "actor";
    /// The acting user's role.
    pub const ROLE: &str = "role";
    /// The acting user's agency, if any.
    pub const AGENCY: &str = "agency";
    /// The caller's correlation id (an HTTP request id, an import batch).
    pub const CORRELATION_ID: &str = "correlation_id";
}

/// What a successful command recorded. Empty when the command id had been seen before
/// (an idempotent retry) — the work was done once, earlier.
#[derive(Debug)]
pub struct Executed {
    /// The events committed by this call, with their sequence numbers.
    pub events: Vec<EventEnvelope<Complaint>>,
    /// The complaint's state after the command (as loaded, for a retried one).
    pub status: Status,
    /// The complaint's last sequence after the command.
    pub sequence: usize,
}

/// Executes complaint commands over any cqrs-es [`EventStore`].
pub struct Engine<ES: EventStore<Complaint>> {
    store: ES,
    services: ComplaintServices,
    max_attempts: u32,
    read_only: bool,
}

impl<ES: EventStore<Complaint>> Engine<ES> {
    /// An engine over `store`, judging deadlines with `services`' calendar and policy.
    pub fn new(store: ES, services: ComplaintServices) -> Self {
        Self {
            store,
            services,
            max_attempts: 5,
            read_only: false,
        }
    }

    /// An engine that refuses every command with [`StoreError::ReadOnly`] (a store
    /// opened read-only).
    pub(crate) fn refusing_commands(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// How many times a command is tried when others commit to the same complaint first
    /// (default 5). At least 1.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The calendar and policy the engine judges deadlines with.
    pub fn services(&self) -> &ComplaintServices {
        &self.services
    }

    /// The store underneath.
    pub fn store(&self) -> &ES {
        &self.store
    }

    /// Loads the complaint, lets the domain decide, and commits the events with their
    /// metadata. On an optimistic-lock conflict the whole cycle is repeated from a fresh
    /// load, up to the configured attempts; then [`StoreError::Conflict`].
    pub async fn execute(
        &self,
        complaint_id: &str,
        command: CommandEnvelope,
        correlation_id: Option<&str>,
    ) -> Result<Executed, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly(format!(
                "the store was opened read-only; command {} on complaint {complaint_id} is refused",
                command.command_id.0
            )));
        }
        let metadata = metadata_for(&command, correlation_id);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut context = self
                .store
                .load_aggregate(complaint_id)
                .await
                .map_err(|e| StoreError::from_aggregate(complaint_id, e))?;
            let state = context.aggregate();
            let events = state.decide(&command, &self.services)?;
            let loaded = state.events_applied() as usize;
            if events.is_empty() {
                return Ok(Executed {
                    events: Vec::new(),
                    status: state.status(),
                    sequence: loaded,
                });
            }
            // The commit does not read the context's state: advance it to report the state
            // after the command without a copy.
            for e in &events {
                state.apply_event(e);
            }
            let status = state.status();
            match self.store.commit(events, context, metadata.clone()).await {
                Ok(events) => {
                    return Ok(Executed {
                        sequence: loaded + events.len(),
                        events,
                        status,
                    })
                }
                Err(cqrs_es::AggregateError::AggregateConflict) if attempt < self.max_attempts => {
                    tokio::task::yield_now().await;
                }
                Err(cqrs_es::AggregateError::AggregateConflict) => {
                    return Err(StoreError::Conflict {
                        complaint_id: complaint_id.to_owned(),
                        attempts: attempt,
                    })
                }
                Err(e) => return Err(StoreError::from_aggregate(complaint_id, e)),
            }
        }
    }

    /// The complaint's events in order, with their metadata.
    pub async fn events(
        &self,
        complaint_id: &str,
    ) -> Result<Vec<EventEnvelope<Complaint>>, StoreError> {
        self.store
            .load_events(complaint_id)
            .await
            .map_err(|e| StoreError::from_aggregate(complaint_id, e))
    }

    /// The complaint's current state, rebuilt from its events.
    pub async fn load(&self, complaint_id: &str) -> Result<Complaint, StoreError> {
        let events = self.events(complaint_id).await?;
        Ok(Complaint::from_events(events.iter().map(|e| &e.payload)))
    }
}

fn metadata_for(
    command: &CommandEnvelope,
    correlation_id: Option<&str>,
) -> HashMap<String, String> {
    let mut metadata = HashMap::from([
        (
            metadata_keys::COMMAND_ID.to_owned(),
            command.command_id.0.clone(),
        ),
        (
            metadata_keys::ACTOR.to_owned(),
            command.actor.user.0.clone(),
        ),
        (
            metadata_keys::ROLE.to_owned(),
            command.actor.role.as_str().to_owned(),
        ),
    ]);
    if let Some(agency) = &command.actor.agency {
        metadata.insert(metadata_keys::AGENCY.to_owned(), agency.0.clone());
    }
    if let Some(correlation_id) = correlation_id {
        metadata.insert(
            metadata_keys::CORRELATION_ID.to_owned(),
            correlation_id.to_owned(),
        );
    }
    metadata
}
