//! The public tracking page (`/lacak`): anyone with a LAPOR! tracking number reads
//! where the complaint stands, in plain Indonesian, with the date of each step, the
//! public progress reports and the response. No sign-in, no identity; a confidential
//! (*rahasia*) complaint gets the very page an unknown number gets, so the page never
//! tells whether such a complaint exists. Each client address is limited to
//! [`PER_MINUTE`] requests a minute.

use std::num::NonZeroU32;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use workflow_core::complaint::event::EventBody;
use workflow_core::Status;
use workflow_store::views::ComplaintDetail;

use super::{agency_zone, page};
use crate::format::zone_label;
use crate::http::error::ApiError;
use crate::http::per_client::{retry_after, PerClient};
use crate::http::AppState;

/// Requests a minute from one client address, and how many at once.
pub const PER_MINUTE: u32 = 30;
/// See [`PER_MINUTE`].
pub const BURST: u32 = 10;

/// The longest tracking number looked up.
const MAX_NUMBER: usize = 100;

/// The page's routes, each client address limited to [`PER_MINUTE`].
pub fn router() -> Router<AppState> {
    let limit = PerClient::new(
        NonZeroU32::new(PER_MINUTE).expect("not zero"),
        NonZeroU32::new(BURST).expect("not zero"),
    );
    Router::new()
        .route("/lacak", get(form))
        .route("/lacak/{nomor}", get(by_path))
        .layer(axum::middleware::from_fn(move |request, next| {
            limit.clone().layer(too_many, request, next)
        }))
}

#[derive(Template)]
#[template(path = "lacak.html")]
struct TrackingPage {
    heading: &'static str,
    asked: String,
    message: Option<&'static str>,
    found: Option<Tracked>,
}

struct Tracked {
    title: String,
    lapor_id: String,
    category: String,
    status: &'static str,
    agency: Option<String>,
    response: Option<String>,
    zone: String,
    steps: Vec<Step>,
}

struct Step {
    when: String,
    what: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Asked {
    nomor: Option<String>,
}

async fn form(State(state): State<AppState>, Query(asked): Query<Asked>) -> Response {
    match asked.nomor {
        Some(n) if !n.trim().is_empty() => track(&state, n.trim()).await,
        _ => page(
            StatusCode::OK,
            &TrackingPage {
                heading: "Lacak aduan",
                asked: String::new(),
                message: None,
                found: None,
            },
        ),
    }
}

async fn by_path(State(state): State<AppState>, Path(nomor): Path<String>) -> Response {
    track(&state, nomor.trim()).await
}

const NOT_FOUND: &str = "Nomor pelacakan tidak ditemukan. Periksa kembali nomor dari LAPOR!.";

async fn track(state: &AppState, number: &str) -> Response {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            &TrackingPage {
                heading: "Lacak aduan",
                asked: number.chars().take(MAX_NUMBER).collect(),
                message: Some(NOT_FOUND),
                found: None,
            },
        )
    };
    if number.len() > MAX_NUMBER {
        return not_found();
    }
    let detail = match state.store.views().public_by_lapor_id(number).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(),
        Err(e) => return failed(e.into()),
    };
    match tracked(state, &detail).await {
        Ok(found) => page(
            StatusCode::OK,
            &TrackingPage {
                heading: "Lacak aduan",
                asked: number.to_owned(),
                message: None,
                found: Some(found),
            },
        ),
        Err(e) => failed(e),
    }
}

fn failed(e: ApiError) -> Response {
    let status = e.parts().0;
    let mut r = page(
        status,
        &TrackingPage {
            heading: "Lacak aduan",
            asked: String::new(),
            message: Some("Halaman ini sedang tidak dapat dibuka. Coba lagi sebentar lagi."),
            found: None,
        },
    );
    r.extensions_mut()
        .insert(crate::http::error::Failure(e.to_string()));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(crate::http::error::RETRY_AFTER_SECONDS),
        );
    }
    r
}

fn too_many(wait: Duration) -> Response {
    let mut r = page(
        StatusCode::TOO_MANY_REQUESTS,
        &TrackingPage {
            heading: "Terlalu banyak permintaan",
            asked: String::new(),
            message: Some(
                "Terlalu banyak permintaan dari alamat Anda. Tunggu sebentar, lalu coba lagi.",
            ),
            found: None,
        },
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after(wait)) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// An instant as a date and time in Indonesian: `20 November 2026, 09.00`.
fn tanggal(at: chrono::DateTime<chrono::Utc>, zone: &workflow_core::TimeZoneSpec) -> String {
    use chrono::Timelike;
    let t = at.with_timezone(&zone.offset());
    format!(
        "{}, {:02}.{:02}",
        crate::format::tanggal(t.date_naive()),
        t.hour(),
        t.minute()
    )
}

/// Where a complaint stands, as the complainant would say it.
pub(crate) fn public_status(status: Status) -> &'static str {
    match status {
        Status::New => "Belum terdaftar",
        Status::Received | Status::Returned => {
            "Diterima, sedang diteruskan ke perangkat daerah yang berwenang"
        }
        Status::Disposed => "Diteruskan ke perangkat daerah, menunggu ditelaah",
        Status::Reviewed | Status::InformationProvided | Status::Clarified => {
            "Sedang ditelaah perangkat daerah"
        }
        Status::AwaitingInformation => "Menunggu keterangan tambahan dari pelapor",
        Status::FieldVerified | Status::BaIssued => "Sedang ditindaklanjuti di lapangan",
        Status::Responded => "Sudah dijawab, menunggu tanggapan pelapor",
        Status::Closed => "Selesai",
        Status::Rejected => "Tidak dapat ditindaklanjuti",
        Status::Archived => "Diarsipkan, tidak diteruskan",
        Status::Withdrawn => "Dicabut oleh pelapor",
        Status::Forwarded => "Diteruskan ke instansi lain di luar pemerintah daerah",
    }
}

async fn tracked(state: &AppState, detail: &ComplaintDetail) -> Result<Tracked, ApiError> {
    let s = &detail.summary;
    let zone = agency_zone(state, s.agency.as_ref()).await?;
    let agency_name = |code: &workflow_core::AgencyCode| {
        let store = state.store.clone();
        let code = code.clone();
        async move {
            Ok::<_, ApiError>(
                store
                    .agency(&code)
                    .await?
                    .map(|a| a.details.name)
                    .unwrap_or(code.0),
            )
        }
    };
    let agency = match &s.agency {
        Some(code) => Some(agency_name(code).await?),
        None => None,
    };
    let events = state.store.engine().events(&s.complaint_id).await?;
    let mut steps = Vec::new();
    let mut ba_solution = None;
    for e in &events {
        let (what, text): (String, Option<String>) = match &e.payload.body {
            EventBody::Received(_) => ("Aduan diterima".into(), None),
            EventBody::Disposed(d) => (
                format!("Diteruskan ke {}", agency_name(&d.agency).await?),
                None,
            ),
            EventBody::Returned(_) => ("Dikembalikan untuk diteruskan ulang".into(), None),
            EventBody::Reviewed(_) => ("Ditelaah".into(), None),
            EventBody::InformationRequested(_) => {
                ("Keterangan tambahan diminta dari pelapor".into(), None)
            }
            EventBody::InformationProvided(_) => ("Keterangan tambahan diterima".into(), None),
            EventBody::Clarified(_) => ("Diklarifikasi".into(), None),
            EventBody::FieldVerified(_) => ("Pemeriksaan lapangan".into(), None),
            EventBody::BaIssued(ba) => {
                ba_solution = Some(ba.solution.clone());
                ("Berita Acara diterbitkan".into(), None)
            }
            EventBody::ProgressReported(p) => ("Perkembangan".into(), Some(p.text.clone())),
            EventBody::Responded(_) => ("Dijawab".into(), None),
            EventBody::FeedbackReceived(_) => ("Tanggapan pelapor dicatat".into(), None),
            EventBody::Reopened(_) => ("Dibuka kembali untuk ditindaklanjuti".into(), None),
            EventBody::Closed(_) => ("Selesai".into(), None),
            EventBody::Rejected(_) => ("Tidak dapat ditindaklanjuti".into(), None),
            EventBody::Archived(_) => ("Diarsipkan".into(), None),
            EventBody::Withdrawn(_) | EventBody::DeemedWithdrawn(_) => ("Dicabut".into(), None),
            EventBody::Forwarded(_) => ("Diteruskan ke instansi lain".into(), None),
            // Internal to the government: deadlines, reassignments, the head's
            // acknowledgement, erasure, escalation, the mark of an import (whose
            // registration and disposition are shown above at LAPOR!'s dates).
            EventBody::Imported(_)
            | EventBody::SlaBreached(_)
            | EventBody::BreachAnnulled(_)
            | EventBody::Reassigned(_)
            | EventBody::BaAcknowledged(_)
            | EventBody::IdentityErased(_)
            | EventBody::ReturnsEscalated(_) => continue,
        };
        steps.push(Step {
            when: tanggal(e.payload.at, &zone),
            what,
            text: text.filter(|t| !t.trim().is_empty()),
        });
    }
    let response = detail
        .state
        .response()
        .map(|r| {
            if r.trim().is_empty() {
                ba_solution.unwrap_or_default()
            } else {
                r.to_owned()
            }
        })
        .filter(|r| !r.trim().is_empty());
    let registration = detail.state.registration();
    Ok(Tracked {
        title: registration
            .map(|r| r.title.clone())
            .unwrap_or_else(|| s.title.clone()),
        lapor_id: s.lapor_id.clone(),
        category: s.category.clone(),
        status: public_status(s.status),
        agency,
        response,
        zone: zone_label(&zone),
        steps,
    })
}
