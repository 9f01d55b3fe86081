//! The boards of the head of an agency and of the coordinator, through the router: who
//! may open which page, a head's pages show their agency alone, the board's filters and
//! pages, and the statistics of a known history worked out by hand.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use workflow_core::complaint::command::{
    BreachReport, Closure, ComplaintCommand as C, Registration,
};
use workflow_core::fixtures::{self as fx, wib};
use workflow_core::{Actor, Step};

use crate::api::{ba_issued, disposed, now, signed_in, Reply, TestApp};

async fn get(t: &TestApp, path: &str, cookie: &str) -> Reply {
    let req = Request::get(path).header("cookie", cookie);
    t.send(req.body(Body::empty()).unwrap()).await
}

/// The complaint ids a page links to, in the page's order (each once).
fn linked(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split("href=\"/konsol/aduan/").skip(1) {
        let id: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if out.last() != Some(&id) {
            out.push(id);
        }
    }
    out
}

/// The href of the "next page" link, with `&amp;` read back as `&`.
fn next_link(text: &str) -> Option<String> {
    let before = text.split("\">Halaman berikutnya</a>").next()?;
    if before.len() == text.len() {
        return None;
    }
    let href = before.rsplit("href=\"").next()?;
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

/// Disposed to DINKES and through to its BA.
fn ba_issued_to(agency: &str) -> Vec<(Actor, C)> {
    let mut steps = disposed(agency);
    let officer = fx::liaison(agency);
    steps.push((officer.clone(), C::Review(fx::complete_review())));
    steps.push((officer.clone(), C::Clarify(fx::clarification(true))));
    steps.push((
        officer.clone(),
        C::VerifyInField(fx::field_visit("2026-11-30")),
    ));
    steps.push((officer, C::IssueBa(fx::berita_acara(agency, "2026-11-30"))));
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_board_is_for_its_role_and_a_head_sees_their_agency_alone() {
    let t = TestApp::with("ADU-1", ba_issued()).await;
    t.given("ADU-2", ba_issued_to("DINKES")).await;

    let head_pupr = signed_in(&t, &fx::head("PUPR")).await;
    let r = get(&t, "/konsol/ba-menunggu", &head_pupr).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(linked(&r.text), ["ADU-1"], "{}", r.text);
    assert!(r.text.contains("/konsol/aduan/ADU-1#aksi-acknowledge-ba"));
    assert!(r.text.contains("BA/045/PUPR/XII/2026"), "the BA's number");
    assert!(r.text.contains("30 November 2026"), "the BA's date");
    let r = get(&t, "/konsol/papan-opd", &head_pupr).await;
    r.assert_status(StatusCode::OK);
    assert!(r.text.contains("Papan perangkat daerah PUPR"), "{}", r.text);
    assert!(r.text.contains("1 BA menunggu"), "{}", r.text);

    let head_dinkes = signed_in(&t, &fx::head("DINKES")).await;
    let r = get(&t, "/konsol/ba-menunggu", &head_dinkes).await;
    assert_eq!(linked(&r.text), ["ADU-2"], "{}", r.text);

    // The head's navigation names their screens.
    assert!(r.text.contains("href=\"/konsol/ba-menunggu\""));

    // The coordinator's pages: a liaison officer and a head are refused, as pages.
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let coordinator = signed_in(&t, &fx::coordinator()).await;
    for path in [
        "/konsol/papan",
        "/konsol/pelanggaran",
        "/konsol/eskalasi",
        "/konsol/statistik",
        "/konsol/statistik/grafik.svg",
    ] {
        for (who, cookie) in [("liaison", &liaison), ("head", &head_pupr)] {
            let r = get(&t, path, cookie).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} on {path}");
            assert!(r.content_type().starts_with("text/html"), "{who} on {path}");
        }
        let r = get(&t, path, &coordinator).await;
        r.assert_status(StatusCode::OK);
    }
    // The head's pages: not the liaison officer's, nor the coordinator's (no agency).
    for path in ["/konsol/ba-menunggu", "/konsol/papan-opd"] {
        for cookie in [&liaison, &coordinator] {
            assert_eq!(get(&t, path, cookie).await.status, StatusCode::FORBIDDEN);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinators_board_filters_and_pages() {
    let t = TestApp::new(now()).await;
    // 26 complaints with PUPR (ADU-P00 … ADU-P25), one with DINKES.
    for i in 0..26 {
        t.given(&format!("ADU-P{i:02}"), disposed("PUPR")).await;
    }
    t.given("ADU-D1", disposed("DINKES")).await;
    let coordinator = signed_in(&t, &fx::coordinator()).await;

    let r = get(&t, "/konsol/papan?opd=DINKES", &coordinator).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(linked(&r.text), ["ADU-D1"], "{}", r.text);
    assert!(next_link(&r.text).is_none());

    // Step 2 of PUPR: 26 reviews, a page of 25 and a page of one, none twice.
    let r = get(&t, "/konsol/papan?opd=PUPR&langkah=review", &coordinator).await;
    let first = linked(&r.text);
    assert_eq!(first.len(), 25, "{}", r.text);
    assert!(first.iter().all(|id| id.starts_with("ADU-P")));
    let next = next_link(&r.text).expect("a next page");
    assert!(
        next.contains("opd=PUPR") && next.contains("langkah=review"),
        "{next}"
    );
    let r = get(&t, &format!("/konsol/papan{next}"), &coordinator).await;
    let second = linked(&r.text);
    assert_eq!(second.len(), 1, "{second:?} after {first:?}");
    assert!(!first.contains(&second[0]));
    assert!(next_link(&r.text).is_none());

    // Nothing is late at the app's instant, nor paused.
    let r = get(&t, "/konsol/papan?status=breached", &coordinator).await;
    assert!(linked(&r.text).is_empty(), "{}", r.text);
    assert!(r.text.contains("Tidak ada tugas yang cocok"));

    // An unknown status is the person's mistake.
    let r = get(&t, "/konsol/papan?status=late", &coordinator).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

fn reported(at: &str) -> Registration {
    let mut r = fx::registration();
    r.reported_at = wib(at);
    r
}

/// A known history (WIB, three working days a step, no holiday from 23 November to
/// 1 December 2026):
///
/// - S1 (PUPR): registered Mon 23 Nov, disposed Tue 24 (1 working day), reviewed Wed 25,
///   clarified Thu 26 (review: 2), answered Mon 30 (response: 2), closed Tue 1 Dec with
///   nothing late: settled on time in December.
/// - S2 (PUPR): registered and disposed Mon 23 Nov (0), the review's breach recorded
///   Fri 27, clarified Mon 30 (review: 5).
/// - S3 (DINKES): registered Mon 23 Nov, disposed Tue 24 (1).
///
/// November for PUPR: 2 received, none settled, 1 breach; working days per step:
/// disposition (1 + 0) / 2 = 0,5, review (2 + 5) / 2 = 3,5, response 2 / 1 = 2,0.
/// December for PUPR: S1 settled on time. November for DINKES: 1 received, disposition
/// 1 / 1 = 1,0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_of_a_known_history() {
    let t = TestApp::new(now()).await;
    let (upp, pupr) = (fx::upp(), fx::liaison("PUPR"));
    let at = |s: &str| wib(s);
    t.given_at(
        "ADU-S1",
        at("2026-11-23 09:00"),
        vec![(upp.clone(), C::Register(reported("2026-11-23 08:00")))],
    )
    .await;
    t.given_at(
        "ADU-S1",
        at("2026-11-24 09:00"),
        vec![(upp.clone(), C::Dispose(fx::disposition("PUPR")))],
    )
    .await;
    t.given_at(
        "ADU-S1",
        at("2026-11-25 09:00"),
        vec![(pupr.clone(), C::Review(fx::complete_review()))],
    )
    .await;
    t.given_at(
        "ADU-S1",
        at("2026-11-26 09:00"),
        vec![(pupr.clone(), C::Clarify(fx::clarification(false)))],
    )
    .await;
    t.given_at(
        "ADU-S1",
        at("2026-11-30 09:00"),
        vec![(pupr.clone(), C::Respond(fx::response_text()))],
    )
    .await;
    t.given_at(
        "ADU-S1",
        at("2026-12-01 09:00"),
        vec![
            (upp.clone(), C::RecordFeedback(fx::feedback(true))),
            (upp.clone(), C::Close(Closure::default())),
        ],
    )
    .await;
    t.given_at(
        "ADU-S2",
        at("2026-11-23 09:00"),
        vec![
            (upp.clone(), C::Register(reported("2026-11-23 08:00"))),
            (upp.clone(), C::Dispose(fx::disposition("PUPR"))),
        ],
    )
    .await;
    t.given_at(
        "ADU-S2",
        at("2026-11-27 09:00"),
        vec![(
            fx::system(),
            C::RecordSlaBreach(BreachReport {
                step: Step::Review,
                occurrence: None,
            }),
        )],
    )
    .await;
    t.given_at(
        "ADU-S2",
        at("2026-11-30 09:00"),
        vec![
            (pupr.clone(), C::Review(fx::complete_review())),
            (pupr.clone(), C::Clarify(fx::clarification(false))),
        ],
    )
    .await;
    t.given_at(
        "ADU-S3",
        at("2026-11-23 09:00"),
        vec![(upp.clone(), C::Register(reported("2026-11-23 08:00")))],
    )
    .await;
    t.given_at(
        "ADU-S3",
        at("2026-11-24 09:00"),
        vec![(upp.clone(), C::Dispose(fx::disposition("DINKES")))],
    )
    .await;

    let coordinator = signed_in(&t, &fx::coordinator()).await;
    let r = get(&t, "/konsol/statistik?opd=PUPR", &coordinator).await;
    r.assert_status(StatusCode::OK);
    let row = |month: &str, cells: &[&str]| {
        format!(
            ">{month}</abbr></th>{}",
            cells
                .iter()
                .map(|c| format!("<td>{c}</td>"))
                .collect::<String>()
        )
    };
    for expected in [
        row("Nov 2026", &["2", "0", "1"]),
        row("Des 2026", &["0", "1", "0"]),
        row("Nov 2026", &["0,5", "3,5", "–", "2,0"]),
        row("Des 2026", &["–", "–", "–", "–"]),
        row("Jul 2026", &["0", "0", "0"]),
    ] {
        assert!(r.text.contains(&expected), "no {expected} in {}", r.text);
    }
    // Without a choice, the first agency of the registry: DINKES, with S3 alone.
    let r = get(&t, "/konsol/statistik", &coordinator).await;
    assert!(
        r.text.contains("<option value=\"DINKES\" selected>"),
        "{}",
        r.text
    );
    for expected in [
        row("Nov 2026", &["1", "0", "0"]),
        row("Nov 2026", &["1,0", "–", "–", "–"]),
    ] {
        assert!(r.text.contains(&expected), "no {expected} in {}", r.text);
    }

    // The breach to decide links to the annulment's form on the complaint's page.
    let r = get(&t, "/konsol/pelanggaran?opd=PUPR", &coordinator).await;
    assert_eq!(linked(&r.text), ["ADU-S2"], "{}", r.text);
    assert!(r.text.contains("/konsol/aduan/ADU-S2#aksi-annul-breach"));
    let r = get(&t, "/konsol/pelanggaran?opd=DINKES", &coordinator).await;
    assert!(linked(&r.text).is_empty(), "{}", r.text);

    // The charts: SVG with nothing the page's policy would refuse, and no text.
    for kind in ["jumlah", "hari"] {
        let r = get(
            &t,
            &format!("/konsol/statistik/grafik.svg?opd=PUPR&jenis={kind}"),
            &coordinator,
        )
        .await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.content_type(), "image/svg+xml");
        assert!(r.text.starts_with("<svg"), "{}", r.text);
        assert!(!r.text.contains("style") && !r.text.contains("<script"));
    }
    // The page shows the charts as images, with their text beside them.
    let r = get(&t, "/konsol/statistik?opd=PUPR", &coordinator).await;
    assert!(
        r.text
            .contains("src=\"/konsol/statistik/grafik.svg?opd=PUPR&amp;jenis=jumlah\""),
        "{}",
        r.text
    );
}

/// The third return waits for the coordinator; the page lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_escalated_to_the_coordinator() {
    let t = TestApp::new(now()).await;
    let mut steps = Vec::new();
    for agency in ["DINKES", "PUPR", "DINKES"] {
        steps.push((fx::upp(), C::Dispose(fx::disposition(agency))));
        steps.push((
            fx::liaison(agency),
            C::ReturnForRedisposition(fx::return_note()),
        ));
    }
    let mut escalated = vec![(fx::upp(), C::Register(fx::registration()))];
    escalated.extend(steps);
    t.given("ADU-E3", escalated).await;
    t.given(
        "ADU-E1",
        vec![
            (fx::upp(), C::Register(fx::registration())),
            (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
            (
                fx::liaison("PUPR"),
                C::ReturnForRedisposition(fx::return_note()),
            ),
        ],
    )
    .await;
    let coordinator = signed_in(&t, &fx::coordinator()).await;
    let r = get(&t, "/konsol/eskalasi", &coordinator).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(linked(&r.text), ["ADU-E3"], "{}", r.text);
    assert!(r.text.contains("/konsol/aduan/ADU-E3#aksi-dispose"));
}

/// The head of PUPR and the coordinator sign in and open each of their screens at a
/// phone's width and a desktop's: no horizontal scrolling, no serious accessibility
/// violation (axe-core), the board's filter, the charts drawn; screenshots of each.
#[cfg(feature = "sqlite")]
#[test]
fn the_boards_in_a_real_browser() {
    use crate::support::{self, Aduan};
    use serde_json::json;

    let Some(python) = crate::support::browser::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("aduan.db").display());
    let upp = support::token(d, &url, "sari", "upp", None);
    for (code, name) in [
        ("PUPR", "Dinas Pekerjaan Umum dan Penataan Ruang"),
        ("DINKES", "Dinas Kesehatan"),
    ] {
        support::ok(&Aduan::on(d, &url).run(&["agency", "add", code, name]));
    }
    let server = support::Server::start(d, &url);
    for (id, agency) in [
        ("ADU-WEB-1", "PUPR"),
        ("ADU-WEB-2", "DINKES"),
        ("ADU-WEB-3", "PUPR"),
    ] {
        let registered = server.post(
            "/api/v1/complaints",
            &upp,
            &json!({"id": id, "lapor_id": format!("LAP-{id}"), "title": "Jalan berlubang di Selat",
                "description": "Lubang besar", "category": "infrastruktur",
                "reported_at": support::an_hour_ago(), "complainant": {"name": "Budi"},
                "upp_review": "Kewenangan perangkat daerah"}),
        );
        assert_eq!(registered.status, 201, "{}", registered.text());
        let disposed = server.post(
            &format!("/api/v1/complaints/{id}/dispose"),
            &upp,
            &json!({"agency": agency, "liaison_officer": format!("penghubung.{agency}")}),
        );
        assert_eq!(disposed.status, 200, "{}", disposed.text());
    }
    let base = format!("http://{}", server.addr);
    let link = |name: &str, role: &str, agency: Option<&str>| {
        let mut args = vec!["user", "add", name, "--role", role, "--base-url", &base];
        if let Some(a) = agency {
            args.extend(["--agency", a]);
        }
        support::ok(&Aduan::on(d, &url).run(&args))
            .trim()
            .to_owned()
    };
    let head_link = link("kepala.pupr", "head", Some("PUPR"));
    let coord_link = link("ketua.tim", "coordinator", None);
    let mut command = support::browser::script(&python, "boards.py");
    command
        .env("BASE", &base)
        .env("HEAD_LINK", head_link)
        .env("HEAD_USER", "kepala.pupr")
        .env("COORD_LINK", coord_link)
        .env("COORD_USER", "ketua.tim");
    support::browser::run(command);
    assert!(server.stop().success());
}
