//! The StartSession call: request → SDK → [`StartSessionOutput`] or a classified
//! [`CoreError`].

use aws_sdk_ssm::operation::RequestId;

use crate::api::{classify, describe_destination, ContentLengthCapture};
use crate::client::ClientCache;
use crate::error::CoreError;
use crate::request::StartSessionCall;
use crate::response::StartSessionOutput;

/// Calls `StartSession` with a client from `cache`.
pub async fn start_session(
    cache: &ClientCache,
    call: StartSessionCall,
) -> Result<StartSessionOutput, CoreError> {
    let client = cache.client(&call.client).await?.ssm;
    let where_to = describe_destination(&client, call.client.endpoint_url.as_deref());
    let content_length = ContentLengthCapture::default();

    let result = client
        .start_session()
        .set_target(call.target)
        .set_document_name(call.document_name)
        .set_parameters(call.parameters.map(|p| p.into_iter().collect()))
        .set_reason(call.reason)
        .customize()
        .interceptor(content_length.clone())
        .send()
        .await;

    match result {
        Ok(output) => Ok(StartSessionOutput {
            request_id: output.request_id().map(str::to_owned),
            session_id: output.session_id,
            stream_url: output.stream_url,
            token_value: output.token_value,
            http_status_code: 200,
            content_length: content_length.get(),
        }),
        Err(err) => Err(classify(err, &where_to)),
    }
}
