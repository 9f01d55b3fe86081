//! Open311 GeoReport v2 under `/open311/v2/` (docs/open311.md): the services (the
//! complaint categories), public complaints as service requests, and new requests
//! registered as UPP registers a complaint. It follows its own specification, not the
//! API's: errors are GeoReport's `[{"code", "description"}]`, and the routes are not in
//! the OpenAPI document (decision 0031).
//!
//! Only what the public may read leaves here: the queries of
//! [`workflow_store::views::PublicFilter`] never return a confidential (*rahasia*)
//! complaint, and no field is made from the complainant's identity.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use workflow_core::complainant::{Complainant, Confidentiality, PersonalData};
use workflow_core::complaint::command::Registration;
use workflow_core::complaint::event::EventBody;
use workflow_core::{AgencyCode, ComplaintCommand, Role};
use workflow_store::views::{ComplaintDetail, ComplaintSummary, PublicFilter, PUBLIC_LIMIT};

use super::caller::PathId;
use super::command::{idempotency_key, Pending};
use super::error::ApiError;
use super::per_client::{retry_after, PerClient};
use super::AppState;

/// Where the endpoint is served.
pub const ROOT: &str = "/open311/v2";

/// The widest range of `start_date` to `end_date`, and the one used when neither is
/// given (the most recent days), as GeoReport v2 has it.
pub const RANGE_DAYS: i64 = 90;

/// Requests a minute from one client address, and how many at once.
pub const PER_MINUTE: u32 = 60;
/// See [`PER_MINUTE`].
pub const BURST: u32 = 20;

/// What UPP's review of a request registered through Open311 says.
const UPP_REVIEW: &str = "Diterima melalui Open311 GeoReport v2; belum ditelaah UPP.";

/// The routes, each client address limited to [`PER_MINUTE`].
pub fn router() -> Router<AppState> {
    let limit = PerClient::new(
        NonZeroU32::new(PER_MINUTE).expect("not zero"),
        NonZeroU32::new(BURST).expect("not zero"),
    );
    let routes = Router::new()
        .route("/services.json", get(services))
        .route("/requests.json", get(requests).post(create))
        .route("/requests/{file}", get(request))
        .fallback(|| async {
            not_found("no such Open311 resource (JSON only: .json)").into_response()
        })
        .layer(axum::middleware::from_fn(move |request, next| {
            limit.clone().layer(too_many, request, next)
        }));
    Router::new().nest(ROOT, routes)
}

/// GeoReport's error: a list of one `{code, description}`, with the HTTP status.
pub(crate) struct GeoError(Box<Refusal>);

struct Refusal {
    status: StatusCode,
    description: String,
    retry_after: Option<HeaderValue>,
    failure: Option<String>,
}

impl IntoResponse for GeoError {
    fn into_response(self) -> Response {
        let e = *self.0;
        let body = serde_json::json!([{ "code": e.status.as_u16(), "description": e.description }]);
        let mut r = (e.status, axum::Json(body)).into_response();
        if let Some(v) = e.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(f) = e.failure {
            r.extensions_mut().insert(super::error::Failure(f));
        }
        r
    }
}

fn error(status: StatusCode, description: impl Into<String>) -> GeoError {
    GeoError(Box::new(Refusal {
        status,
        description: description.into(),
        retry_after: None,
        failure: None,
    }))
}

fn not_found(what: &str) -> GeoError {
    error(StatusCode::NOT_FOUND, what)
}

fn too_many(wait: Duration) -> Response {
    let mut e = error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests from this address; try again later",
    );
    e.0.retry_after = HeaderValue::from_str(&retry_after(wait)).ok();
    e.into_response()
}

/// An error of the API as GeoReport's: the same status, its detail as the description
/// (a 500's or 503's cause stays in the log, as in the API's problems).
fn from_api(e: ApiError) -> GeoError {
    let (status, _, title) = e.parts();
    let description = match &e {
        ApiError::Internal(_) | ApiError::Unavailable(_) => title.to_owned(),
        _ => e.to_string(),
    };
    let mut g = error(status, description);
    g.0.failure = Some(e.to_string());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        g.0.retry_after = Some(HeaderValue::from_static(super::error::RETRY_AFTER_SECONDS));
    }
    g
}

fn api(e: workflow_store::StoreError) -> GeoError {
    from_api(e.into())
}

/// A service: one complaint category.
#[derive(Serialize)]
struct Service {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: &'static str,
}

/// `GET /open311/v2/services.json`: the categories of the SLA policy and of public
/// complaints.
async fn services(State(state): State<AppState>) -> Response {
    match service_codes(&state).await {
        Ok(codes) => axum::Json(
            codes
                .into_iter()
                .map(|code| Service {
                    description: format!("Aduan kategori {code}"),
                    service_name: code.clone(),
                    keywords: code.clone(),
                    service_code: code,
                    metadata: false,
                    kind: "realtime",
                    group: "aduan",
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => from_api(e).into_response(),
    }
}

async fn service_codes(state: &AppState) -> Result<Vec<String>, ApiError> {
    let mut codes: std::collections::BTreeSet<String> = state
        .store
        .engine()
        .services()
        .policy
        .by_category
        .keys()
        .cloned()
        .collect();
    codes.extend(state.store.views().public_categories().await?);
    Ok(codes.into_iter().collect())
}

/// A service request: a public complaint as GeoReport v2 names its fields.
#[derive(Serialize)]
struct ServiceRequest {
    service_request_id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_notes: Option<String>,
    service_name: String,
    service_code: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    agency_responsible: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
}

fn w3c(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The latest text the complainant was given: a progress report or the response (the
/// BA's solution when the response was left empty after a BA).
pub(crate) async fn public_notes(
    state: &AppState,
    detail: &ComplaintDetail,
) -> Result<Option<String>, ApiError> {
    let c = &detail.state;
    if c.progress_reports() == 0 && c.response().is_none() {
        return Ok(None);
    }
    let events = state
        .store
        .engine()
        .events(&detail.summary.complaint_id)
        .await?;
    let mut ba_solution = None;
    let mut latest = None;
    for e in &events {
        match &e.payload.body {
            EventBody::BaIssued(ba) => ba_solution = Some(ba.solution.clone()),
            EventBody::ProgressReported(p) => latest = Some(p.text.clone()),
            EventBody::Responded(r) if r.response.trim().is_empty() => {
                latest = ba_solution.clone();
            }
            EventBody::Responded(r) => latest = Some(r.response.clone()),
            _ => {}
        }
    }
    Ok(latest.filter(|t| !t.trim().is_empty()))
}

/// Agency names from the registry, asked once per code.
#[derive(Default)]
struct AgencyNames(BTreeMap<String, Option<String>>);

impl AgencyNames {
    async fn name(
        &mut self,
        state: &AppState,
        code: Option<&AgencyCode>,
    ) -> Result<Option<String>, ApiError> {
        let Some(code) = code else { return Ok(None) };
        if let Some(known) = self.0.get(&code.0) {
            return Ok(known.clone());
        }
        let name = state
            .store
            .agency(code)
            .await?
            .map(|a| a.details.name)
            .or_else(|| Some(code.0.clone()));
        self.0.insert(code.0.clone(), name.clone());
        Ok(name)
    }
}

async fn service_request(
    state: &AppState,
    detail: &ComplaintDetail,
    agencies: &mut AgencyNames,
) -> Result<ServiceRequest, ApiError> {
    let s: &ComplaintSummary = &detail.summary;
    let registration = detail.state.registration();
    Ok(ServiceRequest {
        service_request_id: s.complaint_id.to_string(),
        status: if s.status.is_terminal() {
            "closed"
        } else {
            "open"
        },
        status_notes: public_notes(state, detail).await?,
        service_name: s.category.clone(),
        service_code: s.category.clone(),
        description: registration
            .map(|r| r.description.clone())
            .unwrap_or_default(),
        agency_responsible: agencies.name(state, s.agency.as_ref()).await?,
        requested_datetime: w3c(s.registered_at),
        updated_datetime: w3c(s.updated_at),
        address: registration.and_then(|r| r.location.clone()),
    })
}

fn query_pairs(query: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A W3C datetime (`2026-11-30T09:00:00+07:00`) or a date (midnight UTC).
fn instant(name: &str, text: &str) -> Result<DateTime<Utc>, GeoError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(error(
        StatusCode::BAD_REQUEST,
        format!("{name} `{text}` is not a W3C datetime such as 2026-11-30T00:00:00Z"),
    ))
}

fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `GET /open311/v2/requests.json`: public complaints, newest first, at most
/// [`PUBLIC_LIMIT`]; `service_request_id` (comma-separated) overrides every filter.
async fn requests(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match list(&state, &query_pairs(query.as_deref())).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn list(state: &AppState, q: &BTreeMap<String, String>) -> Result<Response, GeoError> {
    let mut agencies = AgencyNames::default();
    let mut out = Vec::new();
    if let Some(ids) = q.get("service_request_id") {
        let ids = comma_list(ids);
        if ids.len() > PUBLIC_LIMIT as usize {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("at most {PUBLIC_LIMIT} service_request_id at once"),
            ));
        }
        for id in ids {
            let Ok(id) = PathId::parse(&id) else { continue };
            if let Some(d) = state.store.views().public_detail(&id).await.map_err(api)? {
                out.push(
                    service_request(state, &d, &mut agencies)
                        .await
                        .map_err(from_api)?,
                );
            }
        }
        return Ok(axum::Json(out).into_response());
    }
    let closed = match q.get("status").map(|s| comma_list(s)) {
        None => None,
        Some(wanted) => {
            let (open, closed) =
                wanted
                    .iter()
                    .try_fold((false, false), |(o, c), s| match s.as_str() {
                        "open" => Ok((true, c)),
                        "closed" => Ok((o, true)),
                        other => Err(error(
                            StatusCode::BAD_REQUEST,
                            format!("status `{other}`: open or closed"),
                        )),
                    })?;
            match (open, closed) {
                (true, false) => Some(false),
                (false, true) => Some(true),
                _ => None,
            }
        }
    };
    let now = state.now();
    let end = q
        .get("end_date")
        .map(|t| instant("end_date", t))
        .transpose()?;
    let start = q
        .get("start_date")
        .map(|t| instant("start_date", t))
        .transpose()?;
    let range = chrono::Duration::days(RANGE_DAYS);
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, Some(e)),
        (Some(s), None) => (s, None),
        (None, Some(e)) => (e - range, Some(e)),
        (None, None) => (now - range, None),
    };
    if let Some(e) = end {
        if e < start {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "end_date is before start_date",
            ));
        }
    }
    if end.unwrap_or(now) - start > range {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("start_date to end_date may span at most {RANGE_DAYS} days"),
        ));
    }
    let categories = q.get("service_code").map(|s| comma_list(s));
    let filter = PublicFilter {
        closed,
        categories: categories.unwrap_or_default(),
        from: Some(start),
        to: end,
        limit: Some(PUBLIC_LIMIT),
    };
    for summary in state
        .store
        .views()
        .public_list(&filter)
        .await
        .map_err(api)?
    {
        let Some(d) = state
            .store
            .views()
            .public_detail(&summary.complaint_id)
            .await
            .map_err(api)?
        else {
            continue;
        };
        out.push(
            service_request(state, &d, &mut agencies)
                .await
                .map_err(from_api)?,
        );
    }
    Ok(axum::Json(out).into_response())
}

/// `GET /open311/v2/requests/{id}.json`: one public complaint, as a list of one; an
/// unknown id and a confidential complaint are the same 404.
async fn request(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".json") else {
        return not_found("no such Open311 resource (JSON only: .json)").into_response();
    };
    let unknown = || not_found(format!("no service request {id}").as_str());
    let Ok(id) = PathId::parse(id) else {
        return unknown().into_response();
    };
    let detail = match state.store.views().public_detail(&id).await {
        Ok(Some(d)) => d,
        Ok(None) => return unknown().into_response(),
        Err(e) => return api(e).into_response(),
    };
    match service_request(&state, &detail, &mut AgencyNames::default()).await {
        Ok(r) => axum::Json([r]).into_response(),
        Err(e) => from_api(e).into_response(),
    }
}

/// The answer to a new request.
#[derive(Serialize)]
struct Created {
    service_request_id: String,
    service_notice: String,
}

/// `POST /open311/v2/requests.json` (form-encoded): registers a complaint as UPP does
/// (`POST /api/v1/complaints`), under the `api_key` of a UPP token. The id is
/// `attribute[lapor_id]` when given (the LAPOR! tracking number: registering it twice
/// is refused), otherwise a new one; an `Idempotency-Key` header is honoured as on
/// every command.
async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match register(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn register(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, GeoError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let forbidden = || error(StatusCode::FORBIDDEN, "api_key is missing or not valid");
    let key = field("api_key").ok_or_else(forbidden)?;
    let caller = state
        .store
        .authenticate(&key, state.now())
        .await
        .map_err(api)?
        .ok_or_else(forbidden)?;
    if caller.role != Role::Upp {
        return Err(error(
            StatusCode::FORBIDDEN,
            format!(
                "the api_key is of role `{}`; only UPP registers complaints",
                caller.role
            ),
        ));
    }
    let bad = |what: String| error(StatusCode::BAD_REQUEST, what);
    let service_code =
        field("service_code").ok_or_else(|| bad("service_code is required".into()))?;
    let known = service_codes(state).await.map_err(from_api)?;
    if !known.contains(&service_code) {
        return Err(bad(format!(
            "service_code `{service_code}` is not one of services.json"
        )));
    }
    let description = field("description").ok_or_else(|| bad("description is required".into()))?;
    let location = match (field("address_string"), field("lat"), field("long")) {
        (Some(address), _, _) => address,
        (None, Some(lat), Some(long)) => {
            let (Ok(lat), Ok(long)) = (lat.parse::<f64>(), long.parse::<f64>()) else {
                return Err(bad("lat and long must be decimal degrees".into()));
            };
            format!("{lat}, {long}")
        }
        _ => {
            return Err(bad(
                "a location is required: address_string, or lat and long".into(),
            ))
        }
    };
    let confidentiality = match field("attribute[confidentiality]").as_deref() {
        None => Confidentiality::Confidential,
        Some(text) => text.parse().map_err(bad)?,
    };
    let key = idempotency_key(headers).map_err(from_api)?;
    // The LAPOR! number when there is one; otherwise an id derived from the
    // Idempotency-Key (so that a retry names the same complaint), or a new one.
    let id = match (field("attribute[lapor_id]"), &key) {
        (Some(lapor_id), _) => lapor_id,
        (None, Some(key)) => {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(format!("{}\n{key}", caller.user).as_bytes());
            format!("O311-{}", &workflow_store::chain::hex(&digest)[..16])
        }
        (None, None) => format!("O311-{}", &super::command::random_id()[..16]),
    };
    let id = PathId::parse(&id).map_err(from_api)?;
    let name = [field("first_name"), field("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let title: String = description
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(80)
        .collect();
    let registration = Registration {
        lapor_id: id.to_string(),
        title,
        description: description.clone(),
        category: service_code.clone(),
        location: Some(location.clone()),
        reported_at: state.now(),
        complainant: Complainant::plain(
            PersonalData {
                name,
                phone: field("phone"),
                email: field("email"),
                ..PersonalData::default()
            },
            confidentiality,
        ),
        upp_review: UPP_REVIEW.into(),
        attachments: Vec::new(),
    };
    // The fingerprint kept with an idempotency key: the request less who sent it.
    let fingerprint = serde_json::json!({
        "id": id.as_str(),
        "service_code": service_code,
        "description": description,
        "location": location,
        "confidentiality": confidentiality.as_str(),
    });
    let pending = Pending::new(
        caller,
        key,
        "/open311/v2/requests.json",
        fingerprint.to_string().into_bytes(),
    );
    let done = pending
        .execute(
            state,
            &id,
            ComplaintCommand::Register(registration),
            StatusCode::CREATED,
        )
        .await
        .map_err(from_api)?;
    if !done.status().is_success() {
        // A kept answer of a refusal (the API's problem): GeoReport's shape instead.
        return Err(error(done.status(), "refused"));
    }
    let notice = if confidentiality.report_is_public() {
        "Aduan diterima dan terdaftar; UPP menelaahnya."
    } else {
        "Aduan diterima sebagai rahasia: tidak diterbitkan di Open311 maupun di halaman lacak."
    };
    Ok((
        StatusCode::CREATED,
        axum::Json([Created {
            service_request_id: id.to_string(),
            service_notice: notice.into(),
        }]),
    )
        .into_response())
}
