//! The console's action forms through the router: a page offers exactly the forms the
//! domain would accept from the person now, a form runs the API's command (once per
//! form), a terminal action asks for confirmation first, and a missing field or a rule's
//! refusal is shown next to its form, in Indonesian, with nothing recorded.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use workflow_core::fixtures::{self as fx, cid};
use workflow_core::Status;

use super::console_rules::get;
use super::signed_in;
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

/// A multipart form: text fields, then files (field, name, type, bytes).
fn multipart(text: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----konsol-batas-7d1";
    let mut body = Vec::new();
    for (name, value) in text {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (field, file, media_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: {media_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    t: &TestApp,
    path: &str,
    cookie: &str,
    text: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> Reply {
    let (content_type, body) = multipart(text, files);
    t.send(
        Request::post(path)
            .header("cookie", cookie)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upp_registers_with_attachments_and_a_sealed_id_scan() {
    let t = TestApp::new(super::now()).await;
    let upp = signed_in(&t, &fx::upp()).await;
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    // Only UPP registers.
    let r = get(&t, "/konsol/daftar", Some(&liaison)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let form = get(&t, "/konsol/daftar", Some(&upp)).await;
    form.assert_status(StatusCode::OK);
    assert!(form.text.contains("enctype=\"multipart/form-data\""));
    let csrf = csrf_of(&form);
    let text = [
        ("csrf", csrf.as_str()),
        ("kunci", "daftar-1"),
        ("lapor_id", "LAP-2026-0042"),
        ("title", "Lampu jalan padam"),
        ("description", "Tiga lampu padam di Jl. Tambun Bungai"),
        ("category", "infrastruktur"),
        ("reported_at", "2026-11-30T08:15"),
        ("complainant.name", "Siti Rahmawati"),
        ("complainant.nik", "6203014501900002"),
        ("complainant.confidentiality", "anonymous"),
        ("upp_review", "Kewenangan PUPR"),
        ("attachments.caption", "Foto dari pelapor"),
    ];
    let jpeg: &[u8] = crate::support::JPEG;
    let files = [
        ("attachments", "lampu.jpg", "image/jpeg", jpeg),
        ("personal_scan", "ktp.jpg", "image/jpeg", jpeg),
    ];
    let r = post_multipart(&t, "/konsol/daftar", &upp, &text, &files).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location"), "/konsol/aduan/LAP-2026-0042");
    let complaint = t.store.engine().load(&cid("LAP-2026-0042")).await.unwrap();
    let registration = complaint.registration().unwrap();
    assert_eq!(registration.title, "Lampu jalan padam");
    // 08:15 in the policy's zone (WIB, +07:00).
    assert_eq!(
        registration.reported_at.to_rfc3339(),
        "2026-11-30T01:15:00+00:00"
    );
    assert_eq!(
        registration.attachments.len(),
        2,
        "the attachment and the sealed scan: {:?}",
        registration.attachments
    );
    assert!(
        registration
            .attachments
            .iter()
            .all(|a| a.media_type == "image/jpeg"),
        "{:?}",
        registration.attachments
    );
    // No file's name reaches the log: the scan has a caption of its own.
    let captions: Vec<&str> = registration
        .attachments
        .iter()
        .map(|a| a.caption.as_str())
        .collect();
    assert_eq!(captions, ["Foto dari pelapor", "Pindaian identitas"]);
    // The attachment shows an anonymous complainant's matter: no cache keeps it.
    let shown = get(
        &t,
        &format!("/konsol/bukti/{}", registration.attachments[0].sha256),
        Some(&upp),
    )
    .await;
    shown.assert_status(StatusCode::OK);
    assert_eq!(shown.header("cache-control"), "no-store");
    assert!(
        matches!(
            registration.complainant.identity,
            workflow_core::complainant::Identity::Sealed { .. }
        ),
        "the identity is sealed in the log"
    );
    // The same form again (a double tap): registered once.
    let before = t.event_count().await;
    let r = post_multipart(&t, "/konsol/daftar", &upp, &text, &files).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(t.event_count().await, before);

    // A required field missing: the form again, the message beside it, nothing stored.
    let mut missing = text.to_vec();
    missing[1].1 = "daftar-2";
    missing[2].1 = "LAP-2026-0043";
    missing.retain(|(k, _)| *k != "title");
    let r = post_multipart(&t, "/konsol/daftar", &upp, &missing, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(by_id(&r, "galat-register-title"), "Wajib diisi.");
    assert!(r.text.contains("Siti Rahmawati"), "the values are kept");
    assert_eq!(t.event_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_records_a_field_visit_with_a_photo_and_prints_the_ba() {
    let t = TestApp::with("ADU-1", super::clarified(true)).await;
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&liaison)).await;
    assert_eq!(open(&page), ["field-verification"]);
    assert!(
        page.text.contains("capture=\"environment\""),
        "the phone's camera"
    );
    let csrf = csrf_of(&page);
    let visit = [
        ("csrf", csrf.as_str()),
        ("kunci", "kunjungan-1"),
        ("visit_date", "2026-11-30"),
        ("location", "Jl. Tambun Bungai"),
        ("parties_summoned.0.name", "Andi"),
        ("parties_summoned.0.position", "Lurah Selat Hilir"),
        ("findings", "Tiga lampu padam"),
        ("evidence.caption", "Lampu padam"),
    ];
    // Without a photo: refused beside the photo field.
    let r = post_multipart(
        &t,
        "/konsol/aduan/ADU-1/aksi/field-verification",
        &liaison,
        &visit,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        by_id(&r, "galat-field-verification-evidence"),
        "Pilih paling sedikit satu berkas."
    );
    // A text file posing as a photo: refused beside the field, nothing stored.
    let r = post_multipart(
        &t,
        "/konsol/aduan/ADU-1/aksi/field-verification",
        &liaison,
        &visit,
        &[("evidence", "foto.jpg", "image/jpeg", b"bukan foto")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        by_id(&r, "galat-field-verification-evidence").contains("bukan foto"),
        "{}",
        r.text
    );
    let jpeg: &[u8] = crate::support::JPEG;
    let r = post_multipart(
        &t,
        "/konsol/aduan/ADU-1/aksi/field-verification",
        &liaison,
        &visit,
        &[("evidence", "lampu.jpg", "image/jpeg", jpeg)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let complaint = t.store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(complaint.status(), Status::FieldVerified);
    let photo = &complaint.field_visits()[0].evidence[0];
    assert_eq!(photo.caption, "Lampu padam");
    assert_eq!(complaint.field_visits()[0].parties_summoned[0].name, "Andi");

    // The page shows the photo through the session, and offers the BA with its
    // addressee's agency filled in.
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&liaison)).await;
    let src = format!("/konsol/bukti/{}", photo.sha256);
    assert!(page.text.contains(&src), "{}", page.text);
    let shown = get(&t, &src, Some(&liaison)).await;
    shown.assert_status(StatusCode::OK);
    assert_eq!(shown.content_type(), "image/jpeg");
    assert_eq!(open(&page), ["ba"]);
    assert!(page
        .text
        .contains("name=\"addressee.agency\" value=\"PUPR\""));
    let csrf = csrf_of(&page);
    let r = post_form(
        &t,
        "/konsol/aduan/ADU-1/aksi/ba",
        &liaison,
        &[
            ("csrf", &csrf),
            ("kunci", "ba-1"),
            ("number", "BA/PUPR/2026/17"),
            ("date", "2026-12-01"),
            ("addressee.name", "Ir. Hendra"),
            ("addressee.position", "Kepala Dinas PUPR"),
            ("addressee.agency", "PUPR"),
            ("signatories.0.name", "Andi"),
            ("signatories.0.position", "Lurah Selat Hilir"),
            ("findings", "Tiga lampu padam"),
            ("conclusion", "Perlu penggantian"),
            ("solution", "Lampu diganti pekan ini"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&liaison)).await;
    assert!(page.text.contains("/konsol/aduan/ADU-1/ba"), "a print link");
    let printed = get(&t, "/konsol/aduan/ADU-1/ba", Some(&liaison)).await;
    printed.assert_status(StatusCode::OK);
    assert!(printed.text.contains("BA/PUPR/2026/17"));
    assert!(
        printed.text.contains("data:image/jpeg;base64,"),
        "the photo in the print"
    );
    // Another agency's officer sees neither.
    let other = signed_in(&t, &fx::liaison("DINKES")).await;
    assert_eq!(
        get(&t, "/konsol/aduan/ADU-1/ba", Some(&other)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&t, &src, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_list_is_paged_and_every_task_is_reached() {
    let t = TestApp::with("ADU-000", disposed("PUPR")).await;
    for n in 1..70 {
        t.given(&format!("ADU-{n:03}"), disposed("PUPR")).await;
    }
    t.given("ADU-DINKES", disposed("DINKES")).await;
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/konsol/tugas".to_owned();
    let mut pages = 0;
    let mut ended = false;
    for _ in 0..10 {
        pages += 1;
        let page = get(&t, &path, Some(&liaison)).await;
        page.assert_status(StatusCode::OK);
        for id in page.text.split("href=\"/konsol/aduan/").skip(1) {
            seen.insert(id.split('"').next().unwrap().to_owned());
        }
        match page.text.split("href=\"/konsol/tugas?setelah=").nth(1) {
            Some(rest) => {
                path = format!("/konsol/tugas?setelah={}", rest.split('"').next().unwrap());
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the pages end within 10");
    assert!(pages >= 2, "70 complaints take more than one page");
    let expected: std::collections::BTreeSet<String> =
        (0..70).map(|n| format!("ADU-{n:03}")).collect();
    assert_eq!(
        seen, expected,
        "every task of the agency, and no other agency's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_stores_nothing_and_is_held_to_the_apis_limits() {
    let t = TestApp::with("ADU-1", super::clarified(true)).await;
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&liaison)).await;
    let csrf = csrf_of(&page);
    let before = t.event_count().await;

    // A visit dated in the future: refused by the engine before its photo is stored.
    let photo: Vec<u8> = [crate::support::JPEG, b"tanggal-depan"].concat();
    let sha256 = workflow_store::chain::hex(&<sha2::Sha256 as sha2::Digest>::digest(&photo));
    let r = post_multipart(
        &t,
        "/konsol/aduan/ADU-1/aksi/field-verification",
        &liaison,
        &[
            ("csrf", &csrf),
            ("kunci", "depan-1"),
            ("visit_date", "2030-01-01"),
            ("location", "Jl. Tambun Bungai"),
            ("parties_summoned.0.name", "Andi"),
            ("parties_summoned.0.position", "Lurah"),
            ("findings", "Belum terjadi"),
        ],
        &[("evidence", "foto.jpg", "image/jpeg", &photo)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        by_id(&r, "galat-field-verification").contains("sop.step3.visit_date_in_future"),
        "{}",
        r.text
    );
    assert_eq!(t.event_count().await, before);
    let stored = get(&t, &format!("/konsol/bukti/{sha256}"), Some(&liaison)).await;
    assert_eq!(
        stored.status,
        StatusCode::NOT_FOUND,
        "the photo was not stored"
    );

    // A form's text is held to the API's limit of a command's body.
    let long = "x".repeat(workflow_host::http::JSON_LIMIT + 1);
    let r = post_form(
        &t,
        "/konsol/aduan/ADU-1/aksi/progress",
        &liaison,
        &[("csrf", &csrf), ("kunci", "panjang-1"), ("text", &long)],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(t.event_count().await, before);

    // A form whose key is the samples' word: the page still offers its forms after.
    let r = post_form(
        &t,
        "/konsol/aduan/ADU-1/aksi/progress",
        &liaison,
        &[
            ("csrf", &csrf),
            ("kunci", "contoh"),
            ("text", "Sedang dijadwalkan"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(t.event_count().await, before + 1);
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&liaison)).await;
    assert!(
        offered(&page).contains(&"field-verification".to_owned()),
        "{:?}",
        offered(&page)
    );
}

/// A host whose clock reads behind the complaint's latest event (another host's clock
/// ahead) offers the same forms, and the form's command is dated at that event: the
/// console is never held up by the clocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_behind_the_latest_event_still_offers_the_forms() {
    let t = TestApp::new(super::now()).await;
    let latest = super::now() + chrono::Duration::minutes(10);
    t.given_at("ADU-2", latest, disposed("PUPR")).await;
    let liaison = signed_in(&t, &fx::liaison("PUPR")).await;
    let page = get(&t, "/konsol/aduan/ADU-2", Some(&liaison)).await;
    assert_eq!(offered(&page), ["return", "review", "progress"]);
}
