//! Junk against every route: whatever arrives, never a 5xx and never a write.

use axum::body::Body;
use axum::http::{Method, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::{disposed, TestApp};

fn junk_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "[a-z_]{1,12}".prop_map(|k| format!("{{\"{k}\": 1}}").into_bytes()),
        Just(b"{}".to_vec()),
        Just(b"null".to_vec()),
        Just(b"[]".to_vec()),
        "\\PC{0,200}".prop_map(String::into_bytes),
    ]
}

fn junk_header() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[ -~]{0,40}")
}

/// Junk bodies and headers against every route, from callers with and without a
/// valid token: never a 5xx, every write route answers 4xx, and the log is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_against_every_route_answers_4xx_and_writes_nothing() {
    let t = TestApp::with("ADU-1", disposed("PUPR")).await;
    let before = t.event_count().await;
    let routes = workflow_host::http::routes();
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config::with_cases(300));
    let strategy = (
        0..routes.len(),
        junk_body(),
        prop::option::of(prop_oneof![
            Just("application/json"),
            Just("text/plain"),
            Just("image/jpeg"),
            Just("x/y;;")
        ]),
        junk_header(),
        junk_header(),
        0usize..3,
    );
    runner
        .run(&strategy, |(route, body, content_type, key, auth, who)| {
            let (method, path) = &routes[route];
            let path = path
                .replace("{id}", "ADU-1")
                .replace("{sha256}", &"a".repeat(64));
            let mut req = Request::builder().method(method.clone()).uri(&path);
            req = match who {
                0 => req.header("authorization", format!("Bearer {}", t.tokens["upp"])),
                1 => req.header(
                    "authorization",
                    format!("Bearer {}", t.tokens["liaison_pupr"]),
                ),
                _ => match &auth {
                    Some(a) => req.header("authorization", a.as_str()),
                    None => req,
                },
            };
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            if let Some(k) = &key {
                req = req.header("idempotency-key", k.as_str());
            }
            let reply = tokio::task::block_in_place(|| {
                handle.block_on(t.send(req.body(Body::from(body.clone())).unwrap()))
            });
            prop_assert!(
                !reply.status.is_server_error(),
                "{method} {path}: {} {}",
                reply.status,
                reply.text
            );
            if *method == Method::POST {
                prop_assert!(
                    reply.status.is_client_error(),
                    "{method} {path} accepted junk: {}",
                    reply.text
                );
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(t.event_count().await, before, "junk wrote nothing");
}
