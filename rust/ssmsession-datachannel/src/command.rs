//! Non-interactive command sessions (`AWS-StartNonInteractiveCommand`, session type
//! `NonInteractiveCommands`): the agent runs the command and sends its standard output
//! (Output payloads), its standard error (StdErr, 11) and its exit code (ExitCode, 12, the
//! text `EXIT_CODE: <n>`), then closes the channel. The official plugin writes all three to
//! one stream and always exits 0 (aws/session-manager-plugin#59); here they stay apart and
//! the exit code reaches the caller.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::crypto::SessionCipher;
use crate::driver::{Cut, Driver, Ending, LocalEnd, SessionControl, SessionEnd, SessionRun};
use crate::engine::Payload;
use crate::exit_trailer::TrailerWatch;
use crate::handshake::SessionKind;
use crate::message::PayloadType;
use crate::session::OpenedSession;
use crate::transport::ChannelConfig;

/// Output held for the caller at most; beyond it the session stops reading (the agent
/// waits) until the caller takes some.
pub const OUTPUT_BUFFER_LIMIT: usize = 8 * 1024 * 1024;

/// How to run a command session.
#[derive(Clone, Debug)]
pub struct CommandOptions {
    /// Leave the session open on the service when stopped from this side.
    pub keep_session: bool,
    /// Give the session up when the agent leaves data unacknowledged this long.
    pub stall_timeout: Duration,
    /// The marker of an exit-code trailer the command prints last on standard output
    /// ([`crate::exit_trailer`]): taken off the output, its code used when the agent sends
    /// none.
    pub exit_marker: Option<String>,
}

impl Default for CommandOptions {
    fn default() -> Self {
        Self {
            keep_session: false,
            stall_timeout: crate::engine::DEFAULT_UNACKNOWLEDGED_LIMIT,
            exit_marker: None,
        }
    }
}

/// Why a command session could not start.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("this is not a non-interactive command session (the agent asked for {0})")]
    NotACommandSession(String),
}

/// What arrived since the last [`CommandRun::take`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Once the agent reported it.
    pub exit_code: Option<i32>,
}

#[derive(Default)]
struct Captured {
    output: CommandOutput,
    /// Bytes of output the caller has taken, all told.
    taken: u64,
}

impl Captured {
    fn buffered(&self) -> usize {
        self.output.stdout.len() + self.output.stderr.len()
    }
}

/// `EXIT_CODE: <n>` (surrounding white space allowed).
pub fn parse_exit_code(payload: &[u8]) -> Option<i32> {
    std::str::from_utf8(payload)
        .ok()?
        .trim()
        .strip_prefix("EXIT_CODE:")?
        .trim()
        .parse()
        .ok()
}

/// A running command session.
pub struct CommandRun {
    captured: Arc<Mutex<Captured>>,
    /// Signalled when output arrives, when the caller takes some, and at the end.
    changed: Arc<Notify>,
    pub reconnects: Arc<AtomicU64>,
    run: SessionRun,
}

impl CommandRun {
    /// Takes what arrived so far (the exit code stays readable).
    pub fn take(&self) -> CommandOutput {
        let taken = {
            let mut captured = self.captured.lock().unwrap_or_else(|e| e.into_inner());
            let output = CommandOutput {
                stdout: std::mem::take(&mut captured.output.stdout),
                stderr: std::mem::take(&mut captured.output.stderr),
                exit_code: captured.output.exit_code,
            };
            captured.taken += (output.stdout.len() + output.stderr.len()) as u64;
            output
        };
        self.changed.notify_waiters();
        taken
    }

    /// Whether output is waiting to be taken.
    pub fn has_output(&self) -> bool {
        self.captured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .buffered()
            > 0
    }

    /// Waits until output is waiting, the session ended, or `timeout` passed.
    pub async fn wait_for_output(&self, timeout: Duration) {
        let mut ended = self.run.ended();
        let ready = async {
            loop {
                let notified = self.changed.notified();
                if self.has_output() || ended.borrow().is_some() {
                    return;
                }
                tokio::select! {
                    _ = notified => {}
                    _ = ended.changed() => {}
                }
            }
        };
        let _ = tokio::time::timeout(timeout, ready).await;
    }

    /// Asks the session to stop (the command is ended with the session).
    pub fn stop(&self) {
        self.run.stop();
    }

    /// How it ended, once it has.
    pub fn end(&self) -> Option<SessionEnd> {
        self.run.end()
    }

    /// Waits for the end.
    pub async fn wait(&self) -> SessionEnd {
        self.run.wait().await
    }

    /// Output the agent sent and this side acknowledged that never reached the buffers the
    /// caller takes from (a stop cut it short); final once the session has ended.
    pub fn undelivered(&self) -> Option<Cut> {
        self.run.undelivered()
    }
}

/// Starts collecting the command's output in the background.
pub async fn start_command<C: SessionControl>(
    opened: OpenedSession,
    config: ChannelConfig,
    options: CommandOptions,
    control: C,
) -> Result<CommandRun, CommandError> {
    {
        let runs_a_command = matches!(
            &opened.kind,
            SessionKind::Shell { session_type, .. } if session_type == "NonInteractiveCommands"
        );
        if !runs_a_command {
            let kind = match &opened.kind {
                SessionKind::Shell { session_type, .. } => session_type.clone(),
                SessionKind::Port { .. } => "Port".to_owned(),
            };
            if !options.keep_session {
                crate::driver::end_unwanted(opened, &control).await;
            }
            return Err(CommandError::NotACommandSession(kind));
        }
        let OpenedSession {
            connection,
            mut endpoint,
            local,
            engine,
            cipher,
            closed,
            ..
        } = opened;
        endpoint.set_unacknowledged_limit(options.stall_timeout);
        let captured = Arc::new(Mutex::new(Captured::default()));
        let changed = Arc::new(Notify::new());
        // Ctrl+C for the command: the agent signals it (SIGINT) when it reads 0x03 in an
        // Output payload, encrypted like any Output (agent-behaviour §4).
        let interrupt = Payload::output(match &cipher {
            Some(cipher) => cipher.encrypt(&[CTRL_C]),
            None => vec![CTRL_C],
        });
        let trailer = options.exit_marker.as_deref().map(TrailerWatch::new);
        let app = collect(local, cipher, captured.clone(), changed.clone(), trailer);
        let reconnects = Arc::new(AtomicU64::new(0));
        let driver = Driver {
            ending: Ending::Api {
                interrupt: Some(interrupt),
            },
            closed,
            connection,
            endpoint,
            engine,
            config,
            control,
            keep_session: options.keep_session,
            reconnects: reconnects.clone(),
        };
        let run = driver.spawn(app);
        Ok(CommandRun {
            captured,
            changed,
            reconnects,
            run,
        })
    }
}

/// The byte a terminal sends for Ctrl+C.
const CTRL_C: u8 = 0x03;

/// Waits until the buffers have room.
async fn room(captured: &Mutex<Captured>, changed: &Notify) {
    loop {
        let notified = changed.notified();
        let full = captured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .buffered()
            >= OUTPUT_BUFFER_LIMIT;
        if !full {
            return;
        }
        notified.await;
    }
}

/// The local side: sorts the agent's payloads into the buffers, waiting while they are
/// full; with an exit marker, keeps the trailer off standard output.
async fn collect(
    local: crate::session::LocalChannels,
    cipher: Option<Arc<SessionCipher>>,
    captured: Arc<Mutex<Captured>>,
    changed: Arc<Notify>,
    mut trailer: Option<TrailerWatch>,
) -> LocalEnd {
    // The sender stays open: a closed outbound channel would read as "finished".
    let crate::session::LocalChannels {
        to_agent: _keep_open,
        mut from_agent,
    } = local;
    while let Some(Payload { payload_type, data }) = from_agent.recv().await {
        // With KMS, the agent encrypts these three (protocol notes §4.3).
        let encrypted = matches!(
            payload_type,
            PayloadType::OUTPUT | PayloadType::STDERR | PayloadType::EXIT_CODE
        );
        let (payload_type, data) = match (&cipher, encrypted) {
            (Some(cipher), true) => match cipher.decrypt(&data) {
                Ok(plain) => (payload_type, plain),
                Err(e) => {
                    tracing::warn!(%e, "dropping an undecryptable message");
                    (
                        PayloadType::STDERR,
                        format!("SSMSession: {e}; its content is lost.\n").into_bytes(),
                    )
                }
            },
            _ => (payload_type, data),
        };
        room(&captured, &changed).await;
        {
            let mut held = captured.lock().unwrap_or_else(|e| e.into_inner());
            match payload_type {
                PayloadType::OUTPUT => match trailer.as_mut() {
                    Some(watch) => held.output.stdout.extend(watch.pass(&data)),
                    None => held.output.stdout.extend_from_slice(&data),
                },
                PayloadType::STDERR => held.output.stderr.extend_from_slice(&data),
                PayloadType::EXIT_CODE => {
                    if let Some(code) = parse_exit_code(&data) {
                        held.output.exit_code = Some(code);
                    }
                }
                _ => {}
            }
        }
        changed.notify_waiters();
    }
    if let Some(watch) = trailer {
        // The end: a trailer still held is the command's exit code; anything else held
        // was output after all.
        let (rest, code) = watch.finish();
        room(&captured, &changed).await;
        let mut held = captured.lock().unwrap_or_else(|e| e.into_inner());
        held.output.stdout.extend(rest);
        if held.output.exit_code.is_none() {
            held.output.exit_code = code;
        }
        drop(held);
        changed.notify_waiters();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_parse_as_the_agent_writes_them() {
        assert_eq!(parse_exit_code(b"EXIT_CODE: 0"), Some(0));
        assert_eq!(parse_exit_code(b"EXIT_CODE: 3\n"), Some(3));
        assert_eq!(parse_exit_code(b" EXIT_CODE:-1 "), Some(-1));
        assert_eq!(parse_exit_code(b"EXIT_CODE: x"), None);
        assert_eq!(parse_exit_code(b"exit 3"), None);
        assert_eq!(parse_exit_code(&[0xff, 0xfe]), None);
    }
}
