//! What the store knows about its own health: the outcome of every commit, side write,
//! projection batch and SLA monitor tick, kept in memory so that it can be told even
//! when the database can no longer record anything (a full disk, a read-only file
//! system, a server gone).
//!
//! [`Store::readiness`](crate::Store::readiness) judges from it whether this host can
//! take writes now.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// An error and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// When.
    pub at: DateTime<Utc>,
    /// What, as the store's error said it.
    pub message: String,
}

impl Incident {
    fn now(err: &dyn std::fmt::Display) -> Self {
        Self {
            at: Utc::now(),
            message: err.to_string(),
        }
    }
}

/// Whether this host hears of other hosts' commits: on PostgreSQL, each append sends a
/// notification the running projector listens for (it polls as well, so views still
/// follow other hosts while it cannot listen, only later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listening {
    /// Listening since then.
    Since(DateTime<Utc>),
    /// Not listening since then: its first session is being made, or its last one
    /// ended (for a session that went silent, since it was last heard). It tries again
    /// every second; [`HealthSnapshot::last_listen_error`] says what failed.
    NotSince(DateTime<Utc>),
}

#[derive(Debug, Default)]
struct Recent {
    last_commit_at: Option<DateTime<Utc>>,
    last_write_error: Option<Incident>,
    last_side_write_error: Option<Incident>,
    projection_errors: BTreeMap<String, Incident>,
    last_tick_at: Option<DateTime<Utc>>,
    last_tick_error: Option<Incident>,
    other_hosts: Option<Listening>,
    /// The token of the listener that tells `other_hosts`.
    listener: u64,
    last_listen_error: Option<Incident>,
}

/// Counters and the latest incidents of one store (one host process).
#[derive(Debug, Default)]
pub struct Health {
    commits: AtomicU64,
    transactions: AtomicU64,
    commit_failures: AtomicU64,
    side_write_failures: AtomicU64,
    projection_failures: AtomicU64,
    tick_failures: AtomicU64,
    snapshot_loads: AtomicU64,
    database_loads: AtomicU64,
    snapshots_refused: AtomicU64,
    kept_loads: AtomicU64,
    kept_states_dropped: AtomicU64,
    clocks_behind: AtomicU64,
    listen_failures: AtomicU64,
    recent: Mutex<Recent>,
}

/// A copy of [`Health`] at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Commits confirmed by the database since the start.
    pub commits: u64,
    /// Transactions of the log that committed commands: fewer than `commits` when
    /// commands arriving together shared one (group commit).
    pub transactions: u64,
    /// Commits that failed for a reason other than a concurrent writer (unavailable,
    /// full, I/O, outcome unknown).
    pub commit_failures: u64,
    /// Side writes after a commit (the answer kept for an idempotency key, a snapshot of
    /// the complaint's state) that failed; the command was acknowledged all the same.
    pub side_write_failures: u64,
    /// Projection batches that failed.
    pub projection_failures: u64,
    /// SLA monitor ticks that failed.
    pub tick_failures: u64,
    /// Complaints loaded from a snapshot of their state and the events after it.
    pub snapshot_loads: u64,
    /// Complaints loaded from the database alone, no state of theirs kept in memory
    /// (from a snapshot and the events after it, or from every event), for a command
    /// or a read of one complaint (`Engine::load`). A registration of a new complaint
    /// through `Engine::execute` loads none.
    pub database_loads: u64,
    /// Snapshots found and not used: the event they summarise is gone or no longer
    /// carries their chain head, or their state does not read or counts other events
    /// than their sequence. The complaint was loaded from all its events instead;
    /// anything other than zero is worth a look (`aduan verify`).
    pub snapshots_refused: u64,
    /// Complaints loaded from the state this store last loaded or committed them in,
    /// kept in memory, and the events after it (see
    /// [`crate::StoreOptions::kept_states`]).
    pub kept_loads: u64,
    /// Kept states found and not used: the event they were kept at is gone or no
    /// longer carries their chain head. The complaint was loaded from the database
    /// instead; anything other than zero means the log changed under this process
    /// (a database restored from a backup, or edited): worth a look (`aduan verify`).
    pub kept_states_dropped: u64,
    /// Commands dated by a clock that read more than two seconds earlier than their
    /// complaint's latest event, and dated at that event instead (counted once a call,
    /// also when the command is then refused)
    /// ([`crate::Engine::execute_by_clock`]): the clocks of the hosts on the database
    /// differ by more than they should, or one was set back. Anything but zero is worth
    /// a look at the hosts' time synchronisation.
    pub clocks_behind: u64,
    /// The last commit the database confirmed.
    pub last_commit_at: Option<DateTime<Utc>>,
    /// The last failed commit or write probe.
    pub last_write_error: Option<Incident>,
    /// The last failed side write.
    pub last_side_write_error: Option<Incident>,
    /// The last error of each projection, until a batch of it succeeds again.
    pub projection_errors: BTreeMap<String, Incident>,
    /// The last SLA monitor tick that completed.
    pub last_tick_at: Option<DateTime<Utc>>,
    /// The last SLA monitor tick that failed, until one succeeds again.
    pub last_tick_error: Option<Incident>,
    /// Whether the running projector listens for other hosts' commits (PostgreSQL);
    /// `None` on SQLite, where every writer is in this process, and while no projector
    /// runs.
    pub other_hosts: Option<Listening>,
    /// Sessions of that listener that could not be made, failed, were ended by the
    /// server, or went silent and were given up, since the start.
    pub listen_failures: u64,
    /// The last of those failures (kept after it listens again, like the other last
    /// errors here).
    pub last_listen_error: Option<Incident>,
}

impl HealthSnapshot {
    /// Whether the last write attempt (a commit or a probe) failed: no success since
    /// the last failure.
    pub fn write_failing(&self) -> bool {
        match (&self.last_write_error, self.last_commit_at) {
            (Some(err), Some(ok)) => err.at >= ok,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

impl Health {
    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        let mut r = self.recent();
        r.last_commit_at = Some(Utc::now());
    }

    /// A transaction of the log that carried commands committed.
    pub(crate) fn transaction_committed(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn commit_failed(&self, err: &dyn std::fmt::Display) {
        self.commit_failures.fetch_add(1, Ordering::Relaxed);
        self.recent().last_write_error = Some(Incident::now(err));
    }

    pub(crate) fn probe_succeeded(&self) {
        self.recent().last_commit_at = Some(Utc::now());
    }

    pub(crate) fn probe_failed(&self, err: &dyn std::fmt::Display) {
        self.recent().last_write_error = Some(Incident::now(err));
    }

    /// Records a failed side write after a commit (the host's kept answers): logged,
    /// counted and shown, never turned into a failure of the committed command.
    pub fn side_write_failed(&self, err: &StoreError) {
        self.side_write_failures.fetch_add(1, Ordering::Relaxed);
        self.recent().last_side_write_error = Some(Incident::now(err));
    }

    pub(crate) fn loaded_from_database(&self) {
        self.database_loads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn loaded_from_snapshot(&self) {
        self.snapshot_loads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot_refused(&self) {
        self.snapshots_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn loaded_from_kept_state(&self) {
        self.kept_loads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn kept_state_dropped(&self) {
        self.kept_states_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn clock_behind(&self) {
        self.clocks_behind.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn projection_failed(&self, name: &str, err: &StoreError) {
        self.projection_failures.fetch_add(1, Ordering::Relaxed);
        self.recent()
            .projection_errors
            .insert(name.to_owned(), Incident::now(err));
    }

    pub(crate) fn projection_succeeded(&self, name: &str) {
        let mut r = self.recent();
        if r.projection_errors.contains_key(name) {
            r.projection_errors.remove(name);
        }
    }

    pub(crate) fn tick_succeeded(&self) {
        let mut r = self.recent();
        r.last_tick_at = Some(Utc::now());
        r.last_tick_error = None;
    }

    pub(crate) fn tick_failed(&self, err: &dyn std::fmt::Display) {
        self.tick_failures.fetch_add(1, Ordering::Relaxed);
        self.recent().last_tick_error = Some(Incident::now(err));
    }

    /// The projector's listener for other hosts' commits started (no session yet);
    /// what it tells from then on is told with the token returned, so that a listener
    /// still stopping does not speak for the one that replaced it.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // only PostgreSQL listens
    pub(crate) fn listener_started(&self) -> u64 {
        let mut r = self.recent();
        r.listener = r.listener.wrapping_add(1);
        r.other_hosts = Some(Listening::NotSince(Utc::now()));
        r.listener
    }

    /// The listener `token` listens on a new session.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // only PostgreSQL listens
    pub(crate) fn listening(&self, token: u64) {
        let mut r = self.recent();
        if r.listener == token {
            r.other_hosts = Some(Listening::Since(Utc::now()));
        }
    }

    /// A session of the listener `token` could not be made (`lost_at` `None`: it was
    /// not listening before either), or was listening until `lost_at` and ended,
    /// failed or went silent.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // only PostgreSQL listens
    pub(crate) fn listen_failed(&self, token: u64, err: &str, lost_at: Option<DateTime<Utc>>) {
        self.listen_failures.fetch_add(1, Ordering::Relaxed);
        let mut r = self.recent();
        r.last_listen_error = Some(Incident::now(&err));
        if r.listener != token {
            return;
        }
        let since = match (lost_at, r.other_hosts) {
            (Some(at), _) => at,
            (None, Some(Listening::NotSince(since))) => since,
            (None, _) => Utc::now(),
        };
        r.other_hosts = Some(Listening::NotSince(since));
    }

    /// The listener `token` stopped with its projector.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // only PostgreSQL listens
    pub(crate) fn listener_stopped(&self, token: u64) {
        let mut r = self.recent();
        if r.listener == token {
            r.other_hosts = None;
        }
    }

    /// The counters and incidents now.
    pub fn snapshot(&self) -> HealthSnapshot {
        let r = self.recent();
        HealthSnapshot {
            commits: self.commits.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            commit_failures: self.commit_failures.load(Ordering::Relaxed),
            side_write_failures: self.side_write_failures.load(Ordering::Relaxed),
            projection_failures: self.projection_failures.load(Ordering::Relaxed),
            tick_failures: self.tick_failures.load(Ordering::Relaxed),
            snapshot_loads: self.snapshot_loads.load(Ordering::Relaxed),
            database_loads: self.database_loads.load(Ordering::Relaxed),
            snapshots_refused: self.snapshots_refused.load(Ordering::Relaxed),
            kept_loads: self.kept_loads.load(Ordering::Relaxed),
            kept_states_dropped: self.kept_states_dropped.load(Ordering::Relaxed),
            clocks_behind: self.clocks_behind.load(Ordering::Relaxed),
            last_commit_at: r.last_commit_at,
            last_write_error: r.last_write_error.clone(),
            last_side_write_error: r.last_side_write_error.clone(),
            projection_errors: r.projection_errors.clone(),
            last_tick_at: r.last_tick_at,
            last_tick_error: r.last_tick_error.clone(),
            other_hosts: r.other_hosts,
            listen_failures: self.listen_failures.load(Ordering::Relaxed),
            last_listen_error: r.last_listen_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A projector stopped and another started at once: the old listener, still
    /// stopping, neither clears nor overwrites what the new one tells.
    #[test]
    fn a_listener_that_was_replaced_does_not_speak_for_the_new_one() {
        let health = Health::default();
        assert_eq!(health.snapshot().other_hosts, None);
        let old = health.listener_started();
        health.listening(old);
        let new = health.listener_started();
        assert_ne!(old, new);
        health.listening(old);
        health.listener_stopped(old);
        let Some(Listening::NotSince(started)) = health.snapshot().other_hosts else {
            panic!("{:?}", health.snapshot().other_hosts)
        };
        health.listen_failed(new, "refused", None);
        health.listen_failed(old, "the old one's last word", Some(Utc::now()));
        let failed = health.snapshot();
        assert_eq!(failed.listen_failures, 2, "each failure is counted");
        assert_eq!(
            failed.other_hosts,
            Some(Listening::NotSince(started)),
            "not listening since it started"
        );
        health.listening(new);
        assert!(matches!(
            health.snapshot().other_hosts,
            Some(Listening::Since(_))
        ));
        health.listener_stopped(new);
        assert_eq!(health.snapshot().other_hosts, None);
    }

    /// A session that listened and was lost is not listening since it was lost; a
    /// session that then cannot be made keeps that time; the last failure stays told
    /// once it listens again.
    #[test]
    fn not_listening_since_the_session_was_lost() {
        let health = Health::default();
        let token = health.listener_started();
        health.listening(token);
        let lost_at = Utc::now() - chrono::Duration::seconds(30);
        health.listen_failed(token, "went silent", Some(lost_at));
        assert_eq!(
            health.snapshot().other_hosts,
            Some(Listening::NotSince(lost_at))
        );
        health.listen_failed(token, "refused", None);
        let refused = health.snapshot();
        assert_eq!(refused.other_hosts, Some(Listening::NotSince(lost_at)));
        assert_eq!(refused.last_listen_error.unwrap().message, "refused");
        health.listening(token);
        let again = health.snapshot();
        assert!(matches!(again.other_hosts, Some(Listening::Since(at)) if at > lost_at));
        assert_eq!(again.last_listen_error.unwrap().message, "refused");
        assert_eq!(again.listen_failures, 2);
    }
}
