//! What every SSM API call shares: where it goes (for messages), how its SDK errors become
//! a [`CoreError`] (service errors, network failures said plainly, timeouts, transport),
//! and the response's Content-Length that AWS Tools shows and the SDK's output lacks.

use std::sync::{Arc, Mutex};

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::RequestId;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::error::{describe_chain, CoreError};

/// "endpoint 'http://127.0.0.1:5061'" or "region 'eu-west-3'", for transport messages.
pub(crate) fn describe_destination(
    client: &aws_sdk_ssm::Client,
    endpoint_url: Option<&str>,
) -> String {
    match endpoint_url.filter(|u| !u.is_empty()) {
        Some(url) => format!("endpoint '{url}'"),
        None => format!(
            "region '{}'",
            client
                .config()
                .region()
                .map(|r| r.as_ref())
                .unwrap_or("unknown")
        ),
    }
}

/// Turns any SSM operation's SDK error into a [`CoreError`].
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>, where_to: &str) -> CoreError
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(context) => {
            let http_status = context.raw().status().as_u16();
            let error = context.err();
            let request_id = error.request_id().map(str::to_owned);
            match error.code() {
                Some(code) => CoreError::Service {
                    code: code.to_owned(),
                    message: error
                        .message()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("{code} (HTTP {http_status})")),
                    request_id,
                    http_status,
                },
                None => CoreError::InvalidResponse {
                    message: format!(
                        "The SSM service at {where_to} returned HTTP {http_status} without an error code."
                    ),
                    request_id,
                    http_status: Some(http_status),
                },
            }
        }
        SdkError::TimeoutError(_) => CoreError::Timeout {
            message: format!("The call to the SSM service at {where_to} timed out."),
        },
        SdkError::DispatchFailure(failure) => {
            if let Some(network) = failure
                .as_connector_error()
                .and_then(|e| crate::http_client::network_failure(e))
            {
                return CoreError::Network {
                    code: network.code,
                    message: network.message,
                };
            }
            let cause = failure
                .as_connector_error()
                .map(|e| describe_chain(e))
                .unwrap_or_else(|| "unknown dispatch failure".to_owned());
            if failure.is_timeout() {
                CoreError::Timeout {
                    message: format!(
                        "The call to the SSM service at {where_to} timed out: {cause}"
                    ),
                }
            } else {
                CoreError::Transport {
                    message: format!("Could not reach the SSM service at {where_to}: {cause}"),
                }
            }
        }
        SdkError::ResponseError(ref failure) => {
            let http_status = failure.raw().status().as_u16();
            let request_id = failure
                .raw()
                .headers()
                .get("x-amzn-requestid")
                .map(str::to_owned);
            let cause = describe_chain(&err);
            let message = if crate::response_limit::is_over_limit(&cause) {
                format!(
                    "The SSM service at {where_to} sent a response body larger than {} KiB (HTTP {http_status}); real answers are a few KB, so it was not read further. A proxy or endpoint that is not SSM may be answering.",
                    crate::response_limit::MAX_RESPONSE_BODY / 1024
                )
            } else {
                format!(
                    "The SSM service at {where_to} sent a response that could not be read (HTTP {http_status}): {cause}"
                )
            };
            CoreError::InvalidResponse {
                message,
                request_id,
                http_status: Some(http_status),
            }
        }
        other => CoreError::Internal {
            message: describe_chain(&other),
        },
    }
}

/// Records the response's Content-Length, which AWS Tools shows as `ContentLength` and the
/// SDK's typed output does not carry.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContentLengthCapture(Arc<Mutex<Option<u64>>>);

impl ContentLengthCapture {
    pub(crate) fn get(&self) -> Option<u64> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Intercept for ContentLengthCapture {
    fn name(&self) -> &'static str {
        "ContentLengthCapture"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let length = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|v| v.parse().ok());
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = length;
        Ok(())
    }
}
