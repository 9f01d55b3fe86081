//! Health for load balancers and operators: `/health/live` (the process answers),
//! `/health/ready` (this host can take writes now), `/health` (the store answers, with
//! each projection's place and error) and `/metrics` (Prometheus text).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use utoipa::ToSchema;
use workflow_core::{Role, Sequence};
use workflow_store::health::{HealthSnapshot, Incident, Listening};
use workflow_store::Position;

use super::caller::{bearer, require_role};
use super::error::ApiError;
use super::{AppState, Caller};

/// The last failure of a kind.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IncidentAnswer {
    /// When.
    pub at: String,
    /// What.
    pub message: String,
}

fn incident(i: &Option<Incident>) -> Option<IncidentAnswer> {
    i.as_ref().map(|i| IncidentAnswer {
        at: workflow_store::timestamp(i.at),
        message: i.message.clone(),
    })
}

/// The write path's counters and last errors, since the process started.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WriteHealth {
    /// Commits the database confirmed.
    pub commits: u64,
    /// Commits that failed.
    pub commit_failures: u64,
    /// Side writes after a commit that failed (the command was acknowledged).
    pub side_write_failures: u64,
    /// Projection batches that failed.
    pub projection_failures: u64,
    /// SLA monitor ticks that failed.
    pub sla_tick_failures: u64,
    /// The last confirmed commit or probe write.
    pub last_commit_at: Option<String>,
    /// The last failed write.
    pub last_write_error: Option<IncidentAnswer>,
    /// The last failed side write.
    pub last_side_write_error: Option<IncidentAnswer>,
    /// The SLA monitor's last completed tick.
    pub last_sla_tick_at: Option<String>,
    /// The SLA monitor's last failure.
    pub last_sla_tick_error: Option<IncidentAnswer>,
}

impl From<&HealthSnapshot> for WriteHealth {
    fn from(h: &HealthSnapshot) -> Self {
        Self {
            commits: h.commits,
            commit_failures: h.commit_failures,
            side_write_failures: h.side_write_failures,
            projection_failures: h.projection_failures,
            sla_tick_failures: h.tick_failures,
            last_commit_at: h.last_commit_at.map(workflow_store::timestamp),
            last_write_error: incident(&h.last_write_error),
            last_side_write_error: incident(&h.last_side_write_error),
            last_sla_tick_at: h.last_tick_at.map(workflow_store::timestamp),
            last_sla_tick_error: incident(&h.last_tick_error),
        }
    }
}

/// A complaint a projection set aside on an event it cannot read.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ParkedAnswer {
    /// The complaint.
    pub complaint_id: String,
    /// The event's position.
    #[schema(value_type = i64)]
    pub position: Position,
    /// Its sequence.
    #[schema(value_type = u64)]
    pub sequence: Sequence,
    /// Why it cannot be read.
    pub reason: String,
}

/// Where a projection stands.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProjectionHealth {
    /// The projection.
    pub name: String,
    /// The last position applied.
    #[schema(value_type = i64)]
    pub position: Position,
    /// Positions behind the log.
    pub lag: u64,
    /// The last error, until a batch succeeds again.
    pub last_error: Option<String>,
    /// Complaints it set aside.
    pub parked: Vec<ParkedAnswer>,
}

/// How this host hears of other hosts' commits on one PostgreSQL database: its
/// projector listens for the notification each append sends (and polls as well, so
/// its views follow other hosts' commits while it cannot listen, only later).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OtherHostsHealth {
    /// Whether it listens now.
    pub listening: bool,
    /// Since when it listens, or does not (for a session that went silent, since it
    /// was last heard).
    pub since: String,
    /// Sessions of the listener that could not be made, failed, were ended by the
    /// server, or went silent and were given up, since the host started.
    pub failures: u64,
    /// The last of those failures, kept after it listens again.
    pub last_error: Option<IncidentAnswer>,
}

impl OtherHostsHealth {
    fn of(h: &HealthSnapshot) -> Option<Self> {
        let (listening, since) = match h.other_hosts? {
            Listening::Since(at) => (true, at),
            Listening::NotSince(at) => (false, at),
        };
        Some(Self {
            listening,
            since: workflow_store::timestamp(since),
            failures: h.listen_failures,
            last_error: incident(&h.last_listen_error),
        })
    }
}

/// What the health routes show in place of a failure's own words to a caller without
/// a `system` or `coordinator` token: those words (a database driver's message,
/// a file's path, a host's name, a reason an event could not be read) are for the
/// operators, and a health route answers anyone.
pub const WITHHELD: &str = "withheld: shown with a system or coordinator token";

/// Whether the caller of a health route is shown the failures' own words: a valid
/// `system` or `coordinator` token, the roles that may read the metrics. The token is
/// looked up without recording its use (a read, which a writer holding SQLite's lock
/// does not stall; it still takes one of the pool's connections), for at most 2 s,
/// beside the route's own work. Any other caller, a token
/// that cannot be checked in time included, is answered without them, never refused: a
/// load balancer's probe carries no token.
async fn shows_details(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(token) = bearer(headers) else {
        return false;
    };
    match tokio::time::timeout(
        Duration::from_secs(2),
        state.store.identify(token, state.now()),
    )
    .await
    {
        Ok(Ok(Some(actor))) => matches!(actor.role, Role::System | Role::Coordinator),
        _ => false,
    }
}

impl IncidentAnswer {
    fn withheld(self) -> Self {
        Self {
            message: WITHHELD.into(),
            ..self
        }
    }
}

impl WriteHealth {
    fn withheld(self) -> Self {
        Self {
            last_write_error: self.last_write_error.map(IncidentAnswer::withheld),
            last_side_write_error: self.last_side_write_error.map(IncidentAnswer::withheld),
            last_sla_tick_error: self.last_sla_tick_error.map(IncidentAnswer::withheld),
            ..self
        }
    }
}

impl HealthAnswer {
    /// The answer without the failures' own words (see [`WITHHELD`]).
    fn withheld(self) -> Self {
        Self {
            projections: self
                .projections
                .into_iter()
                .map(|p| ProjectionHealth {
                    last_error: p.last_error.map(|_| WITHHELD.into()),
                    parked: p
                        .parked
                        .into_iter()
                        .map(|x| ParkedAnswer {
                            reason: WITHHELD.into(),
                            ..x
                        })
                        .collect(),
                    ..p
                })
                .collect(),
            write: self.write.withheld(),
            other_hosts: self.other_hosts.map(|o| OtherHostsHealth {
                last_error: o.last_error.map(IncidentAnswer::withheld),
                ..o
            }),
            ..self
        }
    }
}

/// `GET /health`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HealthAnswer {
    /// `ok` while the store answers reads.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Each projection.
    pub projections: Vec<ProjectionHealth>,
    /// The write path.
    pub write: WriteHealth,
    /// Whether this host hears other hosts' commits (PostgreSQL); `null` on SQLite,
    /// where every writer is in this process, and while no projector runs (before it
    /// starts, as the host stops).
    pub other_hosts: Option<OtherHostsHealth>,
}

/// Store reachability, projections' lag, errors and parked complaints, and whether this host hears other hosts' commits (anyone; the failures' own words with a system or coordinator token).
///
/// 200 while the store answers reads, with the write path's counters and last error,
/// and on PostgreSQL whether the projector listens for other hosts' commits;
/// `/health/ready` says whether it takes writes. Without a `system` or `coordinator`
/// token the failures' own words (errors' messages, parked complaints' reasons) read
/// `withheld: shown with a system or coordinator token`; their times, counts and the
/// complaints concerned are shown to anyone.
#[utoipa::path(get, path = "/api/v1/health", tag = "service",
    responses((status = 200, body = HealthAnswer), (status = 503)))]
pub async fn health(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<HealthAnswer>, ApiError> {
    let (details, answer) = tokio::join!(shows_details(&headers, &state), health_answer(&state));
    // A 503's problem says only that the store is unavailable, to anyone (the reason
    // goes to the host's log).
    let answer = answer?;
    Ok(Json(if details { answer } else { answer.withheld() }))
}

async fn health_answer(state: &AppState) -> Result<HealthAnswer, ApiError> {
    let projections =
        tokio::time::timeout(Duration::from_secs(5), state.store.projector().status())
            .await
            .map_err(|_| ApiError::Unavailable("the store did not answer in 5 s".into()))??;
    let parked = tokio::time::timeout(Duration::from_secs(5), state.store.projector().parked())
        .await
        .map_err(|_| ApiError::Unavailable("the store did not answer in 5 s".into()))??;
    let snapshot = state.store.health().snapshot();
    Ok(HealthAnswer {
        status: "ok".into(),
        backend: format!("{:?}", state.store.backend()).to_lowercase(),
        projections: projections
            .iter()
            .map(|p| ProjectionHealth {
                name: p.name.clone(),
                position: p.position,
                lag: p.lag,
                last_error: snapshot
                    .projection_errors
                    .get(&p.name)
                    .map(|i| i.message.clone())
                    .or(p.last_error.clone()),
                parked: parked
                    .iter()
                    .filter(|x| x.projection == p.name)
                    .map(|x| ParkedAnswer {
                        complaint_id: x.complaint_id.clone(),
                        position: x.position,
                        sequence: x.sequence,
                        reason: x.reason.clone(),
                    })
                    .collect(),
            })
            .collect(),
        write: WriteHealth::from(&snapshot),
        other_hosts: OtherHostsHealth::of(&snapshot),
    })
}

/// `GET /health/live`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LiveAnswer {
    /// Always `live`.
    pub status: String,
}

/// The process is alive and answering (anyone); touches no database.
#[utoipa::path(get, path = "/api/v1/health/live", tag = "service",
    responses((status = 200, body = LiveAnswer)))]
pub async fn live() -> Json<LiveAnswer> {
    Json(LiveAnswer {
        status: "live".into(),
    })
}

/// One check of readiness.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CheckAnswer {
    /// `write`, `projection:<name>`, `projections`, `sla_monitor` or `store`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// `GET /health/ready`, with 200 and with 503.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReadyAnswer {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Each check.
    pub checks: Vec<CheckAnswer>,
    /// The write path.
    pub write: WriteHealth,
}

/// Whether this host can take writes now; 200 `ready` or 503 `not_ready` (anyone; a failure's own words with a system or coordinator token).
///
/// Ready when a commit was confirmed recently or a probe write succeeds, no projection
/// is stalled on an error or too far behind, and the SLA monitor ticks. A 503 carries
/// `Retry-After`; each check is named with what was seen. Without a `system` or
/// `coordinator` token the failures' own words in a check's detail (after the
/// engine's own) and the write path's errors read
/// `withheld: shown with a system or coordinator token`.
#[utoipa::path(get, path = "/api/v1/health/ready", tag = "service",
    responses((status = 200, body = ReadyAnswer),
              (status = 503, description = "Not ready: the same report, with Retry-After", body = ReadyAnswer)))]
pub async fn ready(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (details, readiness) = tokio::join!(
        shows_details(&headers, &state),
        tokio::time::timeout(
            Duration::from_secs(10),
            state.store.readiness(&state.readiness),
        )
    );
    let write = WriteHealth::from(&state.store.health().snapshot());
    let body = Json(ready_answer(readiness.ok(), write, details));
    let ready = body.status == "ready";
    if ready {
        body.into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, super::error::RETRY_AFTER_SECONDS)],
            body,
        )
            .into_response()
    }
}

/// The readiness answer: the store's checks (`None`: it did not answer in time), with
/// the failures' own words for a caller shown them (`details`) and without otherwise.
fn ready_answer(
    readiness: Option<workflow_store::Readiness>,
    write: WriteHealth,
    details: bool,
) -> ReadyAnswer {
    let Some(readiness) = readiness else {
        return ReadyAnswer {
            status: "not_ready".into(),
            checks: vec![CheckAnswer {
                name: "store".into(),
                ok: false,
                detail: "the store did not answer in 10 s".into(),
            }],
            write: if details { write } else { write.withheld() },
        };
    };
    ReadyAnswer {
        status: if readiness.ready {
            "ready"
        } else {
            "not_ready"
        }
        .into(),
        checks: readiness
            .checks
            .iter()
            .map(|c| CheckAnswer {
                name: c.name.clone(),
                ok: c.ok,
                detail: if details {
                    c.detail.clone()
                } else {
                    c.detail_without_incident(WITHHELD)
                },
            })
            .collect(),
        write: if details { write } else { write.withheld() },
    }
}

/// Prometheus metrics (system, coordinator; anyone with `serve --metrics-public`).
///
/// OpenMetrics text: commits and their failures, side-write, projection and SLA-tick
/// failures, seconds since the last commit and tick, projection lag, parked complaints,
/// notifications in the outbox by state and channel; on PostgreSQL, whether the
/// projector listens for other hosts' commits and how often its sessions failed.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "service",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String),
              (status = 401), (status = 403)))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !state.metrics_public {
        let Caller(caller) = Caller::from_headers(&headers, &state).await?;
        require_role(
            &caller,
            &[Role::System, Role::Coordinator],
            "read the metrics",
        )?;
    }
    let h = state.store.health().snapshot();
    let mut registry = Registry::with_prefix("aduan");
    let counter = |n: u64| {
        let c: Counter = Counter::default();
        c.inc_by(n);
        c
    };
    registry.register(
        "commits",
        "Commits the database confirmed",
        counter(h.commits),
    );
    registry.register(
        "log_transactions",
        "Transactions that committed commands (fewer than commits when commands shared one)",
        counter(h.transactions),
    );
    registry.register(
        "commit_failures",
        "Commits that failed (unavailable, full, I/O, outcome unknown)",
        counter(h.commit_failures),
    );
    registry.register(
        "side_write_failures",
        "Side writes after a commit that failed (the command was acknowledged)",
        counter(h.side_write_failures),
    );
    registry.register(
        "snapshot_loads",
        "Complaints loaded from a snapshot of their state and the events after it",
        counter(h.snapshot_loads),
    );
    registry.register(
        "database_loads",
        "Complaints loaded from the database alone, no state of theirs kept in memory (a new complaint's registration loads none)",
        counter(h.database_loads),
    );
    registry.register(
        "snapshots_refused",
        "Snapshots not used because they did not match the log (the complaint was loaded from every event)",
        counter(h.snapshots_refused),
    );
    registry.register(
        "kept_loads",
        "Complaints loaded from the state kept in memory since this host last loaded or changed them, and the events after it",
        counter(h.kept_loads),
    );
    registry.register(
        "kept_states_dropped",
        "Kept states not used because the log no longer matched them (the complaint was loaded from the database)",
        counter(h.kept_states_dropped),
    );
    registry.register(
        "clocks_behind",
        "Commands dated at their complaint's latest event because the clock read more than two seconds earlier (hosts' clocks apart, or one set back)",
        counter(h.clocks_behind),
    );
    registry.register(
        "projection_failures",
        "Projection batches that failed",
        counter(h.projection_failures),
    );
    registry.register(
        "sla_tick_failures",
        "SLA monitor ticks that failed",
        counter(h.tick_failures),
    );
    let age = |at: Option<chrono::DateTime<chrono::Utc>>| {
        let g: Gauge = Gauge::default();
        g.set(at.map_or(-1, |at| (chrono::Utc::now() - at).num_seconds()));
        g
    };
    registry.register(
        "seconds_since_last_commit",
        "Seconds since the last confirmed commit or probe write (-1: none yet)",
        age(h.last_commit_at),
    );
    registry.register(
        "seconds_since_last_sla_tick",
        "Seconds since the SLA monitor last completed a tick (-1: none yet)",
        age(h.last_tick_at),
    );
    let write_error: Gauge = Gauge::default();
    write_error.set(i64::from(h.write_failing()));
    registry.register(
        "write_failing",
        "1 while the last write attempt failed",
        write_error,
    );
    if state.store.backend() == workflow_store::BackendKind::Postgres {
        let listening: Gauge = Gauge::default();
        listening.set(i64::from(matches!(
            h.other_hosts,
            Some(Listening::Since(_))
        )));
        registry.register(
            "other_hosts_listening",
            "1 while the projector listens for other hosts' commits (PostgreSQL; it polls meanwhile)",
            listening,
        );
        registry.register(
            "listen_failures",
            "Sessions of the listener for other hosts' commits that could not be made, failed, were ended by the server, or went silent",
            counter(h.listen_failures),
        );
    }
    let lag = Family::<Vec<(String, String)>, Gauge>::default();
    let parked = Family::<Vec<(String, String)>, Gauge>::default();
    if let Ok(statuses) = state.store.projector().status().await {
        let parked_rows = state.store.projector().parked().await.unwrap_or_default();
        for p in statuses {
            let labels = vec![("projection".to_owned(), p.name.clone())];
            lag.get_or_create(&labels)
                .set(i64::try_from(p.lag).unwrap_or(i64::MAX));
            let n = parked_rows
                .iter()
                .filter(|x| x.projection == p.name)
                .count();
            parked
                .get_or_create(&labels)
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "projection_lag",
        "Positions a projection is behind the log",
        lag,
    );
    registry.register(
        "projection_parked_complaints",
        "Complaints a projection set aside on an event it cannot read",
        parked,
    );
    let outbox = Family::<Vec<(String, String)>, Gauge>::default();
    if let Ok(counts) = state.store.outbox_counts().await {
        for (delivery, channel, n) in counts {
            outbox
                .get_or_create(&vec![
                    ("state".to_owned(), delivery.as_str().to_owned()),
                    ("channel".to_owned(), channel.as_str().to_owned()),
                ])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "outbox_messages",
        "Notifications in the outbox by state (pending, sent, dead, skipped) and channel",
        outbox,
    );
    let mut text = String::new();
    encode(&mut text, &registry).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "error returned from database: /srv/secret/aduan.db";

    fn incident() -> Option<IncidentAnswer> {
        Some(IncidentAnswer {
            at: "2026-12-03T10:00:00Z".into(),
            message: SECRET.into(),
        })
    }

    fn write() -> WriteHealth {
        WriteHealth {
            commits: 7,
            commit_failures: 1,
            side_write_failures: 1,
            projection_failures: 1,
            sla_tick_failures: 1,
            last_commit_at: None,
            last_write_error: incident(),
            last_side_write_error: incident(),
            last_sla_tick_at: None,
            last_sla_tick_error: incident(),
        }
    }

    /// Every free text of a failure in the health answer is withheld, each where it
    /// stood; numbers, times and ids stay.
    #[test]
    fn a_withheld_health_answer_holds_no_failures_words() {
        let answer = HealthAnswer {
            status: "ok".into(),
            backend: "postgres".into(),
            projections: vec![ProjectionHealth {
                name: "complaints".into(),
                position: Position::new(9),
                lag: 3,
                last_error: Some(SECRET.into()),
                parked: vec![ParkedAnswer {
                    complaint_id: "ADU-1".into(),
                    position: Position::new(4),
                    sequence: Sequence::new(2),
                    reason: SECRET.into(),
                }],
            }],
            write: write(),
            other_hosts: Some(OtherHostsHealth {
                listening: false,
                since: "2026-12-03T10:00:00Z".into(),
                failures: 2,
                last_error: incident(),
            }),
        };
        let shown = serde_json::to_string(&answer).unwrap();
        assert_eq!(shown.matches(SECRET).count(), 6, "{shown}");
        let withheld = serde_json::to_string(&answer.withheld()).unwrap();
        assert!(!withheld.contains("secret"), "{withheld}");
        assert_eq!(withheld.matches(WITHHELD).count(), 6, "{withheld}");
        for kept in ["\"lag\":3", "\"ADU-1\"", "\"failures\":2", "\"commits\":7"] {
            assert!(withheld.contains(kept), "{kept} in {withheld}");
        }
    }

    /// A readiness check keeps the engine's own words for anyone, and its failure's
    /// words, wherever they stand (also in a check that passed, as a tick that failed
    /// before one that did not), for the callers shown them.
    #[test]
    fn a_readiness_answer_withholds_the_failures_words_of_every_check() {
        let readiness = || {
            let store_check = |name: &str, ok: bool, detail: &str, incident: Option<&str>| {
                workflow_store::Check {
                    name: name.into(),
                    ok,
                    detail: detail.into(),
                    incident: incident.map(str::to_owned),
                }
            };
            workflow_store::Readiness {
                ready: false,
                checks: vec![
                    store_check(
                        "write",
                        false,
                        &format!("a probe write failed: {SECRET}"),
                        Some(SECRET),
                    ),
                    store_check("projection:complaints", true, "0 behind the log", None),
                    store_check(
                        "sla_monitor",
                        true,
                        &format!("ticked recently; the last tick failed: {SECRET}"),
                        Some(SECRET),
                    ),
                ],
            }
        };
        let shown = serde_json::to_string(&ready_answer(Some(readiness()), write(), true)).unwrap();
        assert_eq!(shown.matches(SECRET).count(), 5, "{shown}");
        let answer = ready_answer(Some(readiness()), write(), false);
        let withheld = serde_json::to_string(&answer).unwrap();
        assert!(!withheld.contains("secret"), "{withheld}");
        let details: Vec<&str> = answer.checks.iter().map(|c| c.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                format!("a probe write failed: {WITHHELD}").as_str(),
                "0 behind the log",
                format!("ticked recently; the last tick failed: {WITHHELD}").as_str(),
            ]
        );
        assert_eq!(answer.status, "not_ready");
    }
}
