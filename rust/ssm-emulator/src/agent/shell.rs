//! The target side of shell sessions (`Standard_Stream`) and interactive commands
//! (`AWS-StartInteractiveCommand`): as the real agent does, the program runs under a
//! pseudo-terminal on the emulated instance (this machine). Output payloads from the
//! client are typed into the terminal (so Ctrl+C, 0x03, interrupts the foreground job
//! through the terminal's line discipline), Size payloads resize it, and everything the
//! program writes goes back as Output. When the program exits the session ends; the
//! TerminateSession flag is ignored (the real agent ignores it in shells), so a client
//! ends a shell through the TerminateSession API, which kills the program.
//!
//! The pseudo-terminal's reads and writes block, so plain threads do them.

use std::io::{Read, Write};
use std::sync::Arc;

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use serde::Deserialize;
use ssm_datachannel::crypto::SessionCipher;
use ssm_datachannel::engine::Payload;
use ssm_datachannel::inbound::InboundReceiver;
use ssm_datachannel::message::PayloadType;
use tokio::sync::mpsc;

use super::command::Sealed;
use super::run::WorkEnd;

/// Bytes per Output message (the agent's stream chunk).
const READ_CHUNK: usize = 1024;
/// The terminal's size until the client sends its own.
const INITIAL_SIZE: PtySize = PtySize {
    rows: 24,
    cols: 80,
    pixel_width: 0,
    pixel_height: 0,
};

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

fn command_for(program: &Program) -> CommandBuilder {
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
    // What the real agent's terminals announce.
    command.env("TERM", "xterm-256color");
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

/// Reads the terminal until the program (and whatever else holds it) has gone.
fn read_terminal(mut reader: Box<dyn Read + Send>, pieces: mpsc::Sender<Vec<u8>>) {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; READ_CHUNK];
        loop {
            match reader.read(&mut buffer) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EOF, or EIO once every process holding the terminal has exited (Linux).
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if pieces.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
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
                .spawn_command(command_for(&program))
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
    read_terminal(reader, pieces_tx);
    let keys = write_terminal(writer);

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
    WorkEnd::Closed(String::new())
}
