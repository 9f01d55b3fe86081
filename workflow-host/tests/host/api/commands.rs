//! The command routes: who may send each, and the SOP's rules as a caller meets them,
//! each refusal a problem naming its rule.

use axum::http::StatusCode;
use serde_json::{json, Value};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::{self as fx, cid, wib};
use workflow_core::{Actor, Role};

use super::{
    ba_issued, clarified, disposed, field_verified, now, registered, reviewed, TestApp, CALLERS,
};

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
    let mut responded = ba_issued();
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
            registered(),
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
        ("ba", field_verified(), ba, &["liaison_pupr"]),
        (
            "respond",
            ba_issued(),
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
            responded,
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
        ("acknowledge-ba", ba_issued(), json!({}), &["head_pupr"]),
        ("archive", registered(), json!({"reason": "spam"}), &["upp"]),
        (
            "withdraw",
            registered(),
            json!({"note": "dicabut lewat telepon"}),
            &["upp"],
        ),
        (
            "forward",
            registered(),
            json!({"institution": "BPJN Kalteng", "reason": "jalan nasional"}),
            &["upp", "coordinator"],
        ),
        // Given below: a breach needs a deadline that has passed.
        (
            "erase-identity",
            disposed("PUPR"),
            json!({"legal_basis": "Permintaan pelapor, Pasal 8 UU 27/2022"}),
            &["upp", "coordinator"],
        ),
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
            let r = t.post(&path, caller, body.clone()).await;
            let expected = if *caller == "anonymous" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status, expected, "{caller} on {route}: {}", r.text);
            assert_eq!(r.content_type(), "application/problem+json");
        }
        assert_eq!(
            t.event_count().await,
            before,
            "refused callers wrote nothing on {route}"
        );
        let r = t.post(&path, allowed[0], body.clone()).await;
        let expected = if route.is_empty() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, expected, "{} on {route}: {}", allowed[0], r.text);
        assert_eq!(t.event_count().await, before + 1);
    }
}

/// Step 2 over HTTP: the review carries both answers, and a rejection of a clear report
/// that only lacks data is a 422 naming the SOP rule; with both answers "no" it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_two_asks_complete_and_clear_and_rejects_only_both_no() {
    let t = TestApp::new(now()).await;
    for id in ["ADU-1", "ADU-2"] {
        t.given(id, disposed("PUPR")).await;
    }
    let review = async |id: &str, body: Value| {
        let path = format!("/api/v1/complaints/{id}/review");
        t.post(&path, "liaison_pupr", body).await
    };
    let reject = async |id: &str| {
        let body = json!({"reason": "tidak lengkap dan tidak jelas"});
        let path = format!("/api/v1/complaints/{id}/reject");
        t.post(&path, "liaison_pupr", body).await
    };
    let r = review(
        "ADU-1",
        json!({"complete": false, "clear": true, "missing_items": ["foto"]}),
    )
    .await;
    r.assert_status(StatusCode::OK);
    let refused = reject("ADU-1").await;
    refused.assert_refused_by("sop.step2.reject_requires_incomplete_and_unclear_review");
    let r = review(
        "ADU-2",
        json!({"complete": false, "clear": false, "missing_items": ["lokasi"]}),
    )
    .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(reject("ADU-2").await.status, StatusCode::OK);
    // The stored review says what was answered.
    let detail = t.store.engine().load(&cid("ADU-1")).await.unwrap();
    let last = detail.last_review().unwrap();
    assert_eq!((last.complete, last.clear), (false, true));
}

/// At the door a duplicate names an existing complaint, not itself and not one that
/// does not exist; each refusal is a 422 naming its rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_names_an_existing_other_complaint() {
    let t = TestApp::new(now()).await;
    for id in ["ADU-1", "ADU-2"] {
        t.given(id, registered()).await;
    }
    let path = "/api/v1/complaints/ADU-2/archive";
    let archive = async |original: &str| {
        let body = json!({"reason": "duplicate", "duplicate_of": original});
        t.post(path, "upp", body).await
    };
    let unknown = archive("ADU-404").await;
    unknown.assert_refused_by("sop.door.duplicate_of_unknown");
    let itself = archive("ADU-2").await;
    assert_eq!(itself.json()["rule"], "sop.door.duplicate_of_itself");
    let spam_naming = t
        .post(
            path,
            "upp",
            json!({"reason": "spam", "duplicate_of": "ADU-1"}),
        )
        .await;
    assert_eq!(
        spam_naming.json()["rule"],
        "sop.door.duplicate_of_names_the_original"
    );
    let ok = archive("ADU-1").await;
    ok.assert_status(StatusCode::OK);
    assert_eq!(ok.json()["status"], "archived");
    let detail = t.get("/api/v1/complaints/ADU-2", "upp").await;
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

    let act = async |route: &str, caller: &str, body| {
        t.post(&format!("/api/v1/complaints/ADU-F/{route}"), caller, body)
            .await
    };
    let close = act("close", "upp", json!({})).await;
    close.assert_refused_by("sop.close.requires_satisfied_feedback_or_window");
    assert_eq!(close.content_type(), "application/problem+json");
    let reopen = act("reopen", "coordinator", json!({"reason": "belum"})).await;
    reopen.assert_refused_by("sop.reopen.requires_dissatisfied_feedback");
    let feedback = act(
        "feedback",
        "upp",
        json!({"satisfied": false, "text": "Lubang belum ditambal"}),
    )
    .await;
    feedback.assert_status(StatusCode::OK);
    assert_eq!(feedback.json()["event_type"], "FeedbackReceived");
    let reopen = act(
        "reopen",
        "coordinator",
        json!({"reason": "Lubang belum ditambal"}),
    )
    .await;
    reopen.assert_status(StatusCode::OK);
    assert_eq!(reopen.json()["status"], "disposed");
    let detail = t.get("/api/v1/complaints/ADU-F", "upp").await;
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
        axum::http::Request::post("/api/v1/complaints/ADU-G/review")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({"complete": true}).to_string(),
            ))
            .unwrap()
    };
    let refused = t.send(review(tokens_for_other.clone())).await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("assigned to liaison officer `penghubung.pupr`"),
        "{}",
        refused.text
    );
    let body = json!({"liaison_officer": "penghubung2.pupr", "reason": "cuti"});
    let reassign = t
        .post("/api/v1/complaints/ADU-G/reassign", "head_pupr", body)
        .await;
    reassign.assert_status(StatusCode::OK);
    let accepted = t.send(review(tokens_for_other)).await;
    accepted.assert_status(StatusCode::OK);

    // An unknown step in an annulment is a 400, not a 500.
    let annul = async |step: &str| {
        let body = json!({"step": step, "occurrence": 1, "reason": "x"});
        t.post("/api/v1/complaints/ADU-G/annul-breach", "coordinator", body)
            .await
    };
    let bad = annul("lunch").await;
    bad.assert_status(StatusCode::BAD_REQUEST);
    let none = annul("review").await;
    none.assert_refused_by("sla.breach_not_recorded");
}

/// A complaint's events are in time order. A host whose clock reads behind the
/// complaint's latest event (written by another host whose clock is ahead, or this
/// one's set back) dates its command at that event's instant: never before it, and
/// never refused for the clocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_clock_behind_the_complaints_latest_event() {
    let t = TestApp::new(now()).await;
    for (id, ahead) in [
        ("ADU-1", chrono::Duration::milliseconds(1_500)),
        ("ADU-2", chrono::Duration::minutes(10)),
    ] {
        // Disposed by another host, its clock ahead of this one's.
        let latest = now() + ahead;
        t.given_at(id, latest, disposed("PUPR")).await;
        let reply = t
            .post(
                &format!("/api/v1/complaints/{id}/review"),
                "liaison_pupr",
                json!({"complete": true, "clear": true}),
            )
            .await;
        reply.assert_status(StatusCode::OK);
        let events = t.store.engine().events(&cid(id)).await.unwrap();
        let review = events.last().unwrap();
        assert_eq!(review.payload.body.event_type(), "Reviewed");
        assert_eq!(
            review.payload.at, latest,
            "{id}: dated at the latest event's instant, not before it"
        );
    }
    // Behind by more than two seconds (ten minutes, the second) is counted, for an
    // operator to alert on; 1.5 s, within how far hosts' clocks differ, is not.
    assert_eq!(t.store.health().snapshot().clocks_behind, 1);
    let metrics = t.get("/api/v1/metrics", "coordinator").await;
    assert!(
        metrics.text.contains("aduan_clocks_behind_total 1\n"),
        "{}",
        metrics.text
    );
    // This host's clock ahead: its own reading.
    t.given_at(
        "ADU-3",
        now() - chrono::Duration::hours(1),
        disposed("PUPR"),
    )
    .await;
    t.post(
        "/api/v1/complaints/ADU-3/review",
        "liaison_pupr",
        json!({"complete": true, "clear": true}),
    )
    .await
    .assert_status(StatusCode::OK);
    let events = t.store.engine().events(&cid("ADU-3")).await.unwrap();
    assert_eq!(events.last().unwrap().payload.at, now());
}
