//! The OpenAPI document: the routes as [`api`](super::api) declares them, with the
//! document's title, the bearer scheme, and a problem body on every error answer.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::OpenApi;

use super::answers::{CommandAnswer, Problem};

/// The document's frame: its title and description, and the schemas that answers
/// name by reference.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aduan",
        description = "Follow-up of LAPOR!-SP4N complaints under the liaison-officer SOP. Errors are \
                       application/problem+json (`Problem`): 400 malformed, 401 no or bad token, 403 role or \
                       agency, 404, 409 concurrent change or state conflict, 413 too large, 415 media type, \
                       422 an SOP rule refused it (`rule` names it), 503 unavailable (with Retry-After)."
    ),
    components(schemas(CommandAnswer, Problem))
)]
struct Frame;

/// What an error status means, for the document.
fn meaning(status: u16) -> &'static str {
    match status {
        400 => "Malformed: body, id, query, cursor, limit or header",
        401 => "No token, or an unknown or revoked one",
        403 => "The role or agency may not do this",
        404 => "No such complaint, BA or evidence",
        409 => "The complaint's state does not allow it, or concurrent changes kept winning",
        413 => "The body is larger than the limit",
        415 => "Not JSON, or not the photo or scan it claims to be",
        422 => "An SOP rule refused it; `rule` names it",
        503 => "The database cannot be reached, or the host is busy; retry after Retry-After",
        _ => "Refused",
    }
}

/// A schema reference to `name` under `components/schemas`, as a JSON body.
pub fn json_body(name: &str) -> Content {
    Content::new(Some(Ref::from_schema_name(name)))
}

/// Problem answers for `statuses`, for a route's responses.
pub fn problem_statuses(statuses: &[u16]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    statuses
        .iter()
        .map(|s| (s.to_string(), RefOr::T(problem(*s))))
        .collect()
}

fn problem(status: u16) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(meaning(status))
        .content("application/problem+json", json_body("Problem"))
        .build()
}

/// Gives every error answer that declares no body the problem body, and a description
/// if it has none.
fn problems_everywhere(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for op in operations_mut(item) {
            for (status, response) in op.responses.responses.iter_mut() {
                let Ok(code) = status.parse::<u16>() else {
                    continue;
                };
                if code < 400 {
                    continue;
                }
                if let RefOr::T(r) = response {
                    if r.content.is_empty() {
                        *r = problem(code);
                    } else if r.description.is_empty() {
                        r.description = meaning(code).to_owned();
                    }
                }
            }
        }
    }
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The document, built once from the route declaration.
pub fn document() -> Document {
    static DOCUMENT: LazyLock<Document> = LazyLock::new(|| {
        // The limit does not show in the document; any will do.
        let mut doc = Frame::openapi().merge_from(super::api(0).into_openapi());
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        problems_everywhere(&mut doc);
        doc
    });
    DOCUMENT.clone()
}

/// Every operation of a document as (lower-case method, path), in the order of the
/// declaration (`preserve_path_order`), a path's POST before its GET.
pub fn operations(doc: &Document) -> Vec<(String, String)> {
    let methods = [
        (HttpMethod::Post, "post"),
        (HttpMethod::Get, "get"),
        (HttpMethod::Put, "put"),
        (HttpMethod::Patch, "patch"),
        (HttpMethod::Delete, "delete"),
    ];
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, name) in &methods {
            let present = match method {
                HttpMethod::Get => item.get.is_some(),
                HttpMethod::Post => item.post.is_some(),
                HttpMethod::Put => item.put.is_some(),
                HttpMethod::Patch => item.patch.is_some(),
                HttpMethod::Delete => item.delete.is_some(),
                _ => false,
            };
            if present {
                out.push(((*name).to_owned(), path.clone()));
            }
        }
    }
    out
}

/// This OpenAPI document (anyone).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> impl IntoResponse {
    static TEXT: LazyLock<String> =
        LazyLock::new(|| serde_json::to_string(&document()).unwrap_or_default());
    ([(header::CONTENT_TYPE, "application/json")], TEXT.as_str())
}

/// The route table of `docs/api.md`, rendered from the document.
pub fn markdown_routes() -> String {
    let doc = serde_json::to_value(document()).unwrap_or_default();
    let mut out = String::from("| method | path | what (who) |\n|---|---|---|\n");
    for (method, path) in operations(&document()) {
        let summary = doc["paths"][&path][&method]["summary"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        out.push_str(&format!(
            "| {} | `{path}` | {summary} |\n",
            method.to_uppercase()
        ));
    }
    out
}
