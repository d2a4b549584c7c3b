//! Non-interactive commands for a started `AWS-StartNonInteractiveCommand` session: opens
//! its data channel (as port forwarding does) and collects the command's standard output,
//! standard error and exit code in the background.

use serde::{Deserialize, Serialize};
use ssm_datachannel::command::{start_command as start_run, CommandError, CommandOptions};
pub use ssm_datachannel::command::{CommandOutput, CommandRun};
use ssm_datachannel::session::DEFAULT_WINDOW;

use crate::client::ClientCache;
use crate::error::CoreError;
use crate::forward::{data_channel_error, open_channel, stall_timeout, ChannelRequest};
use crate::request::ClientSettings;

/// Open the data channel of a started non-interactive command session.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CommandCall {
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
    #[serde(default)]
    pub client: ClientSettings,
}

/// What the caller learns when the command session is running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommandStartOutput {
    pub session_id: String,
    pub agent_version: String,
    pub customer_message: String,
}

/// Opens the channel; the command's output is then collected in the background.
pub async fn start_command(
    cache: &ClientCache,
    call: CommandCall,
) -> Result<(CommandRun, CommandStartOutput), CoreError> {
    let channel = open_channel(
        cache,
        ChannelRequest {
            session_id: &call.session_id,
            stream_url: &call.stream_url,
            token_value: &call.token_value,
            handshake_timeout_ms: call.handshake_timeout_ms,
            client: &call.client,
            window: DEFAULT_WINDOW,
            kms_target: call.target.as_deref().filter(|t| !t.is_empty()),
        },
    )
    .await?;
    let options = CommandOptions {
        keep_session: call.keep_session,
        stall_timeout: stall_timeout(call.stall_timeout_ms),
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
        },
    ))
}
