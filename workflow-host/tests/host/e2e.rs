//! The real binary on 127.0.0.1, on SQLite and on PostgreSQL: one complaint worked
//! through all three SOP steps over HTTP, with an evidence upload and the BA; then the
//! auditor's CLI verbs on the same database. And a crash: SIGKILL under load, restart,
//! clients retry what got no answer, and every command is in the log exactly once. And
//! clients that hang up in the middle of their commands and send them again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use workflow_core::TimeZoneSpec;
use workflow_store::testing::{snapshot_views, Backend};

use crate::support;
use crate::support::{ok, request, Installation, JPEG};

fn answered(reply: &support::Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
}

async fn the_whole_sop_over_http_then_audit(backend: Backend, name: &str) {
    let aduan = Installation::new(backend, name).await;
    let upp = aduan.token("sari", "upp", None);
    let liaison = aduan.token("andi", "liaison", Some("PUPR"));
    let head = aduan.token("hendra", "head", Some("PUPR"));
    let server = aduan.serve(&[]);
    let today = TimeZoneSpec::jakarta()
        .local_date(chrono::Utc::now())
        .to_string();

    let r = server.call("POST", "/api/v1/complaints", Some(&upp), Some(&json!({
        "id": "ADU-E2E", "lapor_id": "LAP-E2E-1", "title": "Jalan berlubang", "description": "Lubang besar",
        "category": "infrastruktur", "location": "Jl. Tambun Bungai", "reported_at": support::an_hour_ago(),
        "complainant": {"name": "Budi", "phone": "0812", "confidentiality": "anonymous"},
        "upp_review": "Kewenangan PUPR"})), Some("reg-1"));
    answered(&r, 201, "register");
    let step = |route: &str, token: &str, body: serde_json::Value| {
        let path = format!("/api/v1/complaints/ADU-E2E/{route}");
        answered(&server.post(&path, token, &body), 200, route);
    };
    step(
        "dispose",
        &upp,
        json!({"agency": "PUPR", "liaison_officer": "andi"}),
    );
    step(
        "review",
        &liaison,
        json!({"complete": true, "notes": "lengkap"}),
    );
    step(
        "clarify",
        &liaison,
        json!({"field_examination_needed": true, "reasoning": "perlu diukur"}),
    );
    let upload = request(
        server.addr,
        "POST",
        "/api/v1/evidence",
        Some(&liaison),
        Some("image/jpeg"),
        JPEG,
        None,
    )
    .unwrap();
    answered(&upload, 201, "upload");
    let sha = upload.json()["sha256"].as_str().unwrap().to_owned();
    step(
        "field-verification",
        &liaison,
        json!({
        "visit_date": today, "location": "Jl. Tambun Bungai", "parties_summoned": [{"name": "Rahmat", "position": "Kasi"}],
        "findings": "Lubang 1 m", "evidence": [{"sha256": sha, "caption": "Foto lubang"}]}),
    );
    step(
        "ba",
        &liaison,
        json!({
        "number": "BA/E2E/1", "date": today, "addressee": {"name": "Hendra", "position": "Kepala Dinas PUPR", "agency": "PUPR"},
        "signatories": [{"name": "Andi", "position": "Pejabat Penghubung"}], "findings": "Lubang 1 m",
        "conclusion": "Perlu ditambal", "solution": "Ditambal pekan ini"}),
    );
    let page = server.get("/api/v1/complaints/ADU-E2E/ba", Some(&head));
    answered(&page, 200, "BA page");
    assert!(page.text().contains("BA/E2E/1") && page.text().contains("Foto lubang"));
    step("respond", &liaison, json!({"response": "Ditambal"}));
    step(
        "feedback",
        &upp,
        json!({"satisfied": true, "text": "Sudah ditambal"}),
    );
    step("close", &upp, json!({}));
    let detail = server.get("/api/v1/complaints/ADU-E2E", Some(&head));
    answered(&detail, 200, "detail");
    assert_eq!(detail.json()["status"], "closed");
    assert_eq!(
        detail.json()["registration"]["complainant"]["hidden"],
        true,
        "the head never sees a hidden identity"
    );
    let health = server.get("/api/v1/health", None);
    answered(&health, 200, "health");
    // On PostgreSQL the projector listens for other hosts' commits, and its health and
    // metrics say so (its first session may still be in the making: bounded); on
    // SQLite every writer is in this process, and there is nothing to listen for.
    let system = aduan.token("ops", "system", None);
    let waited = std::time::Instant::now();
    loop {
        let health = server.get("/api/v1/health", None);
        let other_hosts = health.json()["other_hosts"].clone();
        let metrics = server.get("/api/v1/metrics", Some(&system));
        answered(&metrics, 200, "metrics");
        match backend {
            Backend::Sqlite => {
                assert!(other_hosts.is_null(), "{other_hosts}");
                assert!(!metrics.text().contains("aduan_other_hosts_listening"));
                break;
            }
            Backend::Postgres if other_hosts["listening"] == true => {
                assert_eq!(other_hosts["failures"], 0, "{other_hosts}");
                assert!(other_hosts["last_error"].is_null(), "{other_hosts}");
                assert!(other_hosts["since"].is_string(), "{other_hosts}");
                let text = metrics.text();
                assert!(text.contains("aduan_other_hosts_listening 1\n"), "{text}");
                assert!(text.contains("aduan_listen_failures_total 0\n"), "{text}");
                break;
            }
            Backend::Postgres => assert!(
                waited.elapsed() < std::time::Duration::from_secs(10),
                "never listening: {other_hosts}"
            ),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = server.stop();
    assert!(status.success(), "a graceful stop exits 0");

    let history = ok(&aduan.run(&["history", "ADU-E2E", "--json"]));
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history["status"], "closed");
    assert_eq!(history["events"].as_array().unwrap().len(), 9);
    ok(&aduan.run(&["verify"]));
    ok(&aduan.run(&["export", "--out", "log.jsonl"]));
    assert_eq!(
        std::fs::read_to_string(aduan.path().join("log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        9
    );
    ok(&aduan.run(&["verify", "--export", "log.jsonl"]));
}

on_each_backend!(the_whole_sop_over_http_then_audit:
    the_whole_sop_over_http_on_sqlite,
    the_whole_sop_over_http_on_postgres);

/// One request a client sent, and what came back.
#[derive(Clone, Debug)]
struct Sent {
    complaint: String,
    path: String,
    body: serde_json::Value,
    key: String,
    /// The answer's status for success: 201 for a registration, 200 for a disposal.
    success: u16,
    /// The status that came back, or `None` when no answer did.
    answer: Option<u16>,
}

impl Sent {
    /// A complaint's registration (reported at `reported_at`) and its disposal to PUPR,
    /// each with a key of its own.
    fn register_and_dispose(id: &str, reported_at: &str) -> [Sent; 2] {
        [
            Sent {
                complaint: id.to_owned(),
                path: "/api/v1/complaints".into(),
                body: json!({"id": id, "lapor_id": id, "title": "t", "description": "d",
                    "category": "c", "reported_at": reported_at,
                    "complainant": {"name": "x"}, "upp_review": "r"}),
                key: format!("k-{id}"),
                success: 201,
                answer: None,
            },
            Sent {
                complaint: id.to_owned(),
                path: format!("/api/v1/complaints/{id}/dispose"),
                body: json!({"agency": "PUPR", "liaison_officer": "andi"}),
                key: format!("k-{id}-d"),
                success: 200,
                answer: None,
            },
        ]
    }

    fn command_id(&self) -> String {
        format!("sari:{}", self.key)
    }

    fn send(&self, addr: std::net::SocketAddr, token: &str) -> Option<support::Reply> {
        request(
            addr,
            "POST",
            &self.path,
            Some(token),
            Some("application/json"),
            self.body.to_string().as_bytes(),
            Some(&self.key),
        )
        .ok()
    }
}

/// The log, as the auditors' export gives it: how many events each (complaint, command
/// id) has.
fn commands_in_log(aduan: &Installation) -> BTreeMap<(String, String), usize> {
    ok(&aduan.run(&["export", "--out", "log.jsonl"]));
    let mut in_log = BTreeMap::new();
    for line in std::fs::read_to_string(aduan.path().join("log.jsonl"))
        .unwrap()
        .lines()
    {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = (
            event["complaint_id"].as_str().unwrap().to_owned(),
            event["payload"]["command_id"].as_str().unwrap().to_owned(),
        );
        *in_log.entry(key).or_default() += 1;
    }
    in_log
}

/// The installation's log verifies, and its views, caught up, equal a rebuild of every
/// projection.
async fn verifies_and_its_views_equal_a_rebuild(aduan: &Installation) {
    let store = aduan.open_store().await;
    let report = store.verify(None, None, |_| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    store.projector().catch_up().await.unwrap();
    let incremental = snapshot_views(&store).await;
    for p in store.projector().names() {
        store.projector().rebuild(p, |_| {}).await.unwrap();
    }
    assert_eq!(
        snapshot_views(&store).await,
        incremental,
        "the views equal a rebuild"
    );
    store.close().await;
}

/// Eight clients register and dispose complaints, each request with its own
/// Idempotency-Key; the server is killed with SIGKILL once 60 commands were answered.
/// After a restart the clients retry, with the same key, every request that got no
/// answer or an error. Then every acknowledged command and every retried one is in the
/// log exactly once, nothing else is, the log verifies, and the views equal a rebuild.
async fn nothing_acknowledged_is_lost_in_a_crash(backend: Backend, name: &str) {
    const KILL_AFTER: usize = 60;
    let within = Duration::from_secs(120);
    let aduan = Installation::new(backend, name).await;
    let upp = aduan.token("sari", "upp", None);
    // The clients dispose to PUPR: a registered agency.
    support::ok(&aduan.run(&["agency", "add", "PUPR", "Dinas PUPR"]));
    let server = aduan.serve(&[]);
    let addr = server.addr;
    let answered = Arc::new(support::Counter::default());
    let stop = Arc::new(AtomicBool::new(false));
    let reported_at = support::an_hour_ago();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (upp, stop, answered, reported_at) = (
            upp.clone(),
            Arc::clone(&stop),
            Arc::clone(&answered),
            reported_at.clone(),
        );
        clients.push(std::thread::spawn(move || {
            let mut sent: Vec<Sent> = Vec::new();
            // Bounded: at most 200 complaints per client; stops at the first request
            // without an answer (the server is gone).
            for n in 0..200 {
                let requests = Sent::register_and_dispose(&format!("ADU-C{c}-{n}"), &reported_at);
                for mut request in requests {
                    if stop.load(Ordering::SeqCst) {
                        return sent;
                    }
                    request.answer = request.send(addr, &upp).map(|r| r.status);
                    let gone = request.answer.is_none();
                    if request.answer == Some(request.success) {
                        answered.add();
                    }
                    sent.push(request);
                    if gone {
                        return sent;
                    }
                }
            }
            sent
        }));
    }
    // Kill it mid-load, once enough commands were answered (bounded).
    answered.wait_for(KILL_AFTER, within, "commands answered");
    server.crash();
    stop.store(true, Ordering::SeqCst);
    let sent: Vec<Sent> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let (acknowledged, unanswered): (Vec<Sent>, Vec<Sent>) =
        sent.into_iter().partition(|s| s.answer == Some(s.success));

    // Restart: the server catches up on start; the clients retry what got no answer.
    let server = aduan.serve(&[]);
    let health = server.get("/api/v1/health", None);
    assert_eq!(health.status, 200);
    for s in &unanswered {
        let reply = s
            .send(server.addr, &upp)
            .unwrap_or_else(|| panic!("the retry of {} got no answer", s.key));
        assert_eq!(
            reply.status,
            s.success,
            "retry of {} (first answer {:?}): {}",
            s.key,
            s.answer,
            reply.text()
        );
        let answer = reply.json();
        assert_eq!(answer["command_id"], s.command_id());
        assert_eq!(answer["complaint_id"], s.complaint);
    }
    assert!(server.stop().success());

    let in_log = commands_in_log(&aduan);
    for (what, commands) in [("acknowledged", &acknowledged), ("retried", &unanswered)] {
        for s in commands.iter() {
            assert_eq!(
                in_log.get(&(s.complaint.clone(), s.command_id())),
                Some(&1),
                "{what} {} on {} is not in the log exactly once",
                s.command_id(),
                s.complaint
            );
        }
    }
    let expected: BTreeSet<(String, String)> = acknowledged
        .iter()
        .chain(&unanswered)
        .map(|s| (s.complaint.clone(), s.command_id()))
        .collect();
    let logged: BTreeSet<(String, String)> = in_log.keys().cloned().collect();
    assert_eq!(logged, expected, "the log holds exactly the commands sent");

    verifies_and_its_views_equal_a_rebuild(&aduan).await;
    eprintln!(
        "{name}: {} acknowledged before the kill, {} retried after it",
        acknowledged.len(),
        unanswered.len()
    );
}

on_each_backend!(nothing_acknowledged_is_lost_in_a_crash:
    a_crash_loses_nothing_acknowledged_on_sqlite,
    a_crash_loses_nothing_acknowledged_on_postgres);

/// How a client gives up on a request.
#[derive(Clone, Copy, Debug)]
enum HangUp {
    /// Closes the connection halfway through the request's body.
    MidBody,
    /// Sends the whole request, waits this many milliseconds and closes the connection
    /// without reading an answer (the server is then anywhere in the command).
    After(u64),
}

impl Sent {
    /// Sends the request, or half of it, and closes the connection without an answer.
    fn hang_up(&self, addr: std::net::SocketAddr, token: &str, how: HangUp) {
        use std::io::Write;
        let body = self.body.to_string();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nIdempotency-Key: {}\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.key,
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        match how {
            HangUp::MidBody => stream.write_all(&body.as_bytes()[..body.len() / 2]),
            HangUp::After(ms) => {
                stream.write_all(body.as_bytes()).unwrap();
                // The moment of hanging up is what the test varies, not a wait for
                // anything.
                std::thread::sleep(Duration::from_millis(ms));
                Ok(())
            }
        }
        .unwrap();
        // Dropped unread: the kernel closes the connection (with a reset when an answer
        // had already arrived).
        drop(stream);
    }
}

/// Eight clients register and dispose complaints under load, each request with its own
/// Idempotency-Key; every third request is given up: the connection closed halfway
/// through its body, or right after it at one of several moments while the server
/// handles it (which of those the server had committed, was still running, or never
/// began is up to timing). The client then sends it again with the same key, at once,
/// while the other clients go on, and again after a 503 (bounded). Every request ends
/// answered with its success and its own command id; the log holds every command exactly
/// once and nothing else; the server logs connections ended by their clients, keeps
/// answering on ten connection slots (sixteen connections ended halfway through a body
/// would use them all up, were each to keep its slot), stays ready and stops cleanly;
/// the log verifies, and the views equal a rebuild.
async fn clients_that_hang_up_mid_command_leave_nothing_half_done(backend: Backend, name: &str) {
    const CLIENTS: usize = 8;
    const COMPLAINTS: usize = 12;
    let aduan = Installation::new(backend, name).await;
    let upp = aduan.token("sari", "upp", None);
    support::ok(&aduan.run(&["agency", "add", "PUPR", "Dinas PUPR"]));
    // Few connection slots: a slot a connection ended by its client kept would soon
    // leave none, and the clients' next requests unanswered.
    // Logging how each connection ended: the hang-ups must reach the server as such.
    let server = support::Server::start_logging(
        aduan.path(),
        aduan.url(),
        "warn,workflow_host::serve=debug",
        &["--max-connections", "10"],
    );
    let addr = server.addr;
    let reported_at = support::an_hour_ago();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (upp, reported_at) = (upp.clone(), reported_at.clone());
        clients.push(std::thread::spawn(move || {
            let mut sent: Vec<Sent> = Vec::new();
            let mut given_up = 0;
            for n in 0..COMPLAINTS {
                let requests = Sent::register_and_dispose(&format!("ADU-G{c}-{n}"), &reported_at);
                for (r, request) in requests.into_iter().enumerate() {
                    let turn = c + 2 * n + r;
                    if turn % 3 == 0 {
                        let how = match turn % 4 {
                            0 => HangUp::MidBody,
                            k => HangUp::After(k as u64 - 1),
                        };
                        request.hang_up(addr, &upp, how);
                        given_up += 1;
                    }
                    // A 503 (with Retry-After) is the server's retry-safe answer while
                    // the first attempt still holds what the retry needs: sent again,
                    // as a client does, a bounded number of times.
                    let mut tries = 0;
                    let reply = loop {
                        let reply = request
                            .send(addr, &upp)
                            .unwrap_or_else(|| panic!("{} got no answer", request.key));
                        tries += 1;
                        if reply.status != 503 || tries == 10 {
                            break reply;
                        }
                        assert!(reply.header("retry-after").is_some(), "{:?}", reply.headers);
                        std::thread::sleep(Duration::from_millis(200));
                    };
                    assert_eq!(
                        reply.status,
                        request.success,
                        "{} (given up first: {}): {}",
                        request.key,
                        turn % 3 == 0,
                        reply.text()
                    );
                    let answer = reply.json();
                    assert_eq!(answer["command_id"], request.command_id());
                    assert_eq!(answer["complaint_id"], request.complaint);
                    sent.push(request);
                }
            }
            (sent, given_up)
        }));
    }
    let mut sent: Vec<Sent> = Vec::new();
    let mut given_up = 0;
    for client in clients {
        let (s, g) = client.join().unwrap();
        sent.extend(s);
        given_up += g;
    }
    let ready = server.get("/api/v1/health/ready", None);
    assert_eq!(ready.status, 200, "{}", ready.text());
    let log = Arc::clone(&server.log);
    assert!(server.stop().success(), "a graceful stop exits 0");
    let log = log.lock().unwrap().clone();
    let cut = log.matches("connection ended with an error").count();
    assert!(
        cut >= 1,
        "no connection ended by its client reached the server as such:\n{log}"
    );

    let in_log = commands_in_log(&aduan);
    let expected: BTreeMap<(String, String), usize> = sent
        .iter()
        .map(|s| ((s.complaint.clone(), s.command_id()), 1))
        .collect();
    assert_eq!(
        in_log, expected,
        "the log holds every command exactly once, and nothing else"
    );

    verifies_and_its_views_equal_a_rebuild(&aduan).await;
    eprintln!(
        "{name}: {} commands, {given_up} of them given up once first; {cut} connections \
         ended with an error, their clients gone",
        sent.len()
    );
}

on_each_backend!(clients_that_hang_up_mid_command_leave_nothing_half_done:
    clients_that_hang_up_leave_nothing_half_done_on_sqlite,
    clients_that_hang_up_leave_nothing_half_done_on_postgres);
