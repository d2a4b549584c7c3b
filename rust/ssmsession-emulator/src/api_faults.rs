//! Faults of the HTTP API itself, chosen by the request's `Target`, so tests can drive the
//! client's retry and error paths against a real socket: unavailable service, error pages,
//! bodies that are not (or not whole) JSON, a connection dropped mid-response, a wrong
//! content type, and a flaky target that fails a set number of times before it works.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What a fault target gets instead of a normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiFault {
    /// 503 `ServiceUnavailable` (the SDK retries it).
    Unavailable,
    /// 500 with an HTML page, as a proxy or load balancer sends.
    HtmlError,
    /// 200 whose body is HTML, not JSON.
    NotJson,
    /// 200 whose JSON stops halfway (the HTTP message itself is complete).
    TruncatedJson,
    /// 200 announcing a body length, then the connection dropped after half of it.
    ResetMidBody,
    /// 200 with a valid body labelled `text/html`.
    WrongContentType,
    /// 503 for the first `failures` requests naming this target, then normal answers.
    Flaky { failures: u32 },
    /// 200 with a chunked body that does not end (the endless-body hostile mode).
    EndlessBody,
}

/// Fault targets and their faults (see the README's emulator section).
pub const FAULT_TARGETS: &[(&str, ApiFault)] = &[
    ("i-fault-unavailable", ApiFault::Unavailable),
    ("i-fault-html", ApiFault::HtmlError),
    ("i-fault-notjson", ApiFault::NotJson),
    ("i-fault-truncated", ApiFault::TruncatedJson),
    ("i-fault-reset", ApiFault::ResetMidBody),
    ("i-fault-contenttype", ApiFault::WrongContentType),
];

/// Targets `i-flaky-<n>-<anything>` fail `n` times (at most 10), counted per exact name.
pub const FLAKY_TARGET_PREFIX: &str = "i-flaky-";

/// The fault a target asks for, if any.
pub fn requested_fault(target: &str) -> Option<ApiFault> {
    if let Some((_, fault)) = FAULT_TARGETS.iter().find(|(name, _)| *name == target) {
        return Some(*fault);
    }
    if crate::hostile::Hostile::of(target) == Some(crate::hostile::Hostile::EndlessBody) {
        return Some(ApiFault::EndlessBody);
    }
    let rest = target.strip_prefix(FLAKY_TARGET_PREFIX)?;
    let count = rest.split('-').next()?.parse::<u32>().ok()?;
    Some(ApiFault::Flaky {
        failures: count.min(10),
    })
}

/// Requests seen per flaky target.
#[derive(Default)]
pub struct FlakyCounts(Mutex<HashMap<String, u32>>);

impl FlakyCounts {
    /// Counts this request; true while the target should still fail.
    pub fn should_fail(&self, target: &str, failures: u32) -> bool {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: tests use a fresh name per case; a long-running emulator forgets old ones.
        if counts.len() >= 10_000 {
            counts.clear();
        }
        let seen = counts.entry(target.to_owned()).or_insert(0);
        *seen += 1;
        *seen <= failures
    }
}

fn unavailable(request_id: &str) -> Response {
    let body = serde_json::json!({
        "__type": "ServiceUnavailable",
        "message": "Service is temporarily unavailable. Please try again later."
    });
    with_request_id(
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, crate::json_api::CONTENT_TYPE)],
            body.to_string(),
        )
            .into_response(),
        request_id,
    )
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// The faulty answer for `fault`; `normal` is the body a correct answer would carry.
/// None when a flaky target has failed enough times and should be answered normally.
pub fn respond(
    fault: ApiFault,
    target: &str,
    counts: &FlakyCounts,
    request_id: &str,
    normal: &serde_json::Value,
) -> Option<Response> {
    let json = crate::json_api::CONTENT_TYPE;
    let text = normal.to_string();
    let response = match fault {
        ApiFault::Unavailable => unavailable(request_id),
        ApiFault::Flaky { failures } => {
            if !counts.should_fail(target, failures) {
                return None;
            }
            unavailable(request_id)
        }
        ApiFault::HtmlError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>",
        )
            .into_response(),
        ApiFault::NotJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, json)],
            "<html><body>It works!</body></html>",
        )
            .into_response(),
        ApiFault::TruncatedJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, json)],
            text[..text.len() / 2].to_owned(),
        )
            .into_response(),
        ApiFault::ResetMidBody => {
            let half = Bytes::copy_from_slice(&text.as_bytes()[..text.len() / 2]);
            // The body stream fails after the first half: hyper drops the connection with
            // the announced Content-Length unmet.
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::other("connection dropped by the fault")),
            ];
            let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(json));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
            response
        }
        ApiFault::WrongContentType => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], text).into_response()
        }
        ApiFault::EndlessBody => {
            // A JSON string that never closes, 64 KiB at a time, until the client hangs up
            // (bounded at 64 GiB so that even this loop ends).
            let opening = Bytes::from_static(b"{\"SessionId\":\"");
            let filler = Bytes::from(vec![b'a'; 64 * 1024]);
            let chunks = futures_util::stream::iter(
                std::iter::once(opening)
                    .chain(std::iter::repeat_n(filler, 1 << 20))
                    .map(Ok::<_, std::io::Error>),
            );
            let mut response = Response::new(Body::from_stream(chunks));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(json));
            response
        }
    };
    Some(with_request_id(response, request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_targets_parse() {
        assert_eq!(requested_fault("i-fault-html"), Some(ApiFault::HtmlError));
        assert_eq!(
            requested_fault("i-flaky-2-abc"),
            Some(ApiFault::Flaky { failures: 2 })
        );
        assert_eq!(
            requested_fault("i-flaky-99-x"),
            Some(ApiFault::Flaky { failures: 10 })
        );
        assert_eq!(requested_fault("i-flaky-x"), None);
        assert_eq!(requested_fault("i-0123456789abcdef0"), None);
    }

    #[test]
    fn flaky_targets_fail_their_count_then_work() {
        let counts = FlakyCounts::default();
        assert!(counts.should_fail("i-flaky-2-a", 2));
        assert!(counts.should_fail("i-flaky-2-a", 2));
        assert!(!counts.should_fail("i-flaky-2-a", 2));
        assert!(counts.should_fail("i-flaky-2-b", 2), "counted per name");
    }
}
