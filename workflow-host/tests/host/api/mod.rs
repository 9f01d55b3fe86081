//! The HTTP API through its router (`oneshot`, no socket) on a real SQLite store (a
//! PostgreSQL one in a build without SQLite), a module per resource; what `aduan serve` adds around the router is tested against the
//! real binary in `serve`.

mod audit;
mod ba_print;
mod commands;
mod complaints;
mod console_actions;
mod console_rules;
mod errors;
mod evidence;
mod health;
mod idempotency;
mod imports;
mod junk;
mod open311;
mod openapi;
mod personal_evidence;
mod registry;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::{self as fx, cid, cmd, wib};
use workflow_core::Actor;
use workflow_host::evidence::EvidenceStore;
use workflow_host::http::{app, AppState};
use workflow_store::agency::AgencyDetails;
use workflow_store::testing::{Backend, TestDb};
use workflow_store::Store;

use crate::support::{self, JPEG};

/// The database of the API's tests: the embedded default, or PostgreSQL in a build
/// without SQLite.
#[cfg(feature = "sqlite")]
pub const BACKEND: Backend = Backend::Sqlite;
#[cfg(not(feature = "sqlite"))]
pub const BACKEND: Backend = Backend::Postgres;

/// Who calls: a token for each but `anonymous`, who sends none.
pub const CALLERS: [&str; 8] = [
    "upp",
    "coordinator",
    "liaison_pupr",
    "liaison_dinkes",
    "head_pupr",
    "apip",
    "system",
    "anonymous",
];

/// The seed of the key that signs the console's checkpoints in these tests.
pub const SIGNING_SEED: [u8; 32] = [7; 32];

/// The agencies of the registry, by code: those of the fixtures' actors.
pub const AGENCIES: [(&str, &str); 2] = [
    ("PUPR", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    ("DINKES", "Dinas Kesehatan"),
];

fn actor(name: &str) -> Option<Actor> {
    Some(match name {
        "upp" => fx::upp(),
        "coordinator" => fx::coordinator(),
        "liaison_pupr" => fx::liaison("PUPR"),
        "liaison_dinkes" => fx::liaison("DINKES"),
        "head_pupr" => fx::head("PUPR"),
        "apip" => fx::apip(),
        "system" => fx::system(),
        _ => return None,
    })
}

/// The router of `serve` on a fresh SQLite store with its projector running, a token
/// for each of [`CALLERS`], and a clock that stands still.
pub struct TestApp {
    router: Router,
    pub store: Arc<Store>,
    pub tokens: BTreeMap<&'static str, String>,
    _projector: tokio::sync::oneshot::Sender<()>,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

/// An answer of the router.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// A header's value; empty when there is none.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type")
    }

    /// This status, or the test fails showing the body.
    pub fn assert_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.text);
    }

    /// A 422 naming the rule that refused the request.
    pub fn assert_refused_by(&self, rule: &str) {
        self.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(self.json()["rule"], rule, "{}", self.text);
    }

    /// A problem with this status, in its body too.
    pub fn assert_problem(&self, status: StatusCode, what: &str) {
        assert_eq!(self.status, status, "{what}: {}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{what}: {}",
            self.text
        );
        let p = self.json();
        assert_eq!(p["status"], status.as_u16(), "{what}: {}", self.text);
        for field in ["type", "title", "detail"] {
            assert!(p[field].is_string(), "{what}: no {field} in {}", self.text);
        }
    }
}

impl TestApp {
    pub async fn new(now: DateTime<Utc>) -> Self {
        Self::with_readiness(now, workflow_store::ReadinessPolicy::default()).await
    }

    /// With one complaint, `id`, put into a state by `steps` (see [`TestApp::given`]).
    pub async fn with(id: &str, steps: Vec<(Actor, C)>) -> Self {
        let t = Self::new(now()).await;
        t.given(id, steps).await;
        t
    }

    pub async fn with_readiness(
        now: DateTime<Utc>,
        readiness: workflow_store::ReadinessPolicy,
    ) -> Self {
        Self::on(BACKEND, now, readiness).await
    }

    /// On this backend rather than [`BACKEND`].
    pub async fn on(
        backend: Backend,
        now: DateTime<Utc>,
        readiness: workflow_store::ReadinessPolicy,
    ) -> Self {
        let db = TestDb::new(backend, "api").await;
        let store = Arc::new(db.open().await);
        let dir = tempfile::tempdir().unwrap();
        let state = AppState {
            store: Arc::clone(&store),
            evidence: EvidenceStore::new(dir.path().join("evidence"), 4096),
            clock: Arc::new(move || now),
            readiness,
            metrics_public: false,
            read_your_writes: workflow_host::http::READ_YOUR_WRITES,
            government: Some("Pemerintah Kabupaten Kapuas".into()),
            audit: workflow_host::web::AuditDesk::new(Some(ed25519_dalek::SigningKey::from_bytes(
                &SIGNING_SEED,
            ))),
        };
        // Commands wait for the views: run the projector as `serve` does.
        let projector = support::background_projector(&store);
        // The fixtures' agencies, registered as an operator would before issuing
        // their tokens.
        for (code, name) in AGENCIES {
            store
                .register_agency(code, &AgencyDetails::named(name), now)
                .await
                .unwrap();
        }
        let mut tokens = BTreeMap::new();
        for name in CALLERS {
            if let Some(a) = actor(name) {
                tokens.insert(name, store.create_token(&a, now).await.unwrap());
            }
        }
        Self {
            router: app(state),
            store,
            tokens,
            _projector: projector,
            db,
            dir,
        }
    }

    /// A request from `caller`, with its token.
    fn from(&self, method: Method, path: &str, caller: &str) -> axum::http::request::Builder {
        let req = Request::builder().method(method).uri(path);
        match self.tokens.get(caller) {
            Some(token) => req.header("authorization", format!("Bearer {token}")),
            None => req,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        caller: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut req = self.from(method, path, caller);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    pub async fn get(&self, path: &str, caller: &str) -> Reply {
        self.call(Method::GET, path, caller, None, None).await
    }

    pub async fn post(&self, path: &str, caller: &str, body: Value) -> Reply {
        self.call(Method::POST, path, caller, Some(body), None)
            .await
    }

    /// A JSON POST with an `Idempotency-Key`.
    pub async fn post_with_key(&self, path: &str, caller: &str, body: Value, key: &str) -> Reply {
        self.call(Method::POST, path, caller, Some(body), Some(key))
            .await
    }

    /// A POST of any bytes, with any content type or none.
    pub async fn post_bytes(
        &self,
        path: &str,
        caller: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut req = self.from(Method::POST, path, caller);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req.body(body.into()).unwrap()).await
    }

    /// A GET with this `Authorization` header as it is, or none.
    pub async fn get_authorized(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut req = Request::get(path);
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Puts a complaint into a state by running fixture commands through the engine.
    pub async fn given(&self, id: &str, steps: Vec<(Actor, C)>) {
        self.given_at(id, wib("2026-11-30 09:00"), steps).await;
    }

    /// The same, with the commands sent at `at`.
    pub async fn given_at(&self, id: &str, at: DateTime<Utc>, steps: Vec<(Actor, C)>) {
        for (i, (a, c)) in steps.into_iter().enumerate() {
            self.store
                .engine()
                .execute(
                    &cid(id),
                    cmd(&format!("{id}-given-{at}-{i}"), a, at, c),
                    None,
                )
                .await
                .unwrap();
        }
        self.store.projector().catch_up().await.unwrap();
    }

    pub async fn event_count(&self) -> i64 {
        self.store.log().head().await.unwrap().get()
    }

    /// A photo uploaded by PUPR's liaison officer; its digest.
    pub async fn upload(&self) -> String {
        let r = self
            .post_bytes("/api/v1/evidence", "liaison_pupr", Some("image/jpeg"), JPEG)
            .await;
        r.assert_status(StatusCode::CREATED);
        r.json()["sha256"].as_str().unwrap().to_owned()
    }
}

/// The password the console's tests set.
pub const PASSWORD: &str = "jembatan-kapuas-2026";

/// Signs `actor` in to the console through the store; the cookie to send.
pub async fn signed_in(t: &TestApp, actor: &Actor) -> String {
    let link = t.store.add_person(actor, now()).await.unwrap();
    t.store
        .set_password(&link, PASSWORD, now())
        .await
        .unwrap()
        .unwrap();
    let session = t
        .store
        .sign_in(&actor.user.0, PASSWORD, now())
        .await
        .unwrap()
        .unwrap();
    format!("aduan_sesi={}", session.secret)
}

pub fn registered() -> Vec<(Actor, C)> {
    vec![(fx::upp(), C::Register(fx::registration()))]
}

pub fn disposed(agency: &str) -> Vec<(Actor, C)> {
    let mut steps = registered();
    steps.push((fx::upp(), C::Dispose(fx::disposition(agency))));
    steps
}

pub fn reviewed(complete: bool) -> Vec<(Actor, C)> {
    let mut steps = disposed("PUPR");
    let review = if complete {
        fx::complete_review()
    } else {
        fx::incomplete_review()
    };
    steps.push((fx::liaison("PUPR"), C::Review(review)));
    steps
}

pub fn clarified(field: bool) -> Vec<(Actor, C)> {
    let mut steps = reviewed(true);
    steps.push((fx::liaison("PUPR"), C::Clarify(fx::clarification(field))));
    steps
}

pub fn field_verified() -> Vec<(Actor, C)> {
    let mut steps = clarified(true);
    steps.push((
        fx::liaison("PUPR"),
        C::VerifyInField(fx::field_visit("2026-11-30")),
    ));
    steps
}

pub fn ba_issued() -> Vec<(Actor, C)> {
    let mut steps = field_verified();
    steps.push((
        fx::liaison("PUPR"),
        C::IssueBa(fx::berita_acara("PUPR", "2026-11-30")),
    ));
    steps
}

pub fn now() -> DateTime<Utc> {
    wib("2026-12-01 10:00")
}
