//! Shell sessions (`Standard_Stream`, `InteractiveCommands`, and `NonInteractiveCommands`
//! when run as a terminal would): keystrokes go to the agent as Output payloads, the
//! terminal size as Size payloads (protocol notes §5.2), and what the agent sends comes
//! back as bytes for the local terminal. The terminal itself (raw mode, reading keys,
//! watching the size) is the caller's: this module only speaks the session.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::command::parse_exit_code;
use crate::driver::{Cut, Driver, Ending, LocalEnd, SessionControl, SessionEnd, SessionRun};
use crate::engine::Payload;
use crate::handshake::SessionKind;
use crate::late_handshake::{cipher_slot, is_handshake, CipherSlot, InputGate, LateHandshaker};
use crate::message::PayloadType;
use crate::session::OpenedSession;
use crate::transport::ChannelConfig;

/// Bytes of input per message at most (the plugin reads stdin in 1024-byte chunks).
pub const INPUT_CHUNK: usize = 1024;
/// Bytes per message of a byte stream (SSH through `AWS-StartSSHSession`): agents accept
/// 32 KiB payloads (protocol notes §3.7), and bulk copies (scp) want few messages.
pub const STREAM_CHUNK: usize = 32 * 1024;
/// Output chunks waiting for the terminal (each one message, at most 1 MiB); beyond it the
/// session stops reading and the agent waits.
const OUTPUT_DEPTH: usize = 8;

/// How to run a shell session.
#[derive(Clone, Debug)]
pub struct ShellOptions {
    /// Leave the session open on the service when stopped from this side.
    pub keep_session: bool,
    /// Give the session up when the agent leaves data unacknowledged this long.
    pub stall_timeout: Duration,
}

impl Default for ShellOptions {
    fn default() -> Self {
        Self {
            keep_session: false,
            stall_timeout: crate::engine::DEFAULT_UNACKNOWLEDGED_LIMIT,
        }
    }
}

/// Why a shell session could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("this is a port session, not a shell session")]
    NotAShellSession,
    #[error("this is not a standard stream session (the agent asked for {0})")]
    NotAStreamSession(String),
}

/// The session ended: nothing more can be sent.
#[derive(Debug, thiserror::Error)]
#[error("the session has ended")]
pub struct SessionGone;

/// Sends keystrokes and terminal sizes. Cheap to clone.
#[derive(Clone)]
pub struct ShellInput {
    to_agent: mpsc::Sender<Payload>,
    /// With KMS, the client's Output is encrypted (protocol notes §2.5). Set late when a
    /// handshake comes after the session started.
    cipher: CipherSlot,
    /// Present while a late handshake is possible: keys pass it to be kept for a replay.
    gate: Option<Arc<InputGate>>,
    /// Terminals only: a lone line feed is sent as Enter. Never for byte streams, whose
    /// bytes must arrive as they are.
    rewrite_enter: bool,
    /// Bytes per message at most.
    chunk: usize,
}

/// The plugin's rule (`SendInputDataMessage`): a payload that is exactly one line feed is
/// sent as a carriage return, which is what a terminal's Enter key produces.
fn enter_as_carriage_return(chunk: &[u8]) -> &[u8] {
    if chunk == b"\n" {
        b"\r"
    } else {
        chunk
    }
}

impl ShellInput {
    /// Sends typed bytes (a shell's; a byte stream's bytes), in messages of at most
    /// [`INPUT_CHUNK`] bytes for shells, [`STREAM_CHUNK`] for streams.
    pub async fn keys(&self, bytes: &[u8]) -> Result<(), SessionGone> {
        let Some(gate) = &self.gate else {
            return self.send_now(bytes).await;
        };
        // Held across the send, so that a replay after a late handshake keeps the order.
        let mut gate = gate.lock().await;
        if gate.admit(bytes) {
            self.send_now(bytes).await?;
        }
        Ok(())
    }

    /// Sends typed bytes without passing the gate.
    pub(crate) async fn send_now(&self, bytes: &[u8]) -> Result<(), SessionGone> {
        for chunk in bytes.chunks(self.chunk) {
            let chunk = if self.rewrite_enter {
                enter_as_carriage_return(chunk)
            } else {
                chunk
            };
            let data = match self.cipher.get() {
                Some(cipher) => cipher.encrypt(chunk),
                None => chunk.to_vec(),
            };
            self.to_agent
                .send(Payload::output(data))
                .await
                .map_err(|_| SessionGone)?;
        }
        Ok(())
    }

    /// Sends a payload as it is (handshake answers).
    pub(crate) async fn send_payload(&self, payload: Payload) -> Result<(), SessionGone> {
        self.to_agent.send(payload).await.map_err(|_| SessionGone)
    }

    /// Tells the agent the terminal's size (it resizes its pseudo-terminal).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), SessionGone> {
        self.to_agent
            .send(Payload {
                payload_type: PayloadType::SIZE,
                data: size_payload(cols, rows),
            })
            .await
            .map_err(|_| SessionGone)
    }
}

/// `{"cols":W,"rows":H}`, as the plugin sends it.
pub fn size_payload(cols: u16, rows: u16) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "cols": cols, "rows": rows })).unwrap_or_default()
}

/// A running shell session.
pub struct ShellSession {
    pub input: ShellInput,
    /// What the agent sends for the terminal (Output and StdErr, decrypted), in order.
    /// Ends when the session does.
    pub output: mpsc::Receiver<Vec<u8>>,
    /// `Standard_Stream`, `InteractiveCommands` or `NonInteractiveCommands`.
    pub session_type: String,
    pub reconnects: Arc<AtomicU64>,
    exit_code: Arc<Mutex<Option<i32>>>,
    run: SessionRun,
}

impl ShellSession {
    /// The remote exit code, when the agent reported one (ExitCode payload).
    pub fn exit_code(&self) -> Option<i32> {
        *self.exit_code.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the session to stop (it is terminated unless it is to be kept).
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

    /// Output the agent sent and this side acknowledged that never reached `output` (a
    /// stop cut it short); final once the session has ended.
    pub fn undelivered(&self) -> Option<Cut> {
        self.run.undelivered()
    }
}

/// Starts the session in the background. Port sessions are refused (and terminated,
/// unless they are to be kept).
pub async fn start_shell<C: SessionControl>(
    opened: OpenedSession,
    config: ChannelConfig,
    options: ShellOptions,
    control: C,
) -> Result<ShellSession, ShellError> {
    let session_type = match &opened.kind {
        SessionKind::Shell { session_type, .. } => session_type.clone(),
        SessionKind::Port { .. } => {
            if !options.keep_session {
                crate::driver::end_unwanted(opened, &control).await;
            }
            return Err(ShellError::NotAShellSession);
        }
    };
    Ok(relay_session(
        opened,
        config,
        options,
        control,
        session_type,
        true,
        INPUT_CHUNK,
    ))
}

/// Whether a port session is a standard stream (`AWS-StartSSHSession` and other port
/// documents without `type: LocalPortForwarding`): its bytes are one stream, like
/// standard input and output of an SSH ProxyCommand (protocol notes §5.6).
pub fn is_byte_stream(kind: &SessionKind) -> bool {
    matches!(kind, SessionKind::Port { properties } if properties["type"] != "LocalPortForwarding")
}

/// Starts a standard stream session in the background: what is sent arrives at the
/// target's port as it is, and the port's bytes come back as output.
pub async fn start_byte_stream<C: SessionControl>(
    opened: OpenedSession,
    config: ChannelConfig,
    options: ShellOptions,
    control: C,
) -> Result<ShellSession, ShellError> {
    if !is_byte_stream(&opened.kind) {
        let kind = match &opened.kind {
            SessionKind::Shell { session_type, .. } => session_type.clone(),
            SessionKind::Port { .. } => "LocalPortForwarding".to_owned(),
        };
        if !options.keep_session {
            crate::driver::end_unwanted(opened, &control).await;
        }
        return Err(ShellError::NotAStreamSession(kind));
    }
    Ok(relay_session(
        opened,
        config,
        options,
        control,
        "Port".into(),
        false,
        STREAM_CHUNK,
    ))
}

fn relay_session<C: SessionControl>(
    opened: OpenedSession,
    config: ChannelConfig,
    options: ShellOptions,
    control: C,
    session_type: String,
    rewrite_enter: bool,
    chunk: usize,
) -> ShellSession {
    let OpenedSession {
        connection,
        mut endpoint,
        local,
        engine,
        cipher,
        closed,
        late_handshake,
        ..
    } = opened;
    endpoint.set_unacknowledged_limit(options.stall_timeout);
    let cipher = cipher_slot(cipher);
    let gate = late_handshake
        .as_ref()
        .map(|_| Arc::new(InputGate::recording()));
    let input = ShellInput {
        to_agent: local.to_agent.clone(),
        cipher: cipher.clone(),
        gate: gate.clone(),
        rewrite_enter,
        chunk,
    };
    let late = late_handshake
        .zip(gate)
        .map(|(context, gate)| LateHandshaker::new(context, gate, cipher.clone(), input.clone()));
    let (output_tx, output) = mpsc::channel(OUTPUT_DEPTH);
    let exit_code = Arc::new(Mutex::new(None));
    let app = relay(local, cipher, late, output_tx, exit_code.clone());
    let reconnects = Arc::new(AtomicU64::new(0));
    // A terminal's session ends through the API (its agent ignores the flag); a byte
    // stream is a port session, which acts on the flag.
    let ending = if rewrite_enter {
        Ending::Api { interrupt: None }
    } else {
        Ending::Flag
    };
    let driver = Driver {
        ending,
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
    ShellSession {
        input,
        output,
        session_type,
        reconnects,
        exit_code,
        run,
    }
}

/// The local side: decrypts what the agent sends and hands it to the terminal; keeps the
/// exit code instead of printing its `EXIT_CODE: n` text as the plugin does; answers a
/// handshake that comes after the session started.
async fn relay(
    local: crate::session::LocalChannels,
    cipher: CipherSlot,
    mut late: Option<LateHandshaker>,
    output: mpsc::Sender<Vec<u8>>,
    exit_code: Arc<Mutex<Option<i32>>>,
) -> LocalEnd {
    // The sender stays open: a closed outbound channel would read as "finished".
    let crate::session::LocalChannels {
        to_agent: _keep_open,
        mut from_agent,
    } = local;
    while let Some(Payload { payload_type, data }) = from_agent.recv().await {
        if let Some(late) = late.as_mut() {
            if is_handshake(payload_type) {
                if let Some(note) = late.handle(payload_type, &data).await? {
                    let _ = output.send(note).await;
                }
                continue;
            }
            if payload_type == PayloadType::OUTPUT {
                late.output_arrived().await;
            }
        }
        let printable = matches!(payload_type, PayloadType::OUTPUT | PayloadType::STDERR);
        if !printable && payload_type != PayloadType::EXIT_CODE {
            continue;
        }
        let data = match cipher.get() {
            Some(cipher) => match cipher.decrypt(&data) {
                Ok(plain) => plain,
                Err(e) => {
                    tracing::warn!(%e, "dropping an undecryptable message");
                    format!("\r\nSSMSession: {e}; its content is lost.\r\n").into_bytes()
                }
            },
            None => data,
        };
        if payload_type == PayloadType::EXIT_CODE {
            if let Some(code) = parse_exit_code(&data) {
                *exit_code.lock().unwrap_or_else(|e| e.into_inner()) = Some(code);
            }
            continue;
        }
        if output.send(data).await.is_err() {
            // Nobody reads the terminal any more; keep acknowledging until stopped.
            continue;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_line_feed_is_sent_as_enter() {
        assert_eq!(enter_as_carriage_return(b"\n"), b"\r");
        assert_eq!(enter_as_carriage_return(b"ls\n"), b"ls\n");
        assert_eq!(enter_as_carriage_return(b"\r"), b"\r");
    }

    #[test]
    fn sizes_are_sent_as_the_plugin_writes_them() {
        let size: serde_json::Value = serde_json::from_slice(&size_payload(120, 40)).unwrap();
        assert_eq!(size, serde_json::json!({ "cols": 120, "rows": 40 }));
    }
}
