//! Whatever session was started, run the way its agent asks (the handshake's SessionType,
//! not the document name): what the drop-in `session-manager-plugin` does with the
//! StartSession response the AWS CLI hands it.

use std::net::{IpAddr, Ipv4Addr};

use ssmsession_datachannel::bridge::Chunking;
use ssmsession_datachannel::command::{start_command, CommandOptions};
use ssmsession_datachannel::handshake::SessionKind;
use ssmsession_datachannel::port::{start_port_forward, PortError, PortOptions};
use ssmsession_datachannel::shell::{is_byte_stream, start_byte_stream, start_shell, ShellOptions};

use crate::channel::{data_channel_error, open_channel, stall_timeout, BYTES_IN_FLIGHT};
use crate::channel_call::{ChannelCall, ChannelStartOutput};
use crate::client::ClientCache;
use crate::error::CoreError;
use crate::{CommandRun, PortForward, ShellSession};

/// A running session of any kind.
pub enum AnySession {
    /// `LocalPortForwarding`: listening on the session's `localPortNumber`.
    Port(PortForward),
    /// `NonInteractiveCommands`: output apart, exit code.
    Command(CommandRun),
    /// `Standard_Stream` / `InteractiveCommands`: for a terminal.
    Shell(ShellSession),
    /// A port session without `LocalPortForwarding` (`AWS-StartSSHSession`): one byte
    /// stream, for standard input and output.
    Stream(ShellSession),
}

/// Opens the channel and starts the session its agent asked for. `likely_shell`: the
/// session's document is a shell's (none, or not a known port or command document), so a
/// silent agent is taken for a shell that has printed nothing yet (see
/// `ssmsession_datachannel::session::open_session_with`).
pub async fn start_any_session(
    cache: &ClientCache,
    call: ChannelCall,
    likely_shell: bool,
) -> Result<(AnySession, ChannelStartOutput), CoreError> {
    let chunking = Chunking::default();
    let mut request = call.channel_request();
    request.quiet_shell_after = likely_shell.then_some(crate::shell::QUIET_SHELL_AFTER);
    // The window counts messages; port sessions send large ones. Shells and commands send
    // a few small ones, for which this is plenty.
    request.window = (BYTES_IN_FLIGHT / chunking.size).clamp(64, 10_000);
    let channel = open_channel(cache, request).await?;
    let started = ChannelStartOutput {
        session_id: call.session_id.clone(),
        agent_version: channel.agent_version.clone(),
        customer_message: channel.customer_message.clone(),
        network: channel.network.clone(),
    };
    let stall = stall_timeout(call.stall_timeout_ms);
    let failed = |e: &dyn std::fmt::Display| {
        data_channel_error(
            "DataChannelFailed",
            format!("Session {}: {e}", call.session_id),
        )
    };
    // Shells, streams and commands take the same two settings.
    let shell_options = ShellOptions {
        keep_session: call.keep_session,
        stall_timeout: stall,
    };
    let session = match &channel.opened.kind {
        kind if is_byte_stream(kind) => start_byte_stream(
            channel.opened,
            channel.config,
            shell_options,
            channel.control,
        )
        .await
        .map(AnySession::Stream)
        .map_err(|e| failed(&e))?,
        SessionKind::Port { .. } => {
            let options = PortOptions {
                chunking,
                local_port: None,
                bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                keep_session: call.keep_session,
                stall_timeout: stall,
            };
            start_port_forward(channel.opened, channel.config, options, channel.control)
                .await
                .map(AnySession::Port)
                .map_err(|e| match e {
                    PortError::Listen { address, source } => data_channel_error(
                        "LocalPortUnavailable",
                        format!("Could not listen on {address}: {source}. Choose another localPortNumber."),
                    ),
                    other => failed(&other),
                })?
        }
        SessionKind::Shell { session_type, .. } if session_type == "NonInteractiveCommands" => {
            let options = CommandOptions {
                keep_session: shell_options.keep_session,
                stall_timeout: shell_options.stall_timeout,
                // The AWS CLI sends the command as the user wrote it: nothing is wrapped.
                exit_marker: None,
            };
            start_command(channel.opened, channel.config, options, channel.control)
                .await
                .map(AnySession::Command)
                .map_err(|e| failed(&e))?
        }
        SessionKind::Shell { .. } => start_shell(
            channel.opened,
            channel.config,
            shell_options,
            channel.control,
        )
        .await
        .map(AnySession::Shell)
        .map_err(|e| failed(&e))?,
    };
    Ok((session, started))
}
