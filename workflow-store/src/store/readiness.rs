//! Whether this host can take writes now: the write path (a recent commit, or a probe
//! write), every projection (not stalled, not too far behind) and, when asked, the SLA
//! monitor. Judged from [`Health`](crate::health::Health), which is kept in memory so
//! that it can be told when the database can no longer record anything.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Store;
use crate::error::StoreError;

/// What [`Store::readiness`] demands.
#[derive(Clone, Debug)]
pub struct ReadinessPolicy {
    /// A commit confirmed this recently (and no failed write since) proves the write
    /// path without a probe.
    pub recent_commit: Duration,
    /// How long a probe write may take.
    pub probe_timeout: Duration,
    /// A failed commit keeps the write path "not ready" this long even when a probe
    /// write succeeds (a small probe can fit where a command does not, on a full disk);
    /// a confirmed commit clears it at once.
    pub error_hold: Duration,
    /// The most positions a projection may be behind the log's head.
    pub max_lag: u64,
    /// The SLA monitor must have completed a tick this recently; `None` when this host
    /// runs no monitor.
    pub max_tick_age: Option<Duration>,
}

impl Default for ReadinessPolicy {
    fn default() -> Self {
        Self {
            recent_commit: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(3),
            error_hold: Duration::from_secs(10),
            max_lag: 10_000,
            max_tick_age: None,
        }
    }
}

/// One check of [`Readiness`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// `write`, `projection:<name>` or `sla_monitor`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// Whether this host can take writes now, check by check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// Every check passed.
    pub ready: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Store {
    /// A small real write (one settings row, in a write transaction): proves that the
    /// database takes writes now. Recorded in [`Store::health`].
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        self.log.db().writable("a probe write")?;
        let result = async {
            let db = self.log.db();
            let mut tx = db.begin_writing(&db.any).await?;
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind("health_probe")
            .bind(crate::timestamp(Utc::now()))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }
        .await;
        match &result {
            Ok(()) => self.health().probe_succeeded(),
            Err(e) => self.health().probe_failed(e),
        }
        result
    }

    /// Whether this host can take writes now: the write path committed recently or a
    /// probe write succeeds, no projection is stalled on an error or too far behind, and
    /// (when asked) the SLA monitor completed a tick recently.
    pub async fn readiness(&self, policy: &ReadinessPolicy) -> Readiness {
        let mut checks = Vec::new();
        let health = self.health().snapshot();
        let now = Utc::now();
        let fresh = |at: Option<DateTime<Utc>>, age: Duration| {
            at.is_some_and(|at| (now - at).to_std().unwrap_or_default() <= age)
        };
        let failed_since_commit = health.write_failing();
        let held = health
            .last_write_error
            .as_ref()
            .filter(|e| failed_since_commit && fresh(Some(e.at), policy.error_hold));
        let write = if fresh(health.last_commit_at, policy.recent_commit) && !failed_since_commit {
            Check {
                name: "write".into(),
                ok: true,
                detail: "a commit was confirmed recently".into(),
            }
        } else if let Some(e) = held {
            Check {
                name: "write".into(),
                ok: false,
                detail: format!(
                    "a write failed at {}: {}",
                    crate::timestamp(e.at),
                    e.message
                ),
            }
        } else {
            match tokio::time::timeout(policy.probe_timeout, self.probe_write()).await {
                Ok(Ok(())) => Check {
                    name: "write".into(),
                    ok: true,
                    detail: "a probe write was committed".into(),
                },
                Ok(Err(e)) => Check {
                    name: "write".into(),
                    ok: false,
                    detail: format!("a probe write failed: {e}"),
                },
                Err(_) => {
                    let detail = format!(
                        "a probe write did not finish in {} ms",
                        policy.probe_timeout.as_millis()
                    );
                    self.health().probe_failed(&detail);
                    Check {
                        name: "write".into(),
                        ok: false,
                        detail,
                    }
                }
            }
        };
        checks.push(write);
        match self.projector.status().await {
            Ok(statuses) => {
                for p in statuses {
                    let error = health
                        .projection_errors
                        .get(&p.name)
                        .map(|i| i.message.clone())
                        .or(p.last_error.clone());
                    let (ok, detail) = match error {
                        Some(e) if p.lag > 0 => (false, format!("stalled {} behind: {e}", p.lag)),
                        _ if p.lag > policy.max_lag => (
                            false,
                            format!("{} behind the log (at most {})", p.lag, policy.max_lag),
                        ),
                        _ => (true, format!("{} behind the log", p.lag)),
                    };
                    checks.push(Check {
                        name: format!("projection:{}", p.name),
                        ok,
                        detail,
                    });
                }
            }
            Err(e) => checks.push(Check {
                name: "projections".into(),
                ok: false,
                detail: format!("cannot read the checkpoints: {e}"),
            }),
        }
        if let Some(age) = policy.max_tick_age {
            let starting = self.opened.elapsed() <= age;
            // One failed tick is retried at the next interval: the monitor is stalled only
            // when no tick completed within the allowed age (every host ticks against the
            // same database, so one blip must not take them all out of service).
            let (ok, detail) = match (health.last_tick_at, &health.last_tick_error) {
                (at, None) if fresh(at, age) => (true, "ticked recently".to_owned()),
                (at, Some(e)) if fresh(at, age) => (
                    true,
                    format!("ticked recently; the last tick failed: {}", e.message),
                ),
                (None, _) if starting => (true, "starting".to_owned()),
                (_, Some(e)) => (
                    false,
                    format!(
                        "no tick completed in the last {} s; the last failed: {}",
                        age.as_secs(),
                        e.message
                    ),
                ),
                (_, None) => (
                    false,
                    format!("no tick completed in the last {} s", age.as_secs()),
                ),
            };
            checks.push(Check {
                name: "sla_monitor".into(),
                ok,
                detail,
            });
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}
