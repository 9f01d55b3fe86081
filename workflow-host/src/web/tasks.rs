//! "Tugas saya" and the deadline board: the running duties of the person's agency (every
//! agency for the roles that see all), the nearest deadline first.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use workflow_core::Role;

use super::{agency_zone, error_page, page, status_words, Chrome, SignedIn};
use crate::format::{local, zone_label};
use crate::http::error::ApiError;
use crate::http::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/konsol/tugas", get(tasks))
}

/// Duties per page of the board (a complaint's clocks may share a page: it is shown once,
/// at its most urgent).
const BOARD_PAGE: u32 = 60;

/// A duty of the task list.
struct TaskRow {
    complaint_id: String,
    title: String,
    step: String,
    due: String,
    status: &'static str,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "tugas.html")]
struct TasksPage {
    heading: &'static str,
    chrome: Chrome,
    agency: String,
    zone: String,
    rows: Vec<TaskRow>,
    next: Option<String>,
}

/// The page asked for: `?setelah=` the cursor of the previous one.
#[derive(serde::Deserialize)]
struct TasksQuery {
    setelah: Option<String>,
}

/// "Tugas saya": the running duties of the person's agency (every agency for the roles
/// that see all), the nearest deadline first; each complaint once, at its most urgent.
async fn tasks(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<TasksQuery>,
) -> Response {
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
    // One page of the board, an index range scan whatever the number of complaints.
    let board = match state
        .store
        .views()
        .sla_board_page(
            state.now(),
            None,
            agency.as_deref(),
            q.setelah.as_deref(),
            BOARD_PAGE,
        )
        .await
    {
        Ok(board) => board,
        Err(e) => return error_page(e.into()),
    };
    let next = board.next.clone();
    let board = board.items;
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for entry in board {
        if !seen.insert(entry.complaint_id.clone()) {
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
            chrome: who.chrome(),
            agency: agency.unwrap_or_else(|| "semua perangkat daerah".into()),
            zone: zone_label(&zone),
            rows,
            next: next.map(|cursor| {
                format!(
                    "/konsol/tugas?setelah={}",
                    form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
                )
            }),
        },
    )
}
