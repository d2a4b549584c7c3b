//! The target side of non-interactive command sessions (`AWS-StartNonInteractiveCommand`):
//! the emulated instance is this machine, so the command runs here, under `sh -c` (`cmd /C`
//! on Windows), as the real agent runs it under the user's shell. Its standard output goes
//! out as Output payloads, its standard error as StdErr (11), then its exit status as
//! ExitCode (12, `EXIT_CODE: <n>`); the session then ends. The TerminateSession flag kills
//! the command. Standard input is closed: non-interactive commands read nothing.
//!
//! Plain threads read the pipes (the workspace's tokio has no process support, and these
//! sessions are few).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssm_datachannel::bridge::Chunking;
use ssm_datachannel::crypto::SessionCipher;
use ssm_datachannel::engine::Payload;
use ssm_datachannel::inbound::InboundReceiver;
use ssm_datachannel::message::PayloadType;
use tokio::sync::mpsc;

use super::run::{is_terminate, WorkEnd};

/// Bytes per message of the endless-line output.
const ENDLESS_LINE_CHUNK: usize = 32 * 1024;
/// How often the command's end is checked once both pipes closed.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// What the reader threads hand over.
enum Piece {
    Out(PayloadType, Vec<u8>),
    /// One pipe reached its end.
    Closed,
}

fn shell(command: &str) -> Command {
    if cfg!(windows) {
        let mut shell = Command::new("cmd");
        shell.arg("/C").arg(command);
        shell
    } else {
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(command);
        shell
    }
}

fn read_pipe(
    mut pipe: impl Read + Send + 'static,
    kind: PayloadType,
    chunk: usize,
    pieces: mpsc::Sender<Piece>,
) {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; chunk.max(1)];
        loop {
            match pipe.read(&mut buffer) {
                // A signal interrupted the read: nothing is lost, read again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if pieces
                        .blocking_send(Piece::Out(kind, buffer[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let _ = pieces.blocking_send(Piece::Closed);
    });
}

/// Kills the command when the session ends first.
struct KillOnDrop(Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut child = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `command` and streams its output (read in `sending.size` pieces, spaced by its
/// pace), then its exit code.
pub async fn non_interactive(
    to_client: mpsc::Sender<Payload>,
    mut from_client: InboundReceiver,
    command: String,
    cipher: Option<Arc<SessionCipher>>,
    sending: Chunking,
) -> WorkEnd {
    // With KMS, Output, StdErr and ExitCode go out encrypted.
    let to_client = Sealed { to_client, cipher };
    let spawned = shell(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let message = format!("could not run the command: {e}\n");
            let _ = to_client
                .send(Payload {
                    payload_type: PayloadType::STDERR,
                    data: message.into_bytes(),
                })
                .await;
            let _ = send_exit_code(&to_client, 127).await;
            return WorkEnd::Closed(String::new());
        }
    };
    let (pieces_tx, mut pieces) = mpsc::channel(16);
    if let Some(stdout) = child.stdout.take() {
        read_pipe(stdout, PayloadType::OUTPUT, sending.size, pieces_tx.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        read_pipe(stderr, PayloadType::STDERR, sending.size, pieces_tx.clone());
    }
    let mut pace = sending.pace.map(|every| {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    drop(pieces_tx);
    let child = KillOnDrop(Arc::new(Mutex::new(child)));

    let mut open_pipes = 2;
    while open_pipes > 0 {
        tokio::select! {
            piece = pieces.recv() => match piece {
                Some(Piece::Out(payload_type, data)) => {
                    if let Some(pace) = pace.as_mut() {
                        pace.tick().await;
                    }
                    if to_client.send(Payload { payload_type, data }).await.is_err() {
                        return WorkEnd::Terminated;
                    }
                }
                Some(Piece::Closed) => open_pipes -= 1,
                None => open_pipes = 0,
            },
            payload = from_client.recv() => match payload {
                // Dropping `child` kills the command.
                None => return WorkEnd::Terminated,
                Some(payload) if is_terminate(&payload) => return WorkEnd::Terminated,
                Some(_) => {}
            },
        }
    }
    // Both pipes closed: the command is ending; collect its status.
    let code = loop {
        let status = child.0.lock().unwrap_or_else(|e| e.into_inner()).try_wait();
        match status {
            Ok(Some(status)) => break exit_code(status),
            Ok(None) => tokio::time::sleep(EXIT_POLL).await,
            Err(_) => break -1,
        }
    };
    if send_exit_code(&to_client, code).await.is_err() {
        return WorkEnd::Terminated;
    }
    WorkEnd::Closed(String::new())
}

/// The endless-line hostile mode: `bytes` of `x` with no newline, then exit code 0.
pub async fn endless_line(
    to_client: mpsc::Sender<Payload>,
    mut from_client: InboundReceiver,
    bytes: usize,
    cipher: Option<Arc<SessionCipher>>,
) -> WorkEnd {
    let to_client = Sealed { to_client, cipher };
    let mut left = bytes;
    while left > 0 {
        let chunk = left.min(ENDLESS_LINE_CHUNK);
        let output = Payload::output(vec![b'x'; chunk]);
        tokio::select! {
            sent = to_client.send(output) => {
                if sent.is_err() {
                    return WorkEnd::Terminated;
                }
            }
            payload = from_client.recv() => match payload {
                None => return WorkEnd::Terminated,
                Some(payload) if is_terminate(&payload) => return WorkEnd::Terminated,
                // The chunk was not sent: send it again.
                Some(_) => continue,
            },
        }
        left -= chunk;
    }
    if send_exit_code(&to_client, 0).await.is_err() {
        return WorkEnd::Terminated;
    }
    WorkEnd::Closed(String::new())
}

/// The process's exit code; a signal counts as 128 + its number, as shells report it.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(-1)
}

/// The channel to the client, encrypting when the session is.
pub(super) struct Sealed {
    pub(super) to_client: mpsc::Sender<Payload>,
    pub(super) cipher: Option<Arc<SessionCipher>>,
}

impl Sealed {
    pub(super) async fn send(
        &self,
        payload: Payload,
    ) -> Result<(), mpsc::error::SendError<Payload>> {
        let payload = match &self.cipher {
            Some(cipher) => Payload {
                payload_type: payload.payload_type,
                data: cipher.encrypt(&payload.data),
            },
            None => payload,
        };
        self.to_client.send(payload).await
    }
}

async fn send_exit_code(
    to_client: &Sealed,
    code: i32,
) -> Result<(), mpsc::error::SendError<Payload>> {
    to_client
        .send(Payload {
            payload_type: PayloadType::EXIT_CODE,
            data: format!("EXIT_CODE: {code}").into_bytes(),
        })
        .await
}
