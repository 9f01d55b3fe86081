//! The console's action forms through the router: a page offers exactly the forms the
//! domain would accept from the person now, a form runs the API's command (once per
//! form), a terminal action asks for confirmation first, and a missing field or a rule's
//! refusal is shown next to its form, in Indonesian, with nothing recorded.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use workflow_core::fixtures::{self as fx, cid};
use workflow_core::Status;

use super::console_rules::{get, signed_in};
use super::{disposed, field_verified, registered, Reply, TestApp};

/// The actions whose forms start open.
fn open(page: &Reply) -> Vec<String> {
    page.text
        .split("<details class=\"aksi\" id=\"aksi-")
        .skip(1)
        .filter(|rest| {
            rest.split('>')
                .next()
                .is_some_and(|tag| tag.contains(" open"))
        })
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The actions whose forms a page offers, in the page's order.
fn offered(page: &Reply) -> Vec<String> {
    page.text
        .split("<details class=\"aksi")
        .skip(1)
        .filter_map(|rest| rest.split("id=\"aksi-").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn csrf_of(page: &Reply) -> String {
    page.text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token on the page")
        .to_owned()
}

async fn post_form(t: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    t.send(
        Request::post(path)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of the element with `id`, up to its end tag.
fn by_id<'a>(page: &'a Reply, id: &str) -> &'a str {
    page.text
        .split(&format!("id=\"{id}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</").next())
        .unwrap_or_else(|| panic!("no #{id} on the page: {}", page.text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_offers_the_forms_the_domain_would_accept_now() {
    let t = TestApp::with("ADU-1", registered()).await;
    t.given("ADU-2", disposed("PUPR")).await;
    t.given("ADU-3", field_verified()).await;
    let upp = signed_in(&t, &fx::upp()).await;
    let coordinator = signed_in(&t, &fx::coordinator()).await;
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let head = signed_in(&t, &fx::head("PUPR")).await;
    let apip = signed_in(&t, &fx::apip()).await;
    let colleague = signed_in(
        &t,
        &workflow_core::Actor::of_agency("rudi.pupr", workflow_core::Role::Liaison, "PUPR"),
    )
    .await;

    // At the door: UPP disposes, archives, forwards, records a withdrawal; the
    // coordinator may dispose and forward; both may erase the identity.
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&upp)).await;
    assert_eq!(
        offered(&page),
        [
            "dispose",
            "archive",
            "forward",
            "withdraw",
            "erase-identity"
        ]
    );
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&coordinator)).await;
    assert_eq!(offered(&page), ["dispose", "forward", "erase-identity"]);

    // Disposed: the assigned officer reviews (step 2), posts progress or returns it; a
    // colleague of the same agency gets no form; the head may hand it to another officer.
    let page = get(&t, "/konsol/aduan/ADU-2", Some(&liaison)).await;
    assert_eq!(offered(&page), ["return", "review", "progress"]);
    assert_eq!(open(&page), ["review"], "the step at hand starts open");
    let page = get(&t, "/konsol/aduan/ADU-2", Some(&colleague)).await;
    assert_eq!(offered(&page), Vec::<String>::new());
    let page = get(&t, "/konsol/aduan/ADU-2", Some(&head)).await;
    assert_eq!(offered(&page), ["reassign"]);

    // After the field visit: the BA (or another visit); APIP never gets a form.
    let page = get(&t, "/konsol/aduan/ADU-3", Some(&liaison)).await;
    assert_eq!(
        offered(&page),
        ["return", "field-verification", "ba", "progress"]
    );
    assert_eq!(
        open(&page),
        ["ba"],
        "after a visit, the BA is the step at hand"
    );
    let page = get(&t, "/konsol/aduan/ADU-3", Some(&apip)).await;
    page.assert_status(StatusCode::OK);
    assert_eq!(offered(&page), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_runs_the_apis_command_once() {
    let t = TestApp::with("ADU-1", registered()).await;
    let upp = signed_in(&t, &fx::upp()).await;
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&upp)).await;
    let csrf = csrf_of(&page);
    let before = t.event_count().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("kunci", "form-1"),
        ("agency", "PUPR"),
        ("liaison_officer", "penghubung.pupr"),
        ("note", "Mohon ditindaklanjuti"),
    ];
    let r = post_form(&t, "/konsol/aduan/ADU-1/aksi/dispose", &upp, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location"), "/konsol/aduan/ADU-1");
    let complaint = t.store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(complaint.status(), Status::Disposed);
    let disposition = complaint.disposition().unwrap();
    assert_eq!(disposition.agency.0, "PUPR");
    assert_eq!(disposition.liaison_officer.0, "penghubung.pupr");
    assert_eq!(disposition.note.as_deref(), Some("Mohon ditindaklanjuti"));
    assert_eq!(t.event_count().await, before + 1);

    // The same form sent twice (a double tap, a reload): done once.
    let r = post_form(&t, "/konsol/aduan/ADU-1/aksi/dispose", &upp, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(t.event_count().await, before + 1);

    // Without the session's token: refused, nothing recorded.
    let mut forged = form;
    forged[0].1 = "00";
    forged[1].1 = "form-2";
    let r = post_form(&t, "/konsol/aduan/ADU-1/aksi/reassign", &upp, &forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An action the console does not know.
    let r = post_form(&t, "/konsol/aduan/ADU-1/aksi/teleport", &upp, &form).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.event_count().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_action_asks_before_it_is_done() {
    let t = TestApp::with("ADU-1", registered()).await;
    let upp = signed_in(&t, &fx::upp()).await;
    let csrf = csrf_of(&get(&t, "/konsol/aduan/ADU-1", Some(&upp)).await);
    let before = t.event_count().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("kunci", "arsip-1"),
        ("reason", "spam"),
        ("note", "Iklan"),
    ];
    let r = post_form(&t, "/konsol/aduan/ADU-1/aksi/archive", &upp, &form).await;
    r.assert_status(StatusCode::OK);
    assert!(r.text.contains("Konfirmasi"), "{}", r.text);
    assert!(
        r.text.contains("name=\"konfirmasi\" value=\"ya\""),
        "{}",
        r.text
    );
    assert_eq!(t.event_count().await, before, "nothing done before the yes");
    assert_eq!(
        t.store.engine().load(&cid("ADU-1")).await.unwrap().status(),
        Status::Received
    );
    let mut confirmed = form.to_vec();
    confirmed.push(("konfirmasi", "ya"));
    let r = post_form(&t, "/konsol/aduan/ADU-1/aksi/archive", &upp, &confirmed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        t.store.engine().load(&cid("ADU-1")).await.unwrap().status(),
        Status::Archived
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_shown_next_to_their_field_in_indonesian() {
    let t = TestApp::with("ADU-1", registered()).await;
    t.given("ADU-2", disposed("PUPR")).await;
    let upp = signed_in(&t, &fx::upp()).await;
    let csrf = csrf_of(&get(&t, "/konsol/aduan/ADU-1", Some(&upp)).await);
    let before = t.event_count().await;

    // A required field left empty: the form again, the message beside the field, the
    // other values kept.
    let r = post_form(
        &t,
        "/konsol/aduan/ADU-1/aksi/dispose",
        &upp,
        &[
            ("csrf", &csrf),
            ("kunci", "k1"),
            ("agency", "PUPR"),
            ("liaison_officer", " "),
            ("note", "catatan yang tetap"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(by_id(&r, "galat-dispose-liaison_officer"), "Wajib diisi.");
    assert!(r
        .text
        .contains("aria-describedby=\"galat-dispose-liaison_officer\""));
    assert!(r.text.contains("catatan yang tetap"), "the values are kept");
    assert_eq!(t.event_count().await, before);

    // An unknown agency: the registry's rule, beside the agency.
    let r = post_form(
        &t,
        "/konsol/aduan/ADU-1/aksi/dispose",
        &upp,
        &[
            ("csrf", &csrf),
            ("kunci", "k2"),
            ("agency", "DISHUB"),
            ("liaison_officer", "penghubung.dishub"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        by_id(&r, "galat-dispose").contains("agency.unknown"),
        "{}",
        r.text
    );

    // A rule of the SOP: clarifying before the review is refused, in Indonesian, naming
    // the rule.
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let csrf = csrf_of(&get(&t, "/konsol/aduan/ADU-2", Some(&liaison)).await);
    let r = post_form(
        &t,
        "/konsol/aduan/ADU-2/aksi/clarify",
        &liaison,
        &[
            ("csrf", &csrf),
            ("kunci", "k3"),
            ("field_examination_needed", "ya"),
            ("reasoning", "Perlu dicek"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let message = by_id(&r, "galat-clarify");
    assert!(message.contains("sop.invalid_transition"), "{message}");
    assert!(message.contains("Tidak dapat"), "in Indonesian: {message}");
    assert_eq!(t.event_count().await, before);
}
