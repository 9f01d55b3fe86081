//! The OpenAPI document, generated from the handlers' annotations.

use axum::http::Method;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::dto::*;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aduan",
        description = "Follow-up of LAPOR!-SP4N complaints under the liaison-officer SOP. Errors are \
                       application/problem+json: 400 malformed, 401 no or bad token, 403 role or agency, \
                       404, 409 concurrent change or state conflict, 413 too large, 415 media type, \
                       422 an SOP rule refused it (`rule` names it)."
    ),
    paths(
        super::register, super::dispose, super::return_complaint, super::review, super::request_information,
        super::provide_information, super::reject, super::clarify, super::field_verification, super::issue_ba,
        super::respond, super::close, super::archive, super::withdraw, super::forward, super::acknowledge_ba, super::progress, super::feedback, super::reopen, super::reassign, super::annul_breach, super::upload_evidence, super::download_evidence, super::list,
        super::detail, super::ba_document, super::history, super::events, super::identity_reads, super::sla, super::audit_verify,
        super::health::health, super::health::live, super::health::ready, super::health::metrics, serve
    ),
    components(schemas(
        RegisterRequest, ComplainantDto, ConfidentialityDto, EvidenceUse, DisposeRequest, ReturnRequest,
        ReviewRequest, RequestInformationRequest, ProvideInformationRequest, RejectRequest, ClarifyRequest,
        PartyDto, FieldVerificationRequest, AddresseeDto, BaRequest, RespondRequest, CloseRequest, CommandAnswer,
        ArchiveRequest, ArchiveReasonDto, WithdrawRequest, ForwardRequest, AcknowledgeBaRequest,
        ResponseChannelDto, ProgressRequest, FeedbackRequest, ReopenRequest, ReassignRequest,
        AnnulBreachRequest, EvidenceAnswer
    )),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

/// This OpenAPI document (anyone).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200)))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Every method and path the router serves, as the document lists them.
pub fn routes() -> Vec<(Method, &'static str)> {
    vec![
        (Method::POST, "/api/v1/complaints"),
        (Method::GET, "/api/v1/complaints"),
        (Method::GET, "/api/v1/complaints/{id}"),
        (Method::POST, "/api/v1/complaints/{id}/dispose"),
        (Method::POST, "/api/v1/complaints/{id}/return"),
        (Method::POST, "/api/v1/complaints/{id}/review"),
        (Method::POST, "/api/v1/complaints/{id}/request-information"),
        (Method::POST, "/api/v1/complaints/{id}/provide-information"),
        (Method::POST, "/api/v1/complaints/{id}/reject"),
        (Method::POST, "/api/v1/complaints/{id}/clarify"),
        (Method::POST, "/api/v1/complaints/{id}/field-verification"),
        (Method::POST, "/api/v1/complaints/{id}/ba"),
        (Method::GET, "/api/v1/complaints/{id}/ba"),
        (Method::POST, "/api/v1/complaints/{id}/respond"),
        (Method::POST, "/api/v1/complaints/{id}/close"),
        (Method::POST, "/api/v1/complaints/{id}/archive"),
        (Method::POST, "/api/v1/complaints/{id}/withdraw"),
        (Method::POST, "/api/v1/complaints/{id}/forward"),
        (Method::POST, "/api/v1/complaints/{id}/acknowledge-ba"),
        (Method::POST, "/api/v1/complaints/{id}/progress"),
        (Method::POST, "/api/v1/complaints/{id}/feedback"),
        (Method::POST, "/api/v1/complaints/{id}/reopen"),
        (Method::POST, "/api/v1/complaints/{id}/reassign"),
        (Method::POST, "/api/v1/complaints/{id}/annul-breach"),
        (Method::GET, "/api/v1/complaints/{id}/history"),
        (Method::GET, "/api/v1/complaints/{id}/events"),
        (Method::GET, "/api/v1/complaints/{id}/identity-reads"),
        (Method::POST, "/api/v1/evidence"),
        (Method::GET, "/api/v1/evidence/{sha256}"),
        (Method::GET, "/api/v1/sla"),
        (Method::GET, "/api/v1/audit/verify"),
        (Method::GET, "/api/v1/openapi.json"),
        (Method::GET, "/api/v1/health"),
        (Method::GET, "/api/v1/health/live"),
        (Method::GET, "/api/v1/health/ready"),
        (Method::GET, "/api/v1/metrics"),
    ]
}

/// The route table of `docs/api.md`, rendered from the document.
pub fn markdown_routes() -> String {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let mut out = String::from("| method | path | what (who) |\n|---|---|---|\n");
    for (method, path) in routes() {
        let summary = doc["paths"][path][method.as_str().to_lowercase()]["summary"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        out.push_str(&format!("| {method} | `{path}` | {summary} |\n"));
    }
    out
}
