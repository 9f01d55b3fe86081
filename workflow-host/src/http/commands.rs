//! The command routes: one handler per SOP command, each a translation of its request
//! body into the domain's command, run through the idempotent-command path
//! ([`Idempotent`] and [`Pending::execute`](super::command::Pending::execute)).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa::openapi::{RefOr, ResponseBuilder};
use workflow_core::Status;

use super::caller::{ComplaintPath, PathId};
use super::command::{IdempotencyKey, Idempotent};
use super::dto::*;
use super::error::ApiError;
use super::openapi::{json_body, problem_statuses};
use super::AppState;

/// The answers of a command on an existing complaint: 200 and a [`CommandAnswer`](super::answers::CommandAnswer), or a problem.
pub struct Accepted;

impl utoipa::IntoResponses for Accepted {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        command_responses(
            "200",
            "Done (or done before under this key): the event recorded",
        )
    }
}

/// The answers of a registration: 201 and a [`CommandAnswer`](super::answers::CommandAnswer), or a problem.
pub struct Created;

impl utoipa::IntoResponses for Created {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        command_responses("201", "Registered (or registered before under this key)")
    }
}

fn command_responses(
    status: &str,
    description: &str,
) -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
    let mut out = problem_statuses(&[400, 401, 403, 404, 409, 413, 415, 422, 503]);
    out.insert(
        status.to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/json", json_body("CommandAnswer"))
                .build(),
        ),
    );
    out
}

/// Register a complaint arriving from LAPOR!-SP4N (upp); 201 and its id.
#[utoipa::path(post, path = "/api/v1/complaints", tag = "commands",
    params(IdempotencyKey), request_body = RegisterRequest,
    responses(Created), security(("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    cmd: Idempotent<RegisterRequest>,
) -> Result<Response, ApiError> {
    let id = PathId::parse(cmd.request.id.as_deref().unwrap_or(&cmd.request.lapor_id))?;
    let command = cmd.request.into_command(&state.evidence).await?;
    cmd.pending
        .execute(&state, &id, command, StatusCode::CREATED)
        .await
}

/// Dispose (or re-dispose) to an agency and its liaison officer (upp, coordinator).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/dispose", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = DisposeRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn dispose(
    State(state): State<AppState>,
    cmd: Idempotent<DisposeRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Send back as not this agency's matter (liaison of the agency).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/return", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ReturnRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn return_complaint(
    State(state): State<AppState>,
    cmd: Idempotent<ReturnRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Completeness review: complete, missing items, notes (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/review", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ReviewRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn review(
    State(state): State<AppState>,
    cmd: Idempotent<ReviewRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Ask the complainant for what the review found missing; clocks pause (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/request-information", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = RequestInformationRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn request_information(
    State(state): State<AppState>,
    cmd: Idempotent<RequestInformationRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Record the complainant's answer; clocks resume (upp).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/provide-information", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ProvideInformationRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn provide_information(
    State(state): State<AppState>,
    cmd: Idempotent<ProvideInformationRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command(&state.evidence).await?;
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Not followed up: incomplete and unclear, with the reason (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/reject", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = RejectRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    cmd: Idempotent<RejectRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Conclude step 2: field examination needed or not, and why (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/clarify", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ClarifyRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn clarify(
    State(state): State<AppState>,
    cmd: Idempotent<ClarifyRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Record a field visit: date, place, parties, findings, uploaded photos (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/field-verification", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = FieldVerificationRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn field_verification(
    State(state): State<AppState>,
    cmd: Idempotent<FieldVerificationRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command(&state.evidence).await?;
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Issue the Berita Acara to the head of the agency (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/ba", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = BaRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn issue_ba(
    State(state): State<AppState>,
    cmd: Idempotent<BaRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Answer the complainant (liaison).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/respond", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = RespondRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn respond(
    State(state): State<AppState>,
    cmd: Idempotent<RespondRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Close after the response (upp).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/close", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = CloseRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    cmd: Idempotent<CloseRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// At the door: archive with a reason; a duplicate names an existing complaint (upp).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/archive", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ArchiveRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn archive(
    State(state): State<AppState>,
    cmd: Idempotent<ArchiveRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    if let Some(original) = &cmd.request.duplicate_of {
        existing_original(&state, &id, original).await?;
    }
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Record that the complainant withdrew the complaint (upp).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/withdraw", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = WithdrawRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    cmd: Idempotent<WithdrawRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// At the door: forward to an institution outside the Pemkab (upp, coordinator).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/forward", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ForwardRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn forward(
    State(state): State<AppState>,
    cmd: Idempotent<ForwardRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// The head of the agency acknowledges the BA addressed to them (head of the agency).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/acknowledge-ba", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = AcknowledgeBaRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn acknowledge_ba(
    State(state): State<AppState>,
    cmd: Idempotent<AcknowledgeBaRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// An interim follow-up visible to the complainant; the first satisfies LAPOR!'s follow-up clock (liaison assigned).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/progress", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ProgressRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn progress(
    State(state): State<AppState>,
    cmd: Idempotent<ProgressRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// The complainant's feedback on the response: satisfied or not, and what they said (upp).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/feedback", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = FeedbackRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    cmd: Idempotent<FeedbackRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Back to the liaison officer after a dissatisfied complainant, with new clocks (upp, coordinator).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/reopen", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ReopenRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn reopen(
    State(state): State<AppState>,
    cmd: Idempotent<ReopenRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Hand the complaint to another liaison officer of the same agency (upp, head of the agency).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/reassign", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = ReassignRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn reassign(
    State(state): State<AppState>,
    cmd: Idempotent<ReassignRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// Annul a recorded breach with a reason; it stays in history, marked annulled (coordinator).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/annul-breach", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = AnnulBreachRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn annul_breach(
    State(state): State<AppState>,
    cmd: Idempotent<AnnulBreachRequest>,
) -> Result<Response, ApiError> {
    let id = cmd.id()?;
    let command = cmd.request.into_command();
    cmd.pending
        .execute(&state, &id, command, StatusCode::OK)
        .await
}

/// The complaint a duplicate names must exist and be another one.
async fn existing_original(state: &AppState, id: &PathId, original: &str) -> Result<(), ApiError> {
    let original = PathId::parse(original)?;
    if &original == id {
        return Err(ApiError::Rule {
            rule: "sop.door.duplicate_of_itself".into(),
            detail: "a complaint cannot duplicate itself".into(),
        });
    }
    if state.store.engine().load(&original).await?.status() == Status::New {
        return Err(ApiError::Rule {
            rule: "sop.door.duplicate_of_unknown".into(),
            detail: format!("`duplicate_of` names complaint {original}, which does not exist"),
        });
    }
    Ok(())
}
