//! The HTTP API through its router (`oneshot`, no socket) on a real SQLite store: the
//! authorization matrix for every route and role, hidden identities, idempotency,
//! errors, the BA page and the OpenAPI document.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::{self as fx, cid, cmd, wib};
use workflow_core::{Actor, Role};
use workflow_host::evidence::EvidenceStore;
use workflow_host::http::{app, AppState};
use workflow_store::testing::{Backend, TestDb};
use workflow_store::Store;

use crate::support;

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];

struct TestApp {
    router: Router,
    store: Arc<Store>,
    tokens: BTreeMap<&'static str, String>,
    _projector: tokio::sync::oneshot::Sender<()>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

const CALLERS: [&str; 8] = [
    "upp",
    "coordinator",
    "liaison_pupr",
    "liaison_dinkes",
    "head_pupr",
    "apip",
    "system",
    "anonymous",
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

struct Reply {
    status: StatusCode,
    content_type: String,
    retry_after: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

impl TestApp {
    async fn new(now: DateTime<Utc>) -> Self {
        Self::with_readiness(now, workflow_store::ReadinessPolicy::default()).await
    }

    async fn with_readiness(
        now: DateTime<Utc>,
        readiness: workflow_store::ReadinessPolicy,
    ) -> Self {
        let db = TestDb::new(Backend::Sqlite, "api").await;
        let store = Arc::new(db.open().await);
        let dir = tempfile::tempdir().unwrap();
        let state = AppState {
            store: Arc::clone(&store),
            evidence: EvidenceStore::new(dir.path().join("evidence"), 4096),
            clock: Arc::new(move || now),
            readiness,
            metrics_public: false,
            read_your_writes: workflow_host::http::READ_YOUR_WRITES,
        };
        // Commands wait for the views: run the projector as `serve` does.
        let projector = support::background_projector(&store);
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
            _db: db,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        caller: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = self.tokens.get(caller) {
            req = req.header("authorization", format!("Bearer {token}"));
        }
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

    async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            content_type,
            retry_after,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Puts a complaint into a state by running fixture commands through the engine.
    async fn given(&self, id: &str, steps: Vec<(Actor, C)>) {
        self.given_at(id, wib("2026-11-30 09:00"), steps).await;
    }

    /// The same, with the commands sent at `at`.
    async fn given_at(&self, id: &str, at: DateTime<Utc>, steps: Vec<(Actor, C)>) {
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

    async fn event_count(&self) -> i64 {
        self.store.log().head().await.unwrap()
    }

    async fn upload(&self) -> String {
        let req = Request::post("/api/v1/evidence")
            .header(
                "authorization",
                format!("Bearer {}", self.tokens["liaison_pupr"]),
            )
            .header("content-type", "image/jpeg")
            .body(Body::from(JPEG))
            .unwrap();
        let r = self.send(req).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["sha256"].as_str().unwrap().to_owned()
    }
}

fn disposed(agency: &str) -> Vec<(Actor, C)> {
    vec![
        (fx::upp(), C::Register(fx::registration())),
        (fx::upp(), C::Dispose(fx::disposition(agency))),
    ]
}

fn reviewed(complete: bool) -> Vec<(Actor, C)> {
    let mut steps = disposed("PUPR");
    let review = if complete {
        fx::complete_review()
    } else {
        fx::incomplete_review()
    };
    steps.push((fx::liaison("PUPR"), C::Review(review)));
    steps
}

fn clarified(field: bool) -> Vec<(Actor, C)> {
    let mut steps = reviewed(true);
    steps.push((fx::liaison("PUPR"), C::Clarify(fx::clarification(field))));
    steps
}

fn now() -> DateTime<Utc> {
    wib("2026-12-01 10:00")
}

/// For every command route: only the roles the SOP names get through; every other
/// caller is answered 401 or 403 and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_of_every_command() {
    let t = TestApp::new(now()).await;
    let photo = t.upload().await;
    let reg = json!({"id": "ADU-R", "lapor_id": "LAP-R", "title": "t", "description": "d", "category": "c",
        "reported_at": "2026-11-30T01:00:00Z", "complainant": {"name": "Budi"}, "upp_review": "r"});
    let visit = json!({"visit_date": "2026-12-01", "location": "l", "parties_summoned": [{"name": "n", "position": "p"}],
        "findings": "f", "evidence": [{"sha256": photo, "caption": "c"}]});
    let ba = json!({"number": "BA/1", "date": "2026-12-01", "addressee": {"name": "H", "position": "Kepala", "agency": "PUPR"},
        "signatories": [{"name": "A", "position": "P"}], "findings": "f", "conclusion": "c", "solution": "s"});
    let mut field_verified = clarified(true);
    field_verified.push((
        fx::liaison("PUPR"),
        C::VerifyInField(fx::field_visit("2026-11-30")),
    ));
    let mut ba_issued = field_verified.clone();
    ba_issued.push((
        fx::liaison("PUPR"),
        C::IssueBa(fx::berita_acara("PUPR", "2026-11-30")),
    ));
    let ba_issued_too = ba_issued.clone();
    let mut responded = ba_issued.clone();
    responded.push((fx::liaison("PUPR"), C::Respond(fx::response_text())));
    let mut satisfied = responded.clone();
    satisfied.push((fx::upp(), C::RecordFeedback(fx::feedback(true))));
    let mut dissatisfied = responded.clone();
    dissatisfied.push((fx::upp(), C::RecordFeedback(fx::feedback(false))));
    let mut waiting = reviewed(false);
    waiting.push((
        fx::liaison("PUPR"),
        C::RequestInformation(fx::information_request()),
    ));

    // (route, given, body, the roles that may)
    type Case<'a> = (&'a str, Vec<(Actor, C)>, Value, &'a [&'a str]);
    let cases: Vec<Case> = vec![
        ("", vec![], reg, &["upp"]),
        (
            "dispose",
            vec![(fx::upp(), C::Register(fx::registration()))],
            json!({"agency": "PUPR", "liaison_officer": "andi"}),
            &["upp", "coordinator"],
        ),
        (
            "return",
            disposed("PUPR"),
            json!({"reason": "bukan kami"}),
            &["liaison_pupr"],
        ),
        (
            "review",
            disposed("PUPR"),
            json!({"complete": true}),
            &["liaison_pupr"],
        ),
        (
            "request-information",
            reviewed(false),
            json!({"questions": ["di mana?"]}),
            &["liaison_pupr"],
        ),
        (
            "provide-information",
            waiting,
            json!({"answer": "di sini"}),
            &["upp"],
        ),
        (
            "reject",
            reviewed(false),
            json!({"reason": "tidak jelas"}),
            &["liaison_pupr"],
        ),
        (
            "clarify",
            reviewed(true),
            json!({"field_examination_needed": true, "reasoning": "cek"}),
            &["liaison_pupr"],
        ),
        (
            "field-verification",
            clarified(true),
            visit,
            &["liaison_pupr"],
        ),
        ("ba", field_verified, ba, &["liaison_pupr"]),
        (
            "respond",
            ba_issued,
            json!({"response": "selesai"}),
            &["liaison_pupr"],
        ),
        ("close", satisfied, json!({}), &["upp", "system"]),
        (
            "progress",
            disposed("PUPR"),
            json!({"text": "sedang ditelaah"}),
            &["liaison_pupr"],
        ),
        (
            "feedback",
            responded.clone(),
            json!({"satisfied": false, "text": "belum selesai"}),
            &["upp"],
        ),
        (
            "reopen",
            dissatisfied,
            json!({"reason": "belum selesai"}),
            &["upp", "coordinator"],
        ),
        (
            "reassign",
            disposed("PUPR"),
            json!({"liaison_officer": "penghubung2.pupr", "reason": "cuti"}),
            &["upp", "head_pupr"],
        ),
        ("acknowledge-ba", ba_issued_too, json!({}), &["head_pupr"]),
        (
            "archive",
            vec![(fx::upp(), C::Register(fx::registration()))],
            json!({"reason": "spam"}),
            &["upp"],
        ),
        (
            "withdraw",
            vec![(fx::upp(), C::Register(fx::registration()))],
            json!({"note": "dicabut lewat telepon"}),
            &["upp"],
        ),
        (
            "forward",
            vec![(fx::upp(), C::Register(fx::registration()))],
            json!({"institution": "BPJN Kalteng", "reason": "jalan nasional"}),
            &["upp", "coordinator"],
        ),
        // Given below: a breach needs a deadline that has passed.
        (
            "annul-breach",
            vec![],
            json!({"step": "disposition", "occurrence": 1, "reason": "LAPOR! tidak dapat diakses"}),
            &["coordinator"],
        ),
    ];
    let late = format!("ADU-{}", cases.len() - 1);
    t.given_at(
        &late,
        wib("2026-11-25 09:00"),
        vec![(
            fx::upp(),
            C::Register(workflow_core::complaint::command::Registration {
                reported_at: wib("2026-11-25 08:00"),
                ..fx::registration()
            }),
        )],
    )
    .await;
    t.given_at(
        &late,
        wib("2026-12-01 09:00"),
        vec![(
            fx::system(),
            C::RecordSlaBreach(workflow_core::complaint::command::BreachReport::latest(
                workflow_core::Step::Disposition,
            )),
        )],
    )
    .await;
    for (n, (route, given, body, allowed)) in cases.into_iter().enumerate() {
        let id = format!("ADU-{n}");
        t.given(&id, given).await;
        let path = if route.is_empty() {
            "/api/v1/complaints".to_owned()
        } else {
            format!("/api/v1/complaints/{id}/{route}")
        };
        let before = t.event_count().await;
        for caller in CALLERS.iter().filter(|c| !allowed.contains(c)) {
            let r = t
                .call(Method::POST, &path, caller, Some(body.clone()), None)
                .await;
            let expected = if *caller == "anonymous" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status, expected, "{caller} on {route}: {}", r.text);
            assert_eq!(r.content_type, "application/problem+json");
        }
        assert_eq!(
            t.event_count().await,
            before,
            "refused callers wrote nothing on {route}"
        );
        let r = t
            .call(Method::POST, &path, allowed[0], Some(body.clone()), None)
            .await;
        let expected = if route.is_empty() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, expected, "{} on {route}: {}", allowed[0], r.text);
        assert_eq!(t.event_count().await, before + 1);
    }
}

/// Who may read what, per route and role, on a complaint of PUPR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_of_every_view() {
    let t = TestApp::new(now()).await;
    t.given("ADU-1", disposed("PUPR")).await;
    let everyone_but_others = [
        "upp",
        "coordinator",
        "liaison_pupr",
        "head_pupr",
        "apip",
        "system",
    ];
    let routes: Vec<(&str, Vec<&str>)> = vec![
        ("/api/v1/complaints", CALLERS[..7].to_vec()),
        ("/api/v1/complaints/ADU-1", everyone_but_others.to_vec()),
        (
            "/api/v1/complaints/ADU-1/history",
            vec!["upp", "coordinator", "apip"],
        ),
        ("/api/v1/complaints/ADU-1/events", vec!["upp", "apip"]),
        ("/api/v1/complaints/ADU-1/identity-reads", vec!["apip"]),
        ("/api/v1/sla", CALLERS[..7].to_vec()),
        ("/api/v1/audit/verify", vec!["apip"]),
    ];
    for (path, allowed) in routes {
        for caller in CALLERS {
            let r = t.call(Method::GET, path, caller, None, None).await;
            let expected = if allowed.contains(&caller) {
                StatusCode::OK
            } else if caller == "anonymous" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status, expected, "{caller} GET {path}: {}", r.text);
        }
    }
    // Agency-scoped roles see only their agency in lists and on the board.
    let r = t
        .call(
            Method::GET,
            "/api/v1/complaints",
            "liaison_dinkes",
            None,
            None,
        )
        .await;
    assert!(r.json()["items"].as_array().unwrap().is_empty());
    let r = t
        .call(
            Method::GET,
            "/api/v1/complaints?agency=PUPR",
            "liaison_dinkes",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .call(
            Method::GET,
            "/api/v1/complaints",
            "liaison_pupr",
            None,
            None,
        )
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = t
        .call(Method::GET, "/api/v1/sla", "liaison_dinkes", None, None)
        .await;
    assert!(r.json()["entries"].as_array().unwrap().is_empty());
    // Unknown complaints are 404 for those who may look.
    assert_eq!(
        t.call(Method::GET, "/api/v1/complaints/ADU-404", "upp", None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.call(
            Method::GET,
            "/api/v1/complaints/ADU-1/ba",
            "upp",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Uploads: liaison officers and UPP.
    for caller in CALLERS {
        let req = Request::post("/api/v1/evidence").header("content-type", "image/jpeg");
        let req = match t.tokens.get(caller) {
            Some(tok) => req.header("authorization", format!("Bearer {tok}")),
            None => req,
        };
        let r = t.send(req.body(Body::from(JPEG)).unwrap()).await;
        let expected = match caller {
            "upp" | "liaison_pupr" | "liaison_dinkes" => StatusCode::CREATED,
            "anonymous" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(r.status, expected, "{caller} uploads");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_identities_are_hidden_per_role_and_their_reads_recorded() {
    let t = TestApp::new(now()).await;
    t.given("ADU-ANON", disposed("PUPR")).await; // the fixture complainant is anonymous
    let mut public = fx::registration();
    public.complainant.confidentiality = workflow_core::complainant::Confidentiality::Public;
    t.given(
        "ADU-PUB",
        vec![
            (fx::upp(), C::Register(public)),
            (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
        ],
    )
    .await;

    let name = |r: &Reply| {
        r.json()["registration"]["complainant"]["name"]
            .as_str()
            .map(str::to_owned)
    };
    let liaison = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-ANON",
            "liaison_pupr",
            None,
            None,
        )
        .await;
    assert_eq!(name(&liaison), None);
    assert_eq!(
        liaison.json()["registration"]["complainant"]["hidden"],
        true
    );
    assert!(
        !liaison.text.contains("Budi Santoso") && !liaison.text.contains("+62 812"),
        "nothing leaks"
    );
    let head = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-ANON",
            "head_pupr",
            None,
            None,
        )
        .await;
    assert_eq!(name(&head), None);
    let coordinator = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-ANON/history",
            "coordinator",
            None,
            None,
        )
        .await;
    assert!(
        !coordinator.text.contains("Budi Santoso"),
        "{}",
        coordinator.text
    );
    assert!(
        t.store
            .identity_reads(&cid("ADU-ANON"))
            .await
            .unwrap()
            .is_empty(),
        "nothing hidden was shown yet"
    );

    let upp = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-ANON",
            "upp",
            None,
            None,
        )
        .await;
    assert_eq!(name(&upp).as_deref(), Some("Budi Santoso"));
    let apip = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-ANON/events",
            "apip",
            None,
            None,
        )
        .await;
    assert!(apip.text.contains("Budi Santoso"));
    let reads = t.store.identity_reads(&cid("ADU-ANON")).await.unwrap();
    assert_eq!(
        reads
            .iter()
            .map(|r| (r.user.as_str(), r.via.as_str()))
            .collect::<Vec<_>>(),
        [
            ("sari.upp", "GET /complaints/{id}"),
            ("auditor.apip", "GET /complaints/{id}/events")
        ]
    );

    let liaison = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-PUB",
            "liaison_pupr",
            None,
            None,
        )
        .await;
    assert_eq!(
        name(&liaison).as_deref(),
        Some("Budi Santoso"),
        "a public complainant is visible"
    );
    assert!(
        t.store
            .identity_reads(&cid("ADU-PUB"))
            .await
            .unwrap()
            .is_empty(),
        "and reading it is not an event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_key_does_the_work_once_and_answers_the_same() {
    let t = TestApp::new(now()).await;
    t.given("ADU-1", vec![(fx::upp(), C::Register(fx::registration()))])
        .await;
    let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
    let path = "/api/v1/complaints/ADU-1/dispose";
    let first = t
        .call(Method::POST, path, "upp", Some(body.clone()), Some("k-1"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let before = t.event_count().await;
    let again = t
        .call(Method::POST, path, "upp", Some(body.clone()), Some("k-1"))
        .await;
    assert_eq!(
        (again.status, again.text.as_str()),
        (first.status, first.text.as_str())
    );
    assert_eq!(t.event_count().await, before);
    assert_eq!(first.json()["command_id"], "sari.upp:k-1");
    let other = t
        .call(
            Method::POST,
            path,
            "upp",
            Some(json!({"agency": "DINKES", "liaison_officer": "x"})),
            Some("k-1"),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.json()["rule"], "http.idempotency_key_reused");
    // The same key from another user is another request.
    let coord = t
        .call(
            Method::POST,
            path,
            "coordinator",
            Some(json!({"agency": "DINKES", "liaison_officer": "x"})),
            Some("k-1"),
        )
        .await;
    assert_eq!(coord.status, StatusCode::OK, "{}", coord.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_request_gets_its_own_clear_answer() {
    let t = TestApp::new(now()).await;
    t.given("ADU-1", disposed("PUPR")).await;
    let before = t.event_count().await;
    let path = "/api/v1/complaints/ADU-1/review";
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = Request::post(path).header(
            "authorization",
            format!("Bearer {}", t.tokens["liaison_pupr"]),
        );
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        t.send(req.body(Body::from(body)).unwrap())
    };
    let cases = [
        (
            send("{\"complete\": tr", Some("application/json")).await,
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            send("{\"complete\": true, \"x\": 1}", Some("application/json")).await,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            send("{\"complete\": \"yes\"}", Some("application/json")).await,
            StatusCode::BAD_REQUEST,
            "wrong type",
        ),
        (
            send("{\"complete\": true}", Some("text/plain")).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not JSON",
        ),
        (
            send("{\"complete\": true}", None).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "no content type",
        ),
        (
            send(
                "{\"complete\": true, \"missing_items\": [\"x\"]}",
                Some("application/json"),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "rule",
        ),
    ];
    for (reply, status, what) in cases {
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(reply.content_type, "application/problem+json", "{what}");
        let problem = reply.json();
        assert_eq!(problem["status"], status.as_u16());
        assert!(
            problem["title"].is_string()
                && problem["detail"].is_string()
                && problem["type"].is_string()
        );
    }
    let big = "x".repeat(70 * 1024);
    let r = t
        .send(
            Request::post(path)
                .header(
                    "authorization",
                    format!("Bearer {}", t.tokens["liaison_pupr"]),
                )
                .header("content-type", "application/json")
                .body(Body::from(format!("{{\"notes\": \"{big}\"}}")))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    // A state conflict and an unknown complaint.
    let r = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-1/respond",
            "liaison_pupr",
            Some(json!({"response": "x"})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-1/close",
            "upp",
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-404/close",
            "upp",
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .call(
            Method::POST,
            "/api/v1/complaints/bad%20id/close",
            "upp",
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Evidence that was never uploaded, and uploads that are not what they claim.
    let mut steps = disposed("PUPR");
    steps.push((fx::liaison("PUPR"), C::Review(fx::complete_review())));
    steps.push((fx::liaison("PUPR"), C::Clarify(fx::clarification(true))));
    t.given("ADU-2", steps).await;
    let visit = json!({"visit_date": "2026-12-01", "location": "l", "parties_summoned": [{"name": "n", "position": "p"}],
        "findings": "f", "evidence": [{"sha256": "ab".repeat(32), "caption": "c"}]});
    let r = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-2/field-verification",
            "liaison_pupr",
            Some(visit),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["rule"], "evidence.unknown");
    let upload = |ct: &'static str, body: Vec<u8>| {
        t.send(
            Request::post("/api/v1/evidence")
                .header("authorization", format!("Bearer {}", t.tokens["upp"]))
                .header("content-type", ct)
                .body(Body::from(body))
                .unwrap(),
        )
    };
    assert_eq!(
        upload("application/pdf", JPEG.to_vec()).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        upload("image/jpeg", b"plain text".to_vec()).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let mut huge = JPEG.to_vec();
    huge.resize(5000, 0);
    assert_eq!(
        upload("image/jpeg", huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        t.call(Method::GET, "/api/v1/nowhere", "upp", None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.event_count().await,
        before + 4,
        "only the four given steps of ADU-2 were written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ba_is_a_printable_page_in_indonesian() {
    let t = TestApp::new(now()).await;
    let mut steps = clarified(true);
    steps.push((
        fx::liaison("PUPR"),
        C::VerifyInField(fx::field_visit("2026-11-30")),
    ));
    steps.push((
        fx::liaison("PUPR"),
        C::IssueBa(fx::berita_acara("PUPR", "2026-11-30")),
    ));
    t.given("ADU-1", steps).await;
    let r = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-1/ba",
            "head_pupr",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/html"));
    for needle in [
        "Berita Acara Pemeriksaan Lapangan",
        "BA/045/PUPR/XII/2026",
        "Senin, 30 November 2026",
        "Kepala PUPR",
        "Foto lokasi 1",
        "Penambalan dijadwalkan minggu ini",
        "Andi Pratama",
        "Mengetahui",
    ] {
        assert!(r.text.contains(needle), "the BA lacks {needle}");
    }
    let other = t
        .call(
            Method::GET,
            "/api/v1/complaints/ADU-1/ba",
            "liaison_dinkes",
            None,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_routes() {
    let t = TestApp::new(now()).await;
    let r = t
        .call(Method::GET, "/api/v1/openapi.json", "anonymous", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = workflow_host::http::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_owned()))
        .collect();
    routed.sort();
    assert_eq!(documented, routed, "the document lists exactly the routes");
    // And every listed route is served (not the 404 fallback, not 405).
    for (method, path) in routed {
        let concrete = path
            .replace("{id}", "ADU-1")
            .replace("{sha256}", &"0".repeat(64));
        let r = t
            .call(method.parse().unwrap(), &concrete, "anonymous", None, None)
            .await;
        let served = r.status != StatusCode::METHOD_NOT_ALLOWED
            && !(r.status == StatusCode::NOT_FOUND && r.text.contains("no such route"));
        assert!(
            served,
            "{method} {path} is not routed: {} {}",
            r.status, r.text
        );
    }
    let register = &doc["paths"]["/api/v1/complaints"]["post"];
    assert_eq!(
        register["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RegisterRequest"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let _ = Role::Upp;
}

/// Every parameter is where it belongs: path parameters are exactly the path's
/// placeholders, and the filters of the list, the board and the history are query
/// parameters (generated clients send them as such).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_declared_where_they_are_sent() {
    let doc = serde_json::to_value(workflow_host::http::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut in_path: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            in_path.sort();
            let mut wanted = placeholders.clone();
            wanted.sort();
            assert_eq!(in_path, wanted, "{method} {path}: path parameters");
            for p in &params {
                assert!(
                    ["path", "query", "header"].contains(&p["in"].as_str().unwrap()),
                    "{method} {path}: {p}"
                );
            }
        }
    }
    let query = |path: &str| -> Vec<String> {
        let mut names: Vec<String> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        query("/api/v1/complaints"),
        ["after", "agency", "from", "limit", "officer", "overdue", "state", "to"]
    );
    assert_eq!(query("/api/v1/sla"), ["after", "agency", "limit", "status"]);
    assert_eq!(query("/api/v1/complaints/{id}/history"), ["as_of"]);
    let key = &doc["paths"]["/api/v1/complaints/{id}/dispose"]["post"]["parameters"];
    assert!(
        key.as_array()
            .unwrap()
            .iter()
            .any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key"),
        "{key}"
    );
}

/// Every successful answer declares its body (JSON ones a schema), every error answer
/// the problem schema, and an upload is a binary body, not an array of numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_declares_its_body_and_every_error_is_a_problem() {
    let doc = serde_json::to_value(workflow_host::http::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no 2xx"
            );
            for (status, response) in responses {
                let content = response["content"].as_object();
                let content = content.unwrap_or_else(|| {
                    panic!("{method} {path} {status}: no body declared: {response}")
                });
                assert!(!content.is_empty(), "{method} {path} {status}");
                if status.starts_with('2') {
                    for (media, body) in content {
                        assert!(
                            body["schema"].is_object(),
                            "{method} {path} {status} {media}: no schema"
                        );
                    }
                } else if !(path == "/api/v1/health/ready" && status == "503") {
                    assert_eq!(
                        content["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let upload = &doc["paths"]["/api/v1/evidence"]["post"]["requestBody"]["content"];
    let schema = &upload["application/octet-stream"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    };
    assert_eq!(schema["type"], "string", "{upload}");
    assert_eq!(schema["format"], "binary", "{upload}");
    let history = &doc["components"]["schemas"]["ComplaintState"]["properties"];
    assert!(history["status"].is_object(), "{history}");
    assert!(
        history.get("seen_commands").is_none(),
        "the aggregate's bookkeeping is not part of the answer"
    );
}

/// The document the server serves is valid OpenAPI 3.1, as `openapi-spec-validator`
/// (PyPI) judges it; CI installs it. Elsewhere, without it, the test says so loudly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_openapi_3_1() {
    let t = TestApp::new(now()).await;
    let r = t
        .call(Method::GET, "/api/v1/openapi.json", "anonymous", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["openapi"], "3.1.0");
    let validator =
        std::env::var("OPENAPI_SPEC_VALIDATOR").unwrap_or("openapi-spec-validator".into());
    let file = t._dir.path().join("openapi.json");
    std::fs::write(&file, &r.text).unwrap();
    let mut command = std::process::Command::new(&validator);
    command.args(["--schema", "3.1"]).arg(&file);
    match support::run_bounded(command) {
        Ok(out) => assert!(
            out.status.success(),
            "{validator}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED: the OpenAPI document was not validated: {validator}: {e} \
                 (pip install openapi-spec-validator)"
            );
        }
        Err(e) => panic!("{validator}: {e}; CI installs it (.ci/run)"),
    }
}

/// `aduan history --json` and `GET /complaints/{id}/history` give the same answer,
/// field for field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_is_the_same_json_on_the_command_line_and_over_http() {
    let t = TestApp::new(now()).await;
    t.given("ADU-1", clarified(true)).await;
    let as_of = "2026-12-01T03:00:00Z";
    let http = t
        .call(
            Method::GET,
            &format!("/api/v1/complaints/ADU-1/history?as_of={as_of}"),
            "upp",
            None,
            None,
        )
        .await;
    assert_eq!(http.status, StatusCode::OK, "{}", http.text);
    let cli = support::aduan(
        t._dir.path(),
        &t._db.url,
        &["history", "ADU-1", "--as-of", as_of, "--json"],
    );
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    let http = http.json();
    assert_eq!(cli["complaint_id"], "ADU-1");
    assert_eq!(cli["state"]["status"], "clarified");
    assert!(cli["state"].get("seen_commands").is_none(), "{cli}");
    assert_eq!(cli, http);
}

mod junk {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    fn junk_body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "[a-z_]{1,12}".prop_map(|k| format!("{{\"{k}\": 1}}").into_bytes()),
            Just(b"{}".to_vec()),
            Just(b"null".to_vec()),
            Just(b"[]".to_vec()),
            "\\PC{0,200}".prop_map(String::into_bytes),
        ]
    }

    fn junk_header() -> impl Strategy<Value = Option<String>> {
        prop::option::of("[ -~]{0,40}")
    }

    /// Junk bodies and headers against every route, from callers with and without a
    /// valid token: never a 5xx, every write route answers 4xx, and the log is unchanged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn junk_against_every_route_answers_4xx_and_writes_nothing() {
        let t = TestApp::new(now()).await;
        t.given("ADU-1", disposed("PUPR")).await;
        let before = t.event_count().await;
        let routes = workflow_host::http::routes();
        let handle = tokio::runtime::Handle::current();
        let mut runner = TestRunner::new(Config::with_cases(300));
        let strategy = (
            0..routes.len(),
            junk_body(),
            prop::option::of(prop_oneof![
                Just("application/json"),
                Just("text/plain"),
                Just("image/jpeg"),
                Just("x/y;;")
            ]),
            junk_header(),
            junk_header(),
            0usize..3,
        );
        runner
            .run(&strategy, |(route, body, content_type, key, auth, who)| {
                let (method, path) = &routes[route];
                let path = path
                    .replace("{id}", "ADU-1")
                    .replace("{sha256}", &"a".repeat(64));
                let mut req = Request::builder().method(method.clone()).uri(&path);
                req = match who {
                    0 => req.header("authorization", format!("Bearer {}", t.tokens["upp"])),
                    1 => req.header(
                        "authorization",
                        format!("Bearer {}", t.tokens["liaison_pupr"]),
                    ),
                    _ => match &auth {
                        Some(a) => req.header("authorization", a.as_str()),
                        None => req,
                    },
                };
                if let Some(ct) = content_type {
                    req = req.header("content-type", ct);
                }
                if let Some(k) = &key {
                    req = req.header("idempotency-key", k.as_str());
                }
                let reply = tokio::task::block_in_place(|| {
                    handle.block_on(t.send(req.body(Body::from(body.clone())).unwrap()))
                });
                prop_assert!(
                    !reply.status.is_server_error(),
                    "{method} {path}: {} {}",
                    reply.status,
                    reply.text
                );
                if *method == Method::POST {
                    prop_assert!(
                        reply.status.is_client_error(),
                        "{method} {path} accepted junk: {}",
                        reply.text
                    );
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(t.event_count().await, before, "junk wrote nothing");
    }
}

#[test]
fn docs_api_md_lists_the_routes_of_the_openapi_document() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- routes:begin -->\n", "<!-- routes:end -->");
    let start = text.find(begin).expect("begin marker") + begin.len();
    let stop = text.find(end).expect("end marker");
    let table = workflow_host::http::openapi::markdown_routes();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &text[..start], &text[stop..])).unwrap();
        return;
    }
    assert_eq!(
        &text[start..stop],
        table,
        "docs/api.md is out of date: UPDATE_DOCS=1 cargo test -p workflow-host --test host -- docs_api_md"
    );
}

#[tokio::test]
async fn a_panic_in_a_handler_is_a_500_problem_not_a_dropped_connection() {
    let router = Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                if true {
                    panic!("boom");
                }
                "never"
            }),
        )
        .layer(axum::middleware::from_fn(workflow_host::http::log_requests));
    let response = router
        .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        problem["detail"], "internal error",
        "the panic's text stays in the log"
    );
}

/// Once the events are committed the answer is 2xx, even when keeping the answer for
/// the idempotency key fails (here a real database error raised by a trigger); a retry
/// with the same key is then answered from the log, with the same body, and no second
/// event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_command_is_acknowledged_when_keeping_its_answer_fails() {
    use sqlx::Executor;
    let t = TestApp::new(now()).await;
    t.given("ADU-1", vec![(fx::upp(), C::Register(fx::registration()))])
        .await;
    let mut raw = t._db.raw().await;
    raw.execute(
        "CREATE TRIGGER fail_answers BEFORE INSERT ON idempotency_keys \
         BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END",
    )
    .await
    .unwrap();
    let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
    let path = "/api/v1/complaints/ADU-1/dispose";
    let before = t.event_count().await;
    let first = t
        .call(Method::POST, path, "upp", Some(body.clone()), Some("k-1"))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json()["event_type"], "Disposed");
    assert_eq!(t.event_count().await, before + 1);

    raw.execute("DROP TRIGGER fail_answers").await.unwrap();
    let again = t
        .call(Method::POST, path, "upp", Some(body), Some("k-1"))
        .await;
    assert_eq!(
        (again.status, again.text.as_str()),
        (first.status, first.text.as_str())
    );
    assert_eq!(t.event_count().await, before + 1);
}

/// A store that cannot write answers 503 with a `Retry-After` hint, as problem+json,
/// whichever layer met the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_write_answers_503_with_retry_after() {
    use sqlx::Executor;
    let t = TestApp::new(now()).await;
    t.given("ADU-1", vec![(fx::upp(), C::Register(fx::registration()))])
        .await;
    let mut raw = t._db.raw().await;
    // Hold SQLite's write lock: every append waits its busy timeout, then gives up.
    raw.execute("BEGIN IMMEDIATE").await.unwrap();
    let reply = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-1/dispose",
            "upp",
            Some(json!({"agency": "PUPR", "liaison_officer": "andi"})),
            None,
        )
        .await;
    raw.execute("ROLLBACK").await.unwrap();
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text
    );
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.json()["status"], 503);
    assert!(reply.retry_after.is_some(), "no Retry-After on a 503");
}

/// Metrics need a `system` or `coordinator` token; they count what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_operators_and_count_commits() {
    let t = TestApp::new(now()).await;
    t.given("ADU-1", vec![(fx::upp(), C::Register(fx::registration()))])
        .await;
    let anonymous = t
        .call(Method::GET, "/api/v1/metrics", "anonymous", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let liaison = t
        .call(Method::GET, "/api/v1/metrics", "liaison_pupr", None, None)
        .await;
    assert_eq!(liaison.status, StatusCode::FORBIDDEN);
    for caller in ["system", "coordinator"] {
        let m = t
            .call(Method::GET, "/api/v1/metrics", caller, None, None)
            .await;
        assert_eq!(m.status, StatusCode::OK, "{caller}: {}", m.text);
        assert!(m.content_type.starts_with("application/openmetrics-text"));
        assert!(m.text.contains("aduan_commits_total 1\n"), "{}", m.text);
        assert!(m.text.contains("aduan_commit_failures_total 0\n"));
        assert!(m
            .text
            .contains("aduan_projection_lag{projection=\"complaints\"} 0\n"));
        assert!(m.text.ends_with("# EOF\n"));
    }
}

/// Liveness needs nothing; readiness proves the write path with a probe when no
/// commit was seen, and names each check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_its_checks_and_liveness_touches_nothing() {
    // Probe on every call, however recent the last commit.
    let policy = workflow_store::ReadinessPolicy {
        recent_commit: std::time::Duration::ZERO,
        ..Default::default()
    };
    let t = TestApp::with_readiness(now(), policy).await;
    let live = t
        .call(Method::GET, "/api/v1/health/live", "anonymous", None, None)
        .await;
    assert_eq!(
        (live.status, live.json()["status"].clone()),
        (StatusCode::OK, json!("live"))
    );
    let ready = t
        .call(Method::GET, "/api/v1/health/ready", "anonymous", None, None)
        .await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    let names: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["write", "projection:complaints", "projection:timeline"]
    );
    assert_eq!(body["checks"][0]["detail"], "a probe write was committed");

    // A write lock held elsewhere: the probe cannot commit in time, so not ready.
    use sqlx::Executor;
    let mut raw = t._db.raw().await;
    raw.execute("BEGIN IMMEDIATE").await.unwrap();
    let blocked = t
        .call(Method::GET, "/api/v1/health/ready", "anonymous", None, None)
        .await;
    raw.execute("ROLLBACK").await.unwrap();
    assert_eq!(
        blocked.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        blocked.text
    );
    assert!(blocked.retry_after.is_some());
    assert_eq!(blocked.json()["checks"][0]["ok"], false);
}

/// Step 2 over HTTP: the review carries both answers, and a rejection of a clear report
/// that only lacks data is a 422 naming the SOP rule; with both answers "no" it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_two_asks_complete_and_clear_and_rejects_only_both_no() {
    let t = TestApp::new(now()).await;
    for id in ["ADU-1", "ADU-2"] {
        t.given(id, disposed("PUPR")).await;
    }
    let review = |id: &'static str, body: Value| {
        let t = &t;
        async move {
            t.call(
                Method::POST,
                &format!("/api/v1/complaints/{id}/review"),
                "liaison_pupr",
                Some(body),
                None,
            )
            .await
        }
    };
    let reject = |id: &'static str| {
        let t = &t;
        async move {
            t.call(
                Method::POST,
                &format!("/api/v1/complaints/{id}/reject"),
                "liaison_pupr",
                Some(json!({"reason": "tidak lengkap dan tidak jelas"})),
                None,
            )
            .await
        }
    };
    let r = review(
        "ADU-1",
        json!({"complete": false, "clear": true, "missing_items": ["foto"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let refused = reject("ADU-1").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(
        refused.json()["rule"],
        "sop.step2.reject_requires_incomplete_and_unclear_review"
    );
    let r = review(
        "ADU-2",
        json!({"complete": false, "clear": false, "missing_items": ["lokasi"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(reject("ADU-2").await.status, StatusCode::OK);
    // The stored review says what was answered.
    let detail = t.store.engine().load(&cid("ADU-1")).await.unwrap();
    let last = detail.last_review().unwrap();
    assert_eq!((last.complete, last.clear), (false, true));
}

/// The same Idempotency-Key and body sent to another complaint is another request: it
/// is refused as a reused key (422), never answered with the first complaint's result
/// while the second is left untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_on_another_complaint_is_refused_not_answered_from_the_first() {
    let t = TestApp::new(now()).await;
    for id in ["ADU-A", "ADU-C"] {
        t.given(id, vec![(fx::upp(), C::Register(fx::registration()))])
            .await;
    }
    let body = json!({"agency": "PUPR", "liaison_officer": "andi"});
    let first = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-A/dispose",
            "upp",
            Some(body.clone()),
            Some("k-9"),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let other = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-C/dispose",
            "upp",
            Some(body),
            Some("k-9"),
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );
    assert_eq!(other.json()["rule"], "http.idempotency_key_reused");
    let c = t.store.engine().load(&cid("ADU-C")).await.unwrap();
    assert_eq!(
        c.status(),
        workflow_core::Status::Received,
        "ADU-C was not touched"
    );
}

/// Views carry the LAPOR!-SP4N status beside the engine's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_carry_the_lapor_status() {
    let t = TestApp::new(now()).await;
    t.given("ADU-1", disposed("PUPR")).await;
    let detail = t
        .call(Method::GET, "/api/v1/complaints/ADU-1", "upp", None, None)
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.json()["lapor_status"], "disposed");
    assert_eq!(detail.json()["summary"]["lapor_status"], "disposed");
    let list = t
        .call(Method::GET, "/api/v1/complaints", "upp", None, None)
        .await;
    assert_eq!(list.json()["items"][0]["lapor_status"], "disposed");
}

/// At the door a duplicate names an existing complaint, not itself and not one that
/// does not exist; each refusal is a 422 naming its rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_names_an_existing_other_complaint() {
    let t = TestApp::new(now()).await;
    for id in ["ADU-1", "ADU-2"] {
        t.given(id, vec![(fx::upp(), C::Register(fx::registration()))])
            .await;
    }
    let archive = |original: &str| {
        let body = json!({"reason": "duplicate", "duplicate_of": original});
        let t = &t;
        async move {
            t.call(
                Method::POST,
                "/api/v1/complaints/ADU-2/archive",
                "upp",
                Some(body),
                None,
            )
            .await
        }
    };
    let unknown = archive("ADU-404").await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert_eq!(unknown.json()["rule"], "sop.door.duplicate_of_unknown");
    let itself = archive("ADU-2").await;
    assert_eq!(itself.json()["rule"], "sop.door.duplicate_of_itself");
    let spam_naming = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-2/archive",
            "upp",
            Some(json!({"reason": "spam", "duplicate_of": "ADU-1"})),
            None,
        )
        .await;
    assert_eq!(
        spam_naming.json()["rule"],
        "sop.door.duplicate_of_names_the_original"
    );
    let ok = archive("ADU-1").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json()["status"], "archived");
    let detail = t
        .call(Method::GET, "/api/v1/complaints/ADU-2", "upp", None, None)
        .await;
    assert_eq!(detail.json()["lapor_status"], "archived");
}

/// After the BA, over HTTP: the complainant's feedback decides whether UPP may close or
/// reopen, each refusal a problem naming its rule; only the assigned liaison officer acts
/// until a reassignment; the coordinator's annulment keeps the breach in the detail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_decides_closing_and_reopening_and_refusals_name_the_rule() {
    let t = TestApp::new(now()).await;
    let mut responded = clarified(false);
    responded.push((fx::liaison("PUPR"), C::Respond(fx::response_text())));
    t.given("ADU-F", responded).await;

    let close = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-F/close",
            "upp",
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(
        close.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        close.text
    );
    assert_eq!(close.content_type, "application/problem+json");
    assert_eq!(
        close.json()["rule"],
        "sop.close.requires_satisfied_feedback_or_window"
    );
    let reopen = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-F/reopen",
            "coordinator",
            Some(json!({"reason": "belum"})),
            None,
        )
        .await;
    assert_eq!(
        reopen.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reopen.text
    );
    assert_eq!(
        reopen.json()["rule"],
        "sop.reopen.requires_dissatisfied_feedback"
    );
    let feedback = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-F/feedback",
            "upp",
            Some(json!({"satisfied": false, "text": "Lubang belum ditambal"})),
            None,
        )
        .await;
    assert_eq!(feedback.status, StatusCode::OK, "{}", feedback.text);
    assert_eq!(feedback.json()["event_type"], "FeedbackReceived");
    let reopen = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-F/reopen",
            "coordinator",
            Some(json!({"reason": "Lubang belum ditambal"})),
            None,
        )
        .await;
    assert_eq!(reopen.status, StatusCode::OK, "{}", reopen.text);
    assert_eq!(reopen.json()["status"], "disposed");
    let detail = t
        .call(Method::GET, "/api/v1/complaints/ADU-F", "upp", None, None)
        .await;
    assert_eq!(detail.json()["lapor_status"], "disposed");

    // Another liaison officer of the same agency is refused until reassigned.
    t.given("ADU-G", disposed("PUPR")).await;
    let tokens_for_other = t
        .store
        .create_token(
            &Actor::of_agency("penghubung2.pupr", Role::Liaison, "PUPR"),
            now(),
        )
        .await
        .unwrap();
    let review = |token: String| {
        Request::post("/api/v1/complaints/ADU-G/review")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(json!({"complete": true}).to_string()))
            .unwrap()
    };
    let refused = t.send(review(tokens_for_other.clone())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("assigned to liaison officer `penghubung.pupr`"),
        "{}",
        refused.text
    );
    let reassign = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-G/reassign",
            "head_pupr",
            Some(json!({"liaison_officer": "penghubung2.pupr", "reason": "cuti"})),
            None,
        )
        .await;
    assert_eq!(reassign.status, StatusCode::OK, "{}", reassign.text);
    let accepted = t.send(review(tokens_for_other)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);

    // An unknown step in an annulment is a 400, not a 500.
    let bad = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-G/annul-breach",
            "coordinator",
            Some(json!({"step": "lunch", "occurrence": 1, "reason": "x"})),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let none = t
        .call(
            Method::POST,
            "/api/v1/complaints/ADU-G/annul-breach",
            "coordinator",
            Some(json!({"step": "review", "occurrence": 1, "reason": "x"})),
            None,
        )
        .await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.text
    );
    assert_eq!(none.json()["rule"], "sla.breach_not_recorded");
}
