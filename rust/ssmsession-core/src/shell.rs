//! Shell sessions (`Standard_Stream`, `AWS-StartInteractiveCommand`) for a started session:
//! opens the data channel (offering KMS with the session's target) and runs the session in
//! the background; the caller attaches a terminal (`ssmsession-terminal`).

pub use ssmsession_datachannel::shell::ShellSession;
use ssmsession_datachannel::shell::{start_shell as start_run, ShellError, ShellOptions};

use crate::channel::{data_channel_error, open_channel, stall_timeout};
use crate::channel_call::{ChannelCall, ChannelStartOutput};
use crate::client::ClientCache;
use crate::error::CoreError;

/// Agents send their HandshakeRequest as soon as the channel opens; silence this long means
/// a shell started without one that has printed nothing yet.
pub(crate) const QUIET_SHELL_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens the data channel of a started shell session; keys, sizes and output then travel
/// through the returned session.
pub async fn start_shell(
    cache: &ClientCache,
    call: ChannelCall,
) -> Result<(ShellSession, ChannelStartOutput), CoreError> {
    let mut request = call.channel_request();
    request.quiet_shell_after = Some(QUIET_SHELL_AFTER);
    let channel = open_channel(cache, request).await?;
    let options = ShellOptions {
        keep_session: call.keep_session,
        stall_timeout: stall_timeout(call.stall_timeout_ms),
    };
    let session = start_run(channel.opened, channel.config, options, channel.control)
        .await
        .map_err(|e| match e {
            ShellError::NotAShellSession => data_channel_error(
                "NotAShellSession",
                format!("Session {} is a port session, not a shell session; use Connect-SSMSession to forward its port.", call.session_id),
            ),
            ShellError::NotAStreamSession(kind) => data_channel_error(
                "NotAStreamSession",
                format!("Session {} is a {kind} session, not a standard stream session.", call.session_id),
            ),
        })?;
    Ok((
        session,
        ChannelStartOutput {
            session_id: call.session_id,
            agent_version: channel.agent_version,
            customer_message: channel.customer_message,
            network: channel.network,
        },
    ))
}
