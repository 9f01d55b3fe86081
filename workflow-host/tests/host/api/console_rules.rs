//! The web console through the router: the same scoping and identity rules as the API,
//! the pages' policy, and a refusal shown to a person with its rule.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use workflow_core::fixtures::{self as fx, cid};
use workflow_core::Actor;

use super::{disposed, signed_in, Reply, TestApp};

pub(super) async fn get(t: &TestApp, path: &str, cookie: Option<&str>) -> Reply {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    t.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_follow_the_apis_rules() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;

    // No session: to sign-in.
    let r = get(&t, "/konsol/aduan/ADU-1", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/konsol/masuk");

    // The agency concerned sees the complaint, the anonymous complainant hidden; the
    // page's policy allows nothing inline.
    let pupr = signed_in(&t, &fx::liaison("PUPR")).await;
    let r = get(&t, "/konsol/aduan/ADU-1", Some(&pupr)).await;
    r.assert_status(StatusCode::OK);
    assert!(r.text.contains("Identitas disembunyikan"), "{}", r.text);
    let policy = r.header("content-security-policy");
    assert!(
        policy.contains("style-src 'self'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    assert!(
        r.text.contains("id=\"aksi-review\""),
        "the step's form for its officer"
    );

    // Another agency: refused, as a page.
    let dinkes = signed_in(&t, &fx::liaison("DINKES")).await;
    let r = get(&t, "/konsol/aduan/ADU-1", Some(&dinkes)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.content_type().starts_with("text/html"),
        "{}",
        r.content_type()
    );

    // UPP sees the identity, and the read is recorded.
    let upp = signed_in(&t, &fx::upp()).await;
    let r = get(&t, "/konsol/aduan/ADU-1", Some(&upp)).await;
    r.assert_status(StatusCode::OK);
    let name = &fx::registration().complainant;
    let shown = match &name.identity {
        workflow_core::complainant::Identity::Plain(data) => data.name.clone(),
        other => panic!("the fixture's identity is plain: {other:?}"),
    };
    assert!(r.text.contains(&shown), "{}", r.text);
    assert!(
        !r.text.contains("id=\"aksi-review\""),
        "no liaison form for UPP"
    );
    let reads: Vec<(String, String)> = t
        .store
        .identity_reads(&cid("ADU-1"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.user, r.via))
        .collect();
    assert_eq!(
        reads,
        [(fx::upp().user.0, "GET /konsol/aduan/{id}".to_owned())],
        "only the opened identity is a read"
    );

    // A review by a PUPR officer who is not the one assigned: refused by the domain,
    // shown on the page with its rule.
    let colleague = Actor::of_agency("rudi.pupr", workflow_core::Role::Liaison, "PUPR");
    let rudi = signed_in(&t, &colleague).await;
    let page = get(&t, "/konsol/aduan/ADU-1", Some(&rudi)).await;
    let csrf = page
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let form = format!("csrf={csrf}&kunci=k1&complete=ya&clear=ya&notes=ok");
    let r = t
        .send(
            Request::post("/konsol/aduan/ADU-1/aksi/review")
                .header("cookie", &rudi)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.content_type().starts_with("text/html"));
    let refusal = r
        .text
        .split("id=\"galat-review\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("no refusal above the form: {}", r.text));
    assert!(
        refusal.starts_with("Ditolak (access.not_assigned_liaison)"),
        "{refusal}"
    );
}
