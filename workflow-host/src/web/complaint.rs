//! A complaint's page: the complainant as the rules allow, every clock, the timeline,
//! and the forms of the steps the person may take now.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use workflow_core::complaint::command::{ComplaintCommand, ReviewResult};
use workflow_core::{CommandEnvelope, ComplaintId, Role};

use super::{agency_zone, error_page, fresh_key, page, Chrome, SignedIn};
use crate::format::{describe, local, zone_label};
use crate::http::complaints::load_visible;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::read_model::{ComplainantView, Reader};

/// The route a console page's read of an identity is recorded under.
const PAGE_ROUTE: &str = "GET /konsol/aduan/{id}";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/konsol/aduan/{id}", get(complaint_page))
        .route("/konsol/aduan/{id}/telaah", post(review))
}

struct ClockRow {
    step: String,
    started: String,
    due: String,
    status: String,
    status_class: &'static str,
}

struct EventRow {
    when: String,
    by: String,
    event: String,
    what: String,
}

struct ReviewForm {
    key: String,
}

#[derive(Template)]
#[template(path = "aduan.html")]
struct ComplaintPage {
    chrome: Chrome,
    complaint_id: String,
    lapor_id: String,
    title: String,
    status: String,
    agency: Option<String>,
    complainant: String,
    zone: String,
    clocks: Vec<ClockRow>,
    timeline: Vec<EventRow>,
    review: Option<ReviewForm>,
    error: Option<String>,
}

/// A complaint as the person may see it: the complainant per the identity rules (an
/// opened identity recorded), the clocks, the timeline, and the form of the step that
/// is theirs now.
async fn complaint_view(
    state: &AppState,
    who: &SignedIn,
    id: &ComplaintId,
    error: Option<String>,
) -> Result<ComplaintPage, ApiError> {
    let engine = state.store.engine();
    // The API's own load: the view (the log if it has none yet), scoped to the caller.
    let path = crate::http::caller::PathId::parse(id.as_str())?;
    let (complaint, _) = load_visible(state, &who.actor, &path).await?;
    let registration = complaint
        .registration()
        .ok_or_else(|| ApiError::NotFound(format!("complaint {id}")))?;
    let view = ComplainantView::resolve(&state.store, id, &complaint, Reader::Role(who.actor.role))
        .await?;
    let complainant = match &view {
        Some(ComplainantView::Shown(shown)) => {
            state
                .store
                .record_identity_read(&who.actor, id, PAGE_ROUTE, state.now())
                .await?;
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
    };
    // Times in the zone of the office of the agency holding it.
    let zone = agency_zone(state, complaint.agency()).await?;
    let now = state.now();
    let clocks = engine
        .assess(id, now)
        .await?
        .into_iter()
        .filter(|a| a.ended_at.is_none())
        .map(|a| {
            let (status, status_class) = match a.status.as_str() {
                "breached" => ("Terlambat", "terlambat"),
                "at_risk" => ("Hampir jatuh tempo", "rawan"),
                "paused" => ("Menunggu pelapor", "jeda"),
                _ => ("Sesuai jadwal", "aman"),
            };
            ClockRow {
                step: a.step.to_string(),
                started: local(a.started_at, &zone),
                due: a.due_date.format("%d-%m-%Y").to_string(),
                status: status.into(),
                status_class,
            }
        })
        .collect();
    let timeline = engine
        .events(id)
        .await?
        .iter()
        .map(|e| EventRow {
            when: local(e.payload.at, &zone),
            by: format!("{} ({})", e.payload.by.user, e.payload.by.role),
            event: e.payload.body.event_type().to_owned(),
            what: describe(&e.payload, &zone),
        })
        .collect();
    let review = (who.actor.role == Role::Liaison
        && complaint.status() == workflow_core::Status::Disposed)
        .then(|| ReviewForm { key: fresh_key() });
    Ok(ComplaintPage {
        chrome: who.chrome(),
        complaint_id: id.to_string(),
        lapor_id: registration.lapor_id.clone(),
        title: registration.title.clone(),
        status: complaint.status().to_string(),
        agency: complaint.agency().map(ToString::to_string),
        complainant,
        zone: zone_label(&zone),
        clocks,
        timeline,
        review,
        error,
    })
}

async fn complaint_page(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let id = match id.parse::<ComplaintId>() {
        Ok(id) => id,
        Err(e) => return error_page(ApiError::BadRequest(e.to_string())),
    };
    match complaint_view(&state, &who, &id, None).await {
        Ok(p) => page(StatusCode::OK, &p),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct ReviewFormData {
    csrf: String,
    kunci: String,
    lengkap: String,
    jelas: String,
    #[serde(default)]
    kurang: String,
    #[serde(default)]
    catatan: String,
}

/// Step 2's review from its form: through the engine as the API's is; a refusal is
/// shown above the form, naming the rule.
async fn review(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ReviewFormData>,
) -> Response {
    if let Err(refused) = who.check(&form.csrf) {
        return error_page(refused);
    }
    let id = match id.parse::<ComplaintId>() {
        Ok(id) => id,
        Err(e) => return error_page(ApiError::BadRequest(e.to_string())),
    };
    let command = ComplaintCommand::Review(ReviewResult {
        complete: form.lengkap == "ya",
        clear: form.jelas == "ya",
        missing_items: form
            .kurang
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        notes: form.catatan,
    });
    // The form's own key: a second submission of the same form is done once.
    let envelope = CommandEnvelope::new(
        format!("konsol-{}", form.kunci),
        who.actor.clone(),
        state.now(),
        command,
    );
    match state
        .store
        .engine()
        .execute(&id, envelope, Some("aduan-konsol"))
        .await
    {
        Ok(done) => {
            if let Some(last) = done.events.last() {
                let _ = state
                    .store
                    .projector()
                    .wait_for(
                        &id,
                        workflow_core::Sequence::new(last.sequence as u64),
                        state.read_your_writes,
                    )
                    .await;
            }
            Redirect::to(&format!("/konsol/aduan/{id}")).into_response()
        }
        Err(workflow_store::StoreError::Domain(refusal)) => {
            let message = format!("Ditolak ({}): {refusal}", refusal.rule());
            match complaint_view(&state, &who, &id, Some(message)).await {
                Ok(p) => page(StatusCode::UNPROCESSABLE_ENTITY, &p),
                Err(e) => error_page(e),
            }
        }
        Err(e) => error_page(e.into()),
    }
}
