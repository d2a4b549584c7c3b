//! Errors on the wire as the service sends them: a status, `{"__type": code, "message":
//! text}` and the `x-amzn-RequestId` header.

use axum::http::StatusCode;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub status: StatusCode,
    /// As sent in `__type`; may carry a namespace such as `com.amazon.coral.service#`.
    pub wire_type: String,
    pub message: String,
}

impl ServiceError {
    pub fn new(
        status: StatusCode,
        wire_type: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            wire_type: wire_type.into(),
            message: message.into(),
        }
    }

    /// 400 with a plain (un-namespaced) code, as the modelled SSM errors arrive.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Errors raised by the service framework (auth, serialisation) carry its namespace.
    pub fn framework(code: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("com.amazon.coral.service#{code}"),
            message,
        )
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "com.amazon.coral.validate#ValidationException",
            message,
        )
    }

    /// The code without namespace, as SDKs report it.
    pub fn code(&self) -> &str {
        self.wire_type
            .rsplit_once('#')
            .map(|(_, code)| code)
            .unwrap_or(&self.wire_type)
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "__type": self.wire_type, "message": self.message })
    }
}
