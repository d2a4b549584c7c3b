//! AWS JSON 1.1 framing: operation from `X-Amz-Target`, SigV4 check, content type, JSON
//! body, dispatch, and the response with `x-amzn-RequestId`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth;
use crate::operations::{self, Context};
use crate::server::AppState;
use crate::service_error::ServiceError;

const TARGET_PREFIX: &str = "AmazonSSM.";
/// KMS's JSON target prefix (the local KMS shares the port).
const KMS_PREFIX: &str = "TrentService.";
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const OPERATIONS: &[&str] = &[
    "StartSession",
    "TerminateSession",
    "ResumeSession",
    "DescribeSessions",
    "CreateDocument",
    "DescribeDocument",
];

/// `POST /`: one SSM API call.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _counted = state.in_flight.enter();
    // STS shares `POST /` when AWS_ENDPOINT_URL points every service here; it speaks the
    // query protocol (form bodies) where SSM speaks JSON.
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        return crate::credential_endpoints::sts(&state, &method, &uri, &headers, &body);
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if operation == format!("{TARGET_PREFIX}TerminateSession") && terminate_hangs(&state, &body) {
        // The terminate-hang hostile mode: no answer for a long while, nothing done.
        tokio::time::sleep(TERMINATE_HANG).await;
    }
    let (status, payload, summary) =
        match process(&state, &operation, &method, &uri, &headers, &body) {
            Ok((value, summary)) => {
                // Fault targets (after authentication, as a broken service answers).
                if let Some(fault) = crate::api_faults::requested_fault(&summary) {
                    if let Some(response) = crate::api_faults::respond(
                        fault,
                        &summary,
                        &state.flaky,
                        &request_id,
                        &value,
                    ) {
                        if state.config.log_requests {
                            eprintln!("{request_id} {operation} fault {fault:?} {summary}");
                        }
                        return response;
                    }
                }
                (StatusCode::OK, value, summary)
            }
            Err(error) => (error.status, error.body(), error.code().to_owned()),
        };
    // Slow answers for timeout and cancellation tests; the summary of a successful call is
    // its target (see config::requested_delay).
    if let Some(delay) = crate::config::requested_delay(&summary) {
        tokio::time::sleep(delay).await;
    }
    if state.config.log_requests {
        eprintln!("{request_id} {operation} {} {summary}", status.as_u16());
    }
    respond(status, &request_id, &payload)
}

/// How long TerminateSession hangs for the terminate-hang hostile mode.
const TERMINATE_HANG: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether this TerminateSession names a session of the terminate-hang hostile mode.
fn terminate_hangs(state: &AppState, body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|input| input["SessionId"].as_str().map(str::to_owned))
        .and_then(|id| state.sessions.target_of(&id))
        .is_some_and(|target| {
            crate::hostile::Hostile::of(&target) == Some(crate::hostile::Hostile::TerminateHang)
        })
}

/// The body as JSON, after checking the content type.
fn json_input(headers: &HeaderMap, body: &[u8]) -> Result<Value, ServiceError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with(CONTENT_TYPE) {
        return Err(ServiceError::framework(
            "SerializationException",
            format!("Content-Type must be {CONTENT_TYPE}, not '{content_type}'."),
        ));
    }
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        ServiceError::framework(
            "SerializationException",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

/// `TrentService.GenerateDataKey` and `TrentService.Decrypt`, signed for `kms`.
fn process_kms(
    state: &AppState,
    operation: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, String), ServiceError> {
    if !matches!(operation, "GenerateDataKey" | "Decrypt") {
        return Err(ServiceError::framework(
            "UnknownOperationException",
            format!("Unknown operation 'TrentService.{operation}'."),
        ));
    }
    let caller = auth::verify(
        &state.config,
        &state.issued,
        "kms",
        method,
        uri,
        headers,
        body,
        SystemTime::now(),
    )?;
    let input = json_input(headers, body)?;
    let region = caller.region.as_str();
    let output = match operation {
        "GenerateDataKey" => crate::kms::generate_data_key(&state.kms, region, &input)?,
        _ => crate::kms::decrypt(&state.kms, region, &input)?,
    };
    let summary = input["KeyId"].as_str().unwrap_or("-").to_owned();
    Ok((output, summary))
}

/// Anything but `POST /`.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let error = ServiceError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!("No operation at {method} {}.", uri.path()),
    );
    respond(error.status, &request_id, &error.body())
}

fn respond(status: StatusCode, request_id: &str, payload: &Value) -> Response {
    let mut response = (status, payload.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// The response value and a short log summary (target or session id), or a service error.
fn process(
    state: &AppState,
    target_header: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, String), ServiceError> {
    if let Some(operation) = target_header.strip_prefix(KMS_PREFIX) {
        return process_kms(state, operation, method, uri, headers, body);
    }
    let operation = target_header
        .strip_prefix(TARGET_PREFIX)
        .filter(|op| OPERATIONS.contains(op))
        .ok_or_else(|| {
            ServiceError::framework(
                "UnknownOperationException",
                format!("Unknown operation '{target_header}'."),
            )
        })?;
    let caller = auth::verify(
        &state.config,
        &state.issued,
        "ssm",
        method,
        uri,
        headers,
        body,
        SystemTime::now(),
    )?;

    let input = json_input(headers, body)?;

    let ctx = Context {
        config: &state.config,
        documents: &state.documents,
        sessions: &state.sessions,
        caller: &caller,
        stream_base: &state.stream_base,
    };
    let output = match operation {
        "StartSession" => operations::start_session(&ctx, &input)?,
        "TerminateSession" => operations::terminate_session(&ctx, &input)?,
        "ResumeSession" => operations::resume_session(&ctx, &input)?,
        "CreateDocument" => operations::create_document(&ctx, &input)?,
        "DescribeDocument" => operations::describe_document(&ctx, &input)?,
        _ => operations::describe_sessions(&ctx, &input)?,
    };
    let summary = ["Target", "SessionId", "Name"]
        .iter()
        .find_map(|k| input.get(k).and_then(Value::as_str))
        .unwrap_or("-")
        .to_owned();
    Ok((output, summary))
}
