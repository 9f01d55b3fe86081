//! The auditors' screens of the console (APIP) through the router: the hashes shown are
//! the log's (checked against `aduan export` and both verifiers), the state as of an
//! instant is the log's then, a verification run finds a real tamper, the downloads
//! verify with the auditors' tools, and the roles the API refuses are refused here.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::{self as fx, cid, wib};
use workflow_core::Actor;

use crate::api::{clarified, disposed, now, signed_in, Reply, TestApp, PASSWORD, SIGNING_SEED};
use crate::support::{self, run_bounded};

async fn get(t: &TestApp, path: &str, cookie: &str) -> Reply {
    t.send(
        Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post_form(t: &TestApp, path: &str, cookie: &str, form: &str) -> Reply {
    t.send(
        Request::post(path)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap(),
    )
    .await
}

/// The session's form token, from a page that has a form.
fn csrf(page: &Reply) -> String {
    page.text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no form token: {}", page.text))
        .to_owned()
}

/// The texts of the elements whose class attribute is `class`, in page order.
fn texts_of(html: &str, class: &str) -> Vec<String> {
    html.split(&format!("class=\"{class}\">"))
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect()
}

/// `aduan` on the test's database (on PostgreSQL with the key file its store made).
fn aduan(t: &TestApp, args: &[&str]) -> std::process::Output {
    let kek = std::env::current_dir().unwrap().join("aduan.key");
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    if t.db.sqlite_path().is_none() {
        all.extend(["--kek-file".to_owned(), kek.display().to_string()]);
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    support::aduan(t.dir.path(), &t.db.url, &all)
}

fn python_verifier(dir: &Path, args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/audit/verify_export.py");
    let mut command = Command::new("python3");
    command.current_dir(dir).arg(script).args(args);
    run_bounded(command).expect("python3 is part of the machine image (see docs/audit.md)")
}

/// APIP's trail of a complaint shows, event by event, the hashes the log holds: the
/// same as `aduan export` writes (another process reading the database), linked as the
/// chain links them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_shows_the_hashes_the_log_holds() {
    let t = TestApp::with("ADU-1", clarified(true)).await;
    t.given("ADU-2", disposed("DINKES")).await;
    let apip = signed_in(&t, &fx::apip()).await;
    let r = get(&t, "/konsol/audit/aduan/ADU-1", &apip).await;
    r.assert_status(StatusCode::OK);
    let policy = r.header("content-security-policy");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let shown = texts_of(&r.text, "hash event-hash");
    let shown_prev = texts_of(&r.text, "hash prev-hash");

    let out = support::ok(&aduan(&t, &["export", "--complaint", "ADU-1"]));
    let exported: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported.len(), 4, "{out}");
    let hashes: Vec<String> = exported
        .iter()
        .map(|e| e["metadata"]["hash"].as_str().unwrap().to_owned())
        .collect();
    let prevs: Vec<String> = exported
        .iter()
        .map(|e| e["metadata"]["prev_hash"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, hashes, "the page's hashes are the log's");
    assert_eq!(shown_prev, prevs, "and so are the previous hashes");
    assert_eq!(shown_prev[0], "0".repeat(64));
    assert_eq!(shown_prev[1..], hashes[..3], "each links to the one before");
    assert!(
        r.text.contains("Rantai hash aduan ini utuh: 4 peristiwa"),
        "{}",
        r.text
    );
    // Who, as the log holds it.
    assert!(
        r.text
            .contains(&format!("{} (liaison, PUPR)", fx::liaison("PUPR").user)),
        "{}",
        r.text
    );
    // APIP may see the identity: shown, and the read recorded under the page's route.
    let reads = t.store.identity_reads(&cid("ADU-1")).await.unwrap();
    assert_eq!(
        reads
            .iter()
            .map(|r| (r.user.as_str(), r.via.as_str()))
            .collect::<Vec<_>>(),
        [(fx::apip().user.0.as_str(), "GET /konsol/audit/aduan/{id}")]
    );
}

/// The state as of an instant is the log's at that instant: before a later event, the
/// state before it; the coordinator may read it (as the history route allows) but not
/// the stored events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_as_of_an_instant_is_before_a_later_event() {
    // Disposed on Monday 30 November 09:00 WIB, reviewed on Tuesday at 09:00.
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    t.given_at(
        "ADU-1",
        wib("2026-12-01 09:00"),
        vec![(fx::liaison("PUPR"), C::Review(fx::complete_review()))],
    )
    .await;
    let disposed_words = workflow_core::Status::Disposed.to_string();
    let reviewed_words = workflow_core::Status::Reviewed.to_string();
    for who in [fx::apip(), fx::coordinator(), fx::upp()] {
        let cookie = signed_in(&t, &who).await;
        let before = get(
            &t,
            "/konsol/audit/aduan/ADU-1/keadaan?tanggal=2026-12-01&jam=08:59",
            &cookie,
        )
        .await;
        before.assert_status(StatusCode::OK);
        let status = before
            .text
            .split("id=\"status-per\">Status: <strong>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_else(|| panic!("{}", before.text));
        assert_eq!(status, disposed_words, "{}: before the review", who.user);
        assert!(
            before.text.contains("2 dari 3 peristiwa"),
            "{}",
            before.text
        );
        assert!(!before.text.contains("Reviewed"), "the review is not yet");
        let after = get(
            &t,
            "/konsol/audit/aduan/ADU-1/keadaan?tanggal=2026-12-01&jam=09:00",
            &cookie,
        )
        .await;
        after.assert_status(StatusCode::OK);
        assert!(
            after
                .text
                .contains(&format!("<strong>{reviewed_words}</strong>")),
            "{}",
            after.text
        );
        assert!(after.text.contains("3 dari 3 peristiwa"), "{}", after.text);
    }
    let coordinator = signed_in(
        &t,
        &Actor::new("ketua.tim2", workflow_core::Role::Coordinator),
    )
    .await;
    let trail = get(&t, "/konsol/audit/aduan/ADU-1", &coordinator).await;
    assert_eq!(trail.status, StatusCode::FORBIDDEN, "{}", trail.text);
    let bad = get(
        &t,
        "/konsol/audit/aduan/ADU-1/keadaan?tanggal=1-12-2026&jam=09:00",
        &coordinator,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

/// Runs a verification from the console and waits (bounded) for its result page.
async fn verified(t: &TestApp, apip: &str) -> Reply {
    let index = get(t, "/konsol/audit", apip).await;
    index.assert_status(StatusCode::OK);
    let started = post_form(
        t,
        "/konsol/audit/verifikasi",
        apip,
        &format!("csrf={}", csrf(&index)),
    )
    .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let run = started.header("location").to_owned();
    assert!(run.starts_with("/konsol/audit/verifikasi/"), "{run}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = get(t, &run, apip).await;
        r.assert_status(StatusCode::OK);
        if !r.text.contains("data-muat-ulang") {
            return r;
        }
        assert!(r.text.contains("peristiwa diperiksa"), "{}", r.text);
        assert!(Instant::now() < deadline, "the run did not end: {}", r.text);
        // The run is a task of the server with no signal to wait on but its page: polled,
        // within the deadline above.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A verification run reports an intact log as such, and after an event was edited
/// behind the engine's back, names its complaint and sequence, and what differs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_run_finds_a_real_tamper() {
    let t = TestApp::with("ADU-1", clarified(true)).await;
    t.given("ADU-2", disposed("PUPR")).await;
    let apip = signed_in(&t, &fx::apip()).await;

    // A form without the session's token is refused.
    let forged = post_form(
        &t,
        "/konsol/audit/verifikasi",
        &apip,
        &format!("csrf={}", "0".repeat(64)),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let intact = verified(&t, &apip).await;
    assert!(intact.text.contains("Log utuh"), "{}", intact.text);
    assert!(
        intact.text.contains("6 peristiwa dari 2 aduan"),
        "{}",
        intact.text
    );

    // Someone with the database drops the guard and edits ADU-1's third event.
    {
        use sqlx::Executor;
        let mut raw = t.db.raw().await;
        let (drops, edit) = match t.db.backend {
            workflow_store::testing::Backend::Sqlite => (
                "DROP TRIGGER events_immutable; DROP TRIGGER events_no_delete;",
                "UPDATE events SET metadata = json_set(metadata, '$.actor', 'someone.else') \
                 WHERE aggregate_id = 'ADU-1' AND sequence = 3",
            ),
            workflow_store::testing::Backend::Postgres => (
                "DROP TRIGGER events_immutable ON events; DROP TRIGGER events_no_delete ON events;",
                "UPDATE events SET metadata = jsonb_set(metadata::jsonb, '{actor}', '\"someone.else\"')::json \
                 WHERE aggregate_id = 'ADU-1' AND sequence = 3",
            ),
        };
        raw.execute(drops).await.unwrap();
        let done = raw.execute(edit).await.unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
    let broken = verified(&t, &apip).await;
    assert!(
        broken.text.contains("Log RUSAK: 1 kegagalan"),
        "{}",
        broken.text
    );
    let first = broken
        .text
        .split("id=\"kegagalan\">")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", broken.text));
    assert!(
        first.contains("aduan ADU-1 urutan 3</a>: hash_mismatch"),
        "{first}"
    );
    // The CLI agrees on the place.
    let cli = aduan(&t, &["verify"]);
    assert!(!cli.status.success());
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("complaint ADU-1 sequence 3"),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // Both runs are listed on the index, the newest first.
    let index = get(&t, "/konsol/audit", &apip).await;
    let rusak = index.text.find("RUSAK").expect("the broken run listed");
    let utuh = index
        .text
        .find("utuh: 6 peristiwa")
        .expect("the intact run listed");
    assert!(rusak < utuh, "{}", index.text);
    // The trail marks the event.
    let trail = get(&t, "/konsol/audit/aduan/ADU-1", &apip).await;
    assert!(
        trail
            .text
            .contains("yang pertama pada urutan 3: hash_mismatch"),
        "{}",
        trail.text
    );
}

/// The checkpoint and the export downloads are files that the auditors' own tools
/// verify: `aduan verify --export` and the Python reference verifier, against the
/// public key the auditor keeps; the export is `aduan export`'s, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_downloads_verify_with_the_auditors_tools() {
    let t = TestApp::with("ADU-1", clarified(true)).await;
    t.given("ADU-2", disposed("DINKES")).await;
    let apip = signed_in(&t, &fx::apip()).await;
    let d = t.dir.path();

    let cp = get(&t, "/konsol/audit/unduh/checkpoint.json", &apip).await;
    cp.assert_status(StatusCode::OK);
    assert!(
        cp.header("content-disposition")
            .starts_with("attachment; filename=\"checkpoint-"),
        "{}",
        cp.header("content-disposition")
    );
    std::fs::write(d.join("cp.json"), &cp.text).unwrap();
    let public = ed25519_dalek::SigningKey::from_bytes(&SIGNING_SEED).verifying_key();
    let public = workflow_store::chain::hex(public.as_bytes());
    std::fs::write(d.join("apip.pub"), format!("{public}\n")).unwrap();
    let page = get(&t, "/konsol/audit/unduh", &apip).await;
    assert!(
        page.text.contains(&public),
        "the page shows the signer's key"
    );

    let export = get(&t, "/konsol/audit/unduh/ekspor.jsonl", &apip).await;
    export.assert_status(StatusCode::OK);
    assert!(
        export
            .header("content-disposition")
            .starts_with("attachment; filename=\"ekspor-"),
        "{}",
        export.header("content-disposition")
    );
    std::fs::write(d.join("log.jsonl"), &export.text).unwrap();
    let cli = support::ok(&aduan(&t, &["export"]));
    assert_eq!(
        export.text, cli,
        "the download is `aduan export`'s, byte for byte"
    );
    assert_eq!(export.text.lines().count(), 6);
    // The complainant's identity is sealed in it: the fixture's name is nowhere.
    let name = match &fx::registration().complainant.identity {
        workflow_core::complainant::Identity::Plain(data) => data.name.clone(),
        other => panic!("{other:?}"),
    };
    assert!(!export.text.contains(&name), "no identity in the export");

    let args = [
        "log.jsonl",
        "--checkpoint",
        "cp.json",
        "--public-key",
        "apip.pub",
    ];
    let mut verify = vec!["verify", "--export"];
    verify.extend_from_slice(&args);
    let rust = support::ok(&support::aduan_in(d, &verify));
    assert!(
        rust.contains("verified: 6 events of 2 complaints"),
        "{rust}"
    );
    let py = python_verifier(d, &args);
    assert!(
        py.status.success(),
        "{}{}",
        String::from_utf8_lossy(&py.stdout),
        String::from_utf8_lossy(&py.stderr)
    );
    // Signed by another key than the one the auditor keeps: refused.
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    std::fs::write(
        d.join("other.pub"),
        workflow_store::chain::hex(other.as_bytes()),
    )
    .unwrap();
    let py = python_verifier(
        d,
        &[
            "log.jsonl",
            "--checkpoint",
            "cp.json",
            "--public-key",
            "other.pub",
        ],
    );
    assert_eq!(py.status.code(), Some(1));

    // One complaint's export, and a complaint that is not there.
    let one = get(&t, "/konsol/audit/unduh/ekspor.jsonl?aduan=ADU-2", &apip).await;
    one.assert_status(StatusCode::OK);
    assert_eq!(one.text.lines().count(), 2);
    assert!(one
        .text
        .lines()
        .all(|l| l.contains("\"complaint_id\":\"ADU-2\"")));
    let none = get(&t, "/konsol/audit/unduh/ekspor.jsonl?aduan=ADU-9", &apip).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

/// Who may open which screen: as the API's routes allow, and nothing for the agencies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_the_api_refuses_are_refused_here() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    let screens = [
        "/konsol/audit",
        "/konsol/audit/aduan?id=ADU-1",
        "/konsol/audit/aduan/ADU-1",
        "/konsol/audit/aduan/ADU-1/keadaan",
        "/konsol/audit/verifikasi/0123",
        "/konsol/audit/unduh",
        "/konsol/audit/unduh/checkpoint.json",
        "/konsol/audit/unduh/ekspor.jsonl",
        "/konsol/audit/identitas",
    ];
    for who in [fx::liaison("PUPR"), fx::head("PUPR")] {
        let cookie = signed_in(&t, &who).await;
        for path in screens {
            let r = get(&t, path, &cookie).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{} {path}: {}",
                who.user,
                r.text
            );
            assert!(r.content_type().starts_with("text/html"));
        }
        let index = get(&t, "/konsol/tugas", &cookie).await;
        let refused = post_form(
            &t,
            "/konsol/audit/verifikasi",
            &cookie,
            &format!("csrf={}", csrf(&index)),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", who.user);
    }
    // Without a session: to sign-in.
    let r = t
        .send(Request::get("/konsol/audit").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let expect = |role: &str, path: &str| -> StatusCode {
        let apip_only =
            path.contains("/unduh") || path.contains("/identitas") || path.contains("/verifikasi");
        let trail = path.ends_with("/aduan/ADU-1");
        match role {
            "upp" if apip_only => StatusCode::FORBIDDEN,
            "coordinator" if apip_only || trail => StatusCode::FORBIDDEN,
            _ => StatusCode::OK,
        }
    };
    for (role, who) in [("upp", fx::upp()), ("coordinator", fx::coordinator())] {
        let cookie = signed_in(&t, &who).await;
        for path in screens {
            if path.contains("/verifikasi/") || path.contains("aduan?id=") {
                continue;
            }
            let r = get(&t, path, &cookie).await;
            assert_eq!(r.status, expect(role, path), "{role} {path}: {}", r.text);
        }
    }
    // The search box sends each to what they may read.
    let coordinator = signed_in(
        &t,
        &Actor::new("ketua.tim2", workflow_core::Role::Coordinator),
    )
    .await;
    let r = get(&t, "/konsol/audit/aduan?id=ADU-1", &coordinator).await;
    assert_eq!(r.header("location"), "/konsol/audit/aduan/ADU-1/keadaan");
    let apip = signed_in(&t, &fx::apip()).await;
    let r = get(&t, "/konsol/audit/aduan?id=ADU-1", &apip).await;
    assert_eq!(r.header("location"), "/konsol/audit/aduan/ADU-1");
    let r = get(&t, "/konsol/audit/aduan?id=bukan%20nomor", &apip).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // APIP's navigation has the audit screens.
    let r = get(&t, "/konsol/audit", &apip).await;
    for href in [
        "/konsol/tugas",
        "/konsol/audit/identitas",
        "/konsol/audit/unduh",
    ] {
        assert!(r.text.contains(&format!("<a href=\"{href}\">")), "{href}");
    }
}

/// The log of identity reads: every read, newest first, filtered by complaint or by
/// reader, a page at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_reads_are_listed_and_filtered() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    t.given("ADU-2", disposed("PUPR")).await;
    let upp = signed_in(&t, &fx::upp()).await;
    get(&t, "/konsol/audit/aduan/ADU-1", &upp)
        .await
        .assert_status(StatusCode::OK);
    get(&t, "/konsol/aduan/ADU-2", &upp)
        .await
        .assert_status(StatusCode::OK);
    for i in 0..55 {
        t.store
            .record_identity_read(
                &fx::apip(),
                &cid("ADU-2"),
                "GET /test",
                wib("2026-11-30 10:00") + chrono::Duration::seconds(i),
            )
            .await
            .unwrap();
    }
    let apip = signed_in(&t, &fx::apip()).await;
    let by_upp = get(
        &t,
        &format!("/konsol/audit/identitas?pembaca={}", fx::upp().user),
        &apip,
    )
    .await;
    by_upp.assert_status(StatusCode::OK);
    let rows = by_upp.text.matches("<li><span class=\"kapan\">").count();
    assert_eq!(rows, 2, "{}", by_upp.text);
    // Each read with the route it came through.
    assert!(
        by_upp
            .text
            .contains("<code>GET /konsol/audit/aduan/{id}</code>"),
        "{}",
        by_upp.text
    );
    assert!(
        by_upp.text.contains("<code>GET /konsol/aduan/{id}</code>"),
        "{}",
        by_upp.text
    );
    let one = get(&t, "/konsol/audit/identitas?aduan=ADU-1", &apip).await;
    assert_eq!(one.text.matches("<li><span class=\"kapan\">").count(), 1);
    // 57 reads: two pages of 50.
    let first = get(&t, "/konsol/audit/identitas", &apip).await;
    assert_eq!(first.text.matches("<li><span class=\"kapan\">").count(), 50);
    assert!(first.text.contains("rel=\"next\""));
    assert!(!first.text.contains("rel=\"prev\""));
    let second = get(
        &t,
        "/konsol/audit/identitas?aduan=&pembaca=&halaman=2",
        &apip,
    )
    .await;
    assert_eq!(second.text.matches("<li><span class=\"kapan\">").count(), 7);
    assert!(second.text.contains("rel=\"prev\"") && !second.text.contains("rel=\"next\""));
}

/// A registration written before identities were sealed (here: adopted from a plain
/// cqrs-es store) holds the identity in plain, and an export cannot leave it out
/// without breaking the chain: the console offers no export that would carry it, and
/// says which complaint and why; other complaints' exports are offered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_export_carries_an_identity_written_in_plain() {
    use std::sync::Arc;
    use workflow_host::http::{app, AppState};
    let db = workflow_store::testing::TestDb::new(crate::api::BACKEND, "apip_plain").await;
    db.plain_cqrs_es_store(vec![(
        "ADU-P1",
        fx::cmd(
            "p1",
            fx::upp(),
            wib("2026-11-30 09:00"),
            C::Register(fx::registration()),
        ),
    )])
    .await;
    workflow_store::Store::adopt(&db.url).await.unwrap();
    let store = Arc::new(db.open().await);
    store
        .engine()
        .execute(
            &cid("ADU-2"),
            fx::cmd(
                "r2",
                fx::upp(),
                wib("2026-11-30 10:00"),
                C::Register(fx::registration()),
            ),
            None,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let router = app(AppState {
        store: Arc::clone(&store),
        evidence: workflow_host::evidence::EvidenceStore::new(dir.path().join("evidence"), 4096),
        clock: Arc::new(now),
        readiness: workflow_store::ReadinessPolicy::default(),
        metrics_public: false,
        read_your_writes: Duration::from_millis(10),
        government: None,
        audit: workflow_host::web::AuditDesk::default(),
    });
    let apip = fx::apip();
    let link = store.add_person(&apip, now()).await.unwrap();
    store
        .set_password(&link, PASSWORD, now())
        .await
        .unwrap()
        .unwrap();
    let session = store
        .sign_in(&apip.user.0, PASSWORD, now())
        .await
        .unwrap()
        .unwrap();
    let cookie = format!("aduan_sesi={}", session.secret);
    let get = |path: &str| {
        let req = Request::get(path)
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap();
        let router = router.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let r = router.oneshot(req).await.unwrap();
            let status = r.status();
            let bytes = r.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let name = match &fx::registration().complainant.identity {
        workflow_core::complainant::Identity::Plain(data) => data.name.clone(),
        other => panic!("{other:?}"),
    };
    for path in [
        "/konsol/audit/unduh/ekspor.jsonl",
        "/konsol/audit/unduh/ekspor.jsonl?aduan=ADU-P1",
    ] {
        let (status, text) = get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {text}");
        assert!(
            text.contains("ADU-P1") && text.contains("aduan export"),
            "{text}"
        );
        assert!(!text.contains(&name), "{text}");
    }
    let (status, text) = get("/konsol/audit/unduh/ekspor.jsonl?aduan=ADU-2").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text.lines().count(), 1);
    assert!(!text.contains(&name), "the sealed registration: {text}");
    // Without a signing key, no checkpoint: said, not failed.
    let (status, text) = get("/konsol/audit/unduh/checkpoint.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert!(text.contains("--signing-key"), "{text}");
    store.close().await;
}

/// An auditor sets their password through their link, signs in, and goes through every
/// audit screen at a phone's width (no horizontal scrolling, no serious accessibility
/// violation) and at a desktop's: the trail with its hashes, the state as of now, a
/// verification run followed to its end, the identity reads, the downloads as files.
#[cfg(feature = "sqlite")]
#[test]
fn the_audit_screens_in_a_real_browser() {
    let Some(python) = crate::support::browser::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("aduan.db").display());
    let upp = support::token(d, &url, "sari", "upp", None);
    support::ok(&support::Aduan::on(d, &url).run(&[
        "agency",
        "add",
        "PUPR",
        "Dinas Pekerjaan Umum dan Penataan Ruang",
    ]));
    // The operator's signing key, which `aduan checkpoint` makes.
    let key = ed25519_dalek::SigningKey::from_bytes(&SIGNING_SEED);
    workflow_store::audit::write_signing_key(&d.join("aduan-signing.key"), &key).unwrap();
    let server = support::Server::start_with(d, &url, &["--signing-key", "aduan-signing.key"]);
    let registered = server.post(
        "/api/v1/complaints",
        &upp,
        &serde_json::json!({"id": "ADU-AUDIT-1", "lapor_id": "LAP-AUDIT-1",
            "title": "Lampu jalan padam di Selat", "description": "Tiga tiang padam",
            "category": "infrastruktur", "reported_at": support::an_hour_ago(),
            "complainant": {"name": "Budi", "confidentiality": "anonymous"},
            "upp_review": "Kewenangan PUPR"}),
    );
    assert_eq!(registered.status, 201, "{}", registered.text());
    let disposed = server.post(
        "/api/v1/complaints/ADU-AUDIT-1/dispose",
        &upp,
        &serde_json::json!({"agency": "PUPR", "liaison_officer": "penghubung.pupr"}),
    );
    assert_eq!(disposed.status, 200, "{}", disposed.text());
    let base = format!("http://{}", server.addr);
    let link = support::ok(&support::Aduan::on(d, &url).run(&[
        "user",
        "add",
        "auditor.apip",
        "--role",
        "apip",
        "--base-url",
        &base,
    ]));
    let mut command = support::browser::script(&python, "apip.py");
    command
        .env("BASE", &base)
        .env("LINK", link.trim())
        .env("USER_NAME", "auditor.apip")
        .env("COMPLAINT", "ADU-AUDIT-1");
    support::browser::run(command);
    assert!(server.stop().success());
}
