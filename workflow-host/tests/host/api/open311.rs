//! Open311 GeoReport v2 (`/open311/v2/`) and the public tracking page (`/lacak`): what
//! the public reads of public complaints, never a confidential one, never an identity;
//! requests registered with a UPP token's key; GeoReport's error shape; the limits per
//! client address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use workflow_core::complainant::{Complainant, Confidentiality, PersonalData};
use workflow_core::complaint::command::{ComplaintCommand as C, ProgressReport, Registration};
use workflow_core::fixtures::{self as fx, wib};
use workflow_core::Actor;
use workflow_store::testing::Backend;

use super::{now, Reply, TestApp};

const NAME: &str = "Siti Rahmawati";
const PHONE: &str = "+62 811 5555 1234";
const EMAIL: &str = "siti.rahma@contoh.id";
const PROGRESS: &str = "Tim PUPR sudah meninjau lokasi dan mengukur lubang";

fn registration(
    lapor_id: &str,
    category: &str,
    confidentiality: Confidentiality,
    reported_at: DateTime<Utc>,
) -> Registration {
    Registration {
        lapor_id: lapor_id.into(),
        reported_at,
        category: category.into(),
        complainant: Complainant::plain(
            PersonalData {
                name: NAME.into(),
                phone: Some(PHONE.into()),
                email: Some(EMAIL.into()),
                ..PersonalData::default()
            },
            confidentiality,
        ),
        ..fx::registration()
    }
}

/// A complaint's id, when its commands are sent, and they.
type Story = (&'static str, DateTime<Utc>, Vec<(Actor, C)>);

/// Four complaints: `LAP-OPEN` (public, infrastruktur, a progress report, registered on
/// 20 November), `LAP-ANSWERED` (anonymous, kesehatan, answered, 25 November),
/// `LAP-DONE` (public, infrastruktur, withdrawn: closed, 28 November) and `LAP-SECRET`
/// (confidential, of a category no other has, 26 November).
async fn four(backend: Backend) -> TestApp {
    let t = fresh(backend).await;
    let upp = fx::upp;
    let pupr = || fx::liaison("PUPR");
    let reg = |id, cat, conf, at: &str| {
        (
            upp(),
            C::Register(registration(
                id,
                cat,
                conf,
                wib(at) - chrono::Duration::hours(1),
            )),
        )
    };
    let steps: Vec<Story> = vec![
        (
            "LAP-OPEN",
            wib("2026-11-20 09:00"),
            vec![
                reg(
                    "LAP-OPEN",
                    "infrastruktur",
                    Confidentiality::Public,
                    "2026-11-20 09:00",
                ),
                (upp(), C::Dispose(fx::disposition("PUPR"))),
                (pupr(), C::Review(fx::complete_review())),
                (
                    pupr(),
                    C::ReportProgress(ProgressReport {
                        text: PROGRESS.into(),
                    }),
                ),
            ],
        ),
        (
            "LAP-ANSWERED",
            wib("2026-11-25 09:00"),
            vec![
                reg(
                    "LAP-ANSWERED",
                    "kesehatan",
                    Confidentiality::Anonymous,
                    "2026-11-25 09:00",
                ),
                (upp(), C::Dispose(fx::disposition("PUPR"))),
                (pupr(), C::Review(fx::complete_review())),
                (pupr(), C::Clarify(fx::clarification(false))),
                (pupr(), C::Respond(fx::response_text())),
            ],
        ),
        (
            "LAP-DONE",
            wib("2026-11-28 09:00"),
            vec![
                reg(
                    "LAP-DONE",
                    "infrastruktur",
                    Confidentiality::Public,
                    "2026-11-28 09:00",
                ),
                (upp(), C::Withdraw(fx::withdrawal())),
            ],
        ),
        (
            "LAP-SECRET",
            wib("2026-11-26 09:00"),
            vec![
                reg(
                    "LAP-SECRET",
                    "rahasia-khusus",
                    Confidentiality::Confidential,
                    "2026-11-26 09:00",
                ),
                (upp(), C::Dispose(fx::disposition("PUPR"))),
            ],
        ),
    ];
    for (id, at, steps) in steps {
        t.given_at(id, at, steps).await;
    }
    t
}

async fn fresh(backend: Backend) -> TestApp {
    TestApp::on(backend, now(), workflow_store::ReadinessPolicy::default()).await
}

/// Every request from another address, so that the limits per address stay out of
/// the way of tests that are not about them.
fn next_address() -> IpAddr {
    static N: AtomicU32 = AtomicU32::new(1);
    IpAddr::V4(Ipv4Addr::from(
        0x0a00_0000 + N.fetch_add(1, Ordering::Relaxed),
    ))
}

async fn get_from(t: &TestApp, path: &str, from: IpAddr) -> Reply {
    let mut req = Request::get(path).body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(from, 40000)));
    t.send(req).await
}

async fn get(t: &TestApp, path: &str) -> Reply {
    get_from(t, path, next_address()).await
}

async fn post_form(t: &TestApp, fields: &[(&str, &str)], key: Option<&str>) -> Reply {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = Request::post("/open311/v2/requests.json")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(next_address(), 40000)));
    t.send(req).await
}

/// GeoReport's error: this status, a list of one `{code, description}` with it.
fn assert_georeport_error(r: &Reply, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert!(
        r.content_type().starts_with("application/json"),
        "{what}: {}",
        r.content_type()
    );
    let body = r.json();
    let errors = body
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {}", r.text));
    assert_eq!(errors.len(), 1, "{what}: {}", r.text);
    assert_eq!(errors[0]["code"], status.as_u16(), "{what}: {}", r.text);
    assert!(
        errors[0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{what}: {}",
        r.text
    );
}

fn assert_no_identity(text: &str, what: &str) {
    for personal in [NAME, "Siti", PHONE, "5555 1234", EMAIL] {
        assert!(
            !text.contains(personal),
            "{what} shows `{personal}`: {text}"
        );
    }
}

fn ids(r: &Reply) -> Vec<String> {
    r.assert_status(StatusCode::OK);
    let mut ids: Vec<String> = r
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|s| s["service_request_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

on_each_backend!(services_are_the_categories_of_public_complaints: services_sqlite, services_postgres);

async fn services_are_the_categories_of_public_complaints(backend: Backend, _: &str) {
    let t = four(backend).await;
    let r = get(&t, "/open311/v2/services.json").await;
    r.assert_status(StatusCode::OK);
    assert_no_identity(&r.text, "services.json");
    let services = r.json();
    let codes: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["metadata"], false, "{s}");
            assert_eq!(s["type"], "realtime", "{s}");
            s["service_code"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        codes,
        ["infrastruktur", "kesehatan"],
        "a category only a confidential complaint has stays out"
    );
}

on_each_backend!(requests_are_filtered_by_status_service_and_dates_and_never_confidential: requests_filtered_sqlite, requests_filtered_postgres);

async fn requests_are_filtered_by_status_service_and_dates_and_never_confidential(
    backend: Backend,
    _: &str,
) {
    let t = four(backend).await;
    let all = ["LAP-ANSWERED", "LAP-DONE", "LAP-OPEN"];
    let cases: [(&str, &[&str]); 9] = [
        ("", &all),
        ("?status=open", &["LAP-ANSWERED", "LAP-OPEN"]),
        ("?status=closed", &["LAP-DONE"]),
        ("?status=open,closed", &all),
        ("?service_code=kesehatan", &["LAP-ANSWERED"]),
        ("?service_code=rahasia-khusus", &[]),
        ("?service_code=infrastruktur&status=open", &["LAP-OPEN"]),
        (
            "?start_date=2026-11-24T00:00:00Z&end_date=2026-11-27T00:00:00%2B07:00",
            &["LAP-ANSWERED"],
        ),
        (
            "?service_request_id=LAP-OPEN,LAP-SECRET,NOPE",
            &["LAP-OPEN"],
        ),
    ];
    for (query, expected) in cases {
        let r = get(&t, &format!("/open311/v2/requests.json{query}")).await;
        assert_eq!(ids(&r), expected, "requests.json{query}");
        assert_no_identity(&r.text, query);
        assert!(!r.text.contains("LAP-SECRET"), "{query}: {}", r.text);
    }
    // Not within the 90 days before an end_date: nothing.
    let r = get(
        &t,
        "/open311/v2/requests.json?end_date=2026-08-01T00:00:00Z",
    )
    .await;
    assert!(ids(&r).is_empty(), "{}", r.text);
}

on_each_backend!(a_request_maps_status_notes_agency_and_address_and_a_confidential_one_is_not_served: one_request_sqlite, one_request_postgres);

async fn a_request_maps_status_notes_agency_and_address_and_a_confidential_one_is_not_served(
    backend: Backend,
    _: &str,
) {
    let t = four(backend).await;
    let one = |id: &'static str| {
        let t = &t;
        async move {
            let r = get(t, &format!("/open311/v2/requests/{id}.json")).await;
            r.assert_status(StatusCode::OK);
            assert_no_identity(&r.text, id);
            let list = r.json();
            assert_eq!(list.as_array().map(Vec::len), Some(1), "{}", r.text);
            list[0].clone()
        }
    };
    let open = one("LAP-OPEN").await;
    assert_eq!(open["service_request_id"], "LAP-OPEN");
    assert_eq!(open["status"], "open");
    assert_eq!(open["status_notes"], PROGRESS, "the latest progress report");
    assert_eq!(open["service_code"], "infrastruktur");
    assert_eq!(open["service_name"], "infrastruktur");
    assert_eq!(
        open["agency_responsible"],
        "Dinas Pekerjaan Umum dan Penataan Ruang"
    );
    assert_eq!(open["description"], fx::registration().description);
    assert_eq!(
        open["address"],
        fx::registration().location.unwrap().as_str()
    );
    assert_eq!(open["requested_datetime"], "2026-11-20T02:00:00Z");
    assert!(
        open.get("lat").is_none() && open.get("long").is_none(),
        "{open}"
    );

    let answered = one("LAP-ANSWERED").await;
    assert_eq!(
        answered["status"], "open",
        "awaiting feedback is still open"
    );
    assert_eq!(answered["status_notes"], fx::response_text().response);

    let done = one("LAP-DONE").await;
    assert_eq!(done["status"], "closed");
    assert!(done.get("status_notes").is_none(), "{done}");
    assert!(done.get("agency_responsible").is_none(), "{done}");

    let secret = get(&t, "/open311/v2/requests/LAP-SECRET.json").await;
    assert_georeport_error(&secret, StatusCode::NOT_FOUND, "a confidential complaint");
    let unknown = get(&t, "/open311/v2/requests/LAP-NONE.json").await;
    assert_georeport_error(&unknown, StatusCode::NOT_FOUND, "an unknown id");
    assert_eq!(
        secret.text.replace("LAP-SECRET", "X"),
        unknown.text.replace("LAP-NONE", "X"),
        "confidential and unknown answer alike"
    );
    let xml = get(&t, "/open311/v2/requests/LAP-OPEN.xml").await;
    assert_georeport_error(&xml, StatusCode::NOT_FOUND, "XML is not served");
}

on_each_backend!(bad_queries_are_georeport_errors: bad_queries_sqlite, bad_queries_postgres);

async fn bad_queries_are_georeport_errors(backend: Backend, _: &str) {
    let t = four(backend).await;
    for (query, what) in [
        ("?status=pending", "an unknown status"),
        ("?start_date=yesterday", "a start_date that is no datetime"),
        (
            "?start_date=2026-01-01T00:00:00Z&end_date=2026-11-30T00:00:00Z",
            "more than 90 days",
        ),
        (
            "?start_date=2026-11-30T00:00:00Z&end_date=2026-11-01T00:00:00Z",
            "an end before the start",
        ),
    ] {
        let r = get(&t, &format!("/open311/v2/requests.json{query}")).await;
        assert_georeport_error(&r, StatusCode::BAD_REQUEST, what);
    }
    let r = get(&t, "/open311/v2/discovery.json").await;
    assert_georeport_error(&r, StatusCode::NOT_FOUND, "an unknown resource");
}

on_each_backend!(a_request_is_registered_only_with_a_upp_key: post_with_a_upp_key_sqlite, post_with_a_upp_key_postgres);

async fn a_request_is_registered_only_with_a_upp_key(backend: Backend, _: &str) {
    let t = four(backend).await;
    let upp = t.tokens["upp"].clone();
    let liaison = t.tokens["liaison_pupr"].clone();
    let report = |key: &str| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", "infrastruktur".to_owned()),
            (
                "description",
                "Lampu jalan mati di Jl. Pemuda sejak sepekan".to_owned(),
            ),
            ("address_string", "Jl. Pemuda, Kuala Kapuas".to_owned()),
            ("first_name", "Siti".to_owned()),
            ("last_name", "Rahmawati".to_owned()),
            ("phone", PHONE.to_owned()),
            ("email", EMAIL.to_owned()),
            ("attribute[confidentiality]", "public".to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>, key: Option<&'static str>| {
        let t = &t;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(t, &pairs, key).await
        }
    };
    let before = t.event_count().await;
    let without: Vec<_> = report("")
        .into_iter()
        .filter(|(k, _)| *k != "api_key")
        .collect();
    assert_georeport_error(
        &send(without, None).await,
        StatusCode::FORBIDDEN,
        "no api_key",
    );
    assert_georeport_error(
        &send(report("not-a-token"), None).await,
        StatusCode::FORBIDDEN,
        "an unknown api_key",
    );
    assert_georeport_error(
        &send(report(&liaison), None).await,
        StatusCode::FORBIDDEN,
        "a liaison officer's key",
    );
    let mut unknown_service = report(&upp);
    unknown_service[1].1 = "rahasia-khusus-lain".into();
    assert_georeport_error(
        &send(unknown_service, None).await,
        StatusCode::BAD_REQUEST,
        "a service not in services.json",
    );
    let nowhere: Vec<_> = report(&upp)
        .into_iter()
        .filter(|(k, _)| *k != "address_string")
        .collect();
    assert_georeport_error(
        &send(nowhere, None).await,
        StatusCode::BAD_REQUEST,
        "no location",
    );
    let json = t
        .post_bytes(
            "/open311/v2/requests.json",
            "anonymous",
            Some("application/json"),
            format!(r#"{{"api_key": "{upp}", "service_code": "infrastruktur"}}"#),
        )
        .await;
    assert_georeport_error(&json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "a JSON body");
    assert_eq!(
        t.event_count().await,
        before,
        "nothing refused was recorded"
    );

    // Registered, once for a key sent twice.
    let first = send(report(&upp), Some("o311-1")).await;
    first.assert_status(StatusCode::CREATED);
    let again = send(report(&upp), Some("o311-1")).await;
    again.assert_status(StatusCode::CREATED);
    assert_eq!(first.json(), again.json(), "a retry is answered the same");
    assert_no_identity(&first.text, "the POST's answer");
    let id = first.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(t.event_count().await, before + 1, "registered once");
    let served = get(&t, &format!("/open311/v2/requests/{id}.json")).await;
    served.assert_status(StatusCode::OK);
    assert_eq!(served.json()[0]["status"], "open");
    assert_eq!(served.json()[0]["address"], "Jl. Pemuda, Kuala Kapuas");
    assert_no_identity(&served.text, "the new request");
    let state = t
        .store
        .views()
        .detail(&fx::cid(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.summary.status, workflow_core::Status::Received);
    assert_eq!(state.summary.category, "infrastruktur");

    // The LAPOR! number as the id: a second registration of it is refused.
    let mut numbered = report(&upp);
    numbered.push(("attribute[lapor_id]", "LAP-2026-12-000777".into()));
    send(numbered.clone(), None)
        .await
        .assert_status(StatusCode::CREATED);
    let twice = send(numbered, None).await;
    assert_georeport_error(
        &twice,
        StatusCode::CONFLICT,
        "a LAPOR! number registered twice",
    );

    // Without a confidentiality the engine's safe default, confidential: registered,
    // and not served.
    let secret: Vec<_> = report(&upp)
        .into_iter()
        .filter(|(k, _)| *k != "attribute[confidentiality]")
        .collect();
    let r = send(secret, None).await;
    r.assert_status(StatusCode::CREATED);
    let id = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_georeport_error(
        &get(&t, &format!("/open311/v2/requests/{id}.json")).await,
        StatusCode::NOT_FOUND,
        "a confidential request just registered",
    );
}

on_each_backend!(the_tracking_page_shows_steps_progress_and_response_and_no_identity: tracking_page_sqlite, tracking_page_postgres);

async fn the_tracking_page_shows_steps_progress_and_response_and_no_identity(
    backend: Backend,
    _: &str,
) {
    let t = four(backend).await;
    let r = get(&t, "/lacak/LAP-OPEN").await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.content_type().starts_with("text/html"),
        "{}",
        r.content_type()
    );
    assert_eq!(
        r.header("content-security-policy"),
        workflow_host::web::CONSOLE_POLICY
    );
    assert!(
        r.text.contains("/konsol/static/konsol.css"),
        "the console's stylesheet"
    );
    assert!(r.text.contains("width=device-width"), "{}", r.text);
    for shown in [
        "Sedang ditelaah perangkat daerah",
        "Aduan diterima",
        "Diteruskan ke Dinas Pekerjaan Umum dan Penataan Ruang",
        "20 November 2026, 09.00",
        PROGRESS,
    ] {
        assert!(r.text.contains(shown), "`{shown}` missing: {}", r.text);
    }
    assert_no_identity(&r.text, "the tracking page");

    let answered = get(&t, "/lacak?nomor=LAP-ANSWERED").await;
    answered.assert_status(StatusCode::OK);
    assert!(
        answered.text.contains(&fx::response_text().response),
        "{}",
        answered.text
    );
    assert!(answered.text.contains("Sudah dijawab"), "{}", answered.text);
    assert_no_identity(&answered.text, "an anonymous complaint's page");

    let secret = get(&t, "/lacak/LAP-SECRET").await;
    let unknown = get(&t, "/lacak/LAP-NONEX").await;
    secret.assert_status(StatusCode::NOT_FOUND);
    unknown.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        secret.text.replace("LAP-SECRET", "X"),
        unknown.text.replace("LAP-NONEX", "X"),
        "a confidential complaint's number reads as an unknown one"
    );
    assert!(!secret.text.contains("Jalan berlubang"), "{}", secret.text);
    let empty = get(&t, "/lacak").await;
    empty.assert_status(StatusCode::OK);
    assert!(empty.text.contains("name=\"nomor\""), "{}", empty.text);
}

on_each_backend!(one_address_is_limited_and_told_when_to_come_back: limits_per_address_sqlite, limits_per_address_postgres);

async fn one_address_is_limited_and_told_when_to_come_back(backend: Backend, _: &str) {
    let t = fresh(backend).await;
    let busy = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    for (path, burst, html) in [
        ("/lacak/LAP-1", workflow_host::web::TRACKING_BURST, true),
        (
            "/open311/v2/services.json",
            workflow_host::http::open311::BURST,
            false,
        ),
    ] {
        let mut refused = None;
        for n in 1..=burst + 5 {
            let r = get_from(&t, path, busy).await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                refused = Some((n, r));
                break;
            }
        }
        let (n, r) = refused.unwrap_or_else(|| panic!("{path}: never refused"));
        assert!(
            n > burst,
            "{path}: refused at request {n}, within the burst of {burst}"
        );
        let wait: u64 = r.header("retry-after").parse().unwrap_or(0);
        assert!((1..=60).contains(&wait), "{path}: Retry-After {wait}");
        if html {
            assert!(
                r.content_type().starts_with("text/html"),
                "{}",
                r.content_type()
            );
            assert!(r.text.contains("Terlalu banyak permintaan"), "{}", r.text);
        } else {
            assert_georeport_error(&r, StatusCode::TOO_MANY_REQUESTS, path);
        }
        // Another address is served meanwhile.
        let other = get(&t, path).await;
        assert_ne!(
            other.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            other.text
        );
    }
}
