//! The HTTP API (`/api/v1`): handlers translate requests into commands and views into
//! typed answers; every rule stays in the domain. The router is built by [`app`] and
//! tested with `oneshot`, no socket needed.
//!
//! Every route is declared once, in [`api`]: its handler's `#[utoipa::path]` gives the
//! method and path to both the router and the OpenAPI document (`utoipa-axum`), so the
//! two cannot drift. The modules follow the resources: `commands` (every command, all
//! through the idempotent-command extractor of `command`), `complaints` (list, detail,
//! the BA page, the SLA board), `evidence`, `audit` (history, raw events, identity
//! reads, verification) and the service routes `health` and `openapi`. `caller` is who
//! asks and what they may see; `answers` the typed bodies; `error` the one error type
//! and the layers that make every refusal a problem and log it.

pub mod answers;
pub mod audit;
pub mod ba;
pub mod caller;
pub mod command;
pub mod commands;
pub mod complaints;
pub mod dto;
pub mod error;
pub mod evidence;
pub mod headers;
pub mod health;
pub mod imports;
pub mod open311;
pub mod openapi;
pub mod per_client;
pub mod request_id;

use std::sync::Arc;
use std::time::Duration;

use crate::evidence::EvidenceStore;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_store::Store;

pub use caller::Caller;
use error::ApiError;

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
    /// How long a command waits for the views to include it before answering (read
    /// your writes). The projector running in the background does the work (`serve`
    /// starts it; so must anyone else who serves [`app`]); past this the command is
    /// answered anyway, its events committed, and the views follow later.
    pub read_your_writes: Duration,
    /// The government whose letterhead the BA carries (`Pemerintah Kabupaten Kapuas`),
    /// above the agency's name and address from the registry.
    pub government: Option<String>,
    /// The auditors' screens' runs of the verification and the key that signs their
    /// checkpoints.
    pub audit: crate::web::AuditDesk,
}

impl AppState {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The instant to date a command on `complaint` at: this host's clock, or the
    /// complaint's latest event's instant where the clock reads earlier (as
    /// [`AppState::execute`] dates it).
    pub(crate) fn now_for(&self, complaint: &workflow_core::Complaint) -> DateTime<Utc> {
        complaint.dated_by_clock(self.now())
    }

    /// Executes a command dated by this host's clock
    /// ([`workflow_store::Engine::execute_by_clock`]): a complaint's events stay in time
    /// order whichever host's clock runs ahead.
    pub(crate) async fn execute(
        &self,
        complaint_id: &workflow_core::ComplaintId,
        envelope: workflow_core::CommandEnvelope,
        correlation_id: Option<&str>,
    ) -> Result<workflow_store::Executed, workflow_store::StoreError> {
        self.store
            .engine()
            .execute_by_clock(complaint_id, envelope, correlation_id)
            .await
    }
}

/// The default of [`AppState::read_your_writes`].
pub const READ_YOUR_WRITES: Duration = Duration::from_secs(5);

/// JSON bodies larger than this are refused with 413.
pub const JSON_LIMIT: usize = 64 * 1024;

/// Entries on a page when the caller names no `limit`.
pub const PAGE_DEFAULT: u32 = 50;
/// The most entries a page holds; a larger `limit` is refused, not cut down.
pub const PAGE_MAX: u32 = 500;

/// Every route of the API, each declared once: the router and the OpenAPI document
/// ([`openapi::document`]) are both made from this. Uploads take `evidence_limit` bytes
/// (and a little more, so the store says which limit it was); every other body
/// [`JSON_LIMIT`].
pub fn api(evidence_limit: usize) -> OpenApiRouter<AppState> {
    use {audit as a, commands as c, complaints as v, health as h};
    let json = OpenApiRouter::new()
        .routes(routes!(c::register, v::list))
        .routes(routes!(v::detail))
        .routes(routes!(c::dispose))
        .routes(routes!(c::return_complaint))
        .routes(routes!(c::review))
        .routes(routes!(c::request_information))
        .routes(routes!(c::provide_information))
        .routes(routes!(c::reject))
        .routes(routes!(c::clarify))
        .routes(routes!(c::field_verification))
        .routes(routes!(c::issue_ba, v::ba_document))
        .routes(routes!(c::respond))
        .routes(routes!(c::close))
        .routes(routes!(c::archive))
        .routes(routes!(c::withdraw))
        .routes(routes!(c::forward))
        .routes(routes!(c::acknowledge_ba))
        .routes(routes!(c::progress))
        .routes(routes!(c::feedback))
        .routes(routes!(c::reopen))
        .routes(routes!(c::reassign))
        .routes(routes!(c::annul_breach))
        .routes(routes!(c::erase_identity))
        .routes(routes!(a::history))
        .routes(routes!(a::events))
        .routes(routes!(a::identity_reads))
        .routes(routes!(v::sla))
        .routes(routes!(a::verify))
        .routes(routes!(openapi::serve))
        .routes(routes!(h::health))
        .routes(routes!(h::live))
        .routes(routes!(h::ready))
        .routes(routes!(h::metrics))
        .layer(DefaultBodyLimit::max(JSON_LIMIT));
    let uploads = OpenApiRouter::new()
        .routes(routes!(evidence::upload))
        .routes(routes!(evidence::download))
        .layer(DefaultBodyLimit::max(evidence_limit + 1024));
    let imports = OpenApiRouter::new()
        .routes(routes!(imports::lapor))
        .layer(DefaultBodyLimit::max(imports::limit(evidence_limit)));
    json.merge(uploads).merge(imports)
}

/// The router.
pub fn app(state: AppState) -> Router {
    let (api, _) = api(state.evidence.limit()).split_for_parts();
    api.merge(crate::web::router(state.evidence.limit()))
        .merge(open311::router())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
        // Outermost: whatever refused the request, the answer is a problem, logged,
        // with the security headers.
        .layer(axum::middleware::map_response(error::problems_only))
        .layer(axum::middleware::from_fn(error::log_failures))
        .layer(axum::middleware::map_response(headers::security_headers))
        .layer(axum::middleware::from_fn(request_id::request_id))
}

/// Every method and path the router serves, read from the same declaration.
pub fn routes() -> Vec<(Method, String)> {
    openapi::operations(&openapi::document())
        .into_iter()
        .filter_map(|(method, path)| Some((method.to_uppercase().parse().ok()?, path)))
        .collect()
}

/// Logs every request with its status and duration, and turns a panic in a handler
/// into a 500 problem instead of a dropped connection.
pub async fn log_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse;
    use futures::FutureExt;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .extensions()
        .get::<request_id::RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
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
            let response = ApiError::Internal(format!("handler panicked: {what}")).into_response();
            error::log_failure(&method, &path, &response);
            response
        }
    };
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(%method, %path, status = response.status().as_u16(), ms, %request_id, "request");
    response
}

/// A request's query string parsed into `T`; a query that does not fit is a 400
/// problem.
pub struct TypedQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for TypedQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(q) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(q))
    }
}
