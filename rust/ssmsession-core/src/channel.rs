//! A started session's data channel: the upgrade signed with the client's credentials,
//! the proxy and trusted roots of the client's network configuration, the handshake, and
//! the [`ApiControl`] that keeps the session alive with ResumeSession and ends it with
//! TerminateSession through the same client. Port forwarding, shells, commands and
//! any-session calls open their channels here.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use once_cell::sync::Lazy;
use ssmsession_datachannel::crypto::Encryption;
use ssmsession_datachannel::driver::{ResumeError, Resumed, SessionControl};
use ssmsession_datachannel::session::{open_session_with, SessionError};
use ssmsession_datachannel::transport::{ChannelConfig, Signing, TransportError};
use uuid::Uuid;

use crate::api::{classify, describe_destination};
use crate::client::{CachedClient, ClientCache};
use crate::error::CoreError;
use crate::request::ClientSettings;

/// The version reported to agents: at least 1.2.764.0, so that agents sign-check the
/// upgrade, multiplex port sessions and leave smux keep-alive off (protocol notes §1.4).
pub const CLIENT_VERSION: &str = "1.2.764.0";
/// One client id per process, kept across reconnects.
static CLIENT_ID: Lazy<Uuid> = Lazy::new(Uuid::new_v4);
/// Default wait for the WebSocket and the handshake (the agent's own limit is 15 s).
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes in flight at most; the window in messages follows from the chunk size. Large
/// enough for ~40 MB/s at 50 ms round trips, small enough that a busy agent's queue stays
/// well under the retransmission timeout.
pub(crate) const BYTES_IN_FLIGHT: usize = 2 * 1024 * 1024;

/// The environment variable that sets the keepalive interval in seconds (0: off) when a
/// call does not.
pub const KEEPALIVE_VARIABLE: &str = "SSMSESSION_KEEPALIVE_SECONDS";

/// The keepalive interval: the call's, else `SSMSESSION_KEEPALIVE_SECONDS` from the
/// caller's environment, else 30 s. Zero turns the periodic pings off.
pub(crate) fn keepalive(seconds: Option<u64>, client: &ClientSettings) -> Option<Duration> {
    let configured = seconds.or_else(|| {
        crate::environment::env_for(client.environment.as_ref())
            .get(KEEPALIVE_VARIABLE)
            .ok()
            .and_then(|value| value.trim().parse().ok())
    });
    match configured {
        Some(0) => None,
        Some(seconds) => Some(Duration::from_secs(seconds.min(86_400))),
        None => Some(ssmsession_datachannel::transport::DEFAULT_KEEPALIVE),
    }
}

/// ResumeSession and TerminateSession for one session through one client.
pub(crate) struct ApiControl {
    client: aws_sdk_ssm::Client,
    credentials: SharedCredentialsProvider,
    session_id: String,
    where_to: String,
    signing_region: String,
    /// `SSMSESSION_ALLOW_HTTP`: plain-text stream URLs are allowed on other hosts than
    /// loopback (see `plain_text`).
    allow_plain_text: bool,
}

impl ApiControl {
    /// The same rules for a URL ResumeSession hands out as for StartSession's: a WebSocket
    /// URL, encrypted unless on loopback or allowed.
    fn check_resumed_url(&self, url: &str) -> Result<(), ResumeError> {
        if !(url.starts_with("wss://") || url.starts_with("ws://")) {
            return Err(ResumeError::permanent(format!(
                "ResumeSession returned a stream URL that is not a WebSocket URL ('{}').",
                crate::plain_text::shown_host(url)
            )));
        }
        crate::plain_text::check(url, self.allow_plain_text)
            .map(|_| ())
            .map_err(|e| ResumeError::permanent(format!("ResumeSession's stream URL: {e}")))
    }
}

impl SessionControl for ApiControl {
    async fn resume(&self) -> Result<Option<Resumed>, ResumeError> {
        let output = self
            .client
            .resume_session()
            .session_id(&self.session_id)
            .send()
            .await
            .map_err(|e| {
                let error = classify(e, &self.where_to);
                // The service said no (the session is gone, access denied, the request is
                // wrong): asking again cannot help. Throttling and network trouble can pass.
                let refused = matches!(
                    error.code(),
                    "DoesNotExistException"
                        | "AccessDeniedException"
                        | "InvalidParameters"
                        | "ValidationException"
                        | "UnrecognizedClientException"
                );
                if refused {
                    ResumeError::permanent(error.to_string())
                } else {
                    ResumeError::transient(error.to_string())
                }
            })?;
        let token = output.token_value.unwrap_or_default();
        if token.is_empty() {
            return Ok(None);
        }
        if let Some(url) = output.stream_url.as_deref().filter(|u| !u.is_empty()) {
            self.check_resumed_url(url)?;
        }
        // Fresh credentials: the original ones may have expired during a long session.
        let signing = signing(&self.credentials, &self.signing_region).await.ok();
        Ok(Some(Resumed {
            token_value: token,
            stream_url: output.stream_url,
            signing,
        }))
    }

    async fn terminate(&self) -> Result<(), String> {
        self.client
            .terminate_session()
            .session_id(&self.session_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, &self.where_to).to_string())
    }
}

/// Credentials to sign the upgrade with.
pub(crate) async fn signing(
    provider: &SharedCredentialsProvider,
    region: &str,
) -> Result<Signing, CoreError> {
    let credentials = crate::credentials::fetch(provider).await?;
    Ok(Signing {
        credentials,
        region: region.to_owned(),
    })
}

pub(crate) fn data_channel_error(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::DataChannel {
        code,
        message: message.into(),
    }
}

fn describe_session_error(error: SessionError) -> CoreError {
    match error {
        SessionError::ChannelClosed(reason) => data_channel_error("ChannelClosed", reason),
        SessionError::HandshakeTimeout(after) => data_channel_error(
            "HandshakeTimeout",
            format!(
                "The agent did not complete the session handshake within {} s.",
                after.as_secs()
            ),
        ),
        SessionError::Refused(reason) => data_channel_error("SessionRefused", reason),
        SessionError::ClosedDuringHandshake => data_channel_error(
            "DataChannelClosed",
            "The data channel closed before the session handshake completed; the token may be stale or already used (start or resume the session again).",
        ),
        SessionError::Transport(TransportError::Network(failure)) => CoreError::Network {
            code: failure.code,
            message: failure.message,
        },
        SessionError::Transport(e) => data_channel_error(
            "DataChannelConnectFailed",
            format!("Could not open the session's data channel: {e}"),
        ),
        other => data_channel_error("DataChannelFailed", other.to_string()),
    }
}

/// A session's data channel, opened and past its handshake, with what keeps it going.
pub(crate) struct OpenedChannel {
    pub(crate) opened: ssmsession_datachannel::session::OpenedSession,
    pub(crate) config: ChannelConfig,
    pub(crate) control: ApiControl,
    pub(crate) agent_version: String,
    pub(crate) customer_message: String,
    /// The channel's route, described (see [`ssmsession_datachannel::network::NetworkConfig::describe_route`]).
    pub(crate) network: String,
}

/// The data channel of a started session: which one, and how to reach it.
pub(crate) struct ChannelRequest<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) stream_url: &'a str,
    pub(crate) token_value: &'a str,
    pub(crate) handshake_timeout_ms: Option<u64>,
    pub(crate) client: &'a ClientSettings,
    /// Unacknowledged messages kept at most.
    pub(crate) window: usize,
    /// For sessions the agent may encrypt: the session's target (KMS encryption context);
    /// None for port sessions, which are never encrypted.
    pub(crate) kms_target: Option<&'a str>,
    /// For shells: take a silent agent for a shell started without a handshake after this
    /// long (see `open_session_with`).
    pub(crate) quiet_shell_after: Option<Duration>,
    /// The call's keepalive interval in seconds, if it gave one (see [`keepalive`]).
    pub(crate) keep_alive_seconds: Option<u64>,
}

/// Checks the request, signs the upgrade with the client's credentials, and runs the
/// handshake.
pub(crate) async fn open_channel(
    cache: &ClientCache,
    request: ChannelRequest<'_>,
) -> Result<OpenedChannel, CoreError> {
    for (name, value) in [
        ("SessionId", request.session_id),
        ("StreamUrl", request.stream_url),
        ("TokenValue", request.token_value),
    ] {
        if value.trim().is_empty() {
            return Err(CoreError::InvalidRequest {
                code: "MissingParameter",
                message: format!("{name} is required to open a session's data channel."),
            });
        }
    }
    // The service hands out wss:// stream URLs; a ws:// one is plain text (see plain_text).
    let environment = crate::environment::env_for(request.client.environment.as_ref());
    let allow_plain_text = crate::plain_text::allowed_by(
        environment
            .get(crate::plain_text::ALLOW_VARIABLE)
            .ok()
            .as_deref(),
    );
    crate::plain_text::check(request.stream_url, allow_plain_text)?;
    let CachedClient {
        ssm: client,
        resolution,
        credentials,
        kms,
        network,
    } = cache.client(request.client).await?;
    let signing_region = request
        .client
        .signing_region
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or(resolution.region);
    let config = ChannelConfig {
        stream_url: request.stream_url.to_owned(),
        token_value: request.token_value.to_owned(),
        client_id: *CLIENT_ID,
        client_version: CLIENT_VERSION.to_owned(),
        // Best effort, as AWS's plugin before 1.2.764.0 never signed: without credentials
        // now (an expired SSO token, a failing credential process) the upgrade goes
        // unsigned and the service decides.
        signing: match signing(&credentials, &signing_region).await {
            Ok(signing) => Some(signing),
            Err(e) => {
                tracing::debug!(%e, "no credentials to sign the data channel's upgrade; continuing unsigned");
                None
            }
        },
        network: (*network).clone(),
        keepalive: keepalive(request.keep_alive_seconds, request.client),
    };
    let timeout = request
        .handshake_timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT);
    let encryption = request.kms_target.map(|target| Encryption {
        session_id: request.session_id.to_owned(),
        provider: Arc::new(crate::kms::KmsKeyProvider::new(kms)),
        target: target.to_owned(),
    });
    let opened = open_session_with(
        &config,
        timeout,
        request.window,
        encryption.as_ref(),
        request.quiet_shell_after,
    )
    .await
    .map_err(describe_session_error)?;
    let agent_version = opened.agent_version.to_string();
    let customer_message = opened.customer_message.clone();
    let control = ApiControl {
        where_to: describe_destination(&client, request.client.endpoint_url.as_deref()),
        client,
        credentials,
        session_id: request.session_id.to_owned(),
        signing_region,
        allow_plain_text,
    };
    let network = config.network.describe_route(&config.stream_url);
    Ok(OpenedChannel {
        opened,
        config,
        control,
        agent_version,
        customer_message,
        network,
    })
}

/// The stall limit of a call: its milliseconds, or the plugin's 5 minutes.
pub(crate) fn stall_timeout(ms: Option<u64>) -> Duration {
    ms.filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .unwrap_or(ssmsession_datachannel::engine::DEFAULT_UNACKNOWLEDGED_LIMIT)
}
