//! TerminateSession and ResumeSession: the two calls on a session that already exists.

use aws_sdk_ssm::operation::RequestId;
use serde::{Deserialize, Serialize};

use crate::api::{classify, describe_destination, ContentLengthCapture};
use crate::client::ClientCache;
use crate::error::CoreError;
use crate::request::ClientSettings;

/// A call naming one session.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SessionCall {
    /// Required by the service; an absent id comes back as its validation error.
    pub session_id: Option<String>,
    #[serde(default)]
    pub client: ClientSettings,
}

/// The TerminateSession response with AWS Tools' metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminateSessionOutput {
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub http_status_code: u16,
    pub content_length: Option<u64>,
}

/// The ResumeSession response with AWS Tools' metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResumeSessionOutput {
    pub session_id: Option<String>,
    pub stream_url: Option<String>,
    pub token_value: Option<String>,
    pub request_id: Option<String>,
    pub http_status_code: u16,
    pub content_length: Option<u64>,
}

/// Calls `TerminateSession`.
pub async fn terminate_session(
    cache: &ClientCache,
    call: SessionCall,
) -> Result<TerminateSessionOutput, CoreError> {
    let client = cache.client(&call.client).await?.ssm;
    let where_to = describe_destination(&client, call.client.endpoint_url.as_deref());
    let content_length = ContentLengthCapture::default();
    let output = client
        .terminate_session()
        .set_session_id(call.session_id)
        .customize()
        .interceptor(content_length.clone())
        .send()
        .await
        .map_err(|e| classify(e, &where_to))?;
    Ok(TerminateSessionOutput {
        request_id: output.request_id().map(str::to_owned),
        session_id: output.session_id,
        http_status_code: 200,
        content_length: content_length.get(),
    })
}

/// Calls `ResumeSession`.
pub async fn resume_session(
    cache: &ClientCache,
    call: SessionCall,
) -> Result<ResumeSessionOutput, CoreError> {
    let client = cache.client(&call.client).await?.ssm;
    let where_to = describe_destination(&client, call.client.endpoint_url.as_deref());
    let content_length = ContentLengthCapture::default();
    let output = client
        .resume_session()
        .set_session_id(call.session_id)
        .customize()
        .interceptor(content_length.clone())
        .send()
        .await
        .map_err(|e| classify(e, &where_to))?;
    Ok(ResumeSessionOutput {
        request_id: output.request_id().map(str::to_owned),
        session_id: output.session_id,
        stream_url: output.stream_url,
        token_value: output.token_value,
        http_status_code: 200,
        content_length: content_length.get(),
    })
}
