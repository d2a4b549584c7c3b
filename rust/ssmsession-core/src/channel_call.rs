//! The request shared by command and shell sessions: a started session's channel details,
//! its target (for KMS) and the client settings.

use serde::{Deserialize, Serialize};

use ssmsession_datachannel::session::DEFAULT_WINDOW;

use crate::channel::ChannelRequest;
use crate::request::ClientSettings;

/// Open the data channel of a started command or shell session (sessions the agent may
/// encrypt with KMS).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChannelCall {
    pub session_id: String,
    pub stream_url: String,
    pub token_value: String,
    /// The session's target: the KMS encryption context names it when the agent encrypts
    /// the session (without it, an encrypted session is refused).
    pub target: Option<String>,
    /// Leave the session open on the service when stopped from this side.
    #[serde(default)]
    pub keep_session: bool,
    pub handshake_timeout_ms: Option<u64>,
    /// Gives the session up when the agent leaves data unacknowledged this long.
    pub stall_timeout_ms: Option<u64>,
    /// WebSocket keepalive ping interval; 0 turns the pings off (default: 30 s, or
    /// `SSMSESSION_KEEPALIVE_SECONDS`).
    pub keep_alive_seconds: Option<u64>,
    /// Commands only: the marker of the exit-code trailer a wrapped command prints last
    /// (see `ssmsession_datachannel::exit_trailer`); 8 to 64 letters and digits.
    pub exit_marker: Option<String>,
    #[serde(default)]
    pub client: ClientSettings,
}

/// What the caller learns when the session's channel is open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelStartOutput {
    pub session_id: String,
    pub agent_version: String,
    pub customer_message: String,
    /// How the data channel connects: its host, directly or through which proxy, and
    /// which roots TLS trusts (for the caller's debug stream).
    pub network: String,
}

impl ChannelCall {
    /// What opening its channel needs; the target, when given, is offered for KMS.
    pub(crate) fn channel_request(&self) -> ChannelRequest<'_> {
        ChannelRequest {
            session_id: &self.session_id,
            stream_url: &self.stream_url,
            token_value: &self.token_value,
            handshake_timeout_ms: self.handshake_timeout_ms,
            client: &self.client,
            window: DEFAULT_WINDOW,
            kms_target: self.target.as_deref().filter(|t| !t.is_empty()),
            quiet_shell_after: None,
            keep_alive_seconds: self.keep_alive_seconds,
        }
    }
}
