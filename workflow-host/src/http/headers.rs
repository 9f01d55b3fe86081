//! Headers every answer carries: no content sniffing, no referrer, and a content
//! security policy that lets a page load nothing but its own inline style (the BA page
//! is the only HTML; it runs no script and embeds nothing from elsewhere).

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// The policy of HTML answers (the printable BA).
pub const HTML_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The policy of every other answer: nothing to load, not to be framed.
pub const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the security headers to an answer.
pub async fn security_headers(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A page that set its own (the web console's, stricter) keeps it.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if html { HTML_POLICY } else { OTHER_POLICY }),
        );
    }
    response
}

/// How evidence is handed out: images are shown in place, anything else (PDF scans) is
/// a download, so a browser never renders an uploaded document as part of the site.
pub fn evidence_disposition(sha256: &str, media_type: &str) -> HeaderValue {
    let (kind, extension) = match media_type {
        "image/jpeg" => ("inline", "jpg"),
        "image/png" => ("inline", "png"),
        "image/gif" => ("inline", "gif"),
        "image/webp" => ("inline", "webp"),
        "application/pdf" => ("attachment", "pdf"),
        _ => ("attachment", "bin"),
    };
    // A digest is lower-case hex: the value is always a valid header.
    HeaderValue::from_str(&format!("{kind}; filename=\"{sha256}.{extension}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}
