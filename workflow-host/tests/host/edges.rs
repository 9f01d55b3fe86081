//! The HTTP API at its edges, on a real SQLite store: every refusal the framework makes
//! is a problem too, the headers every answer carries, files the host creates, pages of
//! lists and the board, and, against a real `aduan serve`, concurrent uploads and slow
//! connections.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use workflow_core::fixtures::{self as fx, cid, wib};
use workflow_host::evidence::EvidenceStore;
use workflow_host::http::{app, AppState};
use workflow_store::testing::{Backend, TestDb};
use workflow_store::Store;

use crate::support;

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];
const PDF: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";

struct Edge {
    router: Router,
    store: Arc<Store>,
    _projector: tokio::sync::oneshot::Sender<()>,
    upp: String,
    liaison: String,
    dir: tempfile::TempDir,
    _db: TestDb,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// A problem with this status, in its body too.
    fn assert_problem(&self, status: StatusCode, what: &str) {
        assert_eq!(self.status, status, "{what}: {}", self.text);
        assert_eq!(
            self.header("content-type"),
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

fn now() -> DateTime<Utc> {
    wib("2026-12-01 10:00")
}

impl Edge {
    async fn new() -> Edge {
        let db = TestDb::new(Backend::Sqlite, "edges").await;
        let store = Arc::new(db.open().await);
        let dir = tempfile::tempdir().unwrap();
        let state = AppState {
            store: Arc::clone(&store),
            evidence: EvidenceStore::new(dir.path().join("evidence"), 4096),
            clock: Arc::new(now),
            readiness: workflow_store::ReadinessPolicy::default(),
            metrics_public: false,
            read_your_writes: workflow_host::http::READ_YOUR_WRITES,
        };
        // Commands wait for the views: run the projector as `serve` does.
        let projector = support::background_projector(&store);
        let upp = store.create_token(&fx::upp(), now()).await.unwrap();
        let liaison = store
            .create_token(&fx::liaison("PUPR"), now())
            .await
            .unwrap();
        Edge {
            router: app(state),
            store,
            _projector: projector,
            upp,
            liaison,
            dir,
            _db: db,
        }
    }

    async fn send(&self, req: Request<Body>) -> Reply {
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

    async fn get(&self, path: &str, auth: Option<&str>) -> Reply {
        let mut req = Request::get(path);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            Request::post(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// Refusals made before a handler runs (the body limit, the method, the path, an
/// unknown route) are problems with their own status, like every other error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_a_problem_with_its_own_status() {
    let t = Edge::new().await;
    let bearer = format!("Bearer {}", t.upp);
    let big = format!("{{\"notes\": \"{}\"}}", "x".repeat(70 * 1024));
    t.post(
        "/api/v1/complaints/ADU-1/review",
        &t.liaison,
        "application/json",
        big.into_bytes(),
    )
    .await
    .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "a JSON body over the limit");
    t.post(
        "/api/v1/evidence",
        &t.liaison,
        "image/jpeg",
        vec![0xFF; 8192],
    )
    .await
    .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "an upload over the limit");
    t.post(
        "/api/v1/complaints/ADU-1/review",
        &t.liaison,
        "text/plain",
        b"{}".to_vec(),
    )
    .await
    .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not JSON");
    let r = t
        .send(
            Request::delete("/api/v1/complaints")
                .header("authorization", &bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "DELETE on a list");
    assert!(r.header("allow").contains("GET"), "405 names the methods");
    t.get("/api/v1/complaints/%FF%FE", Some(&bearer))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "a path that is not UTF-8");
    t.get("/api/v1/evidence/%C0", Some(&bearer))
        .await
        .assert_problem(
            StatusCode::BAD_REQUEST,
            "an evidence path that is not UTF-8",
        );
    t.get("/api/v1/complaints?limit=lots", Some(&bearer))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "a query that does not parse");
    for path in ["/nowhere", "/api/v1/nowhere", "/api/v2/complaints", "/"] {
        t.get(path, Some(&bearer))
            .await
            .assert_problem(StatusCode::NOT_FOUND, path);
    }
}

/// 401 says how to authenticate; the scheme's name is case-insensitive (RFC 9110).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_asks_for_a_bearer_token_and_the_scheme_is_case_insensitive() {
    let t = Edge::new().await;
    for auth in [
        None,
        Some("Bearer nonsense".to_owned()),
        Some("Basic dXNlcjpwdw==".to_owned()),
        Some(format!("Bearer{}", t.upp)),
    ] {
        let r = t.get("/api/v1/complaints", auth.as_deref()).await;
        r.assert_problem(StatusCode::UNAUTHORIZED, &format!("{auth:?}"));
        assert!(
            r.header("www-authenticate").starts_with("Bearer"),
            "{auth:?}: {:?}",
            r.headers
        );
    }
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = t
            .get("/api/v1/complaints", Some(&format!("{scheme} {}", t.upp)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.text);
    }
}

/// Every answer carries nosniff and a referrer policy; HTML carries a content security
/// policy; evidence is a download, except images, shown inline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_security_headers_and_evidence_is_a_download() {
    use workflow_core::complaint::command::ComplaintCommand as C;
    let t = Edge::new().await;
    let bearer = format!("Bearer {}", t.upp);
    let photo = t
        .post("/api/v1/evidence", &t.liaison, "image/jpeg", JPEG.to_vec())
        .await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.text);
    let photo = photo.json()["sha256"].as_str().unwrap().to_owned();
    let scan = t
        .post("/api/v1/evidence", &t.upp, "application/pdf", PDF.to_vec())
        .await;
    assert_eq!(scan.status, StatusCode::CREATED, "{}", scan.text);
    let scan = scan.json()["sha256"].as_str().unwrap().to_owned();
    // A complaint with a BA, for the HTML page.
    let mut steps = vec![
        (fx::upp(), C::Register(fx::registration())),
        (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
        (fx::liaison("PUPR"), C::Review(fx::complete_review())),
        (fx::liaison("PUPR"), C::Clarify(fx::clarification(true))),
        (
            fx::liaison("PUPR"),
            C::VerifyInField(fx::field_visit("2026-11-30")),
        ),
    ];
    steps.push((
        fx::liaison("PUPR"),
        C::IssueBa(fx::berita_acara("PUPR", "2026-11-30")),
    ));
    for (i, (a, c)) in steps.into_iter().enumerate() {
        t.store
            .engine()
            .execute(
                &cid("ADU-1"),
                fx::cmd(&format!("g-{i}"), a, wib("2026-11-30 09:00"), c),
                None,
            )
            .await
            .unwrap();
    }
    t.store.projector().catch_up().await.unwrap();

    let answers = [
        ("json", t.get("/api/v1/complaints", Some(&bearer)).await),
        ("problem", t.get("/api/v1/nowhere", Some(&bearer)).await),
        ("401", t.get("/api/v1/complaints", None).await),
        ("health", t.get("/api/v1/health/live", None).await),
        (
            "ba",
            t.get("/api/v1/complaints/ADU-1/ba", Some(&bearer)).await,
        ),
        (
            "photo",
            t.get(&format!("/api/v1/evidence/{photo}"), Some(&bearer))
                .await,
        ),
        (
            "scan",
            t.get(&format!("/api/v1/evidence/{scan}"), Some(&bearer))
                .await,
        ),
    ];
    for (what, r) in &answers {
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
        assert!(!r.header("referrer-policy").is_empty(), "{what}");
    }
    let (_, ba) = &answers[4];
    assert_eq!(ba.status, StatusCode::OK, "{}", ba.text);
    assert!(ba.header("content-type").starts_with("text/html"));
    let csp = ba.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "the BA page's CSP: {csp:?}"
    );
    assert!(
        !csp.contains("script-src"),
        "the BA page runs no script: {csp}"
    );
    let (_, shown) = &answers[5];
    assert_eq!(shown.header("content-type"), "image/jpeg");
    assert!(
        shown.header("content-disposition").starts_with("inline"),
        "{:?}",
        shown.headers
    );
    let (_, download) = &answers[6];
    assert_eq!(download.header("content-type"), "application/pdf");
    assert!(
        download
            .header("content-disposition")
            .starts_with("attachment")
            && download.header("content-disposition").contains(&scan),
        "{:?}",
        download.headers
    );
    // Evidence files and their folders are the service's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let root = t.dir.path().join("evidence");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root) & 0o027, 0, "evidence folder {:o}", mode(&root));
        let blob = root.join(&photo[..2]).join(&photo);
        assert_eq!(mode(blob.parent().unwrap()) & 0o027, 0);
        assert_eq!(mode(&blob), 0o600, "evidence file {:o}", mode(&blob));
    }
}

/// The database file a verb creates is readable by its owner only.
#[cfg(unix)]
#[test]
fn a_new_database_file_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aduan.db");
    let url = format!("sqlite://{}", path.display());
    let out = support::aduan(dir.path(), &url, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database file is {mode:o}");
    for side in ["aduan.db-wal", "aduan.db-shm"] {
        if let Ok(m) = std::fs::metadata(dir.path().join(side)) {
            assert_eq!(m.permissions().mode() & 0o077, 0, "{side}");
        }
    }
}

/// Thirty uploaders of the same photo at once against a real server: every one is told
/// 201 with the same digest, and a reader never sees anything but the whole photo.
#[test]
fn concurrent_uploads_of_the_same_bytes_all_succeed_and_readers_see_whole_files() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let liaison = support::token(dir.path(), &url, "andi", "liaison", Some("PUPR"));
    let server = support::Server::start(dir.path(), &url);
    let addr = server.addr;
    // Large enough that writes take a while and overlap.
    let mut photo = JPEG.to_vec();
    photo.extend((0..2_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let photo = Arc::new(photo);
    let digest = {
        use sha2::Digest;
        workflow_store::chain::hex(&sha2::Sha256::digest(photo.as_slice()))
    };
    let uploaders = 30;
    let start = Arc::new(std::sync::Barrier::new(uploaders + 3));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (start, done, photo, digest, token) = (
                Arc::clone(&start),
                Arc::clone(&done),
                Arc::clone(&photo),
                digest.clone(),
                liaison.clone(),
            );
            std::thread::spawn(move || {
                start.wait();
                let mut whole = 0;
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
                while std::time::Instant::now() < deadline {
                    let finished = done.load(Ordering::SeqCst);
                    let r = support::request(
                        addr,
                        "GET",
                        &format!("/api/v1/evidence/{digest}"),
                        Some(&token),
                        None,
                        b"",
                        None,
                    )
                    .expect("the server answers a reader");
                    match r.status {
                        404 => {}
                        200 => {
                            assert!(
                                r.body == *photo,
                                "a reader saw {} of {} bytes",
                                r.body.len(),
                                photo.len()
                            );
                            whole += 1;
                        }
                        other => panic!("a reader got {other}: {}", r.text()),
                    }
                    if finished {
                        return whole;
                    }
                }
                panic!("the uploads did not finish within two minutes");
            })
        })
        .collect();
    let writers: Vec<_> = (0..uploaders)
        .map(|_| {
            let (start, photo, token) = (Arc::clone(&start), Arc::clone(&photo), liaison.clone());
            std::thread::spawn(move || {
                start.wait();
                support::request(
                    addr,
                    "POST",
                    "/api/v1/evidence",
                    Some(&token),
                    Some("image/jpeg"),
                    &photo,
                    None,
                )
                .expect("the server answers an uploader")
            })
        })
        .collect();
    start.wait();
    let replies: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    done.store(true, Ordering::SeqCst);
    for r in &replies {
        assert_eq!(r.status, 201, "an uploader got {}: {}", r.status, r.text());
        assert_eq!(r.json()["sha256"], digest);
    }
    for reader in readers {
        assert!(
            reader.join().unwrap() > 0,
            "each reader saw the photo at least once"
        );
    }
    // One blob, no temporary files left beside it.
    let folder = dir.path().join("aduan-evidence").join(&digest[..2]);
    let names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec![digest.clone()], "{names:?}");
    assert_eq!(std::fs::read(folder.join(&digest)).unwrap(), *photo);
    drop(server);
}

/// The complaint list and the SLA board come in pages: 50 unless asked, at most 500, a
/// limit out of range refused (not cut down), and following `next` gives every entry
/// once, in the board's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_the_board_come_in_pages_and_an_out_of_range_limit_is_refused() {
    use workflow_core::complaint::command::ComplaintCommand as C;
    let t = Edge::new().await;
    let bearer = format!("Bearer {}", t.upp);
    for i in 0..61 {
        let id = format!("ADU-{i:03}");
        let mut registration = fx::registration();
        registration.lapor_id = format!("LAP-{i:03}");
        let steps = [
            (fx::upp(), C::Register(registration)),
            (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
        ];
        for (n, (a, c)) in steps.into_iter().enumerate() {
            // Registered on different days: deadlines differ, and some share one.
            let at = wib("2026-11-30 09:00") + chrono::Duration::hours(i64::from(i % 7) * 24);
            t.store
                .engine()
                .execute(&cid(&id), fx::cmd(&format!("{id}-{n}"), a, at, c), None)
                .await
                .unwrap();
        }
    }
    t.store.projector().catch_up().await.unwrap();
    let whole = t.store.views().sla_board(now(), None, None).await.unwrap();
    assert!(whole.len() > 60, "{} duties", whole.len());

    for route in ["/api/v1/sla", "/api/v1/complaints"] {
        for bad in ["0", "501", "100000"] {
            t.get(&format!("{route}?limit={bad}"), Some(&bearer))
                .await
                .assert_problem(StatusCode::BAD_REQUEST, &format!("{route} limit {bad}"));
        }
        let r = t.get(&format!("{route}?limit=500"), Some(&bearer)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let first = t.get(route, Some(&bearer)).await.json();
        let items = first["entries"]
            .as_array()
            .or(first["items"].as_array())
            .unwrap();
        assert_eq!(items.len(), 50, "{route} without a limit");
        assert!(first["next"].is_string(), "{route} has a next page");
        t.get(&format!("{route}?after=nonsense"), Some(&bearer))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, &format!("{route} bad cursor"));
    }

    // Walk the board in pages of 7: every duty once, in the order of the whole board.
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let path = match &after {
            Some(c) => format!("/api/v1/sla?limit=7&after={c}"),
            None => "/api/v1/sla?limit=7".to_owned(),
        };
        let page = t.get(&path, Some(&bearer)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let page = page.json();
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 7);
        walked.extend(entries.iter().map(|e| {
            (
                e["complaint_id"].as_str().unwrap().to_owned(),
                e["step"].as_str().unwrap().to_owned(),
                e["occurrence"].as_i64().unwrap(),
            )
        }));
        match page["next"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected: Vec<_> = whole
        .iter()
        .map(|e| {
            (
                e.complaint_id.to_string(),
                e.step.as_str().to_owned(),
                e.occurrence,
                e.due_at,
            )
        })
        .collect();
    // The board's order: by deadline, then complaint, step and run; paused ones last.
    expected.sort_by(|a, b| {
        (a.3.is_none(), &a.3, &a.0, &a.1, a.2).cmp(&(b.3.is_none(), &b.3, &b.0, &b.1, b.2))
    });
    let expected: Vec<_> = expected.into_iter().map(|(c, s, o, _)| (c, s, o)).collect();
    assert_eq!(
        walked, expected,
        "the pages make the whole board, once each"
    );

    // The complaint list too.
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let path = match &after {
            Some(c) => format!(
                "/api/v1/complaints?limit=9&after={}",
                c.replace('+', "%2B").replace(':', "%3A")
            ),
            None => "/api/v1/complaints?limit=9".to_owned(),
        };
        let page = t.get(&path, Some(&bearer)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let page = page.json();
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["complaint_id"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 61, "every complaint once");
}

/// Opens a connection and starts a request whose headers never end.
fn trickler(addr: std::net::SocketAddr) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(10))
        .expect("connect");
    s.set_write_timeout(Some(std::time::Duration::from_secs(1)))
        .unwrap();
    let _ = s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n");
    s
}

/// Whether the server has closed a connection (EOF or reset), waiting at most `within`.
fn closed(s: &mut std::net::TcpStream, within: std::time::Duration) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // An answer (a 408, say) before the close.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

/// A slow-connection attack with the default limits, in a process allowed 256 open
/// files: 300 connections that trickle their headers one byte at a time. `/health`
/// still answers, and the server closes every trickler.
#[test]
fn three_hundred_trickling_connections_do_not_stop_health() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let server = support::Server::start_with_open_files(dir.path(), &url, 256, &[]);
    let addr = server.addr;
    let mut sockets: Vec<_> = (0..300).map(|_| trickler(addr)).collect();
    // Keep them trickling: one more header byte to each every half second.
    let stop = Arc::new(AtomicBool::new(false));
    let clones: Vec<_> = sockets.iter().map(|s| s.try_clone().unwrap()).collect();
    let trickling = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut clones = clones;
            while !stop.load(Ordering::SeqCst) {
                for s in &mut clones {
                    let _ = s.write_all(b"X");
                }
                // The pace of a slow client: this sleep is the attack, not a wait.
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let started = Instant::now();
    let bound = Duration::from_secs(45);
    let health = loop {
        match support::request(addr, "GET", "/api/v1/health", None, None, b"", None) {
            Ok(r) => break r,
            Err(e) if started.elapsed() < bound => {
                // A refused or reset connection is retried within the bound; the
                // assertion below is that /health answers inside it.
                eprintln!("health not yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("/health did not answer within {bound:?}: {e}"),
        }
    };
    assert_eq!(health.status, 200, "{}", health.text());
    assert!(
        started.elapsed() < bound,
        "/health took {:?}",
        started.elapsed()
    );
    // The server ends every trickler (the header read timeout), within a bound.
    let deadline = Instant::now() + Duration::from_secs(45);
    for (i, s) in sockets.iter_mut().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            closed(s, left.max(Duration::from_millis(10))),
            "trickler {i} still open after the bound"
        );
    }
    stop.store(true, Ordering::SeqCst);
    trickling.join().unwrap();
    assert!(server.child.id() > 0);
    drop(server);
}

/// A body that does not arrive within the body timeout is a 408 problem.
#[test]
fn a_body_that_never_arrives_is_a_408_problem() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let token = support::token(dir.path(), &url, "andi", "liaison", Some("PUPR"));
    let server = support::Server::start_with(dir.path(), &url, &["--body-timeout", "2s"]);
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = Instant::now();
    write!(
        s,
        "POST /api/v1/evidence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n"
    )
    .unwrap();
    s.write_all(&JPEG[..4]).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"status\":408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Requests beyond the in-flight cap are answered at once, 503 with `Retry-After`, as
/// a problem; those within it go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_cap_are_a_503_problem() {
    let release = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    let (r, e) = (Arc::clone(&release), Arc::clone(&entered));
    let slow = Router::new()
        .route("/other", axum::routing::get(|| async { "other" }))
        .route(
            "/slow",
            axum::routing::get(move || {
                let (r, e) = (Arc::clone(&r), Arc::clone(&e));
                async move {
                    e.notify_one();
                    r.notified().await;
                    "done"
                }
            }),
        );
    let limits = workflow_host::serve::Limits {
        max_in_flight: 1,
        ..Default::default()
    };
    let router = limits.layer(slow);
    let first = tokio::spawn(
        router
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap()),
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), entered.notified())
        .await
        .expect("the first request is handled");
    let second = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        router
            .clone()
            .oneshot(Request::get("/other").body(Body::empty()).unwrap()),
    )
    .await
    .expect("the second is answered at once, not queued")
    .unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(second.headers().contains_key("retry-after"));
    assert_eq!(second.headers()["content-type"], "application/problem+json");
    release.notify_one();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), first)
        .await
        .expect("the first finishes")
        .unwrap()
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
}
