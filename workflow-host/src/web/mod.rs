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
use workflow_core::{Actor, Role, TimeZoneSpec};
use workflow_store::people::{PasswordRefused, SignInRefused, MIN_PASSWORD_CHARS};
use workflow_store::views::BoardStatus;

use crate::format::{local, zone_label};
use crate::http::error::ApiError;
use crate::http::AppState;

mod actions;
mod apip;
mod boards;
mod complaint;
mod lacak;
mod pesan;
mod tasks;

pub use apip::AuditDesk;
pub use lacak::{BURST as TRACKING_BURST, PER_MINUTE as TRACKING_PER_MINUTE};

/// The session cookie.
const COOKIE: &str = "aduan_sesi";
/// The policy of the console's pages: its own stylesheet and images, forms to itself.
pub const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes.
pub fn router(evidence_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/konsol", get(home))
        .route("/konsol/static/konsol.css", get(stylesheet))
        .route("/konsol/static/konsol.js", get(script))
        .route("/konsol/masuk", get(sign_in_page).post(sign_in))
        .route("/konsol/keluar", post(sign_out))
        .route(
            "/konsol/atur-sandi/{secret}",
            get(password_page).post(set_password),
        )
        .merge(tasks::router())
        .merge(complaint::router(evidence_limit))
        .merge(apip::router())
        .merge(boards::router())
        .merge(lacak::router())
}

/// A link of the navigation bar.
pub(crate) struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
}

/// What every page's frame shows: who is signed in, their form token (the sign-out
/// form's), and the screens of their role.
#[derive(Default)]
pub(crate) struct Chrome {
    pub signed_in: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavLink>,
}

impl Chrome {
    /// The frame of a page nobody is signed in to.
    pub(crate) fn anonymous() -> Self {
        Self::default()
    }
}

/// The screens of each role, in the navigation bar.
fn nav_for(role: Role) -> Vec<NavLink> {
    let link = |href, label| NavLink { href, label };
    match role {
        Role::Liaison => vec![link("/konsol/tugas", "Tugas saya")],
        Role::Upp => vec![
            link("/konsol/tugas", "Papan tenggat"),
            link("/konsol/daftar", "Daftarkan aduan"),
        ],
        Role::Head => vec![
            link("/konsol/papan-opd", "Papan perangkat daerah"),
            link("/konsol/ba-menunggu", "BA menunggu"),
            link("/konsol/tugas", "Tenggat"),
        ],
        Role::Coordinator => vec![
            link("/konsol/papan", "Papan tenggat"),
            link("/konsol/pelanggaran", "Pelanggaran"),
            link("/konsol/eskalasi", "Pengembalian"),
            link("/konsol/statistik", "Statistik"),
        ],
        Role::Apip => vec![
            link("/konsol/tugas", "Papan tenggat"),
            link("/konsol/audit", "Jejak audit"),
            link("/konsol/audit/identitas", "Pembukaan identitas"),
            link("/konsol/audit/unduh", "Unduhan"),
        ],
        Role::System => Vec::new(),
    }
}

/// A page of the console: HTML with the console's policy.
pub(crate) fn page(status: StatusCode, t: &impl Template) -> Response {
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
    chrome: Chrome,
    heading: &'static str,
    message: String,
    detail: Option<String>,
}

/// An error as a page for a person (the API answers the same errors as problems).
pub(crate) fn error_page(e: ApiError) -> Response {
    let status = e.parts().0;
    let heading = match status.as_u16() {
        403 => "Bukan untuk Anda",
        404 => "Tidak ditemukan",
        400 | 422 => "Permintaan tidak dapat diproses",
        503 => "Layanan sedang tidak tersedia; coba lagi sebentar lagi",
        _ => "Terjadi kesalahan",
    };
    let message = match &e {
        ApiError::Rule { rule, detail } | ApiError::StateConflict { rule, detail } => {
            match pesan::host_rule(rule) {
                Some(said) => format!("Ditolak ({rule}): {said}"),
                None => format!("Ditolak ({rule}): {detail}"),
            }
        }
        _ => match status.as_u16() {
            400 => "Permintaan ini tidak dapat dibaca. Muat ulang halaman, lalu coba lagi.",
            403 => "Anda tidak berhak membuka halaman ini atau melakukan tindakan ini. Bila ini formulir, muat ulang halamannya lalu kirim lagi.",
            404 => "Halaman, aduan atau berkas yang dicari tidak ada.",
            409 => "Keadaan aduan sudah berubah. Muat ulang halaman.",
            410 => "Berkas ini sudah tidak ada: identitas pelapornya dihapus sesuai UU PDP.",
            413 => "Isian atau berkas terlalu besar.",
            415 => "Jenis berkas ini tidak diterima.",
            503 => "Layanan sedang tidak tersedia. Coba lagi sebentar lagi.",
            _ => "Kesalahan di server; sudah dicatat.",
        }
        .to_owned(),
    };
    if status.is_server_error() {
        // The detail goes to the log, as for the API.
        tracing::error!(error = %e, "a console page failed");
    } else {
        tracing::info!(error = %e, status = status.as_u16(), "a console page refused");
    }
    page(
        status,
        &ErrorPage {
            chrome: Chrome::anonymous(),
            heading,
            message,
            // What the rule or the check said, for whoever helps them (the operator).
            detail: match &e {
                ApiError::Internal(_) | ApiError::Rule { .. } | ApiError::StateConflict { .. } => {
                    None
                }
                other if !status.is_server_error() => Some(other.to_string()),
                _ => None,
            },
        },
    )
}

/// The signed-in person of a request, from the session cookie. Without a live session
/// a page sends the browser to sign in.
pub struct SignedIn {
    pub(crate) actor: Actor,
    pub(crate) csrf: String,
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
    pub(crate) fn check(&self, token: &str) -> Result<(), ApiError> {
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

    /// The frame of this person's pages.
    pub(crate) fn chrome(&self) -> Chrome {
        Chrome {
            signed_in: Some(self.label()),
            csrf: self.csrf.clone(),
            nav: nav_for(self.actor.role),
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
        include_str!("../../static/konsol.css"),
    )
        .into_response()
}

/// The console's one script: photo previews before a form is sent. Every page works
/// without it.
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/konsol.js"),
    )
        .into_response()
}

async fn home(_who: SignedIn) -> Response {
    Redirect::to("/konsol/tugas").into_response()
}

#[derive(Template)]
#[template(path = "masuk.html")]
struct SignInPage {
    chrome: Chrome,
    error: Option<String>,
    name: String,
}

async fn sign_in_page() -> Response {
    page(
        StatusCode::OK,
        &SignInPage {
            chrome: Chrome::anonymous(),
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
                chrome: Chrome::anonymous(),
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
    chrome: Chrome,
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
                chrome: Chrome::anonymous(),
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
                    chrome: Chrome::anonymous(),
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

pub(crate) fn zone(state: &AppState) -> TimeZoneSpec {
    state.store.engine().services().policy.time_zone.clone()
}

/// The zone an agency's office keeps (the registry's), else the policy's.
pub(crate) async fn agency_zone(
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

/// A board status in words, and the class that colours it.
pub(crate) fn status_words(status: BoardStatus) -> (&'static str, &'static str) {
    match status {
        BoardStatus::Breached => ("Terlambat", "terlambat"),
        BoardStatus::AtRisk => ("Hampir jatuh tempo", "rawan"),
        BoardStatus::OnTrack => ("Sesuai jadwal", "aman"),
        BoardStatus::Paused => ("Menunggu pelapor", "jeda"),
    }
}

/// A fresh key for a form: a second submission of the same form is done once.
pub(crate) fn fresh_key() -> String {
    crate::http::command::random_id()
}

/// A step of the SOP for people.
pub(crate) fn step_words(step: workflow_core::Step) -> &'static str {
    use workflow_core::Step;
    match step {
        Step::Disposition => "disposisi (langkah 1)",
        Step::Review => "telaah dan klarifikasi (langkah 2)",
        Step::FieldVerification => "verifikasi lapangan dan BA (langkah 3)",
        Step::Response => "jawaban kepada pelapor",
        Step::Feedback => "tanggapan pelapor",
        Step::Overall => "keseluruhan",
        Step::InformationWait => "menunggu keterangan pelapor",
        Step::FollowUp => "tindak lanjut pertama (LAPOR!)",
    }
}

/// A complaint's status for people.
pub(crate) fn status_label(status: workflow_core::Status) -> &'static str {
    use workflow_core::Status;
    match status {
        Status::New => "belum terdaftar",
        Status::Received => "diterima UPP, menunggu disposisi",
        Status::Disposed => "didisposisikan, menunggu telaah",
        Status::Returned => "dikembalikan, menunggu disposisi ulang",
        Status::Reviewed => "ditelaah",
        Status::AwaitingInformation => "menunggu keterangan pelapor",
        Status::InformationProvided => "keterangan pelapor diterima, menunggu telaah ulang",
        Status::Rejected => "tidak ditindaklanjuti",
        Status::Clarified => "diklarifikasi",
        Status::FieldVerified => "diverifikasi di lapangan, menunggu BA",
        Status::BaIssued => "BA terbit, menunggu jawaban",
        Status::Responded => "dijawab, menunggu tanggapan pelapor",
        Status::Closed => "ditutup",
        Status::Archived => "diarsipkan",
        Status::Withdrawn => "dicabut pelapor",
        Status::Forwarded => "diteruskan ke instansi lain",
    }
}
