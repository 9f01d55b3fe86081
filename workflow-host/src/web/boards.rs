//! The boards of the head of an agency and of the coordinator: the BAs waiting for the
//! head, the agency's open work and the working days its steps took; the deadline board
//! of every agency with its filters, the breaches to decide, the returns escalated to
//! the coordinator, and the statistics per month with charts drawn on the server
//! (decision 28). Every list is a page of an indexed query; a page reads at most one
//! complaint view per row shown.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;
use workflow_core::{Role, Step, TimeZoneSpec};
use workflow_store::views::{BoardStatus, SpanFigures, MEASURED_STEPS};

use super::{agency_zone, error_page, page, status_words, zone, Chrome, SignedIn};
use crate::format::{local, tanggal, zone_label, BULAN};
use crate::http::error::ApiError;
use crate::http::AppState;

/// Rows on a page of a board.
const PAGE: u32 = 25;
/// Months the statistics show, the current one last.
const MONTHS: usize = 6;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/konsol/papan-opd", get(agency_board))
        .route("/konsol/ba-menunggu", get(bas_waiting))
        .route("/konsol/papan", get(coordinator_board))
        .route("/konsol/pelanggaran", get(breaches))
        .route("/konsol/eskalasi", get(escalations))
        .route("/konsol/statistik", get(statistics))
        .route("/konsol/statistik/grafik.svg", get(chart))
}

/// The person's agency when they are the head of one; otherwise the page is not theirs.
fn head_agency(who: &SignedIn) -> Result<String, ApiError> {
    match (&who.actor.role, &who.actor.agency) {
        (Role::Head, Some(agency)) => Ok(agency.0.clone()),
        _ => Err(ApiError::Forbidden(
            "this page is for the head of an agency".into(),
        )),
    }
}

/// Only the coordinator.
fn coordinator_only(who: &SignedIn) -> Result<(), ApiError> {
    if who.actor.role == Role::Coordinator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "this page is for the coordinator".into(),
        ))
    }
}

/// A step in words.
fn step_words(step: Step) -> &'static str {
    match step {
        Step::Disposition => "Langkah 1: penyaluran",
        Step::Review => "Langkah 2: telaah dan klarifikasi",
        Step::FieldVerification => "Langkah 3: verifikasi lapangan dan BA",
        Step::Response => "Jawaban kepada pelapor",
        Step::Feedback => "Tanggapan pelapor",
        Step::Overall => "Batas 60 hari",
        Step::InformationWait => "Menunggu jawaban pelapor",
        Step::FollowUp => "Tindak lanjut LAPOR! (5 hari kerja)",
    }
}

/// A query string value: empty is none.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Percent-encodes a value for a query string.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A query string of the pairs with a value.
fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// An option of a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

async fn agency_choices(state: &AppState, chosen: Option<&str>) -> Result<Vec<Choice>, Response> {
    let agencies = state
        .store
        .agencies()
        .await
        .map_err(|e| error_page(e.into()))?;
    Ok(agencies
        .into_iter()
        .map(|a| Choice {
            selected: chosen == Some(a.code.0.as_str()),
            label: format!("{} ({})", a.details.name, a.code.0),
            value: a.code.0,
        })
        .collect())
}

/// A day as `1 Desember 2026`.
fn day(date: NaiveDate) -> String {
    tanggal(date)
}

/// The first instant of a local date.
fn start_of(tz: &TimeZoneSpec, date: NaiveDate) -> DateTime<Utc> {
    tz.end_of_day(date) - Duration::seconds(86_399)
}

/// The first day of the month `back` months before `date`'s.
fn month_start(date: NaiveDate, back: u32) -> NaiveDate {
    let months = date.year() * 12 + date.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(date)
}

/// A month as `Desember 2026`, and as `Des 2026` for a narrow table.
struct MonthName {
    long: String,
    short: String,
}

/// The last `MONTHS` months to `now` (local), oldest first: name, start, end.
fn months(tz: &TimeZoneSpec, now: DateTime<Utc>) -> Vec<(MonthName, DateTime<Utc>, DateTime<Utc>)> {
    let today = tz.local_date(now);
    (0..MONTHS as u32)
        .rev()
        .map(|back| {
            let first = month_start(today, back);
            let next = month_start(first, 0)
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first);
            let name = BULAN[first.month0() as usize];
            (
                MonthName {
                    long: format!("{name} {}", first.year()),
                    short: format!("{} {}", name.get(..3).unwrap_or(name), first.year()),
                },
                start_of(tz, first),
                start_of(tz, next),
            )
        })
        .collect()
}

fn average(days: i64, runs: i64) -> String {
    if runs == 0 {
        "–".into()
    } else {
        format!("{:.1}", days as f64 / runs as f64).replace('.', ",")
    }
}

// ---------------------------------------------------------------------------------
// Head of agency

/// The working days of a step, for a table.
struct StepRow {
    step: &'static str,
    runs: i64,
    average: String,
}

#[derive(Template)]
#[template(path = "papan_opd.html")]
struct AgencyBoardPage {
    chrome: Chrome,
    agency: String,
    open: i64,
    at_risk: i64,
    breached: i64,
    since: String,
    steps: Vec<StepRow>,
    waiting: usize,
    more_waiting: bool,
}

/// The head's board: the agency's open work now, and the working days its steps took
/// over this month and the two before.
async fn agency_board(State(state): State<AppState>, who: SignedIn) -> Response {
    let agency = match head_agency(&who) {
        Ok(a) => a,
        Err(e) => return error_page(e),
    };
    let now = state.now();
    let views = state.store.views();
    let tz = match agency_zone(&state, who.actor.agency.as_ref()).await {
        Ok(z) => z,
        Err(e) => return error_page(e.into()),
    };
    let counts = match views.agency_counts(&agency, now).await {
        Ok(c) => c,
        Err(e) => return error_page(e.into()),
    };
    let first = month_start(tz.local_date(now), 2);
    let steps = match views
        .step_days(Some(&agency), start_of(&tz, first), now + Duration::days(1))
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(e.into()),
    };
    let waiting = match views.bas_waiting(&agency, None, 10).await {
        Ok(w) => w,
        Err(e) => return error_page(e.into()),
    };
    page(
        StatusCode::OK,
        &AgencyBoardPage {
            chrome: who.chrome(),
            agency,
            open: counts.open,
            at_risk: counts.at_risk,
            breached: counts.breached,
            since: day(first),
            steps: steps
                .iter()
                .map(|s| StepRow {
                    step: step_words(s.step),
                    runs: s.runs,
                    average: average(s.working_days, s.runs),
                })
                .collect(),
            waiting: waiting.items.len(),
            more_waiting: waiting.next.is_some(),
        },
    )
}

#[derive(Deserialize)]
struct PageQuery {
    setelah: Option<String>,
}

struct BaRow {
    complaint_id: String,
    title: String,
    number: String,
    date: String,
}

#[derive(Template)]
#[template(path = "ba_menunggu.html")]
struct BasWaitingPage {
    chrome: Chrome,
    agency: String,
    rows: Vec<BaRow>,
    next: Option<String>,
    paged: bool,
    first: String,
}

/// The BAs issued to the head's agency that the head has not acknowledged yet.
async fn bas_waiting(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let agency = match head_agency(&who) {
        Ok(a) => a,
        Err(e) => return error_page(e),
    };
    let views = state.store.views();
    let found = match views.bas_waiting(&agency, given(&q.setelah), PAGE).await {
        Ok(p) => p,
        Err(e) => return error_page(e.into()),
    };
    let mut rows = Vec::with_capacity(found.items.len());
    for s in &found.items {
        let detail = match views.detail(&s.complaint_id).await {
            Ok(d) => d,
            Err(e) => return error_page(e.into()),
        };
        let ba = detail.as_ref().and_then(|d| d.state.ba());
        rows.push(BaRow {
            complaint_id: s.complaint_id.to_string(),
            title: s.title.clone(),
            number: ba.map(|b| b.number.clone()).unwrap_or_default(),
            date: ba.map(|b| day(b.date)).unwrap_or_default(),
        });
    }
    page(
        StatusCode::OK,
        &BasWaitingPage {
            chrome: who.chrome(),
            agency,
            rows,
            next: found.next.map(|n| query_string(&[("setelah", Some(&n))])),
            paged: given(&q.setelah).is_some(),
            first: "?".into(),
        },
    )
}

// ---------------------------------------------------------------------------------
// Coordinator

#[derive(Deserialize)]
struct BoardQuery {
    opd: Option<String>,
    status: Option<String>,
    langkah: Option<String>,
    setelah: Option<String>,
}

struct DutyRow {
    complaint_id: String,
    title: String,
    agency: String,
    step: &'static str,
    due: String,
    status: &'static str,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "papan.html")]
struct BoardPage {
    chrome: Chrome,
    zone: String,
    agencies: Vec<Choice>,
    statuses: Vec<Choice>,
    steps: Vec<Choice>,
    rows: Vec<DutyRow>,
    next: Option<String>,
    paged: bool,
    first: String,
}

/// The deadline board of every agency, narrowed by agency, status and step, a page at
/// a time.
async fn coordinator_board(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<BoardQuery>,
) -> Response {
    if let Err(e) = coordinator_only(&who) {
        return error_page(e);
    }
    let status: Option<BoardStatus> = match given(&q.status).map(str::parse).transpose() {
        Ok(s) => s,
        Err(e) => return error_page(ApiError::BadRequest(e)),
    };
    let step: Option<Step> = match given(&q.langkah).map(str::parse).transpose() {
        Ok(s) => s,
        Err(e) => return error_page(ApiError::BadRequest(e)),
    };
    let agency = given(&q.opd);
    let now = state.now();
    let tz = zone(&state);
    let views = state.store.views();
    let found = match views
        .sla_board_page_of(now, status, agency, step, given(&q.setelah), PAGE)
        .await
    {
        Ok(p) => p,
        Err(e) => return error_page(e.into()),
    };
    let mut rows = Vec::with_capacity(found.items.len());
    for entry in &found.items {
        let title = match views.detail(&entry.complaint_id).await {
            Ok(d) => d.map(|d| d.summary.title).unwrap_or_default(),
            Err(e) => return error_page(e.into()),
        };
        let (words, class) = status_words(entry.status);
        rows.push(DutyRow {
            complaint_id: entry.complaint_id.to_string(),
            title,
            agency: entry
                .agency
                .as_ref()
                .map(|a| a.0.clone())
                .unwrap_or_else(|| "–".into()),
            step: step_words(entry.step),
            due: entry
                .due_at
                .map_or_else(|| "(dijeda)".into(), |d| local(d, &tz)),
            status: words,
            status_class: class,
        });
    }
    let agencies = match agency_choices(&state, agency).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let statuses = [
        BoardStatus::Breached,
        BoardStatus::AtRisk,
        BoardStatus::OnTrack,
        BoardStatus::Paused,
    ]
    .into_iter()
    .map(|s| Choice {
        value: s.as_str().into(),
        label: status_words(s).0.into(),
        selected: status == Some(s),
    })
    .collect();
    let steps = Step::ALL
        .into_iter()
        .filter(|s| s.is_breachable() || *s == Step::InformationWait)
        .map(|s| Choice {
            value: s.as_str().into(),
            label: step_words(s).into(),
            selected: step == Some(s),
        })
        .collect();
    let next = found.next.map(|n| {
        query_string(&[
            ("opd", agency),
            ("status", status.map(BoardStatus::as_str)),
            ("langkah", step.map(Step::as_str)),
            ("setelah", Some(&n)),
        ])
    });
    page(
        StatusCode::OK,
        &BoardPage {
            chrome: who.chrome(),
            zone: zone_label(&tz),
            agencies,
            statuses,
            steps,
            rows,
            next,
            paged: given(&q.setelah).is_some(),
            first: format!(
                "/konsol/papan{}",
                query_string(&[
                    ("opd", agency),
                    ("status", status.map(BoardStatus::as_str)),
                    ("langkah", step.map(Step::as_str)),
                ])
            ),
        },
    )
}

#[derive(Deserialize)]
struct BreachQuery {
    opd: Option<String>,
    setelah: Option<String>,
}

struct BreachRow {
    complaint_id: String,
    agency: String,
    step: &'static str,
    occurrence: i64,
    recorded: String,
}

#[derive(Template)]
#[template(path = "pelanggaran.html")]
struct BreachesPage {
    chrome: Chrome,
    zone: String,
    agencies: Vec<Choice>,
    rows: Vec<BreachRow>,
    next: Option<String>,
    paged: bool,
    first: String,
}

/// The breaches on record that the coordinator has not annulled, oldest first; each
/// links to its complaint's page, where the annulment's form is.
async fn breaches(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<BreachQuery>,
) -> Response {
    if let Err(e) = coordinator_only(&who) {
        return error_page(e);
    }
    let agency = given(&q.opd);
    let tz = zone(&state);
    let found = match state
        .store
        .views()
        .open_breaches(agency, given(&q.setelah), PAGE)
        .await
    {
        Ok(p) => p,
        Err(e) => return error_page(e.into()),
    };
    let agencies = match agency_choices(&state, agency).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    page(
        StatusCode::OK,
        &BreachesPage {
            chrome: who.chrome(),
            zone: zone_label(&tz),
            agencies,
            rows: found
                .items
                .iter()
                .map(|b| BreachRow {
                    complaint_id: b.complaint_id.to_string(),
                    agency: b
                        .agency
                        .as_ref()
                        .map(|a| a.0.clone())
                        .unwrap_or_else(|| "–".into()),
                    step: step_words(b.step),
                    occurrence: b.occurrence,
                    recorded: local(b.recorded_at, &tz),
                })
                .collect(),
            next: found
                .next
                .map(|n| query_string(&[("opd", agency), ("setelah", Some(&n))])),
            paged: given(&q.setelah).is_some(),
            first: format!("/konsol/pelanggaran{}", query_string(&[("opd", agency)])),
        },
    )
}

struct EscalationRow {
    complaint_id: String,
    title: String,
    since: String,
}

#[derive(Template)]
#[template(path = "eskalasi.html")]
struct EscalationsPage {
    chrome: Chrome,
    zone: String,
    rows: Vec<EscalationRow>,
    next: Option<String>,
    paged: bool,
    first: String,
}

/// The complaints returned a third time, which the coordinator disposes.
async fn escalations(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Err(e) = coordinator_only(&who) {
        return error_page(e);
    }
    let tz = zone(&state);
    let found = match state
        .store
        .views()
        .escalated_returns(given(&q.setelah), PAGE)
        .await
    {
        Ok(p) => p,
        Err(e) => return error_page(e.into()),
    };
    page(
        StatusCode::OK,
        &EscalationsPage {
            chrome: who.chrome(),
            zone: zone_label(&tz),
            rows: found
                .items
                .iter()
                .map(|s| EscalationRow {
                    complaint_id: s.complaint_id.to_string(),
                    title: s.title.clone(),
                    since: local(s.updated_at, &tz),
                })
                .collect(),
            next: found.next.map(|n| query_string(&[("setelah", Some(&n))])),
            paged: given(&q.setelah).is_some(),
            first: "?".into(),
        },
    )
}

#[derive(Deserialize)]
struct StatisticsQuery {
    opd: Option<String>,
}

struct MonthRow {
    month: String,
    month_short: String,
    received: i64,
    settled_on_time: i64,
    breached: i64,
    averages: Vec<String>,
}

#[derive(Template)]
#[template(path = "statistik.html")]
struct StatisticsPage {
    chrome: Chrome,
    agencies: Vec<Choice>,
    scope: String,
    step_names: Vec<&'static str>,
    step_short: Vec<&'static str>,
    rows: Vec<MonthRow>,
    chart_query: String,
    first_month: String,
    last_month: String,
}

/// The agencies to choose from and the one chosen: the one asked for, else the first
/// of the registry (the statistics are an agency's: each month's figures are ranges of
/// that agency's rows).
async fn chosen_agency(
    state: &AppState,
    asked: &Option<String>,
) -> Result<(Vec<Choice>, Option<String>), Response> {
    let mut choices = agency_choices(state, given(asked)).await?;
    let chosen = match given(asked) {
        Some(code) => Some(code.to_owned()),
        None => choices.first_mut().map(|c| {
            c.selected = true;
            c.value.clone()
        }),
    };
    Ok((choices, chosen))
}

/// The figures of the last months, oldest first.
async fn figures(
    state: &AppState,
    agency: Option<&str>,
) -> Result<Vec<(MonthName, SpanFigures)>, Response> {
    let tz = zone(state);
    let mut out = Vec::with_capacity(MONTHS);
    for (label, from, to) in months(&tz, state.now()) {
        let f = state
            .store
            .views()
            .span_figures(agency, from, to)
            .await
            .map_err(|e| error_page(e.into()))?;
        out.push((label, f));
    }
    Ok(out)
}

/// The statistics of the last months, of one agency or all: a table, and the same
/// numbers drawn as two charts.
async fn statistics(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<StatisticsQuery>,
) -> Response {
    if let Err(e) = coordinator_only(&who) {
        return error_page(e);
    }
    let (agencies, agency) = match chosen_agency(&state, &q.opd).await {
        Ok(chosen) => chosen,
        Err(r) => return r,
    };
    let figures = match &agency {
        Some(agency) => match figures(&state, Some(agency)).await {
            Ok(f) => f,
            Err(r) => return r,
        },
        None => Vec::new(),
    };
    let rows: Vec<MonthRow> = figures
        .iter()
        .map(|(month, f)| MonthRow {
            month: month.long.clone(),
            month_short: month.short.clone(),
            received: f.received,
            settled_on_time: f.settled_on_time,
            breached: f.breached,
            averages: f
                .steps
                .iter()
                .map(|s| average(s.working_days, s.runs))
                .collect(),
        })
        .collect();
    page(
        StatusCode::OK,
        &StatisticsPage {
            chrome: who.chrome(),
            scope: agencies
                .iter()
                .find(|c| c.selected)
                .map(|c| c.label.clone())
                .unwrap_or_default(),
            agencies,
            step_names: MEASURED_STEPS.into_iter().map(step_words).collect(),
            step_short: MEASURED_STEPS
                .into_iter()
                .map(|s| {
                    let words = step_words(s);
                    words.split_once(':').map_or("Jawaban", |(short, _)| short)
                })
                .collect(),
            first_month: rows.first().map(|r| r.month.clone()).unwrap_or_default(),
            last_month: rows.last().map(|r| r.month.clone()).unwrap_or_default(),
            rows,
            chart_query: query_string(&[("opd", agency.as_deref())]),
        },
    )
}

#[derive(Deserialize)]
struct ChartQuery {
    opd: Option<String>,
    jenis: Option<String>,
}

/// A chart of the statistics as SVG, for an `<img>` (the console's policy allows its own
/// images; the SVG has no script, no style and no text: its labels are the page's).
async fn chart(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<ChartQuery>,
) -> Response {
    if let Err(e) = coordinator_only(&who) {
        return error_page(e);
    }
    let agency = match chosen_agency(&state, &q.opd).await {
        Ok((_, Some(agency))) => agency,
        Ok((_, None)) => return error_page(ApiError::NotFound("no agency is registered".into())),
        Err(r) => return r,
    };
    let figures = match figures(&state, Some(&agency)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let figures: Vec<SpanFigures> = figures.into_iter().map(|(_, f)| f).collect();
    let svg = match given(&q.jenis) {
        None | Some("jumlah") => charts::counts(&figures),
        Some("hari") => charts::days(&figures),
        Some(other) => {
            return error_page(ApiError::BadRequest(format!(
                "unknown chart `{other}` (jumlah, hari)"
            )))
        }
    };
    match svg {
        Ok(svg) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                svg,
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(super::CONSOLE_POLICY),
            );
            response
        }
        Err(e) => error_page(ApiError::Internal(format!("a chart did not draw: {e}"))),
    }
}

/// The charts, drawn with plotters' SVG backend.
pub(crate) mod charts {
    use plotters::prelude::*;
    use workflow_store::views::SpanFigures;

    /// Width and height of a chart, in SVG units (it scales to its box).
    const SIZE: (u32, u32) = (640, 320);

    /// The colours of the series, named beside the chart (contrast on white ≥ 3:1).
    pub const RECEIVED: RGBColor = RGBColor(0x0b, 0x4f, 0x9c);
    pub const ON_TIME: RGBColor = RGBColor(0x1d, 0x6b, 0x2f);
    pub const BREACHED: RGBColor = RGBColor(0x8a, 0x10, 0x10);
    pub const STEPS: [RGBColor; 4] = [
        RGBColor(0x0b, 0x4f, 0x9c),
        RGBColor(0x1d, 0x6b, 0x2f),
        RGBColor(0xa0, 0x5a, 0x00),
        RGBColor(0x6a, 0x1b, 0x9a),
    ];

    type Drawn = Result<String, String>;

    fn top(values: impl Iterator<Item = f64>) -> f64 {
        values.fold(1.0_f64, f64::max) * 1.1
    }

    /// Received per month as bars; settled on time and breached as lines.
    pub fn counts(months: &[SpanFigures]) -> Drawn {
        let n = months.len() as f64;
        let max = top(months
            .iter()
            .flat_map(|f| [f.received, f.settled_on_time, f.breached])
            .map(|v| v as f64));
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .build_cartesian_2d(0.0..n, 0.0..max)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_labels(5)
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(months.iter().enumerate().map(|(i, f)| {
                    let x = i as f64;
                    Rectangle::new(
                        [(x + 0.2, 0.0), (x + 0.8, f.received as f64)],
                        RECEIVED.filled(),
                    )
                }))
                .map_err(|e| e.to_string())?;
            for (colour, value) in [
                (
                    ON_TIME,
                    (|f: &SpanFigures| f.settled_on_time) as fn(&SpanFigures) -> i64,
                ),
                (BREACHED, |f: &SpanFigures| f.breached),
            ] {
                let points: Vec<(f64, f64)> = months
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (i as f64 + 0.5, value(f) as f64))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 5, colour.filled())),
                    )
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// The average working days of each measured step per month, a line per step.
    pub fn days(months: &[SpanFigures]) -> Drawn {
        let n = months.len() as f64;
        let averages: Vec<Vec<Option<f64>>> = months
            .iter()
            .map(|f| f.steps.iter().map(|s| s.average()).collect())
            .collect();
        let max = top(averages.iter().flatten().flatten().copied());
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .build_cartesian_2d(0.0..n, 0.0..max)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_labels(5)
                .draw()
                .map_err(|e| e.to_string())?;
            for (k, colour) in STEPS.iter().enumerate() {
                let points: Vec<(f64, f64)> = averages
                    .iter()
                    .enumerate()
                    .filter_map(|(i, row)| {
                        row.get(k).copied().flatten().map(|v| (i as f64 + 0.5, v))
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 5, colour.filled())),
                    )
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_run_back_across_a_year() {
        let d = NaiveDate::from_ymd_opt(2027, 2, 15).unwrap();
        assert_eq!(
            month_start(d, 0),
            NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 2),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 14),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let tz = TimeZoneSpec::jakarta();
        let now = workflow_core::fixtures::wib("2026-12-11 10:00");
        let m = months(&tz, now);
        assert_eq!(m.len(), MONTHS);
        assert_eq!(m[MONTHS - 1].0.long, "Desember 2026");
        assert_eq!(m[MONTHS - 1].0.short, "Des 2026");
        assert_eq!(
            m[MONTHS - 1].1,
            workflow_core::fixtures::wib("2026-12-01 00:00")
        );
        assert_eq!(
            m[MONTHS - 1].2,
            workflow_core::fixtures::wib("2027-01-01 00:00")
        );
        assert_eq!(m[0].0.long, "Juli 2026");
    }

    #[test]
    fn a_chart_has_no_style_no_script_and_no_text() {
        let f = SpanFigures {
            received: 3,
            settled_on_time: 1,
            breached: 1,
            steps: Vec::new(),
        };
        for svg in [charts::counts(&[f.clone(), f.clone()]), charts::days(&[f])] {
            let svg = svg.unwrap();
            assert!(svg.starts_with("<svg"), "{svg}");
            for banned in ["style", "<script", "<text", "on"] {
                let found = if banned == "on" {
                    svg.contains(" on")
                } else {
                    svg.contains(banned)
                };
                assert!(!found, "{banned} in {svg}");
            }
        }
    }
}
