//! Port forwarding for a started session: opens its data channel (see [`crate::channel`]),
//! listens locally, and forwards each local connection through the session.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ssmsession_datachannel::bridge::Chunking;
use ssmsession_datachannel::port::{
    start_port_forward as start_forward, PortError, PortForward, PortMode, PortOptions,
};

use crate::channel::{
    data_channel_error, open_channel, stall_timeout, ChannelRequest, OpenedChannel, BYTES_IN_FLIGHT,
};
use crate::client::ClientCache;
use crate::error::CoreError;
use crate::request::ClientSettings;

/// Open the data channel of a started port session and forward a local port through it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PortForwardCall {
    pub session_id: String,
    pub stream_url: String,
    pub token_value: String,
    /// Overrides the session's `localPortNumber`; 0 picks a free port.
    pub local_port_number: Option<u16>,
    /// Bytes per message (default 32 KiB; the reference plugin sends 1 KiB).
    pub chunk_size: Option<usize>,
    /// Pause after each message in microseconds (the reference: 1000); absent or 0 = none.
    pub pace_microseconds: Option<u64>,
    /// Leave the session open on the service when forwarding stops.
    #[serde(default)]
    pub keep_session: bool,
    pub handshake_timeout_ms: Option<u64>,
    /// Gives the session up when the agent leaves data unacknowledged this long (default
    /// 300 000, the plugin's 3000 retries at 100 ms).
    pub stall_timeout_ms: Option<u64>,
    /// WebSocket keepalive ping interval (see [`crate::channel::keepalive`]); 0 turns the pings off.
    pub keep_alive_seconds: Option<u64>,
    #[serde(default)]
    pub client: ClientSettings,
}

/// What the caller needs to use the forward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortForwardOutput {
    pub session_id: String,
    pub local_address: String,
    pub local_port: u16,
    pub mode: PortMode,
    pub agent_version: String,
    pub customer_message: String,
    /// How the data channel connects (see [`crate::ChannelStartOutput::network`]).
    pub network: String,
}

/// Opens the channel and starts forwarding; the returned handle runs in the background.
pub async fn start_port_forward(
    cache: &ClientCache,
    call: PortForwardCall,
) -> Result<(PortForward, PortForwardOutput), CoreError> {
    let chunking = Chunking {
        size: call.chunk_size.unwrap_or(Chunking::default().size),
        pace: call
            .pace_microseconds
            .filter(|p| *p > 0)
            .map(Duration::from_micros),
    }
    .clamped();
    let OpenedChannel {
        opened,
        config,
        control,
        agent_version,
        customer_message,
        network,
    } = open_channel(
        cache,
        ChannelRequest {
            session_id: &call.session_id,
            stream_url: &call.stream_url,
            token_value: &call.token_value,
            handshake_timeout_ms: call.handshake_timeout_ms,
            client: &call.client,
            window: (BYTES_IN_FLIGHT / chunking.size).clamp(64, 10_000),
            kms_target: None,
            quiet_shell_after: None,
            keep_alive_seconds: call.keep_alive_seconds,
        },
    )
    .await?;
    let options = PortOptions {
        chunking,
        local_port: call.local_port_number,
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        keep_session: call.keep_session,
        stall_timeout: stall_timeout(call.stall_timeout_ms),
    };
    let forward = start_forward(opened, config, options, control)
        .await
        .map_err(|e| match e {
            PortError::NotAPortSession(kind) => data_channel_error(
                "NotAPortSession",
                format!("Session {} is a {kind} session, not a port forwarding session; start it with AWS-StartPortForwardingSession or AWS-StartPortForwardingSessionToRemoteHost.", call.session_id),
            ),
            PortError::Listen { address, source } => data_channel_error(
                "LocalPortUnavailable",
                format!("Could not listen on {address}: {source}. Choose another LocalPortNumber, or 0 for any free port."),
            ),
        })?;
    let output = PortForwardOutput {
        session_id: call.session_id,
        local_address: forward.local_addr.ip().to_string(),
        local_port: forward.local_addr.port(),
        mode: forward.mode,
        agent_version,
        customer_message,
        network,
    };
    Ok((forward, output))
}
