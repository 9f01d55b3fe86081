//! The complaint views: the list, a complaint in detail, its printable BA, and the SLA
//! board, each scoped to what the caller may see and read from the projections.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use workflow_core::sla::assess;
use workflow_core::{Actor, Complaint, Status};
use workflow_store::views::{BoardStatus, ComplaintFilter};

use super::answers::{BoardPage, ComplaintPage, DetailAnswer, SummaryAnswer};
use super::caller::{may_see, page_limit, scoped_agency, Caller, ComplaintPath, PathId};
use super::error::ApiError;
use super::{ba, AppState, TypedQuery};
use crate::read_model::{ComplainantView, ComplaintState, Reader};

/// Filters of `GET /complaints`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    responses((status = 200, body = ComplaintPage), (status = 400), (status = 401), (status = 403), (status = 503)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    TypedQuery(q): TypedQuery<ListQuery>,
) -> Result<Json<ComplaintPage>, ApiError> {
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
    Ok(Json(ComplaintPage {
        items: page.items.into_iter().map(SummaryAnswer::from).collect(),
        next: page.next,
    }))
}

/// The complaint as the views hold it (or, before they caught up, as the log does),
/// if it exists and the caller may see it.
pub(crate) async fn load_visible(
    state: &AppState,
    caller: &Actor,
    id: &PathId,
) -> Result<(Complaint, Option<SummaryAnswer>), ApiError> {
    let (complaint, summary) = match state.store.views().detail(id).await? {
        Some(d) => (d.state, Some(SummaryAnswer::from(d.summary))),
        None => (state.store.engine().load(id).await?, None),
    };
    if complaint.status() == Status::New {
        return Err(ApiError::NotFound(format!("complaint {id}")));
    }
    may_see(caller, &complaint)?;
    Ok((complaint, summary))
}

/// Records that `caller` is shown the complainant's identity, if they are (whatever the
/// level: every opened identity is a read of personal data). Made before the answer
/// goes: if it cannot be recorded, the identity is not shown.
pub(super) async fn note_identity_read(
    state: &AppState,
    caller: &Actor,
    id: &PathId,
    complainant: Option<&ComplainantView>,
    via: &str,
) -> Result<(), ApiError> {
    if complainant.is_some_and(ComplainantView::is_shown) {
        state
            .store
            .record_identity_read(caller, id, via, state.now())
            .await?;
    }
    Ok(())
}

/// A complaint in detail with its SLA clocks; identity per role and confidentiality (all, scoped).
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "views", params(ComplaintPath),
    responses((status = 200, body = DetailAnswer), (status = 400), (status = 401), (status = 403), (status = 404), (status = 503)),
    security(("bearer" = [])))]
pub async fn detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    id: PathId,
) -> Result<Response, ApiError> {
    let (complaint, summary) = load_visible(&state, &caller, &id).await?;
    let complainant =
        ComplainantView::resolve(&state.store, &id, &complaint, Reader::Role(caller.role)).await?;
    let services = state.store.engine().services();
    let sla = assess(
        complaint.timeline(),
        &services.calendar,
        &services.policy,
        state.now(),
    );
    let answer = DetailAnswer {
        complaint_id: id.to_string(),
        summary,
        state: ComplaintState::new(&complaint, complainant.as_ref()),
        sla,
    };
    note_identity_read(
        &state,
        &caller,
        &id,
        complainant.as_ref(),
        "GET /complaints/{id}",
    )
    .await?;
    Ok(Json(answer).into_response())
}

/// `?kertas=` of the BA page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BaQuery {
    /// The paper to lay it out for: `a4` (default) or `f4`.
    #[param(inline)]
    pub kertas: Option<ba::Paper>,
}

/// The Berita Acara as a printable HTML page in Indonesian, A4 or F4 (all, scoped).
///
/// It carries the letterhead, the visits' photos kept in clear (as `data:` URIs: the
/// page needs no other request), the place-and-date line and each signature's NIP.
#[utoipa::path(get, path = "/api/v1/complaints/{id}/ba", tag = "views", params(ComplaintPath, BaQuery),
    responses((status = 200, description = "The BA as a printable page", content_type = "text/html", body = String),
              (status = 400), (status = 401), (status = 403), (status = 404), (status = 503)),
    security(("bearer" = [])))]
pub async fn ba_document(
    State(state): State<AppState>,
    Caller(caller): Caller,
    id: PathId,
    TypedQuery(q): TypedQuery<BaQuery>,
) -> Result<Html<String>, ApiError> {
    ba_page(&state, &caller, &id, &q).await
}

/// The BA page for `caller` under the rules of [`ba_document`] (the console prints it
/// through this too).
pub(crate) async fn ba_page(
    state: &AppState,
    caller: &Actor,
    id: &PathId,
    q: &BaQuery,
) -> Result<Html<String>, ApiError> {
    let (state, caller, id) = (state.clone(), caller.clone(), id.clone());
    let (complaint, _) = load_visible(&state, &caller, &id).await?;
    if complaint.ba().is_none() {
        return Err(ApiError::NotFound(format!(
            "no BA has been issued for {id}"
        )));
    }
    // The visits' photos kept in clear: whoever may read the complaint may download
    // them. A copy sealed as personal data is listed, not shown.
    let wanted: Vec<String> = complaint
        .field_visits()
        .iter()
        .flat_map(|v| &v.evidence)
        .filter(|e| e.media_type.starts_with("image/"))
        .map(|e| e.sha256.clone())
        .collect();
    let evidence = state.evidence.clone();
    let photos = tokio::task::spawn_blocking(move || {
        use base64::Engine;
        let mut photos = std::collections::BTreeMap::new();
        for sha256 in wanted {
            let Some(blob) = evidence.stat(&sha256)? else {
                continue;
            };
            if !blob.media_type.starts_with("image/") {
                continue;
            }
            if let Some(bytes) = evidence.get(&sha256)? {
                let data_uri = format!(
                    "data:{};base64,{}",
                    blob.media_type,
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                );
                photos.insert(sha256, ba::Photo { data_uri });
            }
        }
        Ok::<_, ApiError>(photos)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    // The letterhead and the head's NIP from the registry, when the agency is in it.
    let ba_issued = complaint
        .ba()
        .ok_or_else(|| ApiError::NotFound(format!("no BA has been issued for {id}")))?;
    let agency = state.store.agency(&ba_issued.addressee.agency).await?;
    let addressee_nip = ba_issued.addressee.nip.clone().or_else(|| {
        let head = agency.as_ref()?.details.head.as_ref()?;
        (head.name == ba_issued.addressee.name).then(|| head.nip.clone())
    });
    let extras = ba::Extras {
        letterhead: agency.map(|a| ba::Letterhead {
            government: state.government.clone().unwrap_or_default(),
            agency: a.details.name,
            address: a.details.address,
        }),
        photos,
        paper: q.kertas.unwrap_or_default(),
        addressee_nip,
    };
    let page = ba::render(id.as_str(), &complaint, &extras)
        .ok_or_else(|| ApiError::NotFound(format!("no BA has been issued for {id}")))?;
    Ok(Html(page))
}

/// `?status=&agency=` of the SLA board.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SlaQuery {
    /// `breached`, `at_risk`, `on_track` or `paused` (`at-risk` and `on-track` too).
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
    responses((status = 200, body = BoardPage), (status = 400), (status = 401), (status = 403), (status = 503)),
    security(("bearer" = [])))]
pub async fn sla(
    State(state): State<AppState>,
    Caller(caller): Caller,
    TypedQuery(q): TypedQuery<SlaQuery>,
) -> Result<Json<BoardPage>, ApiError> {
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
    Ok(Json(BoardPage {
        as_of: now,
        entries: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}
