//! The JSON envelope every export returns, one shape for all: `{"Ok":true,"Data":…}`,
//! `{"Ok":false,"Error":{…}}`, and for a call still running `{"Ok":true,"Pending":true,
//! "Data":{"CallId":n}}`. PascalCase throughout, like the data inside.

use serde::Serialize;
use serde_json::{json, Value};
use ssmsession_core::CoreError;

/// `Error` member of a failure envelope. `Kind` (one of `contract::error_kinds`) and `Code`
/// are stable identifiers.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    /// One of a fixed set (`contract::error_kinds`): a static string keeps the body small.
    pub kind: &'static str,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub http_status: Option<u16>,
    /// What the user must be told about the client the failed call used (an opted-in
    /// plain-text endpoint), as on success; absent when there is nothing to tell.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_warnings: Vec<String>,
}

impl ErrorBody {
    fn local(kind: &'static str, code: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.to_owned(),
            message: message.into(),
            request_id: None,
            http_status: None,
            client_warnings: Vec::new(),
        }
    }

    /// The request is unusable: NULL, not UTF-8, not the JSON shape, an unknown handle.
    pub fn invalid_request(code: &str, message: impl Into<String>) -> Self {
        Self::local("invalidRequest", code, message)
    }

    /// A panic was caught at the boundary: a bug in this library, never the user's fault.
    pub fn panic(detail: String) -> Self {
        Self::local(
            "panic",
            "Panic",
            format!("Internal error in the SSMSession native library (please report it): {detail}"),
        )
    }

    /// The call was cancelled before it finished.
    pub fn cancelled() -> Self {
        Self::local("cancelled", "Cancelled", "The call was cancelled.")
    }

    pub fn unknown_call(id: u64) -> Self {
        Self::invalid_request(
            "UnknownCall",
            format!("No open call has id {id}; it finished and was collected, was cancelled, or never existed."),
        )
    }

    pub fn internal(code: &str, message: impl Into<String>) -> Self {
        Self::local("internal", code, message)
    }
}

impl From<CoreError> for ErrorBody {
    fn from(error: CoreError) -> Self {
        Self {
            kind: error.kind(),
            code: error.code().to_owned(),
            message: error.to_string(),
            request_id: error.request_id().map(str::to_owned),
            http_status: error.http_status(),
            client_warnings: Vec::new(),
        }
    }
}

pub fn success(data: Value) -> String {
    json!({ "Ok": true, "Data": data }).to_string()
}

pub fn failure(error: ErrorBody) -> String {
    json!({ "Ok": false, "Error": error }).to_string()
}

/// A started call that has not finished yet: wait for it, or cancel it, by its id.
pub fn pending(call_id: u64) -> String {
    json!({ "Ok": true, "Pending": true, "Data": { "CallId": call_id } }).to_string()
}
