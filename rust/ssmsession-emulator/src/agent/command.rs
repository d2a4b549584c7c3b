//! The target side of NonInteractiveCommands sessions, as the real agent runs them
//! (agent-behaviour §1, §2, §4). The emulated node is this machine:
//!
//! - the `commands` text is split shell-style ([`super::shell_words`]) and the first word
//!   run directly: no shell, no terminal, no standard input;
//! - without `separateOutputStream` in the document, standard output and standard error
//!   go to one file, which is sent (as Output) only once the process has exited, with no
//!   exit code;
//! - with it, both streams are sent as they are read (Output and StdErr, each with its
//!   optional prefix at the start of the first chunk and of any chunk after one that ended
//!   a line), then `EXIT_CODE: <n>` (-1 when a signal ended the process, as Go reports);
//! - input is looked at only for Ctrl+C (0x03, SIGINT) and Ctrl+\ (0x1C, SIGQUIT) to the
//!   process itself; everything else, the TerminateSession flag included, is dropped;
//! - the session's end through the TerminateSession API kills the process (SIGKILL);
//! - the process gets the agent's environment additions ([`super::environment`]) and its
//!   output is cut at character boundaries as the agent cuts it ([`Utf8Holdback`]).
//!
//! Plain threads read the pipes (the workspace's tokio has no process support, and these
//! sessions are few).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssmsession_datachannel::bridge::Chunking;
use ssmsession_datachannel::crypto::SessionCipher;
use ssmsession_datachannel::engine::Payload;
use ssmsession_datachannel::inbound::InboundReceiver;
use ssmsession_datachannel::message::PayloadType;
use tokio::sync::mpsc;

use super::environment;
use super::run::WorkEnd;
use super::shell_words;
use super::utf8_holdback::Utf8Holdback;
use crate::documents::SessionPlan;

/// Bytes per message of the endless-line output.
const ENDLESS_LINE_CHUNK: usize = 32 * 1024;
/// How often the command's end is checked.
const EXIT_POLL: Duration = Duration::from_millis(20);
/// The real agent reports a command line it cannot split after 2 s + 1 s.
const SPLIT_ERROR_DELAY: Duration = Duration::from_secs(3);
/// And the reason a process could not start 1 s after that (after its exit code in
/// separate mode).
const START_ERROR_DELAY: Duration = Duration::from_secs(1);
/// Ctrl+C and Ctrl+\ as they arrive in Output payloads.
const CTRL_C: u8 = 0x03;
const CTRL_BACKSLASH: u8 = 0x1c;

/// What the document asks of a NonInteractiveCommands session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    pub commands: String,
    pub separate_output: bool,
    pub stdout_prefix: String,
    pub stderr_prefix: String,
    pub run_as_elevated: bool,
}

impl CommandSpec {
    /// Reads the session's properties; a value the agent refuses fails the session.
    pub fn from_plan(plan: &SessionPlan) -> Result<Self, String> {
        let separate_output = match &plan.properties["separateOutputStream"] {
            serde_json::Value::Null => false,
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            other => {
                return Err(format!(
                    "separateOutputStream must be true or false, not {other}."
                ))
            }
        };
        let prefix = |name: &str| -> Result<String, String> {
            let text = plan.text(name);
            let allowed = text.len() <= 30
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"\r\n_:-".contains(&b));
            if !allowed {
                return Err(format!("{name} must match ^[0-9a-zA-Z\\r\\n_:-]{{0,30}}$."));
            }
            Ok(if separate_output { text } else { String::new() })
        };
        Ok(Self {
            commands: plan.text("commands"),
            separate_output,
            stdout_prefix: prefix("stdOutSeparatorPrefix")?,
            stderr_prefix: prefix("stdErrSeparatorPrefix")?,
            run_as_elevated: environment::run_as_elevated(&plan.properties)?,
        })
    }
}

/// What the reader threads hand over.
enum Piece {
    Out(PayloadType, Vec<u8>),
    /// One pipe reached its end.
    Closed,
}

fn read_pipe(
    mut pipe: impl Read + Send + 'static,
    kind: PayloadType,
    chunk: usize,
    pieces: mpsc::Sender<Piece>,
) {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; chunk.max(1)];
        let mut holdback = Utf8Holdback::default();
        loop {
            match pipe.read(&mut buffer) {
                // A signal interrupted the read: nothing is lost, read again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // What the hold-back still has is dropped, as the agent drops it.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let piece = holdback.pass(&buffer[..n]);
                    if !piece.is_empty() && pieces.blocking_send(Piece::Out(kind, piece)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = pieces.blocking_send(Piece::Closed);
    });
}

/// The process; killed (SIGKILL) when the session ends first.
struct KillOnDrop(Arc<Mutex<Child>>);

impl KillOnDrop {
    fn lock(&self) -> std::sync::MutexGuard<'_, Child> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exit code once the process has ended (-1 for a signal, as Go reports it).
    fn exited(&self) -> Option<i32> {
        match self.lock().try_wait() {
            Ok(Some(status)) => Some(status.code().unwrap_or(-1)),
            Ok(None) => None,
            Err(_) => Some(1),
        }
    }

    /// Ctrl+C or Ctrl+\ from the client: the signal to the process itself, never to its
    /// children (agent-behaviour §4). Windows agents kill the process instead.
    fn signal(&self, control: u8) {
        let mut child = self.lock();
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        #[cfg(unix)]
        {
            use rustix::process::{kill_process, Pid, Signal};
            let signal = if control == CTRL_C {
                Signal::INT
            } else {
                Signal::QUIT
            };
            let _ = kill_process(Pid::from_child(&child), signal);
        }
        #[cfg(not(unix))]
        {
            let _ = control;
            let _ = child.kill();
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut child = self.lock();
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first Ctrl+C or Ctrl+\ in what the client typed.
fn control_in(payload: Payload, cipher: &Option<Arc<SessionCipher>>) -> Option<u8> {
    if payload.payload_type != PayloadType::OUTPUT {
        return None;
    }
    let typed = match cipher {
        // Only Output is decrypted on the way in (agent-behaviour §3).
        Some(cipher) => cipher.decrypt(&payload.data).ok()?,
        None => payload.data,
    };
    typed
        .into_iter()
        .find(|b| *b == CTRL_C || *b == CTRL_BACKSLASH)
}

/// Adds a stream's prefix at the start of the first chunk and of any chunk that follows a
/// chunk ending a line: per chunk, not per line, as the agent does.
struct Prefixer {
    prefix: Vec<u8>,
    at_line_start: bool,
}

impl Prefixer {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.as_bytes().to_vec(),
            at_line_start: true,
        }
    }

    fn apply(&mut self, chunk: Vec<u8>) -> Vec<u8> {
        if chunk.is_empty() || self.prefix.is_empty() {
            return chunk;
        }
        let starts = self.at_line_start;
        self.at_line_start = chunk.ends_with(b"\n");
        if starts {
            let mut prefixed = self.prefix.clone();
            prefixed.extend(chunk);
            prefixed
        } else {
            chunk
        }
    }
}

/// A file for a merged command's output, removed afterwards.
struct OutputFile(std::path::PathBuf);

impl OutputFile {
    fn create() -> std::io::Result<(Self, std::fs::File)> {
        let path = std::env::temp_dir().join(format!(
            "ssm-emulator-output-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((Self(path), file))
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Sends `data` in messages of `sending.size`, spaced by its pace.
async fn send_paced(
    to_client: &Sealed,
    payload_type: PayloadType,
    data: &[u8],
    sending: &Chunking,
) -> Result<(), ()> {
    for chunk in data.chunks(sending.size.max(1)) {
        if let Some(pace) = sending.pace {
            tokio::time::sleep(pace).await;
        }
        to_client
            .send(Payload {
                payload_type,
                data: chunk.to_vec(),
            })
            .await
            .map_err(|_| ())?;
    }
    Ok(())
}

/// Sends a merged command's output file as Output payloads, paced.
async fn send_file(to_client: &Sealed, file: &OutputFile, sending: &Chunking) -> Result<(), ()> {
    let Ok(mut output) = std::fs::File::open(&file.0) else {
        return Ok(());
    };
    let mut buffer = vec![0u8; sending.size.max(1)];
    let mut holdback = Utf8Holdback::default();
    loop {
        match output.read(&mut buffer) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => {
                let piece = holdback.pass(&buffer[..n]);
                send_paced(to_client, PayloadType::OUTPUT, &piece, sending).await?
            }
        }
    }
}

/// Runs the session's command as the document says.
pub async fn non_interactive(
    to_client: mpsc::Sender<Payload>,
    mut from_client: InboundReceiver,
    spec: CommandSpec,
    cipher: Option<Arc<SessionCipher>>,
    sending: Chunking,
) -> WorkEnd {
    // With KMS, Output, StdErr and ExitCode go out encrypted.
    let to_client = Sealed {
        to_client,
        cipher: cipher.clone(),
    };
    let words = match shell_words::split(&spec.commands) {
        Ok(words) if words.is_empty() => {
            return WorkEnd::Closed("commands must not be empty.".into())
        }
        Ok(words) => words,
        Err(e) => {
            let reason = format!("Failed to parse commands input: {e}\n");
            tokio::time::sleep(SPLIT_ERROR_DELAY).await;
            let _ = send_paced(&to_client, PayloadType::STDERR, reason.as_bytes(), &sending).await;
            return WorkEnd::Closed(reason.trim_end().to_owned());
        }
    };
    let mut command = Command::new(&words[0]);
    command
        .args(&words[1..])
        .stdin(Stdio::null())
        .envs(environment::session_variables(spec.run_as_elevated));
    let mut output_file = None;
    if spec.separate_output {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        match OutputFile::create().and_then(|(path, file)| Ok((path, file.try_clone()?, file))) {
            Ok((path, stdout, stderr)) => {
                command.stdout(stdout).stderr(stderr);
                output_file = Some(path);
            }
            Err(e) => return WorkEnd::Closed(format!("could not create the output file: {e}")),
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            // As the agent: in separate mode exit code 1 first; in both modes the reason
            // 1 s later on standard error, then the session's normal end (Terminating).
            let reason = format!("could not start {}: {e}\n", words[0]);
            if spec.separate_output && send_exit_code(&to_client, 1).await.is_err() {
                return WorkEnd::Terminated;
            }
            tokio::time::sleep(START_ERROR_DELAY).await;
            let _ = send_paced(&to_client, PayloadType::STDERR, reason.as_bytes(), &sending).await;
            return WorkEnd::Completed;
        }
    };
    let (pieces_tx, mut pieces) = mpsc::channel(16);
    let mut open_pipes = 0;
    // The agent reads what fits in one message with the prefix.
    let read_size = |prefix: &str| sending.size.saturating_sub(prefix.len()).max(1);
    if let Some(stdout) = child.stdout.take() {
        let size = read_size(&spec.stdout_prefix);
        read_pipe(stdout, PayloadType::OUTPUT, size, pieces_tx.clone());
        open_pipes += 1;
    }
    if let Some(stderr) = child.stderr.take() {
        let size = read_size(&spec.stderr_prefix);
        read_pipe(stderr, PayloadType::STDERR, size, pieces_tx.clone());
        open_pipes += 1;
    }
    drop(pieces_tx);
    drop(command);
    let child = KillOnDrop(Arc::new(Mutex::new(child)));
    let mut stdout_prefix = Prefixer::new(&spec.stdout_prefix);
    let mut stderr_prefix = Prefixer::new(&spec.stderr_prefix);
    let mut exit_poll = tokio::time::interval(EXIT_POLL);

    // Separate streams: until both pipes end. Merged: until the process exits.
    let code = loop {
        if open_pipes == 0 {
            if let Some(code) = child.exited() {
                break code;
            }
        }
        tokio::select! {
            piece = pieces.recv(), if open_pipes > 0 => match piece {
                Some(Piece::Out(payload_type, data)) => {
                    let data = if payload_type == PayloadType::STDERR {
                        stderr_prefix.apply(data)
                    } else {
                        stdout_prefix.apply(data)
                    };
                    if let Some(pace) = sending.pace {
                        tokio::time::sleep(pace).await;
                    }
                    if to_client.send(Payload { payload_type, data }).await.is_err() {
                        return WorkEnd::Terminated;
                    }
                }
                Some(Piece::Closed) => open_pipes -= 1,
                None => open_pipes = 0,
            },
            _ = exit_poll.tick(), if open_pipes == 0 => {}
            payload = from_client.recv() => match payload {
                // The session is over: dropping `child` kills the process.
                None => return WorkEnd::Terminated,
                Some(payload) => {
                    if let Some(control) = control_in(payload, &cipher) {
                        child.signal(control);
                    }
                }
            },
        }
    };
    match output_file {
        Some(file) => {
            // Merged: the whole output, now that the process has ended, read in message-sized
            // pieces (memory stays bounded whatever it wrote); no exit code.
            if send_file(&to_client, &file, &sending).await.is_err() {
                return WorkEnd::Terminated;
            }
        }
        None => {
            if send_exit_code(&to_client, code).await.is_err() {
                return WorkEnd::Terminated;
            }
        }
    }
    WorkEnd::Completed
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
                // Input and flags are ignored; the chunk was not sent: send it again.
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
