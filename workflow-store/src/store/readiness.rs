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
    /// `write`, `projection:<name>`, `projections` or `sla_monitor`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// The failure's own words that `detail` ends with, after `": "` (a message from
    /// the database or the engine: a path, a host's name, a role), if it has any; the
    /// rest of `detail` is the engine's own fixed words.
    pub incident: Option<String>,
}

impl Check {
    fn seen(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok,
            detail: detail.into(),
            incident: None,
        }
    }

    /// A check whose detail is `words: incident`.
    fn failed_with(name: impl Into<String>, ok: bool, words: &str, incident: String) -> Self {
        Self {
            name: name.into(),
            ok,
            detail: format!("{words}: {incident}"),
            incident: Some(incident),
        }
    }

    /// `detail` with the failure's own words, if any, replaced by `placeholder`: what a
    /// caller not trusted with them is shown.
    pub fn detail_without_incident(&self, placeholder: &str) -> String {
        match &self.incident {
            Some(incident) => match self.detail.strip_suffix(incident.as_str()) {
                Some(words) => format!("{words}{placeholder}"),
                None => placeholder.to_owned(),
            },
            None => self.detail.clone(),
        }
    }
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
            Check::seen("write", true, "a commit was confirmed recently")
        } else if let Some(e) = held {
            Check::failed_with(
                "write",
                false,
                &format!("a write failed at {}", crate::timestamp(e.at)),
                e.message.clone(),
            )
        } else {
            match tokio::time::timeout(policy.probe_timeout, self.probe_write()).await {
                Ok(Ok(())) => Check::seen("write", true, "a probe write was committed"),
                Ok(Err(e)) => {
                    Check::failed_with("write", false, "a probe write failed", e.to_string())
                }
                Err(_) => {
                    let detail = format!(
                        "a probe write did not finish in {} ms",
                        policy.probe_timeout.as_millis()
                    );
                    self.health().probe_failed(&detail);
                    Check::seen("write", false, detail)
                }
            }
        };
        checks.push(write);
        match self.projector.status().await {
            Ok(statuses) => {
                for p in statuses {
                    let name = format!("projection:{}", p.name);
                    let error = health
                        .projection_errors
                        .get(&p.name)
                        .map(|i| i.message.clone())
                        .or(p.last_error.clone());
                    checks.push(match error {
                        Some(e) if p.lag > 0 => {
                            Check::failed_with(name, false, &format!("stalled {} behind", p.lag), e)
                        }
                        _ if p.lag > policy.max_lag => Check::seen(
                            name,
                            false,
                            format!("{} behind the log (at most {})", p.lag, policy.max_lag),
                        ),
                        _ => Check::seen(name, true, format!("{} behind the log", p.lag)),
                    });
                }
            }
            Err(e) => checks.push(Check::failed_with(
                "projections",
                false,
                "cannot read the checkpoints",
                e.to_string(),
            )),
        }
        if let Some(age) = policy.max_tick_age {
            let starting = self.opened.elapsed() <= age;
            // One failed tick is retried at the next interval: the monitor is stalled only
            // when no tick completed within the allowed age (every host ticks against the
            // same database, so one blip must not take them all out of service).
            let name = "sla_monitor";
            checks.push(match (health.last_tick_at, &health.last_tick_error) {
                (at, None) if fresh(at, age) => Check::seen(name, true, "ticked recently"),
                (at, Some(e)) if fresh(at, age) => Check::failed_with(
                    name,
                    true,
                    "ticked recently; the last tick failed",
                    e.message.clone(),
                ),
                (None, _) if starting => Check::seen(name, true, "starting"),
                (_, Some(e)) => Check::failed_with(
                    name,
                    false,
                    &format!(
                        "no tick completed in the last {} s; the last failed",
                        age.as_secs()
                    ),
                    e.message.clone(),
                ),
                (_, None) => Check::seen(
                    name,
                    false,
                    format!("no tick completed in the last {} s", age.as_secs()),
                ),
            });
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn a_checks_detail_without_its_incident_keeps_the_engines_words_only() {
        let failed = Check::failed_with(
            "write",
            false,
            "a write failed at 2026-12-03T10:00:00Z",
            "error returned from database: /srv/aduan.db: disk I/O error".into(),
        );
        assert_eq!(
            failed.detail,
            "a write failed at 2026-12-03T10:00:00Z: error returned from database: /srv/aduan.db: disk I/O error"
        );
        assert_eq!(
            failed.detail_without_incident("withheld"),
            "a write failed at 2026-12-03T10:00:00Z: withheld"
        );
        let seen = Check::seen("projection:complaints", true, "0 behind the log");
        assert_eq!(seen.detail_without_incident("withheld"), "0 behind the log");
        // A detail changed by hand so that it no longer ends with its incident: nothing
        // of it is shown.
        let edited = Check {
            detail: "something else".into(),
            ..failed
        };
        assert_eq!(edited.detail_without_incident("withheld"), "withheld");
    }
}
