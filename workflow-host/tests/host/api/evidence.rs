//! Evidence as it is served back: images shown inline, anything else a download, and
//! the files kept for the service alone; and the headers every answer carries. Who may
//! upload, download and cite which evidence.

use axum::http::StatusCode;
use serde_json::json;
use workflow_core::complainant::Confidentiality;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::evidence::EvidenceRef;
use workflow_core::fixtures::{self as fx, cid};
use workflow_core::{Actor, Role};

use super::{ba_issued, clarified, now, Reply, TestApp};
use crate::support::JPEG;

const PDF: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";

/// Every answer carries nosniff and a referrer policy; HTML carries a content security
/// policy; evidence is a download, except images, shown inline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_security_headers_and_evidence_is_a_download() {
    let t = TestApp::new(now()).await;
    let photo = t.upload().await;
    let scan = t
        .post_bytes("/api/v1/evidence", "upp", Some("application/pdf"), PDF)
        .await;
    scan.assert_status(StatusCode::CREATED);
    let scan = scan.json()["sha256"].as_str().unwrap().to_owned();
    // A complaint with a BA, for the HTML page.
    t.given("ADU-1", ba_issued()).await;

    let answers = [
        ("json", t.get("/api/v1/complaints", "upp").await),
        ("problem", t.get("/api/v1/nowhere", "upp").await),
        ("401", t.get("/api/v1/complaints", "anonymous").await),
        ("health", t.get("/api/v1/health/live", "anonymous").await),
        ("ba", t.get("/api/v1/complaints/ADU-1/ba", "upp").await),
        (
            "photo",
            t.get(&format!("/api/v1/evidence/{photo}"), "liaison_pupr")
                .await,
        ),
        (
            "scan",
            t.get(&format!("/api/v1/evidence/{scan}"), "upp").await,
        ),
    ];
    for (what, r) in &answers {
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
        assert!(!r.header("referrer-policy").is_empty(), "{what}");
    }
    let (_, ba) = &answers[4];
    ba.assert_status(StatusCode::OK);
    assert!(ba.content_type().starts_with("text/html"));
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
    assert_eq!(shown.content_type(), "image/jpeg");
    assert!(
        shown.header("content-disposition").starts_with("inline"),
        "{:?}",
        shown.headers
    );
    let (_, download) = &answers[6];
    assert_eq!(download.content_type(), "application/pdf");
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

/// A JPEG whose bytes, and so its digest, are its own.
fn photo_tagged(tag: &str) -> Vec<u8> {
    let mut bytes = JPEG.to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

/// An upload by `caller`, for `complaint` if named.
async fn upload_as(t: &TestApp, caller: &str, tag: &str, complaint: Option<&str>) -> Reply {
    let path = match complaint {
        Some(id) => format!("/api/v1/evidence?complaint={id}"),
        None => "/api/v1/evidence".to_owned(),
    };
    t.post_bytes(&path, caller, Some("image/jpeg"), photo_tagged(tag))
        .await
}

fn digest(r: &Reply, what: &str) -> String {
    r.assert_status(StatusCode::CREATED);
    r.json()["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {}", r.text))
        .to_owned()
}

fn cited(sha256: &str) -> EvidenceRef {
    EvidenceRef {
        sha256: sha256.to_owned(),
        media_type: "image/jpeg".into(),
        size: 1,
        caption: "lampiran".into(),
    }
}

fn visit(sha256: &str) -> serde_json::Value {
    json!({"visit_date": "2026-12-01", "location": "l", "parties_summoned": [{"name": "n", "position": "p"}],
        "findings": "f", "evidence": [{"sha256": sha256, "caption": "c"}]})
}

/// The blobs of the matrix, in its columns' order.
const BLOBS: [&str; 5] = [
    "public registration",
    "anonymous registration",
    "PUPR field visit",
    "a PUPR colleague's, uncited",
    "the caller's own, uncited",
];

/// For each caller: the upload's status, then per blob of [`BLOBS`] the download's and a
/// field visit's citing it (on a PUPR complaint ready for one). 0: the caller has no
/// upload of their own. Who may not verify in the field at all is told so (403) before
/// what they cite is judged.
const MATRIX: [(&str, u16, [u16; 5], [u16; 5]); 8] = [
    (
        "upp",
        201,
        [200, 200, 200, 404, 200],
        [403, 403, 403, 403, 403],
    ),
    (
        "coordinator",
        403,
        [200, 404, 200, 404, 0],
        [403, 403, 403, 403, 0],
    ),
    (
        "liaison_pupr",
        201,
        [200, 404, 200, 404, 200],
        [422, 422, 200, 200, 200],
    ),
    (
        "liaison_dinkes",
        201,
        [404, 404, 404, 404, 200],
        [403, 403, 403, 403, 403],
    ),
    (
        "head_pupr",
        403,
        [200, 404, 200, 404, 0],
        [403, 403, 403, 403, 0],
    ),
    (
        "apip",
        403,
        [200, 200, 200, 404, 0],
        [403, 403, 403, 403, 0],
    ),
    (
        "system",
        403,
        [200, 404, 200, 404, 0],
        [403, 403, 403, 403, 0],
    ),
    (
        "anonymous",
        401,
        [401, 401, 401, 401, 0],
        [401, 401, 401, 401, 0],
    ),
];

/// Who may upload, download and cite each kind of evidence: a blob is its uploader's
/// until cited, then readable by whoever may read a citing complaint, but an anonymous
/// registration's attachments only by those who may see the complainant, each download
/// recorded; anything else is 404. A field visit cites only its agency's uploads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_of_evidence() {
    let mut t = TestApp::new(now()).await;
    let colleague = Actor::of_agency("rudi.pupr", Role::Liaison, "PUPR");
    let token = t.store.create_token(&colleague, now()).await.unwrap();
    t.tokens.insert("colleague_pupr", token);

    let public = digest(&upload_as(&t, "upp", "public", None).await, "public");
    let mut registration = fx::registration();
    registration.complainant.confidentiality = Confidentiality::Public;
    registration.attachments = vec![cited(&public)];
    t.given(
        "ADU-PUB",
        vec![
            (fx::upp(), C::Register(registration)),
            (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
        ],
    )
    .await;
    let anonymous = digest(&upload_as(&t, "upp", "anonymous", None).await, "anon");
    let mut registration = fx::registration();
    assert_eq!(
        registration.complainant.confidentiality,
        Confidentiality::Anonymous
    );
    registration.attachments = vec![cited(&anonymous)];
    t.given(
        "ADU-ANON",
        vec![
            (fx::upp(), C::Register(registration)),
            (fx::upp(), C::Dispose(fx::disposition("PUPR"))),
        ],
    )
    .await;
    t.given("ADU-FV", clarified(true)).await;
    let field = digest(
        &upload_as(&t, "liaison_pupr", "field", Some("ADU-FV")).await,
        "field visit",
    );
    t.post(
        "/api/v1/complaints/ADU-FV/field-verification",
        "liaison_pupr",
        visit(&field),
    )
    .await
    .assert_status(StatusCode::OK);
    let colleagues = digest(
        &upload_as(&t, "colleague_pupr", "colleague", None).await,
        "colleague",
    );

    // Every download first: a citation made below would open a blob to more readers.
    let mut owned = Vec::new();
    for (caller, upload, downloads, _) in MATRIX {
        let own = upload_as(&t, caller, &format!("own {caller}"), None).await;
        assert_eq!(
            own.status.as_u16(),
            upload,
            "{caller} uploads: {}",
            own.text
        );
        if upload != 201 {
            own.assert_problem(own.status, caller);
        }
        let own = (upload == 201).then(|| digest(&own, caller));
        let blobs = [
            Some(public.clone()),
            Some(anonymous.clone()),
            Some(field.clone()),
            Some(colleagues.clone()),
            own,
        ];
        for (i, blob) in blobs.iter().enumerate() {
            let Some(blob) = blob else {
                assert_eq!(downloads[i], 0, "{caller}: {}", BLOBS[i]);
                continue;
            };
            let what = format!("{caller} downloads {}", BLOBS[i]);
            let r = t.get(&format!("/api/v1/evidence/{blob}"), caller).await;
            if downloads[i] == 200 {
                r.assert_status(StatusCode::OK);
                assert_eq!(r.content_type(), "image/jpeg", "{what}");
            } else {
                r.assert_problem(StatusCode::from_u16(downloads[i]).unwrap(), &what);
            }
        }
        owned.push(blobs);
    }

    let mut cell = 0;
    for ((caller, _, _, cites), blobs) in MATRIX.into_iter().zip(owned) {
        for (i, blob) in blobs.iter().enumerate() {
            let Some(blob) = blob else { continue };
            cell += 1;
            let id = format!("ADU-CITE-{cell}");
            t.given(&id, clarified(true)).await;
            let what = format!("{caller} cites {} in a field visit", BLOBS[i]);
            let r = t
                .post(
                    &format!("/api/v1/complaints/{id}/field-verification"),
                    caller,
                    visit(blob),
                )
                .await;
            match cites[i] {
                200 => r.assert_status(StatusCode::OK),
                422 => {
                    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &what);
                    r.assert_refused_by("evidence.not_yours_to_cite");
                }
                other => r.assert_problem(StatusCode::from_u16(other).unwrap(), &what),
            }
        }
    }

    // Each download of the anonymous registration's attachment is a read of its
    // complainant, recorded; the public one's are not.
    let reads = t.store.identity_reads(&cid("ADU-ANON")).await.unwrap();
    let readers: Vec<(&str, &str)> = reads
        .iter()
        .map(|r| (r.user.as_str(), r.via.as_str()))
        .collect();
    assert_eq!(
        readers,
        [
            (fx::upp().user.0.as_str(), "GET /evidence/{sha256}"),
            (fx::apip().user.0.as_str(), "GET /evidence/{sha256}"),
        ]
    );
    assert_eq!(
        t.store.identity_reads(&cid("ADU-PUB")).await.unwrap(),
        [],
        "a public registration's attachments show no hidden identity"
    );
}

/// A field visit cites an upload UPP made for its complaint, but not one made for
/// another; a registration cites UPP's uploads only; an upload names only a complaint
/// its uploader may see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_for_a_complaint_and_by_upp_are_the_ones_to_cite() {
    let t = TestApp::with("ADU-1", clarified(true)).await;
    t.given("ADU-2", clarified(true)).await;
    let for_one = digest(&upload_as(&t, "upp", "for one", Some("ADU-1")).await, "upp");
    let r = t
        .post(
            "/api/v1/complaints/ADU-2/field-verification",
            "liaison_pupr",
            visit(&for_one),
        )
        .await;
    r.assert_refused_by("evidence.not_yours_to_cite");
    t.post(
        "/api/v1/complaints/ADU-1/field-verification",
        "liaison_pupr",
        visit(&for_one),
    )
    .await
    .assert_status(StatusCode::OK);

    let liaisons = t.upload().await;
    let by_upp = digest(&upload_as(&t, "upp", "scan", None).await, "upp");
    let register = |id: &str, sha256: &str| {
        json!({"id": id, "lapor_id": id, "title": "t", "description": "d", "category": "c",
            "reported_at": "2026-11-30T01:00:00Z", "complainant": {"name": "Budi"}, "upp_review": "r",
            "attachments": [{"sha256": sha256, "caption": "KTP"}]})
    };
    t.post("/api/v1/complaints", "upp", register("ADU-R1", &liaisons))
        .await
        .assert_refused_by("evidence.not_yours_to_cite");
    t.post("/api/v1/complaints", "upp", register("ADU-R2", &by_upp))
        .await
        .assert_status(StatusCode::CREATED);

    // DINKES may not see ADU-1, so may not upload for it; an unknown complaint is 404.
    upload_as(&t, "liaison_dinkes", "x", Some("ADU-1"))
        .await
        .assert_problem(
            StatusCode::FORBIDDEN,
            "an upload for another agency's complaint",
        );
    upload_as(&t, "liaison_pupr", "x", Some("ADU-404"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "an upload for no complaint");
}
