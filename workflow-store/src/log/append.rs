//! Appending to the log: the statements that write a command's events (and a new
//! complaint's data key) under their conditions, and group commit.
//!
//! Every append is conditional, so that it either writes all its rows or none without
//! an error: the complaint must still end at the sequence the command was decided on,
//! and the settings the command was judged with must still be the newest. A command
//! that fails a condition is refused (a conflict: the engine decides it again).
//!
//! **Group commit.** Appends are queued; a writer takes every append waiting and
//! writes them in one transaction (SQLite has one writer; on PostgreSQL two write at
//! once, decision 37), so that commands arriving together
//! share one commit (one `fsync` on SQLite, one WAL flush on PostgreSQL). Each append
//! is still checked on its own conditions and answered on its own: one refused does not
//! refuse the others. Should a statement fail (a complaint raced by another host, a
//! fault), the batch is rolled back and each append written alone, so that a failing
//! command fails alone. On PostgreSQL a batch is one statement (one round trip); on
//! SQLite one transaction, each append's statements handed to the connection's thread
//! at once (a new complaint's key and events: one script).
//!
//! A caller that finds a writer free writes its own append at once, as it would be
//! written without the queue: one statement, or on SQLite, for a new complaint's key
//! and events, one script from `BEGIN IMMEDIATE` to `COMMIT` (decision 43). Appends
//! arriving meanwhile queue; when that write ends, a writer task takes them, batch
//! after batch, and ends when the queue is empty, so that no caller's
//! cancellation stops a batch half-way and no task outlives the work. A batch holds at
//! most one append of a complaint (a second would be refused, and on PostgreSQL fail
//! the statement), a complaint being written is in no other writer's batch, and appends
//! that a commit made stale are refused without a statement.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use cqrs_es::{Aggregate, DomainEvent, EventEnvelope};
use serde_json::Value;
use sqlx::Row;
use tokio::sync::oneshot;
use workflow_core::{Complaint, ComplaintEvent};

use super::{LogContext, SqlLog};
use crate::backend::BackendKind;
use crate::chain::{event_hash, ChainInput, HASH, PREV_HASH};
use crate::error::StoreError;
use crate::keys::NewKey;

/// The most appends one transaction carries.
const MAX_BATCH: usize = 64;

/// How many transactions of appends one store writes at once on PostgreSQL. A second
/// lets the next batch's statement travel and be planned while the last one commits;
/// more only split the batches smaller (decision 37). SQLite has one writer.
const POSTGRES_WRITERS: usize = 2;

/// The settings versions a command was judged with, from its metadata: a condition of
/// its append.
#[derive(Clone, Copy, Debug)]
pub(super) struct SettingsGuard {
    calendar: i64,
    policy: i64,
}

impl SettingsGuard {
    pub(super) fn from_metadata(metadata: &HashMap<String, String>) -> Option<Self> {
        use crate::engine::metadata_keys::{CALENDAR_VERSION, POLICY_VERSION};
        Some(Self {
            calendar: metadata.get(CALENDAR_VERSION)?.parse().ok()?,
            policy: metadata.get(POLICY_VERSION)?.parse().ok()?,
        })
    }
}

/// One event's row, chained.
struct NewRow {
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
}

/// A command's rows, ready to write.
pub(super) struct Pending {
    aggregate_id: String,
    /// The sequence the command was decided on: the complaint must still end there.
    after: i64,
    rows: Vec<NewRow>,
    key: Option<NewKey>,
    guard: Option<SettingsGuard>,
}

impl Pending {
    /// The rows of `events` after `context`, each with its hash chained to the one
    /// before, and the envelopes the command answers with.
    pub(super) fn new(
        events: Vec<ComplaintEvent>,
        context: &LogContext,
        metadata: &HashMap<String, String>,
        key: Option<NewKey>,
    ) -> Result<(Self, Vec<EventEnvelope<Complaint>>), StoreError> {
        let defect = |e: &dyn std::fmt::Display| StoreError::defect(e.to_string());
        let mut prev = context.last_hash.clone();
        let mut rows = Vec::with_capacity(events.len());
        let mut envelopes = Vec::with_capacity(events.len());
        for (i, event) in events.into_iter().enumerate() {
            let sequence = context.sequence + i + 1;
            let payload = serde_json::to_value(&event).map_err(|e| defect(&e))?;
            let mut meta: serde_json::Map<String, Value> = metadata
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            meta.insert(PREV_HASH.to_owned(), Value::String(prev.clone()));
            let mut meta = Value::Object(meta);
            let hash = event_hash(&ChainInput {
                aggregate_type: Complaint::TYPE,
                aggregate_id: &context.aggregate_id,
                sequence: sequence as u64,
                event_type: &event.event_type(),
                event_version: &event.event_version(),
                payload: &payload,
                metadata: &meta,
            });
            meta[HASH] = Value::String(hash.clone());
            let mut envelope_meta = metadata.clone();
            envelope_meta.insert(PREV_HASH.to_owned(), prev.clone());
            envelope_meta.insert(HASH.to_owned(), hash.clone());
            prev = hash;
            rows.push(NewRow {
                sequence: i64::try_from(sequence).map_err(|e| defect(&e))?,
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: payload.to_string(),
                metadata: meta.to_string(),
            });
            envelopes.push(EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence,
                payload: event,
                metadata: envelope_meta,
            });
        }
        let pending = Pending {
            aggregate_id: context.aggregate_id.clone(),
            after: i64::try_from(context.sequence).map_err(|e| defect(&e))?,
            rows,
            key,
            guard: SettingsGuard::from_metadata(metadata),
        };
        Ok((pending, envelopes))
    }

    /// Whether one statement writes it all (PostgreSQL writes a key in the events'
    /// statement; SQLite in a statement of its own before them).
    fn one_statement(&self, kind: BackendKind) -> bool {
        self.key.is_none() || kind == BackendKind::Postgres
    }
}

/// What an append did.
#[derive(Debug)]
pub(super) enum Written {
    /// Every row is in (once its transaction commits).
    Committed,
    /// Nothing was written: the complaint moved on, or the settings changed.
    Refused,
    /// Nothing was written: the complaint's new key could not be (it has one, or this
    /// process's key file is retired, or its identity was erased).
    KeyRefused,
}

/// The parameters of an events statement after its rows' (seven each, from `$1`).
struct Params {
    /// The sequence the complaint must still end at.
    after: usize,
    /// The two settings versions.
    guard: Option<usize>,
    /// SQLite: the new key's id, which must be in `subject_keys`.
    key_id: Option<usize>,
    /// PostgreSQL: the first of the new key's seven.
    key: Option<usize>,
    /// How many parameters the statement has.
    count: usize,
}

impl Params {
    fn of(p: &Pending, kind: BackendKind) -> Self {
        let mut next = p.rows.len() * 7 + 1;
        let mut take = |n: usize| {
            let at = next;
            next += n;
            at
        };
        let after = take(1);
        let guard = p.guard.map(|_| take(2));
        let (key_id, key) = match (&p.key, kind) {
            (None, _) => (None, None),
            (Some(_), BackendKind::Sqlite) => (Some(take(1)), None),
            (Some(_), BackendKind::Postgres) => (None, Some(take(7))),
        };
        Self {
            after,
            guard,
            key_id,
            key,
            count: next - 1,
        }
    }
}

/// The conditions every append is written under: the complaint `id` (of type `ty`)
/// ends at sequence `after`, and the settings are the newest, when the append names
/// the versions it was judged with (`$n` and `$n + 1`). Each argument is SQL: a
/// parameter or a column.
fn conditions(ty: &str, id: &str, after: &str, guard: Option<usize>) -> Vec<String> {
    let mut all = vec![still_at(ty, id, after)];
    if let Some(n) = guard {
        all.push(settings_newest(&format!("${n}"), &format!("${}", n + 1)));
    }
    all
}

/// The complaint `id` (of type `ty`) has no event after sequence `after`.
fn still_at(ty: &str, id: &str, after: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM events WHERE aggregate_type = {ty} AND aggregate_id = {id} \
         AND sequence > {after})"
    )
}

/// The newest calendar and policy versions are `calendar` and `policy` (SQL).
fn settings_newest(calendar: &str, policy: &str) -> String {
    format!(
        "(SELECT COALESCE(MAX(version), 0) FROM settings_history WHERE kind = 'calendar') = {calendar} \
         AND (SELECT COALESCE(MAX(version), 0) FROM settings_history WHERE kind = 'policy') = {policy}"
    )
}

/// `$first, $first+1, …`, one for each of `casts`, each followed by its cast.
fn placeholders(first: usize, casts: &[&str]) -> String {
    casts
        .iter()
        .enumerate()
        .map(|(i, cast)| format!("${}{cast}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn events_sql(p: &Pending, kind: BackendKind) -> String {
    let params = Params::of(p, kind);
    let json = match kind {
        BackendKind::Sqlite => "",
        BackendKind::Postgres => "::json",
    };
    let values = (0..p.rows.len())
        .map(|i| {
            format!(
                "({})",
                placeholders(i * 7 + 1, &["", "", "", "", "", json, json])
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut all = conditions("$1", "$2", &format!("${}", params.after), params.guard);
    if let Some(key_id) = params.key_id {
        all.push(format!(
            "EXISTS (SELECT 1 FROM subject_keys WHERE complaint_id = $2 AND key_id = ${key_id})"
        ));
    }
    let columns =
        "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata";
    match kind {
        // Numbered here, once: the log's highest position plus the row's place after
        // `after` (the subquery is read once, before any row is written; the single
        // writer keeps it from moving meanwhile).
        BackendKind::Sqlite => format!(
            "INSERT INTO events ({columns}, position, recorded_at) SELECT column1, column2, \
             column3, column4, column5, column6, column7, \
             (SELECT COALESCE(MAX(position), 0) FROM events) + column3 - ${after}, \
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM (VALUES {values}) WHERE {}",
            all.join(" AND "),
            after = params.after,
        ),
        // Numbered by the trigger, under the advisory lock that keeps positions in
        // commit order. A new key is written in the same statement (a data-modifying
        // `WITH`), under the same conditions: the events only with the key.
        BackendKind::Postgres => {
            let mut with = String::new();
            if let Some(first) = params.key {
                let key_sql = NewKey::insert_sql(first, Some(&all.join(" AND ")));
                with = format!("WITH new_key AS ({key_sql} RETURNING 1) ");
                all.push("EXISTS (SELECT 1 FROM new_key)".to_owned());
            }
            format!(
                "{with}INSERT INTO events ({columns}) SELECT * FROM (VALUES {values}) AS v WHERE {}",
                all.join(" AND ")
            )
        }
    }
}

/// SQLite: one append's statements as one script, which the connection's thread runs
/// in one round trip (each statement sent apart costs one, and those hand-offs were
/// most of a commit's CPU): its new key (under the events' conditions), if it has one,
/// and its events, which return one row each. The parameters are the events' and then
/// the key's ([`bind_script`]).
fn append_script(p: &Pending) -> String {
    let params = Params::of(p, BackendKind::Sqlite);
    let mut sql = String::new();
    if p.key.is_some() {
        let all = conditions("$1", "$2", &format!("${}", params.after), params.guard);
        sql.push_str(&NewKey::insert_sql(
            params.count + 1,
            Some(&all.join(" AND ")),
        ));
        sql.push_str("; ");
    }
    sql.push_str(&events_sql(p, BackendKind::Sqlite));
    sql.push_str(" RETURNING 1");
    sql
}

/// Binds [`append_script`]'s parameters, in order.
fn bind_script<'q>(p: &'q Pending, sql: &'q str) -> AnyQuery<'q> {
    let q = bind_events(sqlx::query(sql), p, BackendKind::Sqlite);
    match &p.key {
        Some(key) => key.bind(q),
        None => q,
    }
}

/// A connection running a script that opens its own transaction: should the script
/// not be seen to its end (it failed, or its caller was dropped half-way), the
/// connection is closed instead of going back to the pool, and SQLite rolls back
/// whatever the script left open. (The pool knows only of transactions begun through
/// sqlx, and would hand it on as clean.)
struct ScriptConnection(Option<sqlx::pool::PoolConnection<sqlx::Any>>);

impl ScriptConnection {
    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.0.as_mut().expect("held until finished")
    }

    /// The script ran to its end: the connection goes back to the pool.
    fn finished(mut self) {
        self.0 = None;
    }
}

impl Drop for ScriptConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_events<'q>(mut q: AnyQuery<'q>, p: &'q Pending, kind: BackendKind) -> AnyQuery<'q> {
    for row in &p.rows {
        q = q
            .bind(Complaint::TYPE)
            .bind(&p.aggregate_id)
            .bind(row.sequence)
            .bind(&row.event_type)
            .bind(&row.event_version)
            .bind(&row.payload)
            .bind(&row.metadata);
    }
    q = q.bind(p.after);
    if let Some(guard) = p.guard {
        q = q.bind(guard.calendar).bind(guard.policy);
    }
    match (&p.key, kind) {
        (Some(key), BackendKind::Sqlite) => q.bind(key.key_id()),
        (Some(key), BackendKind::Postgres) => key.bind(q),
        (None, _) => q,
    }
}

/// Whether `e` says another commit took the complaint's sequence first (its primary
/// key), or the database chose this append as a deadlock's victim: a conflict, decided
/// again. Any other unique violation (a position taken: a restored sequence, say) is a
/// failure.
fn is_lost_race(e: &sqlx::Error) -> bool {
    let Some(d) = e.as_database_error() else {
        return false;
    };
    if matches!(d.code().as_deref(), Some("40P01" | "40001")) {
        return true;
    }
    d.is_unique_violation()
        && (d.constraint() == Some("events_pkey")
            || d.message()
                .contains("events.aggregate_type, events.aggregate_id, events.sequence"))
}

/// Whether a batch's failure is the database's state rather than one statement's, so
/// that writing each append alone would only repeat it.
fn is_unavailable(e: &sqlx::Error) -> bool {
    crate::error::is_transient(e)
}

/// The same failure again, for each of a batch's writes that it failed.
pub(crate) fn copy_error(e: &sqlx::Error) -> StoreError {
    let reason = e.to_string();
    if crate::error::is_transient(e) {
        StoreError::Unavailable {
            reason,
            source: None,
        }
    } else {
        StoreError::Backend {
            reason,
            source: None,
        }
    }
}

struct Request {
    pending: Pending,
    reply: oneshot::Sender<Result<Written, StoreError>>,
}

/// Answers `request` with `written`, noting where its complaint now ends when it
/// committed.
fn answer(ends: &mut Vec<(String, i64)>, request: Request, written: Result<Written, StoreError>) {
    if let Ok(Written::Committed) = written {
        let p = &request.pending;
        ends.push((p.aggregate_id.clone(), p.after + p.rows.len() as i64));
    }
    let _ = request.reply.send(written);
}

/// Answers at once the appends waiting in `state` that the commits `ends` made stale
/// (decided on a complaint that has moved past them): each would be refused by its
/// statement, at the price of a round trip while the others wait.
fn refuse_stale(state: &mut QueueState, ends: &[(String, i64)]) {
    if ends.is_empty() || state.requests.is_empty() {
        return;
    }
    let ends: HashMap<&str, i64> = ends.iter().map(|(id, end)| (id.as_str(), *end)).collect();
    let mut kept = VecDeque::with_capacity(state.requests.len());
    while let Some(request) = state.requests.pop_front() {
        match ends.get(request.pending.aggregate_id.as_str()) {
            Some(end) if request.pending.after < *end => {
                let _ = request.reply.send(Ok(Written::Refused));
            }
            _ => kept.push_back(request),
        }
    }
    state.requests = kept;
}

/// The appends waiting for a writer, the writers running, and the complaints they write.
#[derive(Default)]
pub(super) struct Queue {
    inner: Mutex<QueueState>,
}

impl Queue {
    /// The queue's state, locked (a panic elsewhere while holding it leaves plain data
    /// behind: keep going).
    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct QueueState {
    requests: VecDeque<Request>,
    /// How many writers are writing.
    writers: usize,
    /// The complaints of the appends being written: a complaint is written by one
    /// writer at a time, so that two batches never race for its next sequence.
    in_flight: Vec<String>,
}

impl QueueState {
    /// Takes the next batch: the waiting appends in order, at most one of a complaint
    /// (a second is decided on the same state as the first and would be refused, and
    /// on PostgreSQL it would fail the batch's statement) and none of a complaint being
    /// written; the others wait for a later batch.
    fn take_batch(&mut self) -> Vec<Request> {
        let mut batch = Vec::new();
        let mut rest = VecDeque::new();
        let mut seen: std::collections::HashSet<String> = self.in_flight.iter().cloned().collect();
        while let Some(request) = self.requests.pop_front() {
            if batch.len() < MAX_BATCH && seen.insert(request.pending.aggregate_id.clone()) {
                batch.push(request);
            } else {
                rest.push_back(request);
            }
        }
        self.requests = rest;
        self.in_flight
            .extend(batch.iter().map(|r| r.pending.aggregate_id.clone()));
        batch
    }

    /// The appends of `complaints` are written.
    fn written(&mut self, complaints: &[String]) {
        for id in complaints {
            if let Some(i) = self.in_flight.iter().position(|f| f == id) {
                self.in_flight.swap_remove(i);
            }
        }
    }
}

/// Ends a writer's turn should it end early: a caller writing its own append dropped
/// half-way hands the queue on to a writer task (`respawn`); a writer task that
/// panicked, or was dropped before it ran (its runtime shutting down), answers the
/// appends waiting with an error rather than leave their callers waiting.
struct Writing {
    log: SqlLog,
    armed: bool,
    respawn: bool,
    /// The complaints it is writing.
    complaints: Vec<String>,
}

impl Drop for Writing {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.respawn {
            self.log.hand_over(&[], &self.complaints);
        } else {
            self.log
                .stop_writing("the log's writer stopped", &self.complaints);
        }
    }
}

impl SqlLog {
    /// Writes `pending` with whatever other appends are waiting, in one transaction.
    /// When a writer is free and its complaint is not being written, the caller writes
    /// its own append at once (no task, no hand-off: a lone command pays nothing for
    /// the queue).
    pub(super) async fn write(&self, pending: Pending) -> Result<Written, StoreError> {
        let (reply, answer) = oneshot::channel();
        let alone = {
            let mut state = self.inner.queue.state();
            if state.writers < self.writers() && !state.in_flight.contains(&pending.aggregate_id) {
                state.writers += 1;
                state.in_flight.push(pending.aggregate_id.clone());
                Some(pending)
            } else {
                state.requests.push_back(Request { pending, reply });
                None
            }
        };
        if let Some(pending) = alone {
            let mut turn = Writing {
                log: self.clone(),
                armed: true,
                respawn: true,
                complaints: vec![pending.aggregate_id.clone()],
            };
            let written = self.write_alone(&pending).await;
            if let Ok(Written::Committed) = written {
                self.inner.committed.notify_waiters();
            }
            turn.armed = false;
            let end = pending.after + pending.rows.len() as i64;
            let ends = match written {
                Ok(Written::Committed) => vec![(pending.aggregate_id.clone(), end)],
                _ => Vec::new(),
            };
            self.hand_over(&ends, &turn.complaints);
            return written;
        }
        answer
            .await
            .map_err(|_| StoreError::defect("the log's writer stopped before it answered"))?
    }

    /// How many writers may write at once: one on SQLite (one writer is all it
    /// allows), [`POSTGRES_WRITERS`] on PostgreSQL.
    pub(crate) fn writers(&self) -> usize {
        match self.db().kind {
            BackendKind::Sqlite => 1,
            BackendKind::Postgres => POSTGRES_WRITERS,
        }
    }

    /// Ends a writer's turn, which wrote the appends of `complaints` and whose commits
    /// left complaints where `ends` says: a writer task is started for the appends that
    /// queued meanwhile, if any.
    fn hand_over(&self, ends: &[(String, i64)], complaints: &[String]) {
        let mut state = self.inner.queue.state();
        state.written(complaints);
        refuse_stale(&mut state, ends);
        if state.requests.is_empty() {
            state.writers = state.writers.saturating_sub(1);
            return;
        }
        drop(state);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let turn = Writing {
                    log: self.clone(),
                    armed: true,
                    respawn: false,
                    complaints: Vec::new(),
                };
                runtime.spawn(self.clone().drain(turn));
            }
            // Outside a runtime (a future dropped as its runtime went away) no writer
            // can start: the appends waiting are answered, not left waiting.
            Err(_) => self.stop_writing("no runtime to write the log on", &[]),
        }
    }

    /// Stops a writer, which was writing the appends of `complaints`: every append
    /// waiting is answered as unavailable (nothing of it was written).
    fn stop_writing(&self, why: &str, complaints: &[String]) {
        let waiting: Vec<Request> = {
            let mut state = self.inner.queue.state();
            state.writers = state.writers.saturating_sub(1);
            state.written(complaints);
            state.requests.drain(..).collect()
        };
        for request in waiting {
            let _ = request.reply.send(Err(StoreError::Unavailable {
                reason: format!("{why}; nothing of this command was written"),
                source: None,
            }));
        }
    }

    async fn drain(self, mut turn: Writing) {
        let queue = &self.inner.queue;
        let mut ends = Vec::new();
        loop {
            let batch: Vec<Request> = {
                let mut state = queue.state();
                state.written(&turn.complaints);
                turn.complaints.clear();
                refuse_stale(&mut state, &ends);
                let batch = state.take_batch();
                // Nothing waiting, or only appends of complaints another writer is
                // writing: that writer takes them when it is done.
                if batch.is_empty() {
                    state.writers = state.writers.saturating_sub(1);
                    turn.armed = false;
                    return;
                }
                turn.complaints = batch
                    .iter()
                    .map(|r| r.pending.aggregate_id.clone())
                    .collect();
                batch
            };
            ends = self.write_batch(batch).await;
        }
    }

    /// Writes `batch` and answers each append; returns where each complaint written
    /// now ends.
    async fn write_batch(&self, batch: Vec<Request>) -> Vec<(String, i64)> {
        let mut ends = Vec::new();
        if batch.len() == 1 {
            let Some(request) = batch.into_iter().next() else {
                return ends;
            };
            let written = self.write_alone(&request.pending).await;
            answer(&mut ends, request, written);
            self.committed_now(&ends);
            return ends;
        }
        if self.db().kind == BackendKind::Postgres {
            match self.write_batch_statement(&batch).await {
                Ok(outcomes) => {
                    self.inner.health.transaction_committed();
                    for (request, written) in batch.into_iter().zip(outcomes) {
                        answer(&mut ends, request, Ok(written));
                    }
                }
                // Nothing was written. The database unavailable: each fails with it.
                Err(e) if is_unavailable(&e) => {
                    for request in batch {
                        answer(&mut ends, request, Err(copy_error(&e)));
                    }
                }
                // A statement's failure: each alone, so that one fails alone.
                Err(_) => {
                    for request in batch {
                        let written = self.write_alone(&request.pending).await;
                        answer(&mut ends, request, written);
                    }
                }
            }
            self.committed_now(&ends);
            return ends;
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        let together: Result<(), sqlx::Error> = async {
            let _turn = self.db().writer().await;
            let mut tx = self.db().begin(&self.db().any, None).await?;
            for request in &batch {
                let p = &request.pending;
                let sql = append_script(p);
                let rows = bind_script(p, &sql).fetch_all(&mut *tx).await?;
                outcomes.push(self.judge(p, rows.len() as u64));
            }
            tx.commit().await
        }
        .await;
        match together {
            Ok(()) => {
                self.inner.health.transaction_committed();
                for (request, written) in batch.into_iter().zip(outcomes) {
                    answer(&mut ends, request, Ok(written));
                }
            }
            // Nothing was written. The database unavailable: each fails with it.
            Err(e) if is_unavailable(&e) => {
                for request in batch {
                    answer(&mut ends, request, Err(copy_error(&e)));
                }
            }
            // Nothing was written (a statement failed, or the commit: SQLite commits
            // all or nothing): each alone, so that one fails alone.
            Err(_) => {
                for request in batch {
                    let written = self.write_alone(&request.pending).await;
                    answer(&mut ends, request, written);
                }
            }
        }
        self.committed_now(&ends);
        ends
    }

    /// Wakes the projectors when a write committed, whether or not its callers are
    /// still there to do it.
    fn committed_now(&self, ends: &[(String, i64)]) {
        if !ends.is_empty() {
            self.inner.committed.notify_waiters();
        }
    }

    /// PostgreSQL: a whole batch in one statement, so that a batch costs one round trip
    /// and one commit. Each append's conditions are checked against the log as the
    /// statement starts; two appends of one complaint in a batch both pass them, and the
    /// second's rows then fail the primary key, which fails the statement (and the
    /// caller writes each alone).
    async fn write_batch_statement(&self, batch: &[Request]) -> Result<Vec<Written>, sqlx::Error> {
        let mut n = 2; // $1: the aggregate type, $2: the key file setting's name
        let mut next = |count: usize| {
            let first = n + 1;
            n += count;
            first
        };
        let mut requests = Vec::new();
        let mut rows = Vec::new();
        let mut keys = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            let p = &request.pending;
            // The first row of each list names its columns' types.
            let (int, bool) = if i == 0 {
                ("::int", "::bool")
            } else {
                ("", "")
            };
            let types = ["::text", "::bigint", "::bigint", "::bigint"];
            let at = next(4);
            requests.push(format!(
                "({i}{int}, {}, {}{bool})",
                placeholders(at, if i == 0 { &types } else { &[""; 4] }),
                p.key.is_some(),
            ));
            for _ in &p.rows {
                let (int, types) = if rows.is_empty() {
                    (
                        "::int",
                        ["::bigint", "::text", "::text", "::json", "::json"],
                    )
                } else {
                    ("", ["", "", "", "::json", "::json"])
                };
                rows.push(format!("({i}{int}, {})", placeholders(next(5), &types)));
            }
            if p.key.is_some() {
                let int = if keys.is_empty() { "::int" } else { "" };
                keys.push(format!("({i}{int}, {})", placeholders(next(5), &[""; 5])));
            }
        }
        let (with_keys, keyed) = if keys.is_empty() {
            (String::new(), "FALSE".to_owned())
        } else {
            (
                format!(
                    ", keyv (i, complaint_id, key_id, kek_id, wrapped_key, created_at) AS (VALUES {}), \
                     new_keys AS (INSERT INTO subject_keys (complaint_id, key_id, kek_id, wrapped_key, created_at) \
                     SELECT k.complaint_id, k.key_id, k.kek_id, k.wrapped_key, k.created_at \
                     FROM keyv k JOIN ok USING (i) \
                     WHERE EXISTS (SELECT 1 FROM settings WHERE key = $2 AND value = k.kek_id) \
                     AND NOT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1 \
                     AND aggregate_id = k.complaint_id AND event_type = 'IdentityErased') \
                     ON CONFLICT (complaint_id) DO NOTHING RETURNING complaint_id)",
                    keys.join(", ")
                ),
                "req.aggregate_id IN (SELECT complaint_id FROM new_keys)".to_owned(),
            )
        };
        let sql = format!(
            "WITH req (i, aggregate_id, after, calendar, policy, keyed) AS (VALUES {requests}), \
             new_rows (i, sequence, event_type, event_version, payload, metadata) AS (VALUES {rows}), \
             ok AS (SELECT req.i FROM req WHERE {still_at} \
             AND (req.calendar < 0 OR {settings_newest})){with_keys}, \
             written AS (INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) \
             SELECT $1, req.aggregate_id, r.sequence, r.event_type, r.event_version, r.payload, r.metadata \
             FROM new_rows r JOIN ok USING (i) JOIN req USING (i) \
             WHERE NOT req.keyed OR {keyed} ORDER BY r.i, r.sequence \
             RETURNING aggregate_id, sequence) SELECT aggregate_id, sequence FROM written",
            requests = requests.join(", "),
            rows = rows.join(", "),
            still_at = still_at("$1", "req.aggregate_id", "req.after"),
            settings_newest = settings_newest("req.calendar", "req.policy"),
        );
        let mut q = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(crate::keys::KEK_SETTING);
        let now = crate::timestamp(chrono::Utc::now());
        for request in batch {
            let p = &request.pending;
            let (calendar, policy) = p.guard.map_or((-1, -1), |g| (g.calendar, g.policy));
            q = q
                .bind(&p.aggregate_id)
                .bind(p.after)
                .bind(calendar)
                .bind(policy);
            for row in &p.rows {
                q = q
                    .bind(row.sequence)
                    .bind(&row.event_type)
                    .bind(&row.event_version)
                    .bind(&row.payload)
                    .bind(&row.metadata);
            }
            if let Some(key) = &p.key {
                for value in key.values() {
                    q = q.bind(value);
                }
                q = q.bind(now.clone());
            }
        }
        // Which rows went in, by complaint and sequence: two appends of one complaint in
        // a batch never share a sequence (they would fail the statement), so this names
        // each append's rows alone.
        let written: std::collections::HashSet<(String, i64)> = q
            .persistent(false)
            .fetch_all(&self.db().any)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("aggregate_id")?, row.try_get("sequence")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(batch
            .iter()
            .map(|request| {
                let p = &request.pending;
                let n = p
                    .rows
                    .iter()
                    .filter(|row| written.contains(&(p.aggregate_id.clone(), row.sequence)))
                    .count();
                self.judge(p, n as u64)
            })
            .collect())
    }

    /// One append on its own: one statement, or SQLite's key and events in one
    /// transaction.
    async fn write_alone(&self, p: &Pending) -> Result<Written, StoreError> {
        let kind = self.db().kind;
        let written = if p.one_statement(kind) {
            let sql = events_sql(p, kind);
            let _turn = self.db().writer().await;
            bind_events(sqlx::query(&sql), p, kind)
                .execute(&self.db().any)
                .await
                .map(|done| self.judge(p, done.rows_affected()))
        } else {
            self.write_lone_script(p).await
        };
        if let Ok(Written::Committed) = written {
            self.inner.health.transaction_committed();
        }
        match written {
            Ok(w) => Ok(w),
            Err(e) if is_lost_race(&e) => Ok(Written::Refused),
            Err(e) => Err(e.into()),
        }
    }

    /// SQLite: an append of several statements (a new complaint's key and events) in a
    /// transaction of its own, `BEGIN IMMEDIATE` to `COMMIT` in one script, one round
    /// trip ([`append_script`]), under the process's turn at the writer. An error means
    /// that nothing was written: the transaction did not commit, and its connection is
    /// closed, which rolls back whatever the script left open.
    async fn write_lone_script(&self, p: &Pending) -> Result<Written, sqlx::Error> {
        let sql = format!("BEGIN IMMEDIATE; {}; COMMIT", append_script(p));
        let _turn = self.db().writer().await;
        let mut conn = ScriptConnection(Some(self.db().any.acquire().await?));
        let rows = bind_script(p, &sql).fetch_all(conn.conn()).await?;
        conn.finished();
        Ok(self.judge(p, rows.len() as u64))
    }

    /// What a one-statement append's count of rows means.
    fn judge(&self, p: &Pending, rows: u64) -> Written {
        match (rows == p.rows.len() as u64, &p.key) {
            (true, _) => Written::Committed,
            (false, Some(_)) => Written::KeyRefused,
            (false, None) => Written::Refused,
        }
    }

    /// How many appends wait for the writer or are being written (for tests that hold
    /// a batch back).
    #[cfg(feature = "testing")]
    pub(crate) fn appends_in_hand(&self) -> usize {
        let state = self.inner.queue.state();
        state.requests.len() + state.in_flight.len()
    }

    /// Whether `pending`'s conditions still hold: the complaint ends where it was
    /// decided, and its settings are the newest.
    pub(super) async fn still_current(
        &self,
        context: &LogContext,
        guard: Option<SettingsGuard>,
    ) -> Result<bool, StoreError> {
        let all = conditions("$1", "$2", "$3", guard.map(|_| 4));
        let sql = format!("SELECT 1 AS held WHERE {}", all.join(" AND "));
        let mut q = sqlx::query(&sql)
            .bind(Complaint::TYPE)
            .bind(&context.aggregate_id)
            .bind(i64::try_from(context.sequence).unwrap_or(i64::MAX));
        if let Some(guard) = guard {
            q = q.bind(guard.calendar).bind(guard.policy);
        }
        Ok(q.fetch_optional(&self.db().any).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, after: i64) -> (Request, oneshot::Receiver<Result<Written, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            aggregate_id: id.to_owned(),
            after,
            rows: Vec::new(),
            key: None,
            guard: None,
        };
        (Request { pending, reply }, answer)
    }

    #[test]
    fn a_commit_refuses_at_once_the_appends_it_made_stale_and_keeps_the_others() {
        let mut state = QueueState::default();
        let (stale, mut stale_answer) = request("ADU-1", 3);
        let (fresh, mut fresh_answer) = request("ADU-1", 5);
        let (other, mut other_answer) = request("ADU-2", 3);
        state.requests.extend([stale, fresh, other]);

        refuse_stale(&mut state, &[("ADU-1".to_owned(), 5)]);

        assert!(matches!(stale_answer.try_recv(), Ok(Ok(Written::Refused))));
        let kept: Vec<(String, i64)> = state
            .requests
            .iter()
            .map(|r| (r.pending.aggregate_id.clone(), r.pending.after))
            .collect();
        assert_eq!(kept, [("ADU-1".to_owned(), 5), ("ADU-2".to_owned(), 3)]);
        assert!(fresh_answer.try_recv().is_err(), "still waiting");
        assert!(other_answer.try_recv().is_err(), "still waiting");
    }

    fn ids(requests: &[Request]) -> Vec<&str> {
        requests
            .iter()
            .map(|r| r.pending.aggregate_id.as_str())
            .collect()
    }

    #[test]
    fn a_batch_takes_one_append_a_complaint_and_none_of_a_complaint_being_written() {
        let mut state = QueueState::default();
        state.in_flight.push("ADU-2".to_owned());
        let mut answers = Vec::new();
        for (id, after) in [("ADU-1", 1), ("ADU-2", 1), ("ADU-1", 2), ("ADU-3", 1)] {
            let (r, answer) = request(id, after);
            state.requests.push_back(r);
            answers.push(answer);
        }

        let batch = state.take_batch();

        assert_eq!(ids(&batch), ["ADU-1", "ADU-3"]);
        assert_eq!(
            ids(state.requests.make_contiguous()),
            ["ADU-2", "ADU-1"],
            "in their order"
        );
        assert_eq!(state.in_flight, ["ADU-2", "ADU-1", "ADU-3"]);

        // The other writer is done with ADU-2, this one with its batch: the next batch
        // takes what waited.
        state.written(&["ADU-2".to_owned()]);
        state.written(&["ADU-1".to_owned(), "ADU-3".to_owned()]);
        assert!(state.in_flight.is_empty());
        assert_eq!(ids(&state.take_batch()), ["ADU-2", "ADU-1"]);
        assert!(state.requests.is_empty());
    }

    #[test]
    fn a_batch_of_only_complaints_being_written_is_empty_and_leaves_them_waiting() {
        let mut state = QueueState::default();
        state.in_flight.push("ADU-1".to_owned());
        let (r, _answer) = request("ADU-1", 1);
        state.requests.push_back(r);

        assert!(state.take_batch().is_empty());
        assert_eq!(state.requests.len(), 1, "left for the writer of ADU-1");
        assert_eq!(state.in_flight, ["ADU-1"]);
    }
}
