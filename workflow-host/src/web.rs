//! The web console for people (decision 27): server-rendered HTML in Indonesian under
//! `/konsol`, plain forms that work without JavaScript, one stylesheet served from the
//! binary, and a content security policy that allows nothing inline.
//!
//! People sign in with a name and password ([`workflow_store::people`]); the session
//! is a cookie (HttpOnly, SameSite=Strict, Secure behind TLS) and every form carries the
//! session's form token. A page shows what the API would show the same person, under
//! the same rules: the same scoping ([`crate::http::caller::may_see`]), the same
//! identity rules (each opened identity recorded), and every action goes through the
//! engine as the API's do.

use askama::Template;
use axum::extract::{Form, FromRequestParts, Path, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use workflow_core::complaint::command::{ComplaintCommand, ReviewResult};
use workflow_core::{Actor, CommandEnvelope, ComplaintId, Role, TimeZoneSpec};
use workflow_store::people::{PasswordRefused, SignInRefused, MIN_PASSWORD_CHARS};
use workflow_store::views::BoardStatus;

use crate::format::{describe, local, zone_label};
use crate::http::complaints::load_visible;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::read_model::{ComplainantView, Reader};

/// The session cookie.
const COOKIE: &str = "aduan_sesi";
/// The policy of the console's pages: its own stylesheet and images, forms to itself.
pub const CONSOLE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The route a console page's read of an identity is recorded under.
const PAGE_ROUTE: &str = "GET /konsol/aduan/{id}";

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/konsol", get(home))
        .route("/konsol/static/konsol.css", get(stylesheet))
        .route("/konsol/masuk", get(sign_in_page).post(sign_in))
        .route("/konsol/keluar", post(sign_out))
        .route(
            "/konsol/atur-sandi/{secret}",
            get(password_page).post(set_password),
        )
        .route("/konsol/tugas", get(tasks))
        .route("/konsol/aduan/{id}", get(complaint_page))
        .route("/konsol/aduan/{id}/telaah", post(review))
}

/// A page of the console: HTML with the console's policy.
fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONSOLE_POLICY),
            );
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => ApiError::Internal(format!("a console page did not render: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "galat.html")]
struct ErrorPage {
    signed_in: Option<String>,
    csrf: String,
    heading: &'static str,
    message: String,
}

/// An error as a page for a person (the API answers the same errors as problems).
fn error_page(e: ApiError) -> Response {
    let status = e.parts().0;
    let heading = match status.as_u16() {
        403 => "Bukan untuk Anda",
        404 => "Tidak ditemukan",
        400 | 422 => "Permintaan tidak dapat diproses",
        503 => "Layanan sedang tidak tersedia; coba lagi sebentar lagi",
        _ => "Terjadi kesalahan",
    };
    let message = match &e {
        ApiError::Internal(_) => "Kesalahan di server; sudah dicatat.".to_owned(),
        other => other.to_string(),
    };
    if status.is_server_error() {
        // The detail goes to the log, as for the API.
        tracing::error!(error = %e, "a console page failed");
    }
    page(
        status,
        &ErrorPage {
            signed_in: None,
            csrf: String::new(),
            heading,
            message,
        },
    )
}

/// The signed-in person of a request, from the session cookie. Without a live session
/// a page sends the browser to sign in.
pub struct SignedIn {
    actor: Actor,
    csrf: String,
    secret: String,
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/konsol/masuk").into_response();
        let Some(secret) = cookie_value(&parts.headers) else {
            return Err(to_sign_in());
        };
        match state.store.session(&secret, state.now()).await {
            Ok(Some(session)) => Ok(SignedIn {
                actor: session.actor,
                csrf: session.csrf,
                secret,
            }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(error_page(e.into())),
        }
    }
}

impl SignedIn {
    /// Refuses a form without the session's token (a request made by another site).
    fn check(&self, token: &str) -> Result<(), ApiError> {
        let same = token.len() == self.csrf.len()
            && token
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "the form's token is not this session's".into(),
            ))
        }
    }

    fn label(&self) -> String {
        match &self.actor.agency {
            Some(agency) => format!("{} ({}, {agency})", self.actor.user, self.actor.role),
            None => format!("{} ({})", self.actor.user, self.actor.role),
        }
    }
}

/// The cookie that carries a session: only over TLS when the request came over TLS
/// (directly or through a proxy that says so).
fn session_cookie(headers: &HeaderMap, value: &str, max_age: i64) -> HeaderValue {
    let tls = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/konsol; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(
        "aduan_sesi=; Path=/konsol; Max-Age=0",
    ))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/konsol.css"),
    )
        .into_response()
}

async fn home(_who: SignedIn) -> Response {
    Redirect::to("/konsol/tugas").into_response()
}

#[derive(Template)]
#[template(path = "masuk.html")]
struct SignInPage {
    signed_in: Option<String>,
    csrf: String,
    error: Option<String>,
    name: String,
}

async fn sign_in_page() -> Response {
    page(
        StatusCode::OK,
        &SignInPage {
            signed_in: None,
            csrf: String::new(),
            error: None,
            name: String::new(),
        },
    )
}

#[derive(Deserialize)]
struct SignInForm {
    nama: String,
    sandi: String,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let refused = |message: String| {
        page(
            StatusCode::UNAUTHORIZED,
            &SignInPage {
                signed_in: None,
                csrf: String::new(),
                error: Some(message),
                name: form.nama.clone(),
            },
        )
    };
    match state
        .store
        .sign_in(&form.nama, &form.sandi, state.now())
        .await
    {
        Ok(Ok(session)) => {
            let mut response = Redirect::to("/konsol").into_response();
            let max_age = workflow_store::people::LASTS_AT_MOST.num_seconds();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&headers, &session.secret, max_age),
            );
            response
        }
        Ok(Err(SignInRefused::WrongCredentials)) => {
            refused("Nama pengguna atau kata sandi salah.".into())
        }
        Ok(Err(SignInRefused::Locked { until })) => refused(format!(
            "Terlalu banyak percobaan yang salah. Coba lagi setelah {} {}.",
            local(until, &zone(&state)),
            zone_label(&zone(&state))
        )),
        Err(e) => error_page(e.into()),
    }
}

#[derive(Deserialize)]
struct TokenOnly {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<TokenOnly>,
) -> Response {
    if let Err(refused) = who.check(&form.csrf) {
        return error_page(refused);
    }
    if let Err(e) = state.store.sign_out(&who.secret, state.now()).await {
        return error_page(e.into());
    }
    let mut response = Redirect::to("/konsol/masuk").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&headers, "", 0));
    response
}

#[derive(Template)]
#[template(path = "atur_sandi.html")]
struct PasswordPage {
    signed_in: Option<String>,
    csrf: String,
    valid: bool,
    who: String,
    min_chars: usize,
    error: Option<String>,
}

async fn password_page(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    match state.store.password_link(&secret, state.now()).await {
        Ok(found) => page(
            if found.is_some() {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            },
            &PasswordPage {
                signed_in: None,
                csrf: String::new(),
                valid: found.is_some(),
                who: found.map(|a| a.user.0).unwrap_or_default(),
                min_chars: MIN_PASSWORD_CHARS,
                error: None,
            },
        ),
        Err(e) => error_page(e.into()),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    sandi: String,
}

async fn set_password(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    match state
        .store
        .set_password(&secret, &form.sandi, state.now())
        .await
    {
        Ok(Ok(_)) => Redirect::to("/konsol/masuk").into_response(),
        Ok(Err(why)) => {
            let who = state
                .store
                .password_link(&secret, state.now())
                .await
                .ok()
                .flatten();
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &PasswordPage {
                    signed_in: None,
                    csrf: String::new(),
                    valid: who.is_some(),
                    who: who.map(|a| a.user.0).unwrap_or_default(),
                    min_chars: MIN_PASSWORD_CHARS,
                    error: Some(match why {
                        PasswordRefused::TooShort => {
                            format!("Kata sandi paling sedikit {MIN_PASSWORD_CHARS} karakter.")
                        }
                        PasswordRefused::LinkInvalid => "Tautan ini tidak berlaku.".into(),
                    }),
                },
            )
        }
        Err(e) => error_page(e.into()),
    }
}

fn zone(state: &AppState) -> TimeZoneSpec {
    state.store.engine().services().policy.time_zone.clone()
}

/// The zone an agency's office keeps (the registry's), else the policy's.
async fn agency_zone(
    state: &AppState,
    agency: Option<&workflow_core::AgencyCode>,
) -> Result<TimeZoneSpec, workflow_store::StoreError> {
    if let Some(code) = agency {
        if let Some(found) = state.store.agency(code).await? {
            if let Some(own) = found.details.time_zone {
                return Ok(own.time_zone());
            }
        }
    }
    Ok(zone(state))
}

/// A duty of the task list.
struct TaskRow {
    complaint_id: String,
    title: String,
    step: String,
    due: String,
    status: &'static str,
    status_class: &'static str,
}

/// A board status in words, and the class that colours it.
fn status_words(status: BoardStatus) -> (&'static str, &'static str) {
    match status {
        BoardStatus::Breached => ("Terlambat", "terlambat"),
        BoardStatus::AtRisk => ("Hampir jatuh tempo", "rawan"),
        BoardStatus::OnTrack => ("Sesuai jadwal", "aman"),
        BoardStatus::Paused => ("Menunggu pelapor", "jeda"),
    }
}

#[derive(Template)]
#[template(path = "tugas.html")]
struct TasksPage {
    heading: &'static str,
    signed_in: Option<String>,
    csrf: String,
    agency: String,
    zone: String,
    rows: Vec<TaskRow>,
}

/// "Tugas saya": the running duties of the person's agency (every agency for the roles
/// that see all), the nearest deadline first; each complaint once, at its most urgent.
async fn tasks(State(state): State<AppState>, who: SignedIn) -> Response {
    let zone = match agency_zone(&state, who.actor.agency.as_ref()).await {
        Ok(zone) => zone,
        Err(e) => return error_page(e.into()),
    };
    let agency = if who.actor.role.is_agency_scoped() {
        match &who.actor.agency {
            Some(a) => Some(a.0.clone()),
            None => {
                return error_page(ApiError::Forbidden(
                    "an agency's person without an agency".into(),
                ))
            }
        }
    } else {
        None
    };
    let board = match state
        .store
        .sla_board(state.now(), None, agency.as_deref())
        .await
    {
        Ok(board) => board,
        Err(e) => return error_page(e.into()),
    };
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for entry in board {
        if rows.len() >= crate::http::PAGE_DEFAULT as usize
            || !seen.insert(entry.complaint_id.clone())
        {
            continue;
        }
        let title = match state.store.views().detail(&entry.complaint_id).await {
            Ok(Some(d)) => d.summary.title,
            Ok(None) => String::new(),
            Err(e) => return error_page(e.into()),
        };
        let (status, status_class) = status_words(entry.status);
        rows.push(TaskRow {
            complaint_id: entry.complaint_id.to_string(),
            title,
            step: entry.step.to_string(),
            due: entry
                .due_at
                .map_or_else(|| "(dijeda)".into(), |d| local(d, &zone)),
            status,
            status_class,
        });
    }
    page(
        StatusCode::OK,
        &TasksPage {
            // A liaison officer's own work; everyone else reads the board of the duties.
            heading: if who.actor.role == Role::Liaison {
                "Tugas saya"
            } else {
                "Papan tenggat"
            },
            signed_in: Some(who.label()),
            csrf: who.csrf.clone(),
            agency: agency.unwrap_or_else(|| "semua perangkat daerah".into()),
            zone: zone_label(&zone),
            rows,
        },
    )
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
    signed_in: Option<String>,
    csrf: String,
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

fn fresh_key() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::getrandom(&mut bytes);
    workflow_store::chain::hex(&bytes)
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
        signed_in: Some(who.label()),
        csrf: who.csrf.clone(),
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
