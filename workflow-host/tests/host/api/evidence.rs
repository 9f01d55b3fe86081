//! Evidence as it is served back: images shown inline, anything else a download, and
//! the files kept for the service alone; and the headers every answer carries.

use axum::http::StatusCode;

use super::{ba_issued, now, TestApp};

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
            t.get(&format!("/api/v1/evidence/{photo}"), "upp").await,
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
