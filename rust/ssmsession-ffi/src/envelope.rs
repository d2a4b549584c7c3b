//! The JSON envelope every export returns.

use serde::Serialize;
use serde_json::{json, Value};
use ssmsession_core::CoreError;

/// `error` member of a failure envelope. `kind` and `code` are stable identifiers.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub kind: String,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub http_status: Option<u16>,
}

impl ErrorBody {
    fn local(kind: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            code: code.to_owned(),
            message: message.into(),
            request_id: None,
            http_status: None,
        }
    }

    /// The bytes crossing the boundary are unusable (NULL, not UTF-8, not the JSON shape).
    pub fn invalid_input(code: &str, message: impl Into<String>) -> Self {
        Self::local("invalidInput", code, message)
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
        Self::invalid_input(
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
            kind: error.kind().to_owned(),
            code: error.code().to_owned(),
            message: error.to_string(),
            request_id: error.request_id().map(str::to_owned),
            http_status: error.http_status(),
        }
    }
}

pub fn success(data: Value) -> String {
    json!({ "ok": true, "data": data }).to_string()
}

pub fn failure(error: ErrorBody) -> String {
    json!({ "ok": false, "error": error }).to_string()
}
