//! The command routes: one handler per SOP command, each a translation of its request
//! body into the domain's command, run through the idempotent-command path
//! ([`Idempotent`] and [`Pending::execute`](super::command::Pending::execute)).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa::openapi::{RefOr, ResponseBuilder};
use workflow_core::{Role, Status};

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
    let citing = Citing::new(&state, cmd.pending.caller(), &id);
    let command = cmd.request.resolve(&citing).await?;
    let command = citing.check(command).await?;
    cmd.pending
        .execute(&state, &id, command, StatusCode::CREATED)
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
    cmd.run(&state).await
}

/// Dispose (or re-dispose) to a registered agency and its liaison officer (upp, coordinator).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/dispose", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = DisposeRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn dispose(
    State(state): State<AppState>,
    cmd: Idempotent<DisposeRequest>,
) -> Result<Response, ApiError> {
    // The registry is the operator's record beside the log: the host checks a new
    // disposition against it at the door; the domain never reads it, so a replay of
    // a disposition to an agency retired since is still what happened (decision 0025).
    state.store.active_agency(&cmd.request.agency).await?;
    cmd.run(&state).await
}

/// Declares the handlers of commands on an existing complaint whose body is all they
/// need: each is documented once, with its route, and runs through [`Idempotent::run`].
macro_rules! command_routes {
    ($($(#[doc = $doc:literal])* $name:ident: $path:literal, $request:ty;)*) => {$(
        $(#[doc = $doc])*
        #[utoipa::path(post, path = $path, tag = "commands",
            params(ComplaintPath, IdempotencyKey), request_body = $request,
            responses(Accepted), security(("bearer" = [])))]
        pub async fn $name(
            State(state): State<AppState>,
            cmd: Idempotent<$request>,
        ) -> Result<Response, ApiError> {
            cmd.run(&state).await
        }
    )*};
}

command_routes! {
    /// Send back as not this agency's matter (liaison of the agency).
    return_complaint: "/api/v1/complaints/{id}/return", ReturnRequest;
    /// Completeness review: complete, missing items, notes (liaison).
    review: "/api/v1/complaints/{id}/review", ReviewRequest;
    /// Ask the complainant for what the review found missing; clocks pause (liaison).
    request_information: "/api/v1/complaints/{id}/request-information", RequestInformationRequest;
    /// Record the complainant's answer; clocks resume (upp).
    provide_information: "/api/v1/complaints/{id}/provide-information", ProvideInformationRequest;
    /// Not followed up: incomplete and unclear, with the reason (liaison).
    reject: "/api/v1/complaints/{id}/reject", RejectRequest;
    /// Conclude step 2: field examination needed or not, and why (liaison).
    clarify: "/api/v1/complaints/{id}/clarify", ClarifyRequest;
    /// Record a field visit: date, place, parties, findings, uploaded photos (liaison).
    field_verification: "/api/v1/complaints/{id}/field-verification", FieldVerificationRequest;
    /// Issue the Berita Acara to the head of the agency (liaison).
    issue_ba: "/api/v1/complaints/{id}/ba", BaRequest;
    /// Answer the complainant (liaison).
    respond: "/api/v1/complaints/{id}/respond", RespondRequest;
    /// Close after the response (upp).
    close: "/api/v1/complaints/{id}/close", CloseRequest;
    /// Record that the complainant withdrew the complaint (upp).
    withdraw: "/api/v1/complaints/{id}/withdraw", WithdrawRequest;
    /// At the door: forward to an institution outside the Pemkab (upp, coordinator).
    forward: "/api/v1/complaints/{id}/forward", ForwardRequest;
    /// The head of the agency acknowledges the BA addressed to them (head of the agency).
    acknowledge_ba: "/api/v1/complaints/{id}/acknowledge-ba", AcknowledgeBaRequest;
    /// An interim follow-up visible to the complainant; the first satisfies LAPOR!'s follow-up clock (liaison assigned).
    progress: "/api/v1/complaints/{id}/progress", ProgressRequest;
    /// The complainant's feedback on the response: satisfied or not, and what they said (upp).
    feedback: "/api/v1/complaints/{id}/feedback", FeedbackRequest;
    /// Back to the liaison officer after a dissatisfied complainant, with new clocks (upp, coordinator).
    reopen: "/api/v1/complaints/{id}/reopen", ReopenRequest;
    /// Hand the complaint to another liaison officer of the same agency (upp, head of the agency).
    reassign: "/api/v1/complaints/{id}/reassign", ReassignRequest;
    /// Annul a recorded breach with a reason; it stays in history, marked annulled (coordinator).
    annul_breach: "/api/v1/complaints/{id}/annul-breach", AnnulBreachRequest;

}

/// Erase the complainant's identity (UU 27/2022): the key is destroyed, every read shows it erased; the workflow goes on (upp, coordinator).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/erase-identity", tag = "commands",
    params(ComplaintPath, IdempotencyKey), request_body = EraseIdentityRequest,
    responses(Accepted), security(("bearer" = [])))]
pub async fn erase_identity(
    State(state): State<AppState>,
    cmd: Idempotent<EraseIdentityRequest>,
) -> Result<Response, ApiError> {
    // The domain lets the system erase too (the retention policy); over HTTP a system
    // token is a scraper's or an integration's, and an erasure cannot be undone.
    may_erase_over_http(cmd.pending.caller())?;
    cmd.run(&state).await
}

/// Over HTTP (the API and the console) only UPP and the coordinator erase an identity:
/// the domain lets the system erase too (the retention policy), but a system token is a
/// scraper's or an integration's, and an erasure cannot be undone.
pub(crate) fn may_erase_over_http(caller: &workflow_core::Actor) -> Result<(), ApiError> {
    if matches!(caller.role, Role::Upp | Role::Coordinator) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role `{}` may not erase an identity over HTTP",
            caller.role
        )))
    }
}

/// The complaint a duplicate names must exist and be another one.
pub(crate) async fn existing_original(
    state: &AppState,
    id: &PathId,
    original: &str,
) -> Result<(), ApiError> {
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
