//! What a successful StartSession returns: the three API fields plus the response metadata
//! AWS Tools exposes on `StartSessionResponse` (request id, HTTP status, content length).

use serde::Serialize;

/// The StartSession response, serialised with the AWS API's field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartSessionOutput {
    pub session_id: Option<String>,
    pub stream_url: Option<String>,
    pub token_value: Option<String>,
    pub request_id: Option<String>,
    pub http_status_code: u16,
    pub content_length: Option<u64>,
}
