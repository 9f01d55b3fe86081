//! An in-memory event store for fast unit tests (the demo runs on SQLite).
//!
//! cqrs-es ships `MemStore`, but it prints to stdout on every load and commit and does
//! not detect concurrent appends, so two writers can both "succeed" on the same
//! sequence. This one keeps the same contract as the database backends: a commit whose
//! expected sequence is stale fails with `AggregateConflict`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventEnvelope, EventStore};

type Streams<A> = HashMap<String, Vec<EventEnvelope<A>>>;

/// Events per aggregate id, in memory, shared between clones.
#[derive(Debug)]
pub struct MemoryStore<A: Aggregate> {
    streams: Arc<Mutex<Streams<A>>>,
}

impl<A: Aggregate> Default for MemoryStore<A> {
    fn default() -> Self {
        Self {
            streams: Arc::default(),
        }
    }
}

impl<A: Aggregate> Clone for MemoryStore<A> {
    fn clone(&self) -> Self {
        Self {
            streams: Arc::clone(&self.streams),
        }
    }
}

impl<A: Aggregate> MemoryStore<A> {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Streams<A>>, AggregateError<A::Error>> {
        self.streams
            .lock()
            .map_err(|_| AggregateError::UnexpectedError("memory store lock poisoned".into()))
    }
}

/// A loaded aggregate and the sequence it was loaded at.
#[derive(Debug)]
pub struct MemoryContext<A: Aggregate> {
    aggregate_id: String,
    aggregate: A,
    sequence: usize,
}

impl<A: Aggregate> AggregateContext<A> for MemoryContext<A> {
    fn aggregate(&mut self) -> &mut A {
        &mut self.aggregate
    }
}

impl<A: Aggregate> EventStore<A> for MemoryStore<A> {
    type AC = MemoryContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        Ok(self.lock()?.get(aggregate_id).cloned().unwrap_or_default())
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<MemoryContext<A>, AggregateError<A::Error>> {
        let events = self.load_events(aggregate_id).await?;
        let mut aggregate = A::default();
        let sequence = events.len();
        for e in events {
            aggregate.apply(e.payload);
        }
        Ok(MemoryContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate,
            sequence,
        })
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: MemoryContext<A>,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let mut streams = self.lock()?;
        let stream = streams.entry(context.aggregate_id.clone()).or_default();
        if stream.len() != context.sequence {
            return Err(AggregateError::AggregateConflict);
        }
        let committed: Vec<EventEnvelope<A>> = events
            .into_iter()
            .enumerate()
            .map(|(i, payload)| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence: context.sequence + i + 1,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        stream.extend(committed.iter().cloned());
        Ok(committed)
    }
}
