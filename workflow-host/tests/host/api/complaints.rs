//! Reading complaints: who may see what, identities hidden from those who may not see
//! them, the LAPOR! status, the BA page, and lists and the board in pages.

use axum::http::StatusCode;
use serde_json::json;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::{self as fx, cid, wib};

use super::{ba_issued, disposed, now, Reply, TestApp, CALLERS};
use crate::support::JPEG;

/// Who may read what, per route and role, on a complaint of PUPR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_of_every_view() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
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
            let r = t.get(path, caller).await;
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
    let r = t.get("/api/v1/complaints", "liaison_dinkes").await;
    assert!(r.json()["items"].as_array().unwrap().is_empty());
    let r = t
        .get("/api/v1/complaints?agency=PUPR", "liaison_dinkes")
        .await;
    r.assert_status(StatusCode::FORBIDDEN);
    let r = t.get("/api/v1/complaints", "liaison_pupr").await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = t.get("/api/v1/sla", "liaison_dinkes").await;
    assert!(r.json()["entries"].as_array().unwrap().is_empty());
    // Unknown complaints are 404 for those who may look.
    assert_eq!(
        t.get("/api/v1/complaints/ADU-404", "upp").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/api/v1/complaints/ADU-1/ba", "upp").await.status,
        StatusCode::NOT_FOUND
    );
    // Uploads: liaison officers and UPP.
    for caller in CALLERS {
        let r = t
            .post_bytes("/api/v1/evidence", caller, Some("image/jpeg"), JPEG)
            .await;
        let expected = match caller {
            "upp" | "liaison_pupr" | "liaison_dinkes" => StatusCode::CREATED,
            "anonymous" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(r.status, expected, "{caller} uploads");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_are_hidden_per_role_sealed_in_the_raw_log_and_every_read_recorded() {
    let t = TestApp::with("ADU-ANON", disposed("PUPR")).await; // the fixture complainant is anonymous
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

    let reads = async |id: &str| t.store.identity_reads(&cid(id)).await.unwrap();
    let name = |r: &Reply| {
        r.json()["registration"]["complainant"]["name"]
            .as_str()
            .map(str::to_owned)
    };
    let liaison = t.get("/api/v1/complaints/ADU-ANON", "liaison_pupr").await;
    assert_eq!(name(&liaison), None);
    assert_eq!(
        liaison.json()["registration"]["complainant"]["hidden"],
        true
    );
    assert!(
        !liaison.text.contains("Budi Santoso") && !liaison.text.contains("+62 812"),
        "nothing leaks"
    );
    let head = t.get("/api/v1/complaints/ADU-ANON", "head_pupr").await;
    assert_eq!(name(&head), None);
    let coordinator = t
        .get("/api/v1/complaints/ADU-ANON/history", "coordinator")
        .await;
    assert!(
        !coordinator.text.contains("Budi Santoso"),
        "{}",
        coordinator.text
    );
    assert!(
        reads("ADU-ANON").await.is_empty(),
        "nothing hidden was shown yet"
    );

    let upp = t.get("/api/v1/complaints/ADU-ANON", "upp").await;
    assert_eq!(name(&upp).as_deref(), Some("Budi Santoso"));
    // The raw log holds the identity sealed: an auditor reading it sees ciphertext.
    let raw = t.get("/api/v1/complaints/ADU-ANON/events", "apip").await;
    raw.assert_status(StatusCode::OK);
    assert!(!raw.text.contains("Budi Santoso"), "{}", raw.text);
    assert!(raw.text.contains("XChaCha20-Poly1305"), "{}", raw.text);
    let apip = t.get("/api/v1/complaints/ADU-ANON", "apip").await;
    assert_eq!(name(&apip).as_deref(), Some("Budi Santoso"));
    assert_eq!(
        reads("ADU-ANON")
            .await
            .iter()
            .map(|r| (r.user.as_str(), r.via.as_str()))
            .collect::<Vec<_>>(),
        [
            ("sari.upp", "GET /complaints/{id}"),
            ("auditor.apip", "GET /complaints/{id}")
        ],
        "every opened identity is recorded, the raw log's ciphertext is not"
    );

    let liaison = t.get("/api/v1/complaints/ADU-PUB", "liaison_pupr").await;
    assert_eq!(
        name(&liaison).as_deref(),
        Some("Budi Santoso"),
        "a public complainant is visible"
    );
    assert_eq!(
        reads("ADU-PUB")
            .await
            .iter()
            .map(|r| r.user.as_str())
            .collect::<Vec<_>>(),
        ["penghubung.pupr"],
        "and reading personal data is recorded at every level"
    );
}

/// Views carry the LAPOR!-SP4N status beside the engine's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_carry_the_lapor_status() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    let detail = t.get("/api/v1/complaints/ADU-1", "upp").await;
    detail.assert_status(StatusCode::OK);
    assert_eq!(detail.json()["lapor_status"], "disposed");
    assert_eq!(detail.json()["summary"]["lapor_status"], "disposed");
    let list = t.get("/api/v1/complaints", "upp").await;
    assert_eq!(list.json()["items"][0]["lapor_status"], "disposed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ba_is_a_printable_page_in_indonesian() {
    let t = TestApp::with("ADU-1", ba_issued()).await;
    let r = t.get("/api/v1/complaints/ADU-1/ba", "head_pupr").await;
    r.assert_status(StatusCode::OK);
    assert!(r.content_type().starts_with("text/html"));
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
    let other = t.get("/api/v1/complaints/ADU-1/ba", "liaison_dinkes").await;
    other.assert_status(StatusCode::FORBIDDEN);
}

/// The complaint list and the SLA board come in pages: 50 unless asked, at most 500, a
/// limit out of range refused (not cut down), and following `next` gives every entry
/// once, in the board's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_the_board_come_in_pages_and_an_out_of_range_limit_is_refused() {
    let t = TestApp::new(now()).await;
    for i in 0..61 {
        let mut registration = fx::registration();
        registration.lapor_id = format!("LAP-{i:03}");
        // Registered on different days: deadlines differ, and some share one.
        let at = wib("2026-11-30 09:00") + chrono::Duration::hours(i64::from(i % 7) * 24);
        t.given_at(
            &format!("ADU-{i:03}"),
            at,
            vec![
                (fx::upp(), C::Register(registration)),
                (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
            ],
        )
        .await;
    }
    let whole = t.store.views().sla_board(now(), None, None).await.unwrap();
    assert!(whole.len() > 60, "{} duties", whole.len());

    for route in ["/api/v1/sla", "/api/v1/complaints"] {
        for bad in ["0", "501", "100000"] {
            t.get(&format!("{route}?limit={bad}"), "upp")
                .await
                .assert_problem(StatusCode::BAD_REQUEST, &format!("{route} limit {bad}"));
        }
        let r = t.get(&format!("{route}?limit=500"), "upp").await;
        r.assert_status(StatusCode::OK);
        let first = t.get(route, "upp").await.json();
        let items = first["entries"]
            .as_array()
            .or(first["items"].as_array())
            .unwrap();
        assert_eq!(items.len(), 50, "{route} without a limit");
        assert!(first["next"].is_string(), "{route} has a next page");
        t.get(&format!("{route}?after=nonsense"), "upp")
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
        let page = t.get(&path, "upp").await;
        page.assert_status(StatusCode::OK);
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
        let page = t.get(&path, "upp").await;
        page.assert_status(StatusCode::OK);
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

/// Erasure over HTTP: the identity reads as erased on every route and for every role,
/// the workflow goes on, a second erasure is a conflict naming the rule, and an unknown
/// complaint is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_identity_reads_as_erased_everywhere_and_the_workflow_goes_on() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    let basis = json!({"legal_basis": "Permintaan pelapor 12/2026, Pasal 8 UU 27/2022"});
    let erased = t
        .post(
            "/api/v1/complaints/ADU-1/erase-identity",
            "upp",
            basis.clone(),
        )
        .await;
    erased.assert_status(StatusCode::OK);
    assert_eq!(erased.json()["event_type"], "IdentityErased");
    let expected =
        json!({"erased": true, "note": "dihapus sesuai UU PDP", "confidentiality": "anonymous"});
    for (route, caller) in [
        ("/api/v1/complaints/ADU-1", "upp"),
        ("/api/v1/complaints/ADU-1", "apip"),
        ("/api/v1/complaints/ADU-1", "liaison_pupr"),
    ] {
        let r = t.get(route, caller).await;
        r.assert_status(StatusCode::OK);
        assert_eq!(
            r.json()["registration"]["complainant"],
            expected,
            "{caller}"
        );
        assert!(!r.text.contains("Budi Santoso"), "{}", r.text);
    }
    // History, as of now and as of before the erasure.
    for as_of in ["", "?as_of=2026-11-30T03:00:00Z"] {
        let r = t
            .get(&format!("/api/v1/complaints/ADU-1/history{as_of}"), "upp")
            .await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.json()["state"]["registration"]["complainant"], expected);
        assert_eq!(
            r.json()["events"][0]["event"]["body"]["complainant"],
            expected
        );
        assert!(!r.text.contains("Budi Santoso"), "{}", r.text);
    }
    assert!(
        t.store
            .identity_reads(&cid("ADU-1"))
            .await
            .unwrap()
            .is_empty(),
        "an erased identity is never read"
    );
    let again = t
        .post(
            "/api/v1/complaints/ADU-1/erase-identity",
            "coordinator",
            basis.clone(),
        )
        .await;
    again.assert_status(StatusCode::CONFLICT);
    assert_eq!(
        again.json()["rule"],
        "pdp.identity_already_erased",
        "a state conflict names its rule"
    );
    assert!(
        again.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already erased")),
        "{}",
        again.text
    );
    let unknown = t
        .post("/api/v1/complaints/ADU-404/erase-identity", "upp", basis)
        .await;
    unknown.assert_status(StatusCode::NOT_FOUND);
    let review = t
        .post(
            "/api/v1/complaints/ADU-1/review",
            "liaison_pupr",
            json!({"complete": true}),
        )
        .await;
    review.assert_status(StatusCode::OK);
}
