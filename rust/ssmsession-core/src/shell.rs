//! Shell sessions (`Standard_Stream`, `AWS-StartInteractiveCommand`) for a started session:
//! opens the data channel (offering KMS with the session's target) and runs the session in
//! the background; the caller attaches a terminal (`ssm-terminal`).

pub use ssm_datachannel::shell::ShellSession;
use ssm_datachannel::shell::{start_shell as start_run, ShellError, ShellOptions};

use crate::channel_call::{ChannelCall, ChannelStartOutput};
use crate::client::ClientCache;
use crate::error::CoreError;
use crate::forward::{data_channel_error, open_channel, stall_timeout};

/// Open the data channel of a started shell session.
pub type ShellCall = ChannelCall;

/// Opens the channel; keys, sizes and output then travel through the returned session.
pub async fn start_shell(
    cache: &ClientCache,
    call: ShellCall,
) -> Result<(ShellSession, ChannelStartOutput), CoreError> {
    let channel = open_channel(cache, call.channel_request()).await?;
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
        },
    ))
}
