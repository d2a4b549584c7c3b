//! Every way a call can fail, with a stable `kind` and `code` that the C ABI puts in its
//! error envelope and the PowerShell module turns into ErrorRecord ids.

use std::error::Error as StdError;

/// Message AWS Tools for PowerShell gives when no credentials resolve.
pub const NO_CREDENTIALS_MESSAGE: &str =
    "No credentials specified or obtained from persisted/shell defaults.";
/// Message AWS Tools for PowerShell gives when no region resolves.
pub const NO_REGION_MESSAGE: &str =
    "No region specified or obtained from persisted/shell defaults.";

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request itself is unusable (bad JSON, contradictory settings).
    #[error("{message}")]
    InvalidRequest { code: &'static str, message: String },

    /// No credential source produced credentials.
    #[error("{}", with_detail(NO_CREDENTIALS_MESSAGE, detail))]
    NoCredentials { detail: Option<String> },

    /// No region source produced a region.
    #[error("{NO_REGION_MESSAGE}")]
    NoRegion,

    /// The service answered with an error (`__type` code and message).
    #[error("{message}")]
    Service {
        code: String,
        message: String,
        request_id: Option<String>,
        http_status: u16,
    },

    /// The endpoint could not be reached (DNS, refused connection, TLS, reset).
    #[error("{message}")]
    Transport { message: String },

    /// A certificate that did not verify, or a proxy that refused or could not be reached:
    /// said with the host, the proxy (never its password) and the reason.
    #[error("{message}")]
    Network { code: &'static str, message: String },

    /// The call took longer than its connect, read or operation timeout.
    #[error("{message}")]
    Timeout { message: String },

    /// The endpoint answered with something that is not a valid SSM response.
    #[error("{message}")]
    InvalidResponse {
        message: String,
        request_id: Option<String>,
        http_status: Option<u16>,
    },

    /// The data channel could not be opened or run (WebSocket, handshake, local port).
    #[error("{message}")]
    DataChannel { code: &'static str, message: String },

    /// A failure inside this library or the SDK that fits nowhere else.
    #[error("{message}")]
    Internal { message: String },
}

/// The AWS Tools sentence first (scripts match on it), the SDK's reasons on the next line.
fn with_detail(base: &str, detail: &Option<String>) -> String {
    match detail {
        Some(d) => format!("{base}\n{d}"),
        None => base.to_string(),
    }
}

impl CoreError {
    /// Every [`CoreError::kind`], for the ABI's list of error kinds.
    pub const KINDS: &'static [&'static str] = &[
        "invalidRequest",
        "credentials",
        "region",
        "service",
        "transport",
        "network",
        "timeout",
        "invalidResponse",
        "dataChannel",
        "internal",
    ];

    /// Broad class, stable across versions: one of [`CoreError::KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::InvalidRequest { .. } => "invalidRequest",
            CoreError::NoCredentials { .. } => "credentials",
            CoreError::NoRegion => "region",
            CoreError::Service { .. } => "service",
            CoreError::Transport { .. } => "transport",
            CoreError::Network { .. } => "network",
            CoreError::Timeout { .. } => "timeout",
            CoreError::InvalidResponse { .. } => "invalidResponse",
            CoreError::DataChannel { .. } => "dataChannel",
            CoreError::Internal { .. } => "internal",
        }
    }

    /// The service's error code for `service` errors (e.g. `TargetNotConnected`), otherwise
    /// a fixed code for the failure.
    pub fn code(&self) -> &str {
        match self {
            CoreError::InvalidRequest { code, .. } => code,
            CoreError::NoCredentials { .. } => "NoCredentials",
            CoreError::NoRegion => "NoRegion",
            CoreError::Service { code, .. } => code,
            CoreError::Transport { .. } => "ConnectionFailure",
            CoreError::Network { code, .. } => code,
            CoreError::Timeout { .. } => "Timeout",
            CoreError::InvalidResponse { .. } => "InvalidResponse",
            CoreError::DataChannel { code, .. } => code,
            CoreError::Internal { .. } => "InternalFailure",
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            CoreError::Service { request_id, .. }
            | CoreError::InvalidResponse { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            CoreError::Service { http_status, .. } => Some(*http_status),
            CoreError::InvalidResponse { http_status, .. } => *http_status,
            _ => None,
        }
    }

    pub(crate) fn invalid_request(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::InvalidRequest {
            code,
            message: message.into(),
        }
    }
}

/// The messages of an error and its sources, joined with ": ", each said once.
///
/// SDK errors wrap each other several layers deep and repeat their text; `Debug` output is
/// not for users. This gives "io error: error trying to connect: tcp connect error:
/// Connection refused (os error 111)" instead.
pub(crate) fn describe_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        let text = text.trim();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(text)) {
            parts.push(text.to_string());
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed() {
        let one_of_each = [
            CoreError::InvalidRequest {
                code: "X",
                message: String::new(),
            },
            CoreError::NoCredentials { detail: None },
            CoreError::NoRegion,
            CoreError::Service {
                code: String::new(),
                message: String::new(),
                request_id: None,
                http_status: 400,
            },
            CoreError::Transport {
                message: String::new(),
            },
            CoreError::Network {
                code: "X",
                message: String::new(),
            },
            CoreError::Timeout {
                message: String::new(),
            },
            CoreError::InvalidResponse {
                message: String::new(),
                request_id: None,
                http_status: None,
            },
            CoreError::DataChannel {
                code: "X",
                message: String::new(),
            },
            CoreError::Internal {
                message: String::new(),
            },
        ];
        let kinds: Vec<&str> = one_of_each.iter().map(CoreError::kind).collect();
        assert_eq!(kinds, CoreError::KINDS);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer failure")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("Connection refused (os error 111)")]
    struct Inner;

    #[test]
    fn chain_joins_distinct_messages() {
        assert_eq!(
            describe_chain(&Outer(Inner)),
            "outer failure: Connection refused (os error 111)"
        );
    }

    #[test]
    fn no_credentials_message_matches_aws_tools_and_keeps_detail() {
        let plain = CoreError::NoCredentials { detail: None };
        assert_eq!(plain.to_string(), NO_CREDENTIALS_MESSAGE);
        let detailed = CoreError::NoCredentials {
            detail: Some("Profile 'x' was not found.".into()),
        };
        assert!(detailed.to_string().ends_with("Profile 'x' was not found."));
        assert_eq!(detailed.kind(), "credentials");
    }
}
