//! A complaint's page: the complainant as the rules allow, every clock, the timeline,
//! the field visits' photos, and the forms of the actions the person may take now
//! ([`super::actions`]); the registration page for UPP; the BA's print view and the
//! photos, under the session.

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use workflow_core::{CommandEnvelope, Complaint, ComplaintId, DomainError, Role, Sequence};
use workflow_store::StoreError;

use super::actions::{
    action, body_of, command_of, offered, open_breaches, upload_files, Action, Kind, NotStored,
    Refusal, Sent, SentFile, PARTY_ROWS, REGISTER,
};
use super::{
    agency_zone, error_page, fresh_key, page, pesan, status_label, zone, Chrome, SignedIn,
};
use crate::format::{describe, local, zone_label};
use crate::http::caller::PathId;
use crate::http::complaints::{ba_page, load_visible, BaQuery};
use crate::http::error::ApiError;
use crate::http::evidence::hand_out;
use crate::http::AppState;
use crate::read_model::{ComplainantView, Reader};

/// The route a console page's read of an identity is recorded under.
const PAGE_ROUTE: &str = "GET /konsol/aduan/{id}";

pub(super) fn router(evidence_limit: usize) -> Router<AppState> {
    // A form may carry a few photos from a phone.
    let forms_limit =
        axum::extract::DefaultBodyLimit::max(evidence_limit.saturating_mul(6) + 64 * 1024);
    Router::new()
        .route("/konsol/aduan/{id}", get(complaint_page))
        .route(
            "/konsol/aduan/{id}/aksi/{action}",
            axum::routing::post(act).layer(forms_limit),
        )
        .route("/konsol/aduan/{id}/ba", get(print_ba))
        .route("/konsol/bukti/{sha256}", get(photo))
        .route(
            "/konsol/daftar",
            get(register_page).post(register).layer(forms_limit),
        )
}

pub(super) struct ClockRow {
    step: String,
    started: String,
    due: String,
    status: String,
    status_class: &'static str,
}

pub(super) struct EventRow {
    when: String,
    by: String,
    event: String,
    what: String,
}

/// A choice of a select or a radio group.
pub(super) struct Opt {
    value: String,
    label: String,
    selected: bool,
}

/// A row of people in a form.
pub(super) struct PartyRow {
    n: usize,
    prefix: String,
    name: String,
    position: String,
    unit: String,
    nip: String,
}

/// A field as the page draws it.
pub(super) struct FieldView {
    id: String,
    name: String,
    label: &'static str,
    hint: &'static str,
    error: Option<String>,
    kind: &'static str,
    value: String,
    required: bool,
    options: Vec<Opt>,
    rows: Vec<PartyRow>,
    caption: String,
}

/// An action's form as the page draws it.
pub(super) struct FormView {
    slug: &'static str,
    title: &'static str,
    button: &'static str,
    url: String,
    open: bool,
    multipart: bool,
    key: String,
    error: Option<String>,
    fields: Vec<FieldView>,
}

/// What a form's defaults and choices come from.
#[derive(Default)]
struct FormContext {
    agencies: Vec<(String, String)>,
    breaches: Vec<(String, String)>,
    defaults: std::collections::HashMap<&'static str, String>,
}

fn form_view(
    action: &'static Action,
    url: String,
    sent: Option<&Sent>,
    refusal: Option<&Refusal>,
    open: bool,
    context: &FormContext,
) -> FormView {
    let value_of = |key: &str| -> String {
        match sent {
            Some(sent) => sent.text.get(key).cloned().unwrap_or_default(),
            None => context.defaults.get(key).cloned().unwrap_or_default(),
        }
    };
    let fields = action
        .fields
        .iter()
        .map(|field| {
            let value = value_of(field.key);
            let choices = |list: Vec<(String, String)>, value: &str| {
                list.into_iter()
                    .map(|(v, label)| Opt {
                        selected: v == value,
                        value: v,
                        label,
                    })
                    .collect()
            };
            let (kind, options) = match field.kind {
                Kind::Text => ("text", Vec::new()),
                Kind::Long => ("long", Vec::new()),
                Kind::Lines => ("long", Vec::new()),
                Kind::Date => ("date", Vec::new()),
                Kind::DateTime => ("datetime", Vec::new()),
                Kind::YesNo => {
                    let chosen = if value.is_empty() {
                        "ya"
                    } else {
                        value.as_str()
                    };
                    (
                        "yesno",
                        choices(
                            vec![("ya".into(), "Ya".into()), ("tidak".into(), "Tidak".into())],
                            chosen,
                        ),
                    )
                }
                Kind::Choice(list) => (
                    "select",
                    choices(
                        list.iter()
                            .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                            .collect(),
                        &value,
                    ),
                ),
                Kind::Agency => ("select", choices(context.agencies.clone(), &value)),
                Kind::Breach => ("select", choices(context.breaches.clone(), &value)),
                Kind::Parties => ("parties", Vec::new()),
                Kind::Files { photos: true } => ("photos", Vec::new()),
                Kind::Files { photos: false } => ("files", Vec::new()),
                Kind::PersonalScan => ("scan", Vec::new()),
            };
            let rows = if field.kind == Kind::Parties {
                (0..PARTY_ROWS)
                    .map(|row| {
                        let prefix = format!("{}.{row}", field.key);
                        let part = |p: &str| value_of(&format!("{prefix}.{p}"));
                        PartyRow {
                            n: row + 1,
                            name: part("name"),
                            position: part("position"),
                            unit: part("unit"),
                            nip: part("nip"),
                            prefix,
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            FieldView {
                id: format!("{}-{}", action.slug, field.key.replace('.', "-")),
                name: field.key.to_owned(),
                label: field.label,
                hint: field.hint,
                error: refusal.and_then(|r| r.fields.get(field.key).cloned()),
                kind,
                value,
                required: field.required,
                options,
                rows,
                caption: value_of(&format!("{}.caption", field.key)),
            }
        })
        .collect();
    FormView {
        slug: action.slug,
        title: action.title,
        button: action.button,
        url,
        open: open || refusal.is_some(),
        multipart: action.multipart(),
        key: fresh_key(),
        error: refusal.and_then(|r| r.form.clone()).or_else(|| {
            refusal
                .filter(|r| !r.fields.is_empty())
                .map(|_| "Periksa isian yang ditandai.".to_owned())
        }),
        fields,
    }
}

#[derive(Template)]
#[template(path = "aduan.html")]
struct ComplaintPage {
    chrome: Chrome,
    complaint_id: String,
    lapor_id: String,
    title: String,
    status: String,
    agency: Option<String>,
    complainant: String,
    zone: String,
    clocks: Vec<ClockRow>,
    timeline: Vec<EventRow>,
    forms: Vec<FormView>,
    photos: Vec<(String, String)>,
    ba: Option<String>,
}

/// The defaults of the forms of a complaint: today's dates, the BA's addressee from the
/// registry, the agency's code.
async fn context_for(state: &AppState, complaint: &Complaint) -> Result<FormContext, ApiError> {
    let mut context = FormContext {
        breaches: open_breaches(complaint),
        ..FormContext::default()
    };
    context.agencies = state
        .store
        .agencies()
        .await?
        .into_iter()
        .filter(|a| a.retired_at.is_none())
        .map(|a| (a.code.0.clone(), format!("{} — {}", a.code, a.details.name)))
        .collect();
    let today = zone(state).local_date(state.now()).to_string();
    context.defaults.insert("visit_date", today.clone());
    context.defaults.insert("date", today);
    context.defaults.insert("channel", "lapor".into());
    if let Some(code) = complaint.agency() {
        context.defaults.insert("addressee.agency", code.0.clone());
        if let Some(agency) = state.store.agency(code).await? {
            if let Some(head) = agency.details.head {
                context.defaults.insert("addressee.name", head.name);
                context.defaults.insert("addressee.nip", head.nip);
                context.defaults.insert(
                    "addressee.position",
                    format!("Kepala {}", agency.details.name),
                );
            }
        }
    }
    Ok(context)
}

/// A complaint as the person may see it: the complainant per the identity rules (an
/// opened identity recorded), the clocks, the timeline, and the forms of the actions
/// the domain would accept from them now (with a failed one's values and errors).
async fn complaint_view(
    state: &AppState,
    who: &SignedIn,
    id: &ComplaintId,
    failed: Option<(&'static Action, &Sent, &Refusal)>,
) -> Result<ComplaintPage, ApiError> {
    let engine = state.store.engine();
    // The API's own load: the view (the log if it has none yet), scoped to the caller.
    let path = PathId::parse(id.as_str())?;
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
                step: super::step_words(a.step).to_owned(),
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
    let context = context_for(state, &complaint).await?;
    let url = |a: &Action| format!("/konsol/aduan/{id}/aksi/{}", a.slug);
    let mut forms: Vec<FormView> = Vec::new();
    if let Some((action, sent, refusal)) = failed {
        forms.push(form_view(
            action,
            url(action),
            Some(sent),
            Some(refusal),
            true,
            &context,
        ));
    }
    let offered = offered(&complaint, &who.actor, state);
    let at_hand = offered
        .iter()
        .rev()
        .find(|a| a.on_the_way())
        .map(|a| a.slug);
    for action in offered {
        if failed.is_some_and(|(a, _, _)| a.slug == action.slug) {
            continue;
        }
        let open = failed.is_none() && at_hand == Some(action.slug);
        forms.push(form_view(action, url(action), None, None, open, &context));
    }
    // The visits' photos kept in clear, shown through the session (the rules of a
    // download); a copy sealed as personal data (not in the clear store) is not shown.
    let wanted: Vec<(String, String)> = complaint
        .field_visits()
        .iter()
        .flat_map(|v| &v.evidence)
        .filter(|e| e.media_type.starts_with("image/"))
        .map(|e| (e.sha256.clone(), e.caption.clone()))
        .collect();
    let evidence = state.evidence.clone();
    let photos = tokio::task::spawn_blocking(move || {
        wanted
            .into_iter()
            .filter(|(sha256, _)| matches!(evidence.stat(sha256), Ok(Some(_))))
            .map(|(sha256, caption)| (format!("/konsol/bukti/{sha256}"), caption))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(ComplaintPage {
        chrome: who.chrome(),
        complaint_id: id.to_string(),
        lapor_id: registration.lapor_id.clone(),
        title: registration.title.clone(),
        status: status_label(complaint.status()).to_owned(),
        agency: complaint.agency().map(ToString::to_string),
        complainant,
        zone: zone_label(&zone),
        clocks,
        timeline,
        forms,
        photos,
        ba: complaint.ba().map(|_| format!("/konsol/aduan/{id}/ba")),
    })
}

fn parse_id(id: &str) -> Result<ComplaintId, ApiError> {
    id.parse::<ComplaintId>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn complaint_page(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(e),
    };
    match complaint_view(&state, &who, &id, None).await {
        Ok(p) => page(StatusCode::OK, &p),
        Err(e) => error_page(e),
    }
}

/// What a form sent: url-encoded, or multipart with files.
async fn read_form(state: &AppState, request: Request) -> Result<Sent, ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut sent = Sent::default();
    let mut text_size = 0;
    if multipart {
        let mut parts = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        while let Some(part) = parts.next_field().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the form is larger than the limit".into())
            }
            _ => ApiError::BadRequest(e.body_text()),
        })? {
            let field = part.name().unwrap_or_default().to_owned();
            match part.file_name().map(str::to_owned) {
                Some(name) => {
                    let media_type = part.content_type().map(str::to_owned);
                    let bytes = part
                        .bytes()
                        .await
                        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
                    sent.files.push(SentFile {
                        field,
                        name,
                        media_type,
                        bytes,
                    });
                }
                None => {
                    let text = part
                        .text()
                        .await
                        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
                    // The text of a form with files is held to the API's limit of a
                    // command's body too; only the files may be larger.
                    text_size += field.len() + text.len();
                    if text_size > crate::http::JSON_LIMIT {
                        return Err(ApiError::TooLarge(
                            "the form's text is larger than the limit".into(),
                        ));
                    }
                    sent.text.insert(field, text);
                }
            }
        }
    } else {
        // A form of text alone is held to the API's limit of a command's body.
        let body = axum::body::to_bytes(request.into_body(), crate::http::JSON_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge("the form is larger than the limit".into()))?;
        sent.text
            .extend(form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    Ok(sent)
}

/// The form's own key: a second submission of the same form is done once.
fn form_key(sent: &Sent) -> Result<String, ApiError> {
    let key = sent.get("kunci");
    if key.is_empty()
        || key.len() > 64
        || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ApiError::BadRequest("the form has no valid key".into()));
    }
    Ok(format!("konsol-{key}"))
}

#[derive(Template)]
#[template(path = "konfirmasi.html")]
struct ConfirmPage {
    chrome: Chrome,
    title: &'static str,
    consequence: &'static str,
    button: &'static str,
    url: String,
    back: String,
    summary: Vec<(&'static str, String)>,
    hidden: Vec<(String, String)>,
}

/// The confirmation of a terminal action: what it does, what was filled in, and the
/// same form again with a yes.
fn confirmation(
    who: &SignedIn,
    action: &Action,
    url: String,
    back: String,
    sent: &Sent,
) -> Response {
    let summary = action
        .fields
        .iter()
        .filter_map(|f| {
            let value = sent.get(f.key);
            let shown = match f.kind {
                Kind::Choice(list) => list
                    .iter()
                    .find(|(v, _)| *v == value)
                    .map_or(value.to_owned(), |(_, l)| (*l).to_owned()),
                _ => value.to_owned(),
            };
            (!shown.is_empty()).then_some((f.label, shown))
        })
        .collect();
    let mut hidden: Vec<(String, String)> = sent
        .text
        .iter()
        .filter(|(k, _)| k.as_str() != "konfirmasi")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    hidden.sort();
    page(
        StatusCode::OK,
        &ConfirmPage {
            chrome: who.chrome(),
            title: action.title,
            consequence: action.consequence,
            button: action.button,
            url,
            back,
            summary,
            hidden,
        },
    )
}

/// An action's form, run: checked, confirmed when terminal, its files stored, made
/// into the API's command and executed. A refusal shows the form again with the
/// values and the messages next to their fields.
async fn act(
    State(state): State<AppState>,
    who: SignedIn,
    Path((id, slug)): Path<(String, String)>,
    request: Request,
) -> Response {
    let Some(action) = action(&slug) else {
        return error_page(ApiError::NotFound(format!("no action `{slug}`")));
    };
    let sent = match read_form(&state, request).await {
        Ok(sent) => sent,
        Err(e) => return error_page(e),
    };
    if let Err(refused) = who.check(sent.get("csrf")) {
        return error_page(refused);
    }
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(e),
    };
    let complaint = match PathId::parse(id.as_str()) {
        Ok(path) => match load_visible(&state, &who.actor, &path).await {
            Ok((complaint, _)) => complaint,
            Err(e) => return error_page(e),
        },
        Err(e) => return error_page(e),
    };
    let url = format!("/konsol/aduan/{id}/aksi/{slug}");
    let back = format!("/konsol/aduan/{id}");
    let again = |refusal: Refusal| {
        let (state, who, id, sent) = (&state, &who, &id, &sent);
        async move {
            match complaint_view(state, who, id, Some((action, sent, &refusal))).await {
                Ok(p) => page(StatusCode::UNPROCESSABLE_ENTITY, &p),
                Err(e) => error_page(e),
            }
        }
    };
    match run(&state, &who, &id, action, &sent, &open_breaches(&complaint)).await {
        Ok(Outcome::Done) => Redirect::to(&back).into_response(),
        Ok(Outcome::Confirm) => confirmation(&who, action, url, back, &sent),
        Err(Failed::Refused(refusal)) => again(refusal).await,
        Err(Failed::Error(e)) => error_page(e),
    }
}

enum Outcome {
    Done,
    Confirm,
}

enum Failed {
    Refused(Refusal),
    Error(ApiError),
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Rule { rule, detail } | ApiError::StateConflict { rule, detail } => {
                let said = pesan::host_rule(&rule).map_or(detail, str::to_owned);
                Failed::Refused(Refusal::form(format!("Ditolak ({rule}): {said}")))
            }
            ApiError::BadRequest(detail) => Failed::Refused(Refusal::form(format!(
                "Isian tidak dapat diproses: {detail}"
            ))),
            other => Failed::Error(other),
        }
    }
}

/// Runs `action` with what the form sent, on complaint `id`.
async fn run(
    state: &AppState,
    who: &SignedIn,
    id: &ComplaintId,
    action: &Action,
    sent: &Sent,
    breaches: &[(String, String)],
) -> Result<Outcome, Failed> {
    let command_id = form_key(sent)?;
    let zone = zone(state);
    let mut body = body_of(action, sent, &zone, breaches).map_err(Failed::Refused)?;
    if action.terminal && sent.get("konfirmasi") != "ya" {
        return Ok(Outcome::Confirm);
    }
    let path = PathId::parse(id.as_str())?;
    // The engine is asked first, with the form's command less its files: a form it
    // would refuse stores nothing (no blob, no sealed scan, no data key).
    let complaint = state
        .store
        .engine()
        .load(id)
        .await
        .map_err(ApiError::from)?;
    let mut dry = command_of(state, &who.actor, &path, action.slug, body.clone()).await?;
    with_sample_photo(&mut dry);
    let envelope = CommandEnvelope::new(
        command_id.clone(),
        who.actor.clone(),
        state.now_for(&complaint),
        dry,
    );
    if let Err(refusal) = complaint.decide(&envelope, &state.store.engine().services()) {
        return Err(domain_refusal(state, refusal).await);
    }
    upload_files(state, &who.actor, &path, action, sent, &mut body)
        .await
        .map_err(|e| match e {
            NotStored::Refused(refusal) => Failed::Refused(refusal),
            NotStored::Failed(e) => Failed::Error(e),
        })?;
    let command = command_of(state, &who.actor, &path, action.slug, body).await?;
    let envelope = CommandEnvelope::new(command_id, who.actor.clone(), state.now(), command);
    match state.execute(id, envelope, Some("aduan-konsol")).await {
        Ok(done) => {
            // Read your writes, as the API's commands do; past the wait the page shows
            // what the views have (the events are committed).
            if let Some(last) = done.events.last() {
                let _ = state
                    .store
                    .projector()
                    .wait_for(
                        id,
                        Sequence::new(last.sequence as u64),
                        state.read_your_writes,
                    )
                    .await;
            }
            Ok(Outcome::Done)
        }
        Err(StoreError::Domain(refusal)) => Err(domain_refusal(state, refusal).await),
        Err(e) => Err(Failed::Error(e.into())),
    }
}

/// A refusal of the domain as the form shows it: in Indonesian with its rule's code, and
/// a missing field marked beside it.
async fn domain_refusal(state: &AppState, refusal: DomainError) -> Failed {
    let zone = zone(state);
    let said = format!(
        "Ditolak ({}): {}",
        refusal.rule(),
        pesan::refusal(&refusal, &zone)
    );
    let mut refused = Refusal::form(said);
    if let DomainError::MissingField { field } = refusal {
        refused
            .fields
            .insert(field.to_owned(), "Wajib diisi.".into());
    }
    Failed::Refused(refused)
}

/// The dry run's command with a photo where the form's photos will be: the files are
/// checked by the upload, the rest of the command by the engine.
fn with_sample_photo(command: &mut workflow_core::ComplaintCommand) {
    if let workflow_core::ComplaintCommand::VerifyInField(visit) = command {
        if visit.evidence.is_empty() {
            visit.evidence.push(workflow_core::evidence::EvidenceRef {
                sha256: "0".repeat(64),
                media_type: "image/jpeg".into(),
                size: 1,
                caption: "contoh".into(),
            });
        }
    }
}

#[derive(Template)]
#[template(path = "daftar.html")]
struct RegisterPage {
    chrome: Chrome,
    zone: String,
    form: FormView,
}

fn register_view(
    state: &AppState,
    who: &SignedIn,
    sent: Option<&Sent>,
    refusal: Option<&Refusal>,
) -> RegisterPage {
    let mut context = FormContext::default();
    context
        .defaults
        .insert("complainant.confidentiality", "confidential".into());
    let now = state.now().with_timezone(&zone(state).offset());
    context
        .defaults
        .insert("reported_at", now.format("%Y-%m-%dT%H:%M").to_string());
    RegisterPage {
        chrome: who.chrome(),
        zone: zone_label(&zone(state)),
        form: form_view(
            &REGISTER,
            "/konsol/daftar".into(),
            sent,
            refusal,
            true,
            &context,
        ),
    }
}

/// UPP's page to register a complaint arriving from LAPOR!.
async fn register_page(State(state): State<AppState>, who: SignedIn) -> Response {
    if who.actor.role != Role::Upp {
        return error_page(ApiError::Forbidden("only UPP registers complaints".into()));
    }
    page(StatusCode::OK, &register_view(&state, &who, None, None))
}

async fn register(State(state): State<AppState>, who: SignedIn, request: Request) -> Response {
    if who.actor.role != Role::Upp {
        return error_page(ApiError::Forbidden("only UPP registers complaints".into()));
    }
    let sent = match read_form(&state, request).await {
        Ok(sent) => sent,
        Err(e) => return error_page(e),
    };
    if let Err(refused) = who.check(sent.get("csrf")) {
        return error_page(refused);
    }
    let again = |refusal: Refusal| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &register_view(&state, &who, Some(&sent), Some(&refusal)),
        )
    };
    let wanted = match sent.get("id") {
        "" => sent.get("lapor_id"),
        own => own,
    };
    let id = match parse_id(wanted) {
        Ok(id) => id,
        Err(_) if wanted.is_empty() => {
            return again(Refusal {
                fields: [("lapor_id".to_owned(), "Wajib diisi.".to_owned())].into(),
                form: None,
            })
        }
        Err(_) => {
            let key = if sent.get("id").is_empty() {
                "lapor_id"
            } else {
                "id"
            };
            return again(Refusal {
                fields: [(
                    key.to_owned(),
                    "Nomor tidak sah: huruf, angka, '-', '_' atau '.'.".to_owned(),
                )]
                .into(),
                form: None,
            });
        }
    };
    match run(&state, &who, &id, &REGISTER, &sent, &[]).await {
        Ok(_) => Redirect::to(&format!("/konsol/aduan/{id}")).into_response(),
        Err(Failed::Refused(refusal)) => again(refusal),
        Err(Failed::Error(e)) => error_page(e),
    }
}

/// The BA's print view, under the session: the API's page, its rules and its own
/// policy.
async fn print_ba(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<BaQuery>,
) -> Response {
    let path = match PathId::parse(&id) {
        Ok(path) => path,
        Err(e) => return error_page(e),
    };
    match ba_page(&state, &who.actor, &path, &q).await {
        Ok(html) => html.into_response(),
        Err(e) => error_page(e),
    }
}

/// A photo or scan, under the session: the rules of the API's download.
async fn photo(
    State(state): State<AppState>,
    who: SignedIn,
    Path(sha256): Path<String>,
) -> Response {
    match hand_out(&state, &who.actor, sha256).await {
        Ok(response) => response,
        Err(e) => error_page(e),
    }
}
