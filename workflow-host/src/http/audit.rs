//! The audit routes: a complaint's history as of an instant, its stored events with
//! their hashes, who read its hidden identity, and the verification of the whole log.
//! Everything here reads the log, not the views.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use workflow_core::Role;

use super::answers::{
    EventsAnswer, IdentityReadAnswer, IdentityReadsAnswer, StoredEvent, VerifyAnswer,
};
use super::caller::{require_role, Caller, ComplaintPath, PathId};
use super::complaints::note_identity_read;
use super::error::ApiError;
use super::{AppState, TypedQuery};
use crate::read_model::HistoryAnswer;
use crate::read_model::{ComplainantView, Reader};
use axum::response::IntoResponse;

/// `?as_of=` of the history route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// The instant (RFC 3339); default now.
    pub as_of: Option<DateTime<Utc>>,
}

/// State, SLA clocks and timeline as of an instant, from the log alone (upp, apip, coordinator).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/history", tag = "audit", params(ComplaintPath, AsOf),
    responses((status = 200, body = HistoryAnswer), (status = 400), (status = 401), (status = 403), (status = 404), (status = 503)),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    id: PathId,
    TypedQuery(q): TypedQuery<AsOf>,
) -> Result<Response, ApiError> {
    require_role(
        &caller,
        &[Role::Upp, Role::Apip, Role::Coordinator],
        "read a complaint's history",
    )?;
    let as_of = q.as_of.unwrap_or_else(|| state.now());
    let h = state.store.history(&id, as_of).await?;
    let complainant =
        ComplainantView::resolve(&state.store, &id, &h.state, Reader::Role(caller.role)).await?;
    note_identity_read(
        &state,
        &caller,
        &id,
        complainant.as_ref(),
        "GET /complaints/{id}/history",
    )
    .await?;
    Ok(Json(HistoryAnswer::new(&h, complainant.as_ref())).into_response())
}

/// The raw stored events of a complaint with their hashes (apip, upp).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/events", tag = "audit", params(ComplaintPath),
    responses((status = 200, body = EventsAnswer), (status = 400), (status = 401), (status = 403), (status = 404), (status = 503)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    id: PathId,
) -> Result<Json<EventsAnswer>, ApiError> {
    require_role(&caller, &[Role::Apip, Role::Upp], "read raw events")?;
    let events = state.store.raw_events(id.as_str()).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound(format!("complaint {id}")));
    }
    // The log holds identities sealed; only one recorded before sealing is in plain
    // in the raw events, and showing it is a read of personal data.
    let complaint = state.store.engine().replay(&id).await?;
    let plain = complaint
        .registration()
        .is_some_and(|r| r.complainant.plain_data().is_some());
    if plain {
        state
            .store
            .record_identity_read(&caller, &id, "GET /complaints/{id}/events", state.now())
            .await?;
    }
    Ok(Json(EventsAnswer {
        complaint_id: id.to_string(),
        events: events.into_iter().map(StoredEvent::from).collect(),
    }))
}

/// Who read this complaint's hidden identity, when and through which route (apip).
#[utoipa::path(get, path = "/api/v1/complaints/{id}/identity-reads", tag = "audit", params(ComplaintPath),
    responses((status = 200, body = IdentityReadsAnswer), (status = 400), (status = 401), (status = 403), (status = 503)),
    security(("bearer" = [])))]
pub async fn identity_reads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    id: PathId,
) -> Result<Json<IdentityReadsAnswer>, ApiError> {
    require_role(&caller, &[Role::Apip], "read the identity access log")?;
    let reads = state.store.identity_reads(&id).await?;
    Ok(Json(IdentityReadsAnswer {
        complaint_id: id.to_string(),
        reads: reads
            .into_iter()
            .map(|r| IdentityReadAnswer {
                read_at: r.read_at,
                user: r.user,
                role: r.role,
                via: r.via,
            })
            .collect(),
    }))
}

/// Walk the whole log and check every hash (apip).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyAnswer), (status = 401), (status = 403), (status = 503)),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<VerifyAnswer>, ApiError> {
    require_role(&caller, &[Role::Apip], "verify the log")?;
    let report = state.store.verify(None, None, |_| {}).await?;
    Ok(Json(VerifyAnswer {
        ok: report.ok(),
        report,
    }))
}
