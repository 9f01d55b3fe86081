//! The auditors' screens (APIP), read-only: a complaint's stored events with their
//! chain hashes, its state as of an instant, the verification of the whole log as a
//! background run with its progress, the signed checkpoint and the export as
//! downloads, and the log of identity reads.
//!
//! Who may see what is the HTTP API's rule, route for route (`http::audit`): the stored
//! events with their hashes for APIP and UPP, the state as of an instant for UPP, APIP
//! and the coordinator, the identity reads and the verification for APIP alone; the
//! checkpoint and the export (the operator's verbs, with no API route) for APIP alone.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError};

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use serde_json::Value;
use workflow_core::sla::{StepAssessment, StepStatus};
use workflow_core::{ComplaintId, Role, TimeZoneSpec};
use workflow_store::audit::{ChainVerifier, ExportFormat, FailureKind, VerifyReport, WalkProgress};
use workflow_store::StoreError;

use super::{agency_zone, error_page, page, zone, Chrome, SignedIn, TokenOnly};
use crate::format::{describe, tanggal, zone_label};
use crate::http::caller::require_role;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::read_model::{ComplainantView, Reader};

/// Who reads a complaint's stored events and hashes (`GET /complaints/{id}/events`).
const TRAIL_ROLES: &[Role] = &[Role::Apip, Role::Upp];
/// Who reads a complaint as of an instant (`GET /complaints/{id}/history`).
const HISTORY_ROLES: &[Role] = &[Role::Upp, Role::Apip, Role::Coordinator];
/// Who reads the identity reads and verifies (`identity-reads`, `audit/verify`), and
/// takes the operator's checkpoint and export.
const AUDITOR: &[Role] = &[Role::Apip];

/// Runs of the verification kept for their pages; the oldest finished one goes first.
pub const RUNS_KEPT: usize = 10;
/// Reads of identities on a page of their log.
const READS_PER_PAGE: u32 = 50;
/// How often a running verification's page reloads itself, in seconds.
const REFRESH_SECONDS: u32 = 2;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/konsol/audit", get(index))
        .route("/konsol/audit/aduan", get(find))
        .route("/konsol/audit/aduan/{id}", get(trail))
        .route("/konsol/audit/aduan/{id}/keadaan", get(as_of))
        .route("/konsol/audit/verifikasi", post(start_verify))
        .route("/konsol/audit/verifikasi/{run}", get(verify_run))
        .route("/konsol/audit/unduh", get(downloads))
        .route("/konsol/audit/unduh/checkpoint.json", get(checkpoint))
        .route("/konsol/audit/unduh/ekspor.jsonl", get(export))
        .route("/konsol/audit/identitas", get(identity_reads))
}

/// What the auditors' screens keep in the process: the runs of the verification (at
/// most ten, one running at a time) and the key that signs checkpoints, if
/// the operator gave one (`serve --signing-key`).
#[derive(Clone, Default)]
pub struct AuditDesk {
    runs: Arc<Mutex<Runs>>,
    signing_key: Option<Arc<SigningKey>>,
}

impl AuditDesk {
    /// A desk whose checkpoints are signed with `key` (none: no checkpoint download).
    pub fn new(signing_key: Option<SigningKey>) -> Self {
        Self {
            runs: Arc::default(),
            signing_key: signing_key.map(Arc::new),
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Runs {
    /// Oldest first.
    kept: VecDeque<Run>,
}

#[derive(Clone)]
struct Run {
    id: String,
    started_at: DateTime<Utc>,
    started_by: String,
    progress: WalkProgress,
    finished: Option<Finished>,
}

#[derive(Clone)]
struct Finished {
    at: DateTime<Utc>,
    outcome: Result<VerifyReport, String>,
}

impl Runs {
    fn running(&self) -> Option<&Run> {
        self.kept.iter().find(|r| r.finished.is_none())
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Run> {
        self.kept.iter_mut().find(|r| r.id == id)
    }

    /// Keeps `run`, letting the oldest finished runs go beyond [`RUNS_KEPT`].
    fn keep(&mut self, run: Run) {
        self.kept.push_back(run);
        while self.kept.len() > RUNS_KEPT {
            match self.kept.iter().position(|r| r.finished.is_some()) {
                Some(oldest) => {
                    self.kept.remove(oldest);
                }
                None => break,
            }
        }
    }
}

/// A path's complaint id, or a 400 page.
fn complaint_id(id: &str) -> Result<ComplaintId, ApiError> {
    id.parse::<ComplaintId>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// An instant as an auditor reads it: `30 November 2026 09:00:05 WIB`.
fn when(at: DateTime<Utc>, zone: &TimeZoneSpec) -> String {
    let t = at.with_timezone(&zone.offset());
    format!(
        "{} {} {}",
        tanggal(t.date_naive()),
        t.format("%H:%M:%S"),
        zone_label(zone)
    )
}

/// A stored instant (the store's text) as an auditor reads it; as stored if unreadable.
fn stored_when(text: &str, zone: &TimeZoneSpec) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|t| when(t.with_timezone(&Utc), zone))
        .unwrap_or_else(|_| text.to_owned())
}

/// The complainant in words, as the page shows them.
fn complainant_words(view: Option<&ComplainantView>) -> String {
    match view {
        Some(ComplainantView::Shown(shown)) => {
            let data = &shown.data;
            [
                Some(data.name.clone()),
                data.phone.clone(),
                data.email.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ")
        }
        Some(ComplainantView::Hidden(_)) => "Identitas disembunyikan (kerahasiaan pelapor)".into(),
        Some(ComplainantView::Erased(_)) => "Identitas dihapus sesuai UU PDP".into(),
        None => "-".into(),
    }
}

/// Records the read when the identity is shown, as the API does.
async fn note_read(
    state: &AppState,
    who: &SignedIn,
    id: &ComplaintId,
    view: Option<&ComplainantView>,
    route: &str,
) -> Result<(), ApiError> {
    if view.is_some_and(ComplainantView::is_shown) {
        state
            .store
            .record_identity_read(&who.actor, id, route, state.now())
            .await?;
    }
    Ok(())
}

/// A query value, percent-encoded for a link.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// The index.

struct RunLink {
    id: String,
    started: String,
    state: String,
}

#[derive(Template)]
#[template(path = "audit_index.html")]
struct IndexPage {
    chrome: Chrome,
    auditor: bool,
    trail: bool,
    runs: Vec<RunLink>,
}

async fn index(State(state): State<AppState>, who: SignedIn) -> Response {
    if let Err(e) = require_role(&who.actor, HISTORY_ROLES, "open the audit screens") {
        return error_page(e);
    }
    let auditor = AUDITOR.contains(&who.actor.role);
    let zone = zone(&state);
    let runs = if auditor {
        state
            .audit
            .runs()
            .kept
            .iter()
            .rev()
            .map(|r| RunLink {
                id: r.id.clone(),
                started: when(r.started_at, &zone),
                state: run_state(r),
            })
            .collect()
    } else {
        Vec::new()
    };
    page(
        StatusCode::OK,
        &IndexPage {
            chrome: who.chrome(),
            auditor,
            trail: TRAIL_ROLES.contains(&who.actor.role),
            runs,
        },
    )
}

fn run_state(r: &Run) -> String {
    match &r.finished {
        None => format!(
            "berjalan: {} dari {} peristiwa",
            r.progress.events, r.progress.total
        ),
        Some(Finished {
            outcome: Ok(report),
            ..
        }) if report.ok() => {
            format!("utuh: {} peristiwa", report.events)
        }
        Some(Finished {
            outcome: Ok(report),
            ..
        }) => {
            format!("RUSAK: {} kegagalan", report.failures_total)
        }
        Some(Finished {
            outcome: Err(_), ..
        }) => "gagal dijalankan".into(),
    }
}

#[derive(Deserialize)]
struct FindQuery {
    #[serde(default)]
    id: String,
}

/// The search box: to the complaint's trail, or its state as of now for those who may
/// not read the stored events.
async fn find(who: SignedIn, Query(q): Query<FindQuery>) -> Response {
    if let Err(e) = require_role(&who.actor, HISTORY_ROLES, "open the audit screens") {
        return error_page(e);
    }
    let id = match complaint_id(q.id.trim()) {
        Ok(id) => id,
        Err(e) => return error_page(e),
    };
    let to = if TRAIL_ROLES.contains(&who.actor.role) {
        format!("/konsol/audit/aduan/{id}")
    } else {
        format!("/konsol/audit/aduan/{id}/keadaan")
    };
    Redirect::to(&to).into_response()
}

// ---------------------------------------------------------------------------------
// "Jejak audit": the stored events with their hashes.

struct TrailRow {
    sequence: i64,
    position: i64,
    at: String,
    recorded_at: String,
    event_type: String,
    event_version: String,
    who: String,
    what: String,
    prev_hash: String,
    hash: String,
    failure: Option<String>,
}

#[derive(Template)]
#[template(path = "audit_jejak.html")]
struct TrailPage {
    chrome: Chrome,
    complaint_id: String,
    title: String,
    status: String,
    complainant: String,
    zone: String,
    rows: Vec<TrailRow>,
    chain_ok: bool,
    chain_words: String,
    date: String,
    time: String,
    policy_zone: String,
}

/// The route a read of an identity on this page is recorded under.
const TRAIL_ROUTE: &str = "GET /konsol/audit/aduan/{id}";
/// The route a read of an identity on the as-of page is recorded under.
const AS_OF_ROUTE: &str = "GET /konsol/audit/aduan/{id}/keadaan";

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Who did an event, from its stored metadata (an adopted event's from its payload).
fn doer(metadata: &Value, payload: &Value) -> String {
    let by = payload.get("by").cloned().unwrap_or(Value::Null);
    let pick = |m: &str, p: &str| {
        let found = text(metadata, m);
        if found.is_empty() {
            text(&by, p)
        } else {
            found
        }
    };
    let (user, role, agency) = (
        pick("actor", "user"),
        pick("role", "role"),
        pick("agency", "agency"),
    );
    if agency.is_empty() {
        format!("{user} ({role})")
    } else {
        format!("{user} ({role}, {agency})")
    }
}

async fn trail(State(state): State<AppState>, who: SignedIn, Path(id): Path<String>) -> Response {
    match trail_page(&state, &who, &id).await {
        Ok(p) => page(StatusCode::OK, &p),
        Err(e) => error_page(e),
    }
}

async fn trail_page(state: &AppState, who: &SignedIn, id: &str) -> Result<TrailPage, ApiError> {
    require_role(&who.actor, TRAIL_ROLES, "read raw events")?;
    let id = complaint_id(id)?;
    let raw = state.store.raw_events(id.as_str()).await?;
    if raw.is_empty() {
        return Err(ApiError::NotFound(format!("complaint {id}")));
    }
    let engine = state.store.engine();
    // Folded from the log itself: an audit does not read through a snapshot.
    let complaint = engine.replay(&id).await?;
    let view =
        ComplainantView::resolve(&state.store, &id, &complaint, Reader::Role(who.actor.role))
            .await?;
    note_read(state, who, &id, view.as_ref(), TRAIL_ROUTE).await?;
    let zone = agency_zone(state, complaint.agency()).await?;
    // What each event did, in words, from the engine's reading of the same events.
    let described: HashMap<i64, String> = engine
        .events(&id)
        .await?
        .iter()
        .map(|e| (e.sequence as i64, describe(&e.payload, &zone)))
        .collect();
    // This complaint's chain, checked as `aduan verify` checks it.
    let mut verifier = ChainVerifier::new();
    for e in &raw {
        verifier.push(e);
    }
    let (report, _) = verifier.finish();
    let failures: HashMap<i64, String> = report
        .failures
        .iter()
        .map(|f| (f.sequence, failure_words(&f.kind)))
        .collect();
    let rows = raw
        .iter()
        .map(|e| {
            let metadata = e.metadata.clone().unwrap_or(Value::Null);
            let payload = e.payload.clone().unwrap_or(Value::Null);
            let at = payload
                .get("at")
                .and_then(Value::as_str)
                .map(|t| stored_when(t, &zone))
                .unwrap_or_default();
            TrailRow {
                sequence: e.sequence,
                position: e.position,
                at,
                recorded_at: stored_when(&e.recorded_at, &zone),
                event_type: e.event_type.clone(),
                event_version: e.event_version.clone(),
                who: doer(&metadata, &payload),
                what: described.get(&e.sequence).cloned().unwrap_or_default(),
                prev_hash: text(&metadata, "prev_hash"),
                hash: text(&metadata, "hash"),
                failure: failures.get(&e.sequence).cloned(),
            }
        })
        .collect();
    let chain_words = match report.first_failure() {
        None => format!(
            "Rantai hash aduan ini utuh: {} peristiwa, setiap hash dan tautan sesuai.",
            report.events
        ),
        Some(first) => format!(
            "Rantai hash aduan ini RUSAK: {} kegagalan; yang pertama pada urutan {}: {}.",
            report.failures_total,
            first.sequence,
            failure_words(&first.kind)
        ),
    };
    let policy = super::zone(state);
    let now = state.now().with_timezone(&policy.offset());
    Ok(TrailPage {
        chrome: who.chrome(),
        complaint_id: id.to_string(),
        title: complaint
            .registration()
            .map(|r| r.title.clone())
            .unwrap_or_default(),
        status: complaint.status().to_string(),
        complainant: complainant_words(view.as_ref()),
        zone: zone_label(&zone),
        rows,
        chain_ok: report.ok(),
        chain_words,
        date: now.format("%Y-%m-%d").to_string(),
        time: now.format("%H:%M").to_string(),
        policy_zone: zone_label(&policy),
    })
}

/// What is wrong with an event, in words, with the hashes that differ in full.
fn failure_words(kind: &FailureKind) -> String {
    match kind {
        FailureKind::Unreadable { reason } => format!("unreadable: tidak terbaca ({reason})"),
        FailureKind::Missing => "missing: peristiwa dengan urutan ini hilang (dihapus)".into(),
        FailureKind::OutOfOrder => "out_of_order: urutan tidak berurutan atau berulang".into(),
        FailureKind::BrokenLink { expected, found } => format!(
            "broken_link: prev_hash {found} bukan hash peristiwa sebelumnya {expected} \
             (ada peristiwa yang disisipkan, dihapus atau dipindah)"
        ),
        FailureKind::HashMismatch { computed, stored } => format!(
            "hash_mismatch: isi yang tersimpan menghasilkan hash {computed}, bukan hash \
             tersimpan {stored} (isi atau metadata diubah)"
        ),
        FailureKind::TruncatedSinceCheckpoint => {
            "truncated_since_checkpoint: dijamin checkpoint, kini hilang".into()
        }
        FailureKind::DiffersFromCheckpoint { checkpoint, log } => format!(
            "differs_from_checkpoint: checkpoint menjamin hash {checkpoint}, log kini {log}"
        ),
        FailureKind::NotInCheckpoint => {
            "not_in_checkpoint: di dalam posisi checkpoint tetapi tidak dijaminnya".into()
        }
        FailureKind::SnapshotDiffers { reason } => format!(
            "snapshot_differs: snapshot keadaan pengaduan tidak sesuai dengan peristiwanya \
             ({reason}); snapshot yang tersimpan bukan bagian dari log dan boleh dihapus, \
             tetapi peristiwa yang diputuskan berdasarkan snapshot itu tetap ada dan perlu \
             ditinjau"
        ),
    }
}

// ---------------------------------------------------------------------------------
// "Keadaan per tanggal": the state as of an instant.

#[derive(Deserialize)]
struct AsOfQuery {
    #[serde(default)]
    tanggal: String,
    #[serde(default)]
    jam: String,
}

struct ClockRow {
    step: String,
    occurrence: u32,
    started: String,
    due: String,
    status: &'static str,
    status_class: &'static str,
}

struct EventRow {
    sequence: usize,
    when: String,
    by: String,
    event: String,
    what: String,
}

#[derive(Template)]
#[template(path = "audit_keadaan.html")]
struct AsOfPage {
    chrome: Chrome,
    complaint_id: String,
    trail: bool,
    date: String,
    time: String,
    policy_zone: String,
    as_of: String,
    status: String,
    agency: Option<String>,
    complainant: String,
    zone: String,
    clocks: Vec<ClockRow>,
    timeline: Vec<EventRow>,
    shown: usize,
    total: usize,
}

fn clock_words(a: &StepAssessment) -> (&'static str, &'static str) {
    match a.status {
        StepStatus::OnTrack => ("Sesuai jadwal", "aman"),
        StepStatus::AtRisk => ("Hampir jatuh tempo", "rawan"),
        StepStatus::Breached => ("Terlambat", "terlambat"),
        StepStatus::Paused => ("Menunggu pelapor", "jeda"),
        StepStatus::Done if a.late => ("Selesai, terlambat", "terlambat"),
        StepStatus::Done => ("Selesai tepat waktu", "aman"),
        StepStatus::Elapsed => ("Waktu habis", "jeda"),
    }
}

async fn as_of(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> Response {
    match as_of_page(&state, &who, &id, &q).await {
        Ok(p) => page(StatusCode::OK, &p),
        Err(e) => error_page(e),
    }
}

/// The instant of the form, read in the policy's zone, to the end of the minute (or
/// second) it names, so that "10:00" holds what happened at 10:00; the end of the day
/// without a time; now when the form is empty.
fn instant(
    q: &AsOfQuery,
    policy: &TimeZoneSpec,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    if q.tanggal.trim().is_empty() && q.jam.trim().is_empty() {
        return Ok(now);
    }
    let date = NaiveDate::parse_from_str(q.tanggal.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("tanggal `{}` bukan YYYY-MM-DD", q.tanggal)))?;
    let jam = q.jam.trim();
    let end_of = |h: u32, m: u32, s: u32| NaiveTime::from_hms_nano_opt(h, m, s, 999_999_999);
    let time = if jam.is_empty() {
        end_of(23, 59, 59)
    } else if let Ok(t) = NaiveTime::parse_from_str(jam, "%H:%M:%S") {
        end_of(t.hour(), t.minute(), t.second())
    } else if let Ok(t) = NaiveTime::parse_from_str(jam, "%H:%M") {
        end_of(t.hour(), t.minute(), 59)
    } else {
        None
    }
    .ok_or_else(|| ApiError::BadRequest(format!("jam `{}` bukan HH:MM", q.jam)))?;
    policy
        .offset()
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::BadRequest("no such instant".into()))
}

async fn as_of_page(
    state: &AppState,
    who: &SignedIn,
    id: &str,
    q: &AsOfQuery,
) -> Result<AsOfPage, ApiError> {
    require_role(&who.actor, HISTORY_ROLES, "read a complaint's history")?;
    let id = complaint_id(id)?;
    let policy = zone(state);
    let as_of = instant(q, &policy, state.now())?;
    // The API's history: the log alone, no view.
    let h = state.store.history(&id, as_of).await?;
    let view =
        ComplainantView::resolve(&state.store, &id, &h.state, Reader::Role(who.actor.role)).await?;
    note_read(state, who, &id, view.as_ref(), AS_OF_ROUTE).await?;
    let zone = agency_zone(state, h.state.agency()).await?;
    let clocks = h
        .sla
        .iter()
        .map(|a| {
            let (status, status_class) = clock_words(a);
            ClockRow {
                step: a.step.to_string(),
                occurrence: a.occurrence,
                started: when(a.started_at, &zone),
                due: tanggal(a.due_date),
                status,
                status_class,
            }
        })
        .collect();
    let timeline = h
        .events
        .iter()
        .map(|e| EventRow {
            sequence: e.sequence,
            when: when(e.payload.at, &zone),
            by: match &e.payload.by.agency {
                Some(a) => format!("{} ({}, {a})", e.payload.by.user, e.payload.by.role),
                None => format!("{} ({})", e.payload.by.user, e.payload.by.role),
            },
            event: e.payload.body.event_type().to_owned(),
            what: describe(&e.payload, &zone),
        })
        .collect();
    let local = as_of.with_timezone(&policy.offset());
    Ok(AsOfPage {
        chrome: who.chrome(),
        complaint_id: id.to_string(),
        trail: TRAIL_ROLES.contains(&who.actor.role),
        date: local.format("%Y-%m-%d").to_string(),
        time: local.format("%H:%M").to_string(),
        policy_zone: zone_label(&policy),
        as_of: when(as_of, &policy),
        status: h.state.status().to_string(),
        agency: h.state.agency().map(ToString::to_string),
        complainant: complainant_words(view.as_ref()),
        zone: zone_label(&zone),
        clocks,
        timeline,
        shown: h.events.len(),
        total: h.total_events,
    })
}

// ---------------------------------------------------------------------------------
// The verification of the whole log, in the background.

/// Starts a verification (or shows the one running) and sends to its page.
async fn start_verify(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<TokenOnly>,
) -> Response {
    if let Err(refused) = who.check(&form.csrf) {
        return error_page(refused);
    }
    if let Err(e) = require_role(&who.actor, AUDITOR, "verify the log") {
        return error_page(e);
    }
    let id = {
        let mut runs = state.audit.runs();
        if let Some(running) = runs.running() {
            return Redirect::to(&format!("/konsol/audit/verifikasi/{}", running.id))
                .into_response();
        }
        let id = super::fresh_key();
        runs.keep(Run {
            id: id.clone(),
            started_at: state.now(),
            started_by: who.actor.user.0.clone(),
            progress: WalkProgress {
                events: 0,
                total: 0,
            },
            finished: None,
        });
        id
    };
    let desk = state.audit.clone();
    let store = Arc::clone(&state.store);
    let clock = Arc::clone(&state.clock);
    let run = id.clone();
    tokio::spawn(async move {
        let outcome = store
            .verify(None, None, |p| {
                if let Some(r) = desk.runs().get_mut(&run) {
                    r.progress = p;
                }
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "a verification from the console failed");
                e.to_string()
            });
        if let Some(r) = desk.runs().get_mut(&run) {
            r.finished = Some(Finished {
                at: clock(),
                outcome,
            });
        }
    });
    Redirect::to(&format!("/konsol/audit/verifikasi/{id}")).into_response()
}

struct FailureRow {
    complaint_id: String,
    sequence: i64,
    words: String,
}

#[derive(Template)]
#[template(path = "audit_verifikasi.html")]
struct VerifyPage {
    chrome: Chrome,
    refresh: Option<u32>,
    started: String,
    started_by: String,
    running: bool,
    checked: u64,
    total: u64,
    finished: String,
    ok: Option<bool>,
    summary: String,
    failures: Vec<FailureRow>,
    failures_total: u64,
    error: Option<String>,
}

async fn verify_run(
    State(state): State<AppState>,
    who: SignedIn,
    Path(run): Path<String>,
) -> Response {
    if let Err(e) = require_role(&who.actor, AUDITOR, "verify the log") {
        return error_page(e);
    }
    let Some(r) = state
        .audit
        .runs()
        .kept
        .iter()
        .find(|r| r.id == run)
        .cloned()
    else {
        return error_page(ApiError::NotFound(format!(
            "verification run {run} (only the last {RUNS_KEPT} are kept)"
        )));
    };
    let zone = zone(&state);
    let mut p = VerifyPage {
        chrome: who.chrome(),
        refresh: None,
        started: when(r.started_at, &zone),
        started_by: r.started_by.clone(),
        running: r.finished.is_none(),
        checked: r.progress.events,
        total: r.progress.total,
        finished: String::new(),
        ok: None,
        summary: String::new(),
        failures: Vec::new(),
        failures_total: 0,
        error: None,
    };
    match &r.finished {
        None => p.refresh = Some(REFRESH_SECONDS),
        Some(done) => {
            p.finished = when(done.at, &zone);
            match &done.outcome {
                Ok(report) => {
                    p.ok = Some(report.ok());
                    p.checked = report.events;
                    p.total = report.events;
                    p.summary = format!(
                        "{} peristiwa dari {} aduan diperiksa, sampai posisi {}.",
                        report.events, report.complaints, report.head_position
                    );
                    p.failures_total = report.failures_total;
                    p.failures = report
                        .failures
                        .iter()
                        .take(100)
                        .map(|f| FailureRow {
                            complaint_id: f.complaint_id.clone(),
                            sequence: f.sequence,
                            words: failure_words(&f.kind),
                        })
                        .collect();
                }
                Err(e) => p.error = Some(e.clone()),
            }
        }
    }
    page(StatusCode::OK, &p)
}

// ---------------------------------------------------------------------------------
// Downloads: the signed checkpoint and the export.

#[derive(Template)]
#[template(path = "audit_unduh.html")]
struct DownloadsPage {
    chrome: Chrome,
    public_key: Option<String>,
}

async fn downloads(State(state): State<AppState>, who: SignedIn) -> Response {
    if let Err(e) = require_role(
        &who.actor,
        AUDITOR,
        "download the checkpoint and the export",
    ) {
        return error_page(e);
    }
    page(
        StatusCode::OK,
        &DownloadsPage {
            chrome: who.chrome(),
            public_key: state
                .audit
                .signing_key
                .as_ref()
                .map(|k| workflow_store::chain::hex(k.verifying_key().as_bytes())),
        },
    )
}

/// A file to save: its name, type and the console's headers.
fn attachment(response: &mut Response, name: &str, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::CONSOLE_POLICY),
    );
}

/// A signed checkpoint of the log as it is now, as `aduan checkpoint` writes it.
async fn checkpoint(State(state): State<AppState>, who: SignedIn) -> Response {
    if let Err(e) = require_role(&who.actor, AUDITOR, "download a checkpoint") {
        return error_page(e);
    }
    let Some(key) = state.audit.signing_key.clone() else {
        return error_page(ApiError::NotFound(
            "no signing key: the operator starts `aduan serve --signing-key FILE` to sign \
             checkpoints here, or takes them with `aduan checkpoint`"
                .into(),
        ));
    };
    let now = state.now();
    match state.store.checkpoint(&key, now, |_| {}).await {
        Ok(cp) => match serde_json::to_string_pretty(&cp) {
            Ok(text) => {
                let mut response = (text + "\n").into_response();
                attachment(
                    &mut response,
                    &format!("checkpoint-{}.json", now.format("%Y%m%dT%H%M%SZ")),
                    "application/json",
                );
                response
            }
            Err(e) => error_page(ApiError::Internal(e.to_string())),
        },
        Err(StoreError::ChainBroken(first)) => error_page(ApiError::Rule {
            rule: "audit.chain_broken".into(),
            detail: format!("the log does not verify, so no checkpoint is signed; first: {first}"),
        }),
        Err(e) => error_page(e.into()),
    }
}

#[derive(Deserialize)]
struct ExportQuery {
    #[serde(default)]
    aduan: String,
}

/// The log, or one complaint, as JSON Lines (`aduan export`), written to a file no one
/// else can open and streamed from it: memory stays bounded whatever the log's size.
async fn export(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<ExportQuery>,
) -> Response {
    match export_file(&state, &who, &q).await {
        Ok((file, name)) => {
            let mut response = Body::from_stream(chunks(file)).into_response();
            attachment(&mut response, &name, "application/x-ndjson");
            response
        }
        Err(e) => error_page(e),
    }
}

async fn export_file(
    state: &AppState,
    who: &SignedIn,
    q: &ExportQuery,
) -> Result<(std::fs::File, String), ApiError> {
    require_role(&who.actor, AUDITOR, "download the export")?;
    let complaint = match q.aduan.trim() {
        "" => None,
        id => Some(complaint_id(id)?),
    };
    // The log holds identities sealed; a registration written before sealing holds one
    // in plain, and an export cannot leave it out without breaking the chain. Such an
    // export stays with the operator.
    let plain: Vec<String> = state
        .store
        .plain_identities()
        .await?
        .into_iter()
        .map(|p| p.complaint_id)
        .filter(|c| complaint.as_ref().is_none_or(|id| id.as_str() == c))
        .collect();
    if !plain.is_empty() {
        return Err(ApiError::Rule {
            rule: "audit.plain_identity_in_log".into(),
            detail: format!(
                "the log holds the complainant's identity in plain in the registration of {} \
                 (written before identities were sealed); an export would carry it, so it is \
                 not offered here: ask the operator for `aduan export`",
                plain.join(", ")
            ),
        });
    }
    let path = std::env::temp_dir().join(format!("aduan-ekspor-{}.jsonl", super::fresh_key()));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
    // Gone from the folder at once; the open file lives until the answer is sent.
    let _ = std::fs::remove_file(&path);
    let mut writer = std::io::BufWriter::new(file);
    let n = state
        .store
        .export(
            complaint.as_ref().map(ComplaintId::as_str),
            ExportFormat::Jsonl,
            &mut writer,
            |_| {},
        )
        .await?;
    let mut file = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    file.flush()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    std::io::Seek::rewind(&mut file).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(id) = &complaint {
        if n == 0 {
            return Err(ApiError::NotFound(format!("complaint {id}")));
        }
    }
    let name = match &complaint {
        Some(id) => format!("ekspor-{id}.jsonl"),
        None => format!("ekspor-{}.jsonl", state.now().format("%Y%m%dT%H%M%SZ")),
    };
    Ok((file, name))
}

/// A file read in chunks on the blocking pool.
fn chunks(file: std::fs::File) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::try_unfold(Some(file), |file| async move {
        let Some(mut file) = file else {
            return Ok(None);
        };
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await
        .map_err(std::io::Error::other)??;
        if chunk.is_empty() {
            Ok(None)
        } else {
            Ok(Some((Bytes::from(chunk), Some(file))))
        }
    })
}

// ---------------------------------------------------------------------------------
// The log of identity reads.

#[derive(Deserialize)]
struct ReadsQuery {
    #[serde(default)]
    aduan: String,
    #[serde(default)]
    pembaca: String,
    #[serde(default)]
    halaman: String,
}

struct ReadRow {
    at: String,
    user: String,
    role: String,
    complaint_id: String,
    via: String,
}

#[derive(Template)]
#[template(path = "audit_identitas.html")]
struct ReadsPage {
    chrome: Chrome,
    complaint: String,
    reader: String,
    zone: String,
    rows: Vec<ReadRow>,
    page_number: u32,
    first_number: u64,
    previous: Option<String>,
    next: Option<String>,
}

async fn identity_reads(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<ReadsQuery>,
) -> Response {
    match reads_page(&state, &who, &q).await {
        Ok(p) => page(StatusCode::OK, &p),
        Err(e) => error_page(e),
    }
}

async fn reads_page(
    state: &AppState,
    who: &SignedIn,
    q: &ReadsQuery,
) -> Result<ReadsPage, ApiError> {
    require_role(&who.actor, AUDITOR, "read the identity access log")?;
    let complaint = match q.aduan.trim() {
        "" => None,
        id => Some(complaint_id(id)?),
    };
    let reader = q.pembaca.trim();
    let page_number = match q.halaman.trim() {
        "" => 1,
        n => n
            .parse::<u32>()
            .map_err(|_| ApiError::BadRequest(format!("halaman `{n}` bukan bilangan")))?
            .max(1),
    };
    let offset = u64::from(page_number - 1) * u64::from(READS_PER_PAGE);
    let mut reads = state
        .store
        .identity_read_log(
            complaint.as_ref(),
            (!reader.is_empty()).then_some(reader),
            offset,
            READS_PER_PAGE + 1,
        )
        .await?;
    let more = reads.len() > READS_PER_PAGE as usize;
    reads.truncate(READS_PER_PAGE as usize);
    let zone = zone(state);
    let link = |n: u32| {
        format!(
            "/konsol/audit/identitas?aduan={}&pembaca={}&halaman={n}",
            encode(complaint.as_ref().map_or("", ComplaintId::as_str)),
            encode(reader)
        )
    };
    Ok(ReadsPage {
        chrome: who.chrome(),
        complaint: complaint
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        reader: reader.to_owned(),
        zone: zone_label(&zone),
        rows: reads
            .into_iter()
            .map(|r| ReadRow {
                at: stored_when(&r.read_at, &zone),
                user: r.user,
                role: r.role,
                complaint_id: r.complaint_id,
                via: r.via,
            })
            .collect(),
        page_number,
        first_number: offset + 1,
        previous: (page_number > 1).then(|| link(page_number - 1)),
        next: more.then(|| link(page_number.saturating_add(1))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, finished: bool) -> Run {
        Run {
            id: id.to_owned(),
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            started_by: "auditor".into(),
            progress: WalkProgress {
                events: 0,
                total: 0,
            },
            finished: finished.then(|| Finished {
                at: DateTime::<Utc>::UNIX_EPOCH,
                outcome: Ok(VerifyReport::default()),
            }),
        }
    }

    /// At most [`RUNS_KEPT`] runs are kept, the oldest finished going first; a running
    /// one is never let go, and is the one a second start is sent to.
    #[test]
    fn runs_are_bounded_and_one_runs_at_a_time() {
        let mut runs = Runs::default();
        runs.keep(run("running", false));
        for i in 0..(RUNS_KEPT + 5) {
            runs.keep(run(&format!("done-{i}"), true));
        }
        assert_eq!(runs.kept.len(), RUNS_KEPT);
        assert_eq!(runs.running().map(|r| r.id.as_str()), Some("running"));
        assert_eq!(runs.kept[1].id, "done-6", "the oldest finished went first");
        assert_eq!(runs.kept.back().map(|r| r.id.as_str()), Some("done-14"));
        assert!(runs.get_mut("done-0").is_none());
    }

    /// A running verification's page says how far it is and reloads itself (the
    /// console's script, after a link that reloads by hand: a meta refresh fails
    /// WCAG 2.2.1); a finished one's does not.
    #[test]
    fn a_running_verification_reloads_itself_until_done() {
        let running = VerifyPage {
            chrome: Chrome::anonymous(),
            refresh: Some(REFRESH_SECONDS),
            started: "1 Desember 2026 10:00:00 WIB".into(),
            started_by: "auditor".into(),
            running: true,
            checked: 3000,
            total: 12000,
            finished: String::new(),
            ok: None,
            summary: String::new(),
            failures: Vec::new(),
            failures_total: 0,
            error: None,
        };
        let html = running.render().unwrap();
        assert!(
            html.contains("data-muat-ulang=\"2\">Perbarui sekarang</a>"),
            "{html}"
        );
        assert!(!html.contains("http-equiv"), "{html}");
        assert!(
            html.contains("3000 dari 12000 peristiwa diperiksa"),
            "{html}"
        );
        assert!(
            html.contains("<progress max=\"12000\" value=\"3000\""),
            "{html}"
        );
        // Nothing inline: no script of its own, no style attribute.
        assert!(
            !html.contains("<script>") && !html.contains("style="),
            "{html}"
        );
        let done = VerifyPage {
            refresh: None,
            running: false,
            ok: Some(true),
            ..running
        };
        let html = done.render().unwrap();
        assert!(!html.contains("data-muat-ulang"), "{html}");
        assert!(html.contains("Log utuh"), "{html}");
    }
}
