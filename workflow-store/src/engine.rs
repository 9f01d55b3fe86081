//! The command executor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use workflow_core::{ComplaintId, Sequence};

use cqrs_es::{AggregateContext, EventEnvelope, EventStore};
use workflow_core::{CommandEnvelope, Complaint, ComplaintServices, Status};

use crate::error::StoreError;
use crate::settings::InForce;

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
    /// The version of the holiday calendar the command was judged with (0: the
    /// built-in one), on stores that follow the database's settings.
    pub const CALENDAR_VERSION: &str = "calendar_version";
    /// The version of the SLA policy the command was judged with (0: the built-in one),
    /// on stores that follow the database's settings.
    pub const POLICY_VERSION: &str = "policy_version";
    /// The snapshot of the complaint's state the command was decided on, when it was
    /// loaded from one: `SEQUENCE:SHA256` (the state's sequence and the SHA-256 of its
    /// stored text). `verify` folds the events up to that sequence and compares.
    pub const SNAPSHOT: &str = "snapshot";
    /// The format of that snapshot (see [`crate::SNAPSHOT_EVERY`]).
    pub const SNAPSHOT_FORMAT: &str = "snapshot_format";
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
    pub sequence: Sequence,
    /// How many times the command was tried: 1 unless other writers committed to the
    /// complaint between this call's load and its commit. A registration's first try
    /// on a complaint with no events, made without a load, is not counted unless it
    /// committed (see [`Engine::execute`]).
    pub attempts: u32,
    /// For a retry (a command id seen before): the events the command recorded the
    /// first time, read from the log. Empty otherwise.
    pub recorded_before: Vec<EventEnvelope<Complaint>>,
}

/// How long the engine waits before it tries a command again after another writer
/// committed to the same complaint first. Before retry `n` (1 for the first) it waits a
/// random time between zero and `base · 2^(n-1)`, never more than `cap` ("full jitter"):
/// writers that collided spread out instead of colliding again, and the more often a
/// command collides the longer it may wait. The randomness is the operating system's;
/// it decides only when to retry, never what is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The longest wait before the first retry.
    pub base: Duration,
    /// The longest wait before any retry.
    pub cap: Duration,
}

impl Backoff {
    /// Retry at once, only yielding to other tasks.
    pub const NONE: Backoff = Backoff {
        base: Duration::ZERO,
        cap: Duration::ZERO,
    };

    /// The engine's default: up to 4 ms before the first retry, doubling, at most 200 ms.
    pub const DEFAULT: Backoff = Backoff {
        base: Duration::from_millis(4),
        cap: Duration::from_millis(200),
    };

    /// The longest wait before retry `retry` (1 for the first): `base · 2^(retry-1)`,
    /// at most `cap`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }

    /// The wait before retry `retry`, drawn from `random` (any `u64`): uniform over
    /// zero to [`Backoff::ceiling`] in whole microseconds.
    pub fn delay(&self, retry: u32, random: u64) -> Duration {
        let ceiling = self
            .ceiling(retry)
            .as_micros()
            .min(u128::from(u64::MAX - 1)) as u64;
        Duration::from_micros(random % (ceiling + 1))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A random `u64` for a backoff: from the operating system, or, should it fail, from the
/// clock's nanoseconds (it only spreads retries out; nothing depends on its quality).
fn jitter() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or(0),
    }
}

/// Makes the context of a complaint with no events yet, without reading the store.
type Unread<ES> = fn(&str) -> <ES as EventStore<Complaint>>::AC;

/// Executes complaint commands over any cqrs-es [`EventStore`].
pub struct Engine<ES: EventStore<Complaint>> {
    store: ES,
    services: InForce,
    max_attempts: u32,
    backoff: Backoff,
    read_only: bool,
    /// Where the store can make a new complaint's context without a read: commands
    /// that register a complaint are first decided on it (see [`Engine::execute`]).
    unread: Option<Unread<ES>>,
    /// Told of each command [`Engine::execute_by_clock`] dated at its complaint's latest
    /// event because the clock read more than two seconds earlier (the store's health
    /// counts them).
    clock_behind: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl<ES: EventStore<Complaint>> Engine<ES> {
    /// An engine over `store`, judging deadlines with `services`' calendar and policy.
    pub fn new(store: ES, services: ComplaintServices) -> Self {
        Self::judging_with(store, InForce::fixed(services))
    }

    /// An engine judging with the services in force of its store.
    pub(crate) fn judging_with(store: ES, services: InForce) -> Self {
        Self {
            store,
            services,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::DEFAULT,
            read_only: false,
            unread: None,
            clock_behind: None,
        }
    }

    /// An engine that tells `counted` of each command dated at its complaint's latest
    /// event because the clock read more than two seconds earlier.
    pub(crate) fn counting_clocks_behind(mut self, counted: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.clock_behind = Some(counted);
        self
    }

    /// An engine that decides a command registering a complaint first on `unread`'s
    /// context of a complaint with no events, without reading the store.
    pub(crate) fn registering_unread(mut self, unread: Unread<ES>) -> Self {
        self.unread = Some(unread);
        self
    }

    /// How many times a command is tried by default.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

    /// An engine that refuses every command with [`StoreError::ReadOnly`] (a store
    /// opened read-only).
    pub(crate) fn refusing_commands(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// How many times a command is tried when others commit to the same complaint first
    /// (default [`Engine::DEFAULT_MAX_ATTEMPTS`]). At least 1.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How long to wait between attempts (default [`Backoff::DEFAULT`]).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How many times a command is tried before [`StoreError::Conflict`].
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long the engine waits between attempts.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The calendar and policy the engine judges deadlines with, as last loaded (an
    /// engine following the database's settings commits a command only while they are
    /// the newest, and reloads them when they are not; its sweeps look first).
    pub fn services(&self) -> ComplaintServices {
        self.services.get()
    }

    /// The services in force, reloaded first if they follow the database's settings
    /// and another process changed them.
    pub(crate) async fn fresh_services(&self) -> Result<ComplaintServices, StoreError> {
        self.services.refresh().await
    }

    /// The store underneath.
    pub fn store(&self) -> &ES {
        &self.store
    }

    /// Loads the complaint, lets the domain decide, and commits the events with their
    /// metadata. On an optimistic-lock conflict the whole cycle is repeated from a fresh
    /// load after the [`Backoff`]'s wait, up to the configured attempts; then
    /// [`StoreError::Conflict`].
    ///
    /// On the SQL stores a command that registers a complaint (`Register`, `Import`)
    /// is first decided on a complaint with no events, without reading the log: its
    /// append commits only while the complaint has none, so a complaint registered
    /// already refuses it. Refused there (by the domain, by the append's conditions,
    /// or failed other than with an unavailable database, which is returned), the
    /// command is decided again at once on the complaint as loaded, with the newest
    /// settings, and answered from that alone. That first try is not counted in the
    /// attempts unless it committed.
    pub async fn execute(
        &self,
        complaint_id: &ComplaintId,
        command: CommandEnvelope,
        correlation_id: Option<&str>,
    ) -> Result<Executed, StoreError> {
        self.execute_dated(complaint_id, command, correlation_id, Dating::AsGiven)
            .await
    }

    /// [`Engine::execute`] for a command whose `now` is a clock's reading (a host's,
    /// taken as the request came in) rather than the caller's own account of when it
    /// happened. A complaint's events are in time order, and the domain refuses a
    /// command dated before its complaint's latest event; a clock that reads earlier
    /// than that event (another host's clock ahead of this one's, or this one's set
    /// back) dates the command at the event's instant instead, so that a command is
    /// never refused for the clocks of the hosts on a database. Behind by more than two
    /// seconds, the clock is logged as a warning and counted in the store's health
    /// (`clocks_behind`): check the hosts' clocks.
    pub async fn execute_by_clock(
        &self,
        complaint_id: &ComplaintId,
        command: CommandEnvelope,
        correlation_id: Option<&str>,
    ) -> Result<Executed, StoreError> {
        self.execute_dated(complaint_id, command, correlation_id, Dating::ByClock)
            .await
    }

    async fn execute_dated(
        &self,
        complaint_id: &ComplaintId,
        given: CommandEnvelope,
        correlation_id: Option<&str>,
        dating: Dating,
    ) -> Result<Executed, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly(format!(
                "the store was opened read-only; command {} on complaint {complaint_id} is refused",
                given.command_id.0
            )));
        }
        let base_metadata = metadata_for(&given, correlation_id);
        // A verdict is recorded once: judged with the settings in force when it
        // commits, not with those this process loaded before another one changed them.
        // The events name the versions they were judged with, and the log commits them
        // only while those are the database's newest; otherwise the commit is a
        // conflict, and the next attempt reloads the settings first.
        let follows = self.services.follows();
        let (mut services, mut versions) = self.services.current();
        let mut attempt = 0;
        let mut unread = self.unread.filter(|_| given.command.registers());
        // Whether the try before was the unread one, refused: this one takes its place
        // in the count, and looks for newer settings first (they may be why), as any
        // try after a conflict does.
        let mut after_unread = false;
        // Whether a clock behind the complaint's latest event was told of.
        let mut told = false;
        loop {
            let again = std::mem::take(&mut after_unread);
            if !again {
                attempt += 1;
            }
            if follows && (attempt > 1 || again) {
                (services, versions) = self.services.refresh_current().await?;
            }
            let mut metadata = base_metadata.clone();
            if follows {
                metadata.insert(
                    metadata_keys::CALENDAR_VERSION.to_owned(),
                    versions.calendar.to_string(),
                );
                metadata.insert(
                    metadata_keys::POLICY_VERSION.to_owned(),
                    versions.policy.to_string(),
                );
            }
            let mut context = match unread {
                Some(unread) => unread(complaint_id.as_str()),
                None => self
                    .store
                    .load_aggregate(complaint_id.as_str())
                    .await
                    .map_err(|e| StoreError::from_aggregate(complaint_id.as_str(), e))?,
            };
            let state = context.aggregate();
            let clocked;
            let dated = match dating {
                Dating::ByClock => state.dated_by_clock(given.now),
                Dating::AsGiven => given.now,
            };
            let command = match dated {
                latest if latest > given.now => {
                    // Told once a command, however many attempts it takes.
                    if latest - given.now > CLOCK_SKEW && !std::mem::replace(&mut told, true) {
                        if let Some(counted) = &self.clock_behind {
                            counted();
                        }
                        tracing::warn!(complaint = %complaint_id, clock = %given.now, latest = %latest, "the clock reads earlier than the complaint's latest event by more than the hosts' clocks should differ; the command is dated at that event's instant: check the clocks");
                    }
                    clocked = CommandEnvelope {
                        now: latest,
                        ..given.clone()
                    };
                    &clocked
                }
                _ => &given,
            };
            let (events, status) = match state.decide_with_status(command, &services) {
                Ok(decided) => decided,
                // Refused on a complaint with no events: decided again as loaded.
                Err(_) if unread.take().is_some() => {
                    after_unread = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let loaded = state.events_applied() as usize;
            if events.is_empty() {
                // A seen command id: a retry only if the log shows this same command by
                // this same user; a second read, on retries only.
                let recorded = self.events(complaint_id).await?;
                command.check_retry_of(recorded.iter().map(|e| &e.payload))?;
                return Ok(Executed {
                    events: Vec::new(),
                    status,
                    sequence: Sequence::new(loaded as u64),
                    attempts: attempt,
                    recorded_before: recorded
                        .into_iter()
                        .filter(|e| e.payload.command_id == command.command_id)
                        .collect(),
                });
            }
            // `status` is the state's after the command, for the answer; the context
            // stays as loaded, for the log (which keeps the state with the events as
            // sealed).
            match self.store.commit(events, context, metadata).await {
                Ok(events) => {
                    return Ok(Executed {
                        sequence: Sequence::new((loaded + events.len()) as u64),
                        events,
                        status,
                        attempts: attempt,
                        recorded_before: Vec::new(),
                    })
                }
                // The complaint has events, the settings changed, or the try failed (a
                // key that could not be made, say): decided again at once on the
                // complaint as loaded, with the newest settings. Safe whatever the try
                // left: the loaded log shows its events if it committed, and the
                // command's id then answers it as a retry. An unavailable database is
                // said at once: trying again would wait again.
                Err(e) if unread.take().is_some() => {
                    if !matches!(e, cqrs_es::AggregateError::AggregateConflict) {
                        let e = StoreError::from_aggregate(complaint_id.as_str(), e);
                        if matches!(e, StoreError::Unavailable { .. }) {
                            return Err(e);
                        }
                        tracing::warn!(error = %e, complaint = %complaint_id, "a registration's first try failed; it is decided again on the complaint as loaded");
                    }
                    after_unread = true;
                }
                Err(cqrs_es::AggregateError::AggregateConflict) if attempt < self.max_attempts => {
                    let wait = self.backoff.delay(attempt, jitter());
                    if wait.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                }
                Err(cqrs_es::AggregateError::AggregateConflict) => {
                    return Err(StoreError::Conflict {
                        complaint_id: complaint_id.to_string(),
                        attempts: attempt,
                    })
                }
                Err(e) => return Err(StoreError::from_aggregate(complaint_id.as_str(), e)),
            }
        }
    }

    /// The complaint's events in order, with their metadata.
    pub async fn events(
        &self,
        complaint_id: &ComplaintId,
    ) -> Result<Vec<EventEnvelope<Complaint>>, StoreError> {
        self.store
            .load_events(complaint_id.as_str())
            .await
            .map_err(|e| StoreError::from_aggregate(complaint_id.as_str(), e))
    }

    /// The complaint's state folded from every one of its events, never from a
    /// snapshot: what an audit shows.
    pub async fn replay(&self, complaint_id: &ComplaintId) -> Result<Complaint, StoreError> {
        let events = self.events(complaint_id).await?;
        Ok(Complaint::from_events(events.iter().map(|e| &e.payload)))
    }

    /// The complaint's current state, rebuilt from its events (on the SQL stores, from
    /// the state kept in memory or a snapshot of its state, and the events after it,
    /// where one matches the log). A copy: the state stays kept for the next command.
    pub async fn load(&self, complaint_id: &ComplaintId) -> Result<Complaint, StoreError> {
        let mut context = self
            .store
            .load_aggregate(complaint_id.as_str())
            .await
            .map_err(|e| StoreError::from_aggregate(complaint_id.as_str(), e))?;
        // A copy: the context, dropped, gives its state back to a store that keeps
        // states in memory.
        Ok(context.aggregate().clone())
    }
}

/// How a command's `now` is taken: as the caller gives it, or as a clock's reading
/// (see [`Engine::execute_by_clock`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dating {
    AsGiven,
    ByClock,
}

/// How far behind a complaint's latest event a clock may read before
/// [`Engine::execute_by_clock`] logs it: more than the hosts' clocks should differ.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(4),
            cap: Duration::from_millis(200),
        };
        let ceilings: Vec<u64> = (1..=9).map(|n| b.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [4, 8, 16, 32, 64, 128, 200, 200, 200]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(200));
    }

    #[test]
    fn a_delay_is_anywhere_from_zero_to_the_ceiling() {
        let b = Backoff::DEFAULT;
        assert_eq!(b.delay(3, 0), Duration::ZERO);
        assert_eq!(b.delay(3, 16_000), b.ceiling(3), "the top is reachable");
        assert_eq!(b.delay(3, 16_001), Duration::ZERO, "and wraps round");
        for random in [1, 7_919, u64::MAX, 1 << 40] {
            for retry in 1..12 {
                assert!(b.delay(retry, random) <= b.ceiling(retry));
            }
        }
        assert_eq!(Backoff::NONE.delay(5, u64::MAX), Duration::ZERO);
    }

    #[test]
    fn jitter_varies() {
        let draws: std::collections::BTreeSet<u64> = (0..8).map(|_| jitter()).collect();
        assert!(draws.len() > 1, "{draws:?}");
    }
}
