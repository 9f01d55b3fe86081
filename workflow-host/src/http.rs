//! The HTTP API (`/api/v1`): handlers translate requests into commands and views into
//! JSON; every rule stays in the domain. The router is built by [`app`] and tested with
//! `oneshot`, no socket needed.

pub mod ba;
pub mod dto;
pub mod error;
pub mod headers;
pub mod health;
pub mod openapi;
pub mod redact;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use workflow_core::sla::assess;
use workflow_core::{
    Actor, CommandEnvelope, Complaint, ComplaintCommand, ComplaintId, Role, Status,
};
use workflow_store::access::KeptAnswer;
use workflow_store::audit::ExportFormat;
use workflow_store::evidence::EvidenceStore;
use workflow_store::views::{BoardStatus, ComplaintFilter};
use workflow_store::Store;

use dto::*;
use error::ApiError;
use redact::{redact, reveals_hidden_identity};

/// The clock the host stamps commands with (a fixed one in tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine, views and audit.
    pub store: Arc<Store>,
    /// Uploaded evidence.
    pub evidence: EvidenceStore,
    /// Now.
    pub clock: Clock,
    /// What `/health/ready` demands.
    pub readiness: workflow_store::ReadinessPolicy,
    /// Whether `/metrics` is served without a token.
    pub metrics_public: bool,
}

impl AppState {
    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// JSON bodies larger than this are refused with 413.
pub const JSON_LIMIT: usize = 64 * 1024;

/// The router.
pub fn app(state: AppState) -> Router {
    let evidence_limit = state.evidence.limit();
    let api = Router::new()
        .route("/complaints", post(register).get(list))
        .route("/complaints/{id}", get(detail))
        .route("/complaints/{id}/dispose", post(dispose))
        .route("/complaints/{id}/return", post(return_complaint))
        .route("/complaints/{id}/review", post(review))
        .route(
            "/complaints/{id}/request-information",
            post(request_information),
        )
        .route(
            "/complaints/{id}/provide-information",
            post(provide_information),
        )
        .route("/complaints/{id}/reject", post(reject))
        .route("/complaints/{id}/clarify", post(clarify))
        .route(
            "/complaints/{id}/field-verification",
            post(field_verification),
        )
        .route("/complaints/{id}/ba", post(issue_ba).get(ba_document))
        .route("/complaints/{id}/respond", post(respond))
        .route("/complaints/{id}/close", post(close))
        .route("/complaints/{id}/archive", post(archive))
        .route("/complaints/{id}/withdraw", post(withdraw))
        .route("/complaints/{id}/acknowledge-ba", post(acknowledge_ba))
        .route("/complaints/{id}/forward", post(forward))
        .route("/complaints/{id}/progress", post(progress))
        .route("/complaints/{id}/feedback", post(feedback))
        .route("/complaints/{id}/reopen", post(reopen))
        .route("/complaints/{id}/reassign", post(reassign))
        .route("/complaints/{id}/annul-breach", post(annul_breach))
        .route("/complaints/{id}/history", get(history))
        .route("/complaints/{id}/events", get(events))
        .route("/complaints/{id}/identity-reads", get(identity_reads))
        .route("/sla", get(sla))
        .route("/audit/verify", get(audit_verify))
        .route("/openapi.json", get(openapi::serve))
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .merge(
            Router::new()
                .route("/evidence", post(upload_evidence))
                .route("/evidence/{sha256}", get(download_evidence))
                .layer(DefaultBodyLimit::max(evidence_limit + 1024)),
        );
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
        // Outermost: whatever refused the request, the answer is a problem, with the
        // security headers.
        .layer(axum::middleware::map_response(error::problems_only))
        .layer(axum::middleware::map_response(headers::security_headers))
}

/// The authenticated caller.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers, state).await
    }
}

impl Caller {
    /// The caller a request's bearer token stands for.
    pub async fn from_headers(headers: &HeaderMap, state: &AppState) -> Result<Self, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme's name is case-insensitive (RFC 9110 §11.1).
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let actor = state
            .store
            .authenticate(token)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Caller(actor))
    }
}

fn require_role(caller: &Actor, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&caller.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role `{}` may not {what}",
            caller.role
        )))
    }
}

/// The agency a listing is limited to: an agency-scoped caller's own (asking for
/// another is refused), otherwise what was asked for.
fn scoped_agency(caller: &Actor, asked: Option<String>) -> Result<Option<String>, ApiError> {
    if !caller.role.is_agency_scoped() {
        return Ok(asked);
    }
    let own = caller.agency.as_ref().map(|a| a.0.clone());
    if asked.is_some() && asked != own {
        return Err(ApiError::Forbidden(
            "you see your own agency's complaints and duties only".into(),
        ));
    }
    Ok(own)
}

/// Agency-scoped roles see only their agency's complaints.
fn may_see(caller: &Actor, state: &Complaint) -> Result<(), ApiError> {
    if caller.role.is_agency_scoped() && state.agency() != caller.agency.as_ref() {
        return Err(ApiError::Forbidden(
            "the complaint is not disposed to your agency".into(),
        ));
    }
    Ok(())
}

fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !json_type {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as Content-Type: application/json".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the JSON body does not fit: {e}")))
}

/// Entries on a page when the caller names no `limit`.
pub const PAGE_DEFAULT: u32 = 50;
/// The most entries a page holds; a larger `limit` is refused, not cut down.
pub const PAGE_MAX: u32 = 500;

/// The page size a query asks for: 1 to [`PAGE_MAX`], [`PAGE_DEFAULT`] if not named.
fn page_limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked {
        None => Ok(PAGE_DEFAULT),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit {n}: a page holds 1 to {PAGE_MAX} entries"
        ))),
    }
}

/// The complaint id of a request, checked where it enters.
fn valid_id(id: &str) -> Result<ComplaintId, ApiError> {
    ComplaintId::new(id).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?
                .trim();
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError::BadRequest(
                    "Idempotency-Key must have 1 to 200 characters".into(),
                ));
            }
            Ok(Some(key.to_owned()))
        }
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // With no randomness the id is still unique enough per process: time and a counter.
    if getrandom::getrandom(&mut bytes).is_err() {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes[8..].copy_from_slice(&Utc::now().timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs one command: the idempotency key becomes the command id, and the first answer
/// to a key is kept and given again.
#[allow(clippy::too_many_arguments)]
async fn command(
    state: &AppState,
    caller: &Actor,
    headers: &HeaderMap,
    complaint_id: &str,
    path: &str,
    body: &Bytes,
    command: ComplaintCommand,
    created: bool,
) -> Result<Response, ApiError> {
    let complaint_id = &valid_id(complaint_id)?;
    let key = idempotency_key(headers)?;
    // The request's fingerprint names the complaint too: the same key and body sent to
    // another complaint is another request, refused as a reused key, never answered
    // with the first complaint's result.
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(path.as_bytes());
        h.update(b"\n");
        h.update(complaint_id.as_str().as_bytes());
        h.update(b"\n");
        h.update(body);
        workflow_store::chain::hex(&h.finalize())
    };
    if let Some(key) = &key {
        if let Some(kept) = state.store.kept_answer(&caller.user.0, key).await? {
            return kept_response(kept, &fingerprint);
        }
    }
    let command_id = match &key {
        Some(k) => format!("{}:{k}", caller.user),
        None => random_id(),
    };
    let envelope = CommandEnvelope::new(command_id.clone(), caller.clone(), state.now(), command);
    let done = state
        .store
        .engine()
        .execute(complaint_id, envelope, Some(&command_id))
        .await?;
    let (sequence, event_type) = match done.events.first() {
        Some(e) => (e.sequence as u64, e.payload.body.event_type().to_owned()),
        None => {
            // Done before under this id (a retry, or a concurrent twin): answer with the
            // event it recorded then, as the engine read it from the log.
            let e = done.recorded_before.first().ok_or_else(|| {
                ApiError::Internal(format!("command {command_id} seen but not found"))
            })?;
            (e.sequence as u64, e.payload.body.event_type().to_owned())
        }
    };
    // Read your writes on this host: bring the views up to date before answering.
    if let Err(e) = state.store.projector().catch_up().await {
        tracing::warn!(error = %e, "projection after a command failed; the views lag");
    }
    let answer = CommandAnswer {
        complaint_id: complaint_id.to_string(),
        command_id,
        sequence,
        event_type,
        status: done.status.as_str().to_owned(),
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let response = serde_json::to_string(&answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(key) = key {
        let answer = KeptAnswer {
            request_hash: fingerprint.clone(),
            status: status.as_u16(),
            response,
        };
        // The events are committed: the answer is theirs whatever happens to this side
        // write. A retry with the same key is then answered from the log.
        match state
            .store
            .keep_answer(&caller.user.0, &key, answer.clone(), state.now())
            .await
        {
            Ok(kept) => return kept_response(kept, &fingerprint),
            Err(e) => {
                state.store.health().side_write_failed(&e);
                tracing::warn!(error = %e, %key, "keeping the answer to an idempotency key failed; a retry is answered from the log");
                return kept_response(answer, &fingerprint);
            }
        }
    }
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        response,
    )
        .into_response())
}

fn kept_response(kept: KeptAnswer, fingerprint: &str) -> Result<Response, ApiError> {
    if kept.request_hash != fingerprint {
        return Err(ApiError::Rule {
            rule: "http.idempotency_key_reused".into(),
            detail: "this Idempotency-Key was used for a different request".into(),
        });
    }
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        kept.response,
    )
        .into_response())
}

macro_rules! command_route {
    ($(#[doc = $doc:literal])* $name:ident, $dto:ty, $path:literal, |$req:ident, $state:ident| $make:expr) => {
        command_route!($(#[doc = $doc])* $name, $dto, $path, |$req, $state, _id| $make);
    };
    ($(#[doc = $doc:literal])* $name:ident, $dto:ty, $path:literal, |$req:ident, $state:ident, $id:ident| $make:expr) => {
        $(#[doc = $doc])*
        #[utoipa::path(post, path = concat!("/api/v1/complaints/{id}/", $path), tag = "commands",
            params(("id" = String, Path, description = "complaint id"),
                   ("Idempotency-Key" = Option<String>, Header, description = "the same key twice does the work once")),
            request_body = $dto,
            responses((status = 200, body = CommandAnswer), (status = 400), (status = 401), (status = 403),
                      (status = 404), (status = 409), (status = 413), (status = 422)),
            security(("bearer" = [])))]
        async fn $name(
            State($state): State<AppState>,
            Caller(caller): Caller,
            Path($id): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, ApiError> {
            let $req: $dto = parse_json(&headers, &body)?;
            let cmd = $make;
            command(&$state, &caller, &headers, &$id, concat!("/complaints/{id}/", $path), &body, cmd, false).await
        }
    };
}

command_route!(
    /// Dispose (or re-dispose) to an agency and its liaison officer (upp, coordinator).
    dispose, DisposeRequest, "dispose", |req, state| req
    .into_command());
command_route!(
    /// Send back as not this agency's matter (liaison of the agency).
    return_complaint, ReturnRequest, "return", |req, state| req
    .into_command());
command_route!(
    /// Completeness review: complete, missing items, notes (liaison).
    review, ReviewRequest, "review", |req, state| req
    .into_command());
command_route!(
    /// Ask the complainant for what the review found missing; clocks pause (liaison).
    request_information,
    RequestInformationRequest,
    "request-information",
    |req, state| req.into_command()
);
command_route!(
    /// Record the complainant's answer; clocks resume (upp).
    provide_information,
    ProvideInformationRequest,
    "provide-information",
    |req, state| req.into_command(&state.evidence)?
);
command_route!(
    /// Not followed up: incomplete and unclear, with the reason (liaison).
    reject, RejectRequest, "reject", |req, state| req
    .into_command());
command_route!(
    /// Conclude step 2: field examination needed or not, and why (liaison).
    clarify, ClarifyRequest, "clarify", |req, state| req
    .into_command());
command_route!(
    /// Record a field visit: date, place, parties, findings, uploaded photos (liaison).
    field_verification,
    FieldVerificationRequest,
    "field-verification",
    |req, state| req.into_command(&state.evidence)?
);
command_route!(
    /// Issue the Berita Acara to the head of the agency (liaison).
    issue_ba, BaRequest, "ba", |req, state| req.into_command());
command_route!(
    /// Answer the complainant (liaison).
    respond, RespondRequest, "respond", |req, state| req
    .into_command());
command_route!(
    /// Close after the response (upp).
    close, CloseRequest, "close", |req, state| req
    .into_command());
command_route!(
/// At the door: archive with a reason; a duplicate names an existing complaint (upp).
archive, ArchiveRequest, "archive", |req, state, id| {
    if let Some(original) = &req.duplicate_of {
        existing_original(&state, &id, original).await?;
    }
    req.into_command()
});
command_route!(
    /// The head of the agency acknowledges the BA addressed to them (head of the agency).
    acknowledge_ba, AcknowledgeBaRequest, "acknowledge-ba", |req, state| req
    .into_command());
command_route!(
    /// Record that the complainant withdrew the complaint (upp).
    withdraw, WithdrawRequest, "withdraw", |req, state| req
    .into_command());
command_route!(
    /// At the door: forward to an institution outside the Pemkab (upp, coordinator).
    forward, ForwardRequest, "forward", |req, state| req
    .into_command());
command_route!(
    /// An interim follow-up visible to the complainant; the first satisfies LAPOR!'s follow-up clock (liaison assigned).
    progress, ProgressRequest, "progress", |req, state| req
    .into_command());
command_route!(
    /// The complainant's feedback on the response: satisfied or not, and what they said (upp).
    feedback, FeedbackRequest, "feedback", |req, state| req
    .into_command());
command_route!(
    /// Back to the liaison officer after a dissatisfied complainant, with new clocks (upp, coordinator).
    reopen, ReopenRequest, "reopen", |req, state| req
    .into_command());
command_route!(
    /// Hand the complaint to another liaison officer of the same agency (upp, head of the agency).
    reassign, ReassignRequest, "reassign", |req, state| req
    .into_command());
command_route!(
    /// Annul a recorded breach with a reason; it stays in history, marked annulled (coordinator).
    annul_breach, AnnulBreachRequest, "annul-breach", |req, state| req
    .into_command());

/// The complaint a duplicate names must exist and be another one.
async fn existing_original(state: &AppState, id: &str, original: &str) -> Result<(), ApiError> {
    let original = &valid_id(original)?;
    if original == id {
        return Err(ApiError::Rule {
            rule: "sop.door.duplicate_of_itself".into(),
            detail: "a complaint cannot duplicate itself".into(),
        });
    }
    if state.store.engine().load(original).await?.status() == Status::New {
        return Err(ApiError::Rule {
            rule: "sop.door.duplicate_of_unknown".into(),
            detail: format!("`duplicate_of` names complaint {original}, which does not exist"),
        });
    }
    Ok(())
}

/// Register a complaint arriving from LAPOR!-SP4N (upp); 201 and its id.
#[utoipa::path(post, path = "/api/v1/complaints", tag = "commands", request_body = RegisterRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "the same key twice does the work once")),
    responses((status = 201, body = CommandAnswer), (status = 400), (status = 401), (status = 403), (status = 409),
              (status = 413), (status = 422)),
    security(("bearer" = [])))]
async fn register(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: RegisterRequest = parse_json(&headers, &body)?;
    let id = req.id.clone().unwrap_or_else(|| req.lapor_id.clone());
    let cmd = req.into_command(&state.evidence)?;
    command(
        &state,
        &caller,
        &headers,
        &id,
        "/complaints",
        &body,
        cmd,
        true,
    )
    .await
}

/// Upload a photo or scan as raw bytes: JPEG, PNG, WebP, GIF or PDF (liaison, upp).
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = EvidenceAnswer), (status = 401), (status = 403), (status = 413), (status = 415)),
    security(("bearer" = [])))]
async fn upload_evidence(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_role(&caller, &[Role::Liaison, Role::Upp], "upload evidence")?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let evidence = state.evidence.clone();
    let blob = tokio::task::spawn_blocking(move || evidence.put(&body, declared.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let answer = EvidenceAnswer {
        sha256: blob.sha256,
        size: blob.size,
        media_type: blob.media_type.to_owned(),
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// Download an uploaded photo or scan (any role).
#[utoipa::path(get, path = "/api/v1/evidence/{sha256}", tag = "evidence",
    params(("sha256" = String, Path)), responses((status = 200), (status = 401), (status = 404)),
    security(("bearer" = [])))]
async fn download_evidence(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let blob = state
        .evidence
        .stat(&sha256)?
        .ok_or_else(|| ApiError::NotFound(format!("evidence {sha256}")))?;
    let bytes = state
        .evidence
        .get(&sha256)?
        .ok_or_else(|| ApiError::NotFound(format!("evidence {sha256}")))?;
    let disposition = headers::evidence_disposition(&sha256, blob.media_type);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(blob.media_type),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Filters of `GET /complaints`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this state (`received`, `disposed`, …).
    pub state: Option<String>,
    /// Only this agency.
    pub agency: Option<String>,
    /// Only this liaison officer.
    pub officer: Option<String>,
    /// Only complaints with a duty past its deadline now.
    pub overdue: Option<bool>,
    /// Registered at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Registered before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// List complaints, filtered and paginated (all; liaison and head see their agency's only).
#[utoipa::path(get, path = "/api/v1/complaints", tag = "views", params(ListQuery),
    responses((status = 200), (status = 400), (status = 401), (status = 403)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let limit = page_limit(q.limit)?;
    let agency = scoped_agency(&caller, q.agency.clone())?;
    let status = q
        .state
        .as_deref()
        .map(str::parse::<Status>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let page = state
        .store
        .views()
        .list(&ComplaintFilter {
            status,
            agency,
            liaison_officer: q.officer,
            overdue_at: q.overdue.filter(|o| *o).map(|_| state.now()),
            from: q.from,
            to: q.to,
            after: q.after,
            limit: Some(limit),
        })
        .await?;
    Ok(Json(json!({ "items": page.items, "next": page.next })).into_response())
}

async fn load_visible(
    state: &AppState,
    caller: &Actor,
    id: &ComplaintId,
) -> Result<(Complaint, Option<Value>), ApiError> {
    let detail = state.store.views().detail(id).await?;
    let (complaint, summary) = match detail {
        Some(d) => (
            d.state,
            Some(serde_json::to_value(d.summary).map_err(|e| ApiError::Internal(e.to_string()))?),
        ),
        None => (state.store.engine().load(id).await?, None),
    };
    if complaint.status() == Status::New {
        return Err(ApiError::NotFound(format!("complaint {id}")));
    }
    may_see(caller, &complaint)?;
    Ok((complaint, summary))
}

async fn note_identity_read(
    state: &AppState,
    caller: &Actor,
    id: &ComplaintId,
    complaint: &Complaint,
    via: &str,
) -> Result<(), ApiError> {
    if reveals_hidden_identity(caller.role, complaint) {
        state
            .store
            .record_identity_read(caller, id, via, state.now())
            .await?;
    }
    Ok(())
}

/// A complaint in detail with its SLA clocks; identity per role and confidentiality (all, scoped).
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "views", params(("id" = String, Path)),
    responses((status = 200), (status = 401), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = valid_id(&id)?;
    let (complaint, summary) = load_visible(&state, &caller, &id).await?;
    let services = state.store.engine().services();
    let sla = assess(
        complaint.timeline(),
        &services.calendar,
        &services.policy,
        state.now(),
    );
    let mut body = json!({
        "complaint_id": id,
        "summary": summary,
        "status": complaint.status(),
        "lapor_status": complaint.status().lapor_status(),
        "registration": complaint.registration(),
        "disposition": complaint.disposition(),
        "review": complaint.last_review(),
        "clarification": complaint.clarification(),
        "field_visits": complaint.field_visits(),
        "ba": complaint.ba(),
        "response": complaint.response(),
        "sla": sla,
    });
    redact(&mut body, caller.role);
    note_identity_read(&state, &caller, &id, &complaint, "GET /complaints/{id}").await?;
    Ok(Json(body).into_response())
}

/// The Berita Acara as a printable HTML page in Indonesian (all, scoped).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/ba", tag = "views", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html"), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn ba_document(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = valid_id(&id)?;
    let (complaint, _) = load_visible(&state, &caller, &id).await?;
    let page = ba::render(id.as_str(), &complaint)
        .ok_or_else(|| ApiError::NotFound(format!("no BA has been issued for {id}")))?;
    Ok(Html(page).into_response())
}

/// `?as_of=` of the history route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// The instant (RFC 3339); default now.
    pub as_of: Option<DateTime<Utc>>,
}

/// State, SLA clocks and timeline as of an instant, from the log alone (upp, apip, coordinator).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/history", tag = "audit", params(("id" = String, Path), AsOf),
    responses((status = 200), (status = 400), (status = 401), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    query: Result<Query<AsOf>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    require_role(
        &caller,
        &[Role::Upp, Role::Apip, Role::Coordinator],
        "read a complaint's history",
    )?;
    let id = valid_id(&id)?;
    let as_of = q.as_of.unwrap_or_else(|| state.now());
    let h = state.store.history(&id, as_of).await?;
    let mut body = json!({
        "complaint_id": id,
        "as_of": as_of,
        "status": h.state.status(),
        "state": h.state,
        "events": h.events.iter().map(|e| json!({ "sequence": e.sequence, "event": e.payload, "metadata": e.metadata })).collect::<Vec<_>>(),
        "sla": h.sla,
    });
    redact(&mut body, caller.role);
    note_identity_read(
        &state,
        &caller,
        &id,
        &h.state,
        "GET /complaints/{id}/history",
    )
    .await?;
    Ok(Json(body).into_response())
}

/// The raw stored events of a complaint with their hashes (apip, upp).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/events", tag = "audit", params(("id" = String, Path)),
    responses((status = 200), (status = 401), (status = 403), (status = 404)), security(("bearer" = [])))]
async fn events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_role(&caller, &[Role::Apip, Role::Upp], "read raw events")?;
    let id = valid_id(&id)?;
    let mut out = Vec::new();
    let n = state
        .store
        .export(Some(id.as_str()), ExportFormat::Jsonl, &mut out, |_| {})
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound(format!("complaint {id}")));
    }
    let lines: Vec<Value> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(serde_json::from_slice)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let complaint = state.store.engine().load(&id).await?;
    note_identity_read(
        &state,
        &caller,
        &id,
        &complaint,
        "GET /complaints/{id}/events",
    )
    .await?;
    Ok(Json(json!({ "complaint_id": id, "events": lines })).into_response())
}

/// Who read this complaint's hidden identity, when and through which route (apip).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/identity-reads", tag = "audit", params(("id" = String, Path)),
    responses((status = 200), (status = 401), (status = 403)), security(("bearer" = [])))]
async fn identity_reads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_role(&caller, &[Role::Apip], "read the identity access log")?;
    let id = valid_id(&id)?;
    let reads = state.store.identity_reads(&id).await?;
    let reads: Vec<Value> = reads
        .into_iter()
        .map(|r| json!({ "read_at": r.read_at, "user": r.user, "role": r.role, "via": r.via }))
        .collect();
    Ok(Json(json!({ "complaint_id": id, "reads": reads })).into_response())
}

/// `?status=&agency=` of the SLA board.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SlaQuery {
    /// breached, at-risk, on-track or paused.
    pub status: Option<String>,
    /// Only this agency.
    pub agency: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// The SLA board: running duties and their deadlines now, most urgent first, paginated (all, scoped).
#[utoipa::path(get, path = "/api/v1/sla", tag = "views", params(SlaQuery),
    responses((status = 200), (status = 400), (status = 401), (status = 403)), security(("bearer" = [])))]
async fn sla(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<SlaQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let limit = page_limit(q.limit)?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<BoardStatus>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let agency = scoped_agency(&caller, q.agency.clone())?;
    let now = state.now();
    let page = state
        .store
        .views()
        .sla_board_page(now, status, agency.as_deref(), q.after.as_deref(), limit)
        .await?;
    Ok(Json(json!({ "as_of": now, "entries": page.items, "next": page.next })).into_response())
}

/// Walk the whole log and check every hash (apip).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200), (status = 401), (status = 403)), security(("bearer" = [])))]
async fn audit_verify(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    require_role(&caller, &[Role::Apip], "verify the log")?;
    let report = state.store.verify(None, None, |_| {}).await?;
    Ok(Json(json!({ "ok": report.ok(), "report": report })).into_response())
}

/// Logs every request with its status and duration, and turns a panic in a handler
/// into a 500 problem instead of a dropped connection.
pub async fn log_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use futures::FutureExt;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            ApiError::Internal(format!("handler panicked: {what}")).into_response()
        }
    };
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(%method, %path, status = response.status().as_u16(), ms, "request");
    response
}

/// Whether a request's method and path exist (for the OpenAPI check).
pub fn routes() -> Vec<(Method, &'static str)> {
    openapi::routes()
}
