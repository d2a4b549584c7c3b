//! Non-interactive commands for a started `AWS-StartNonInteractiveCommand` session: opens
//! its data channel (as port forwarding does) and collects the command's standard output,
//! standard error and exit code in the background.

use ssmsession_datachannel::command::{start_command as start_run, CommandError, CommandOptions};
pub use ssmsession_datachannel::command::{CommandOutput, CommandRun};

use crate::channel::{data_channel_error, open_channel, stall_timeout};
use crate::channel_call::{ChannelCall, ChannelStartOutput};
use crate::client::ClientCache;
use crate::error::CoreError;

/// Open the data channel of a started non-interactive command session.
pub type CommandCall = ChannelCall;
/// What the caller learns when the command session is running.
pub type CommandStartOutput = ChannelStartOutput;

/// Opens the channel; the command's output is then collected in the background.
pub async fn start_command(
    cache: &ClientCache,
    call: CommandCall,
) -> Result<(CommandRun, CommandStartOutput), CoreError> {
    if let Some(marker) = &call.exit_marker {
        let fits =
            (8..=64).contains(&marker.len()) && marker.bytes().all(|b| b.is_ascii_alphanumeric());
        if !fits {
            return Err(CoreError::InvalidRequest {
                code: "InvalidExitMarker",
                message: "ExitMarker must be 8 to 64 ASCII letters and digits.".into(),
            });
        }
    }
    let channel = open_channel(cache, call.channel_request()).await?;
    let options = CommandOptions {
        keep_session: call.keep_session,
        stall_timeout: stall_timeout(call.stall_timeout_ms),
        exit_marker: call.exit_marker.clone(),
    };
    let run = start_run(channel.opened, channel.config, options, channel.control)
        .await
        .map_err(|e| match e {
            CommandError::NotACommandSession(kind) => data_channel_error(
                "NotACommandSession",
                format!("Session {} is a {kind} session, not a non-interactive command session; start it with AWS-StartNonInteractiveCommand.", call.session_id),
            ),
        })?;
    Ok((
        run,
        CommandStartOutput {
            session_id: call.session_id,
            agent_version: channel.agent_version,
            customer_message: channel.customer_message,
            network: channel.network,
        },
    ))
}
