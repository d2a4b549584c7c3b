//! A cap on the size of every SSM and KMS response body. Real answers are a few KB; the SDK
//! reads a body whole before it parses it, so an endpoint that sends an endless body (a
//! broken proxy, a hostile peer) would otherwise fill the caller's process. Beyond the cap
//! the read fails and the call reports what happened.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

/// The largest response body read: generous next to the few KB real answers take.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// What the body reader says when the cap is reached (http_body_util's `LengthLimitError`),
/// found in the error chain to explain the failure.
pub(crate) const LIMIT_ERROR_TEXT: &str = "length limit exceeded";

/// Wraps each response body in a reader that fails after [`MAX_RESPONSE_BODY`] bytes.
#[derive(Debug, Default)]
pub(crate) struct ResponseBodyLimit;

impl Intercept for ResponseBodyLimit {
    fn name(&self) -> &'static str {
        "ResponseBodyLimit"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() =
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_RESPONSE_BODY));
        Ok(())
    }
}

/// Whether an error's text says the cap was reached.
pub(crate) fn is_over_limit(description: &str) -> bool {
    description.contains(LIMIT_ERROR_TEXT)
}
