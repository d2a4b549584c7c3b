//! The target side of shell sessions (`Standard_Stream`) and interactive commands
//! (`AWS-StartInteractiveCommand`): as the real agent does, the program runs under a
//! pseudo-terminal on the emulated instance (this machine). Output payloads from the
//! client are typed into the terminal (so Ctrl+C, 0x03, interrupts the foreground job
//! through the terminal's line discipline), Size payloads resize it, and everything the
//! program writes goes back as Output. When the program exits the session ends; the
//! TerminateSession flag is ignored (the real agent ignores it in shells), so a client
//! ends a shell through the TerminateSession API, which kills the program.
//!
//! As the agent (agent-behaviour §1, §6): the environment of [`super::environment`], the
//! document's Linux shell profile typed in first for shells (its echo is output), the
//! first read of the terminal 1 s after the start, then reads of at most 1 KiB spaced by
//! the agent's pace, cut at character boundaries ([`Utf8Holdback`]).
//!
//! The pseudo-terminal's reads and writes block, so plain threads do them.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use serde::Deserialize;
use ssmsession_datachannel::crypto::SessionCipher;
use ssmsession_datachannel::engine::Payload;
use ssmsession_datachannel::inbound::InboundReceiver;
use ssmsession_datachannel::message::PayloadType;
use tokio::sync::mpsc;

use super::command::Sealed;
use super::environment;
use super::run::WorkEnd;
use super::utf8_holdback::Utf8Holdback;

/// Bytes per Output message (the agent's stream chunk).
const READ_CHUNK: usize = 1024;
/// The agent reads a terminal for the first time 1 s after starting it.
const FIRST_READ_WAIT: Duration = Duration::from_secs(1);
/// The terminal's size until the client sends its own.
const INITIAL_SIZE: PtySize = PtySize {
    rows: 24,
    cols: 80,
    pixel_width: 0,
    pixel_height: 0,
};

/// How the session's terminal is set up, from its document and the agent's settings.
#[derive(Clone, Debug, Default)]
pub struct TerminalSetup {
    /// The document's `inputs.shellProfile.linux` (shells only), typed in at the start.
    pub profile: String,
    /// The document's `runAsElevated` property.
    pub run_as_elevated: bool,
    /// The agent's pause between reads.
    pub pace: Option<Duration>,
}

/// What the session runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Program {
    /// An interactive shell: this one, or the default.
    Shell(Option<String>),
    /// `AWS-StartInteractiveCommand`: the command under `sh -c` (`cmd /C` on Windows).
    Command(String),
}

fn default_shell() -> String {
    if cfg!(windows) {
        return "cmd.exe".into();
    }
    let has_bash = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("bash").is_file()));
    if has_bash { "bash" } else { "sh" }.into()
}

fn command_for(program: &Program, run_as_elevated: bool) -> CommandBuilder {
    let mut command = match program {
        Program::Shell(shell) => CommandBuilder::new(shell.clone().unwrap_or_else(default_shell)),
        Program::Command(text) if cfg!(windows) => {
            let mut command = CommandBuilder::new("cmd");
            command.args(["/C", text]);
            command
        }
        Program::Command(text) => {
            let mut command = CommandBuilder::new("sh");
            command.args(["-c", text]);
            command
        }
    };
    for (name, value) in environment::session_variables(run_as_elevated) {
        command.env(name, value);
    }
    if let Ok(directory) = std::env::current_dir() {
        command.cwd(directory);
    }
    command
}

/// `{"cols":W,"rows":H}` from the client.
#[derive(Deserialize)]
struct Size {
    cols: u16,
    rows: u16,
}

/// Ends the program when the session ends first.
struct KillOnDrop(Box<dyn Child + Send + Sync>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads the terminal until the program (and whatever else holds it) has gone, as the
/// agent's pump does: first after 1 s, then at most 1 KiB per read, spaced by `pace`.
fn read_terminal(
    mut reader: Box<dyn Read + Send>,
    pieces: mpsc::Sender<Vec<u8>>,
    pace: Option<Duration>,
) {
    std::thread::spawn(move || {
        std::thread::sleep(FIRST_READ_WAIT);
        let mut buffer = vec![0u8; READ_CHUNK];
        let mut holdback = Utf8Holdback::default();
        loop {
            match reader.read(&mut buffer) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EOF, or EIO once every process holding the terminal has exited (Linux).
                // What the hold-back still has is dropped, as the agent drops it.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let piece = holdback.pass(&buffer[..n]);
                    if !piece.is_empty() && pieces.blocking_send(piece).is_err() {
                        break;
                    }
                }
            }
            if let Some(pace) = pace {
                std::thread::sleep(pace);
            }
        }
    });
}

/// Types into the terminal; ends when the sender is dropped.
fn write_terminal(mut writer: Box<dyn Write + Send>) -> std::sync::mpsc::Sender<Vec<u8>> {
    let (keys, typed) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for bytes in typed {
            if writer
                .write_all(&bytes)
                .and_then(|_| writer.flush())
                .is_err()
            {
                break;
            }
        }
    });
    keys
}

/// Runs the program under a pseudo-terminal for the session.
pub async fn interactive(
    to_client: mpsc::Sender<Payload>,
    mut from_client: InboundReceiver,
    program: Program,
    setup: TerminalSetup,
    cipher: Option<Arc<SessionCipher>>,
) -> WorkEnd {
    let to_client = Sealed {
        to_client,
        cipher: cipher.clone(),
    };
    let started = native_pty_system()
        .openpty(INITIAL_SIZE)
        .map_err(|e| e.to_string())
        .and_then(|pair| {
            let child = pair
                .slave
                .spawn_command(command_for(&program, setup.run_as_elevated))
                .map_err(|e| e.to_string())?;
            // Only the program holds the terminal's other end: its exit ends the reads.
            drop(pair.slave);
            let reader = pair.master.try_clone_reader().map_err(|e| e.to_string())?;
            let writer = pair.master.take_writer().map_err(|e| e.to_string())?;
            Ok((pair.master, KillOnDrop(child), reader, writer))
        });
    let (master, child, reader, writer): (Box<dyn MasterPty + Send>, _, _, _) = match started {
        Ok(started) => started,
        Err(e) => {
            let message = format!("Could not start {program:?} under a terminal: {e}\r\n");
            let _ = to_client.send(Payload::output(message.into_bytes())).await;
            return WorkEnd::Closed(String::new());
        }
    };
    let (pieces_tx, mut pieces) = mpsc::channel(16);
    read_terminal(reader, pieces_tx, setup.pace);
    let keys = write_terminal(writer);
    if matches!(program, Program::Shell(_)) && !setup.profile.is_empty() {
        // The agent types the profile in, so its echo is part of the output.
        let _ = keys.send(format!("{}\n", setup.profile).into_bytes());
    }

    loop {
        tokio::select! {
            piece = pieces.recv() => match piece {
                Some(data) => {
                    if to_client.send(Payload::output(data)).await.is_err() {
                        return WorkEnd::Terminated;
                    }
                }
                // The program exited.
                None => break,
            },
            payload = from_client.recv() => match payload {
                None => return WorkEnd::Terminated,
                // The TerminateSession flag is ignored, as the real agent ignores it in
                // shells (agent-behaviour §4): the session ends through the API.
                Some(Payload { payload_type: PayloadType::OUTPUT, data }) => {
                    let typed = match &cipher {
                        Some(cipher) => match cipher.decrypt(&data) {
                            Ok(plain) => plain,
                            // The real agent ends a session it cannot decrypt.
                            Err(e) => return WorkEnd::Closed(format!("Could not decrypt the client's input: {e}")),
                        },
                        None => data,
                    };
                    let _ = keys.send(typed);
                }
                Some(Payload { payload_type: PayloadType::SIZE, data }) => {
                    if let Ok(size) = serde_json::from_slice::<Size>(&data) {
                        if size.cols > 0 && size.rows > 0 {
                            let _ = master.resize(PtySize {
                                rows: size.rows,
                                cols: size.cols,
                                pixel_width: 0,
                                pixel_height: 0,
                            });
                        }
                    }
                }
                Some(_) => {}
            },
        }
    }
    drop(child);
    WorkEnd::Completed
}
