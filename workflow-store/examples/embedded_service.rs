//! A service of its own that embeds the engine: its own axum routes, its own
//! authentication (a gateway in front of it sets `X-User`, `X-Role` and `X-Agency`), a
//! projection of its own (complaints per category), and the projector and SLA monitor
//! as background tasks that stop cleanly.
//!
//! ```sh
//! cargo run -p workflow-store --example embedded_service                 # serves on 127.0.0.1:3000
//! cargo run -p workflow-store --example embedded_service -- --self-test  # runs the SOP through its routes, then stops
//! ```
//!
//! `DATABASE_URL` chooses the store (`sqlite://…` or `postgres://…`); the default is a
//! SQLite file in the system's temporary folder.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;
use tower::ServiceExt;
use workflow_core::complainant::Complainant;
use workflow_core::complaint::command::{Disposition, Registration};
use workflow_core::{
    Actor, CommandEnvelope, ComplaintCommand, ComplaintId, ComplaintServices, EventBody, Role,
};
use workflow_store::projection::{Projection, Target};
use workflow_store::{BackendKind, Extensions, SettingsSource, Store, StoreError, StoredEvent};

/// The service's own view: complaints received per category.
struct PerCategory;

#[async_trait]
impl Projection for PerCategory {
    fn name(&self) -> &'static str {
        "svc_per_category"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["svc_per_category"]
    }

    fn schema(&self, _backend: BackendKind, target: Target) -> Vec<String> {
        vec![format!(
            "CREATE TABLE IF NOT EXISTS {} (category TEXT PRIMARY KEY, received BIGINT NOT NULL)",
            target.table("svc_per_category")
        )]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        _services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        let table = target.table("svc_per_category");
        for e in events {
            if let EventBody::Received(r) = &e.event.body {
                sqlx::query(&format!(
                    "INSERT INTO {table} (category, received) VALUES ($1, 1) \
                     ON CONFLICT (category) DO UPDATE SET received = {table}.received + 1"
                ))
                .bind(&r.category)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// What goes wrong, as this service answers it.
struct Failure(StatusCode, String);

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::Domain(d) => match d.kind() {
                workflow_core::RefusalKind::NotFound => StatusCode::NOT_FOUND,
                workflow_core::RefusalKind::Forbidden => StatusCode::FORBIDDEN,
                workflow_core::RefusalKind::StateConflict => StatusCode::CONFLICT,
                workflow_core::RefusalKind::RuleViolated => StatusCode::UNPROCESSABLE_ENTITY,
            },
            StoreError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, e.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

/// The gateway's word on who calls: headers it sets after its own sign-in.
fn caller(headers: &HeaderMap) -> Result<Actor, Failure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let unauthorized = || Failure(StatusCode::UNAUTHORIZED, "no gateway identity".into());
    let user = header("x-user").ok_or_else(unauthorized)?;
    let role: Role = header("x-role")
        .ok_or_else(unauthorized)?
        .parse()
        .map_err(|_| unauthorized())?;
    Ok(match header("x-agency") {
        Some(agency) => Actor::of_agency(user, role, agency),
        None => Actor::new(user, role),
    })
}

fn complaint_id(id: &str) -> Result<ComplaintId, Failure> {
    id.parse().map_err(|e: workflow_core::InvalidComplaintId| {
        Failure(StatusCode::BAD_REQUEST, e.to_string())
    })
}

/// Runs one command with the request's idempotency key (or a fresh one) and waits until
/// the views include it, so the caller reads what it wrote.
async fn run(
    store: &Store,
    headers: &HeaderMap,
    id: &ComplaintId,
    command: ComplaintCommand,
) -> Result<Json<Value>, Failure> {
    let actor = caller(headers)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || format!("{id}-{}", Utc::now().timestamp_nanos_opt().unwrap_or(0)),
            str::to_owned,
        );
    let envelope =
        CommandEnvelope::new(format!("{}:{key}", actor.user), actor, Utc::now(), command);
    let done = store.engine().execute(id, envelope, None).await?;
    if let Some(last) = done.events.last() {
        store
            .projector()
            .wait_for(id, last.sequence as u64, Duration::from_secs(5))
            .await?;
    }
    let state = store.engine().load(id).await?;
    Ok(Json(
        json!({ "complaint_id": id, "status": state.status() }),
    ))
}

async fn register(
    State(store): State<Arc<Store>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, Failure> {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let id = complaint_id(&text("lapor_id"))?;
    let registration = Registration {
        lapor_id: text("lapor_id"),
        title: text("title"),
        description: text("description"),
        category: text("category"),
        location: None,
        reported_at: Utc::now() - chrono::Duration::hours(1),
        complainant: Complainant::named(text("complainant")),
        upp_review: text("upp_review"),
        attachments: vec![],
    };
    run(
        &store,
        &headers,
        &id,
        ComplaintCommand::Register(registration),
    )
    .await
}

async fn dispose(
    State(store): State<Arc<Store>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, Failure> {
    let id = complaint_id(&id)?;
    let disposition = Disposition {
        agency: body["agency"].as_str().unwrap_or_default().into(),
        liaison_officer: body["liaison_officer"].as_str().unwrap_or_default().into(),
        sub_unit: None,
        note: None,
    };
    run(
        &store,
        &headers,
        &id,
        ComplaintCommand::Dispose(disposition),
    )
    .await
}

async fn per_category(State(store): State<Arc<Store>>) -> Result<Json<Value>, Failure> {
    let rows = sqlx::query("SELECT category, received FROM svc_per_category ORDER BY category")
        .fetch_all(store.pool())
        .await
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let counts: serde_json::Map<String, Value> = rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("category"),
                json!(r.get::<i64, _>("received")),
            )
        })
        .collect();
    Ok(Json(Value::Object(counts)))
}

fn app(store: Arc<Store>) -> Router {
    Router::new()
        .route("/complaints", post(register))
        .route("/complaints/{id}/dispose", post(dispose))
        .route("/stats/per-category", get(per_category))
        .with_state(store)
}

/// The projector and the SLA monitor, running until `stop` says so.
fn background(
    store: &Arc<Store>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let projector = tokio::spawn(
        Arc::clone(store.projector()).run(Duration::from_secs(2), stopped(stop.clone())),
    );
    let monitor_store = Arc::clone(store);
    let mut monitor_stop = stop.clone();
    let monitor = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => {
                    if let Err(e) = monitor_store.sla_tick(Utc::now()).await {
                        eprintln!("SLA monitor: {e}");
                    }
                }
                _ = monitor_stop.changed() => {
                    if *monitor_stop.borrow() {
                        return;
                    }
                }
            }
        }
    });
    vec![projector, monitor]
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    who: (&str, &str, Option<&str>),
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("x-user", who.0)
        .header("x-role", who.1);
    if let Some(agency) = who.2 {
        req = req.header("x-agency", agency);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Runs the SOP's first step through the service's own routes and checks its view (by
/// difference, so that it may run again on the same database).
async fn self_test(app: &Router) -> Result<(), String> {
    let upp = ("sari", "upp", None);
    let run = Utc::now().timestamp_micros();
    let (_, before) = call(app, "GET", "/stats/per-category", upp, Value::Null).await;
    let count = |counts: &Value, c: &str| counts[c].as_i64().unwrap_or(0);
    for (n, category) in ["jalan", "air", "jalan"].iter().enumerate() {
        let lapor = format!("LAP-{run}-{n}");
        let (status, body) = call(
            app,
            "POST",
            "/complaints",
            upp,
            json!({"lapor_id": lapor, "title": "t", "description": "d", "category": category,
                   "complainant": "Budi", "upp_review": "r"}),
        )
        .await;
        if status != StatusCode::OK || body["status"] != "received" {
            return Err(format!("register {lapor}: {status} {body}"));
        }
    }
    let first = format!("/complaints/LAP-{run}-0/dispose");
    let (status, body) = call(
        app,
        "POST",
        &first,
        upp,
        json!({"agency": "PUPR", "liaison_officer": "andi"}),
    )
    .await;
    if status != StatusCode::OK || body["status"] != "disposed" {
        return Err(format!("dispose: {status} {body}"));
    }
    // The SOP's roles hold behind the service's own authentication.
    let second = format!("/complaints/LAP-{run}-1/dispose");
    let liaison = ("andi", "liaison", Some("PUPR"));
    let (status, _) = call(
        app,
        "POST",
        &second,
        liaison,
        json!({"agency": "PUPR", "liaison_officer": "andi"}),
    )
    .await;
    if status != StatusCode::FORBIDDEN {
        return Err(format!("a liaison officer disposed: {status}"));
    }
    let (status, after) = call(app, "GET", "/stats/per-category", upp, Value::Null).await;
    let grew = (
        count(&after, "jalan") - count(&before, "jalan"),
        count(&after, "air") - count(&before, "air"),
    );
    if status != StatusCode::OK || grew != (2, 1) {
        return Err(format!("per category: {status} {before} -> {after}"));
    }
    println!("self-test: 3 registered, 1 disposed, a liaison refused; per category now {after}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_testing = std::env::args().any(|a| a == "--self-test");
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let path = std::env::temp_dir().join(format!("embedded-{}.db", std::process::id()));
            format!("sqlite://{}", path.display())
        }
    };
    let store = Arc::new(
        Store::open_extended(
            &url,
            SettingsSource::Stored,
            Extensions {
                projections: vec![Arc::new(PerCategory)],
                ..Extensions::default()
            },
        )
        .await?,
    );
    let (stop, stopping) = watch::channel(false);
    let tasks = background(&store, &stopping);
    let app = app(Arc::clone(&store));

    let outcome = if self_testing {
        self_test(&app).await
    } else {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        println!("serving on http://127.0.0.1:3000 (Ctrl-C stops)");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    };

    // Stop the background tasks and wait for them, boundedly.
    stop.send(true)?;
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(10), task).await??;
    }
    store.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        if std::env::var("DATABASE_URL").is_err() {
            let _ = std::fs::remove_file(path);
        }
    }
    outcome.map_err(Into::into)
}
