//! Runs a Session Manager shell session ([`ssmsession_datachannel::shell`]) on the local
//! terminal, as the plugin does (protocol notes §5.2) and better where it falls short:
//!
//! - raw mode while attached, always restored (a guard: errors, early returns, panics,
//!   cancellation), so every key — Ctrl+C, Ctrl+Z, Ctrl+\ included — reaches the remote
//!   terminal as the byte it is;
//! - the terminal size at the start and on every change (checked every 500 ms, as the
//!   plugin does; 300×100 when there is no terminal to ask);
//! - output written straight to standard output, UTF-8 or not, as it arrives;
//! - an ssh-style escape ([`escape`]) to leave a hung session;
//! - the plugin's printed lines ([`starting_line`], [`exit_lines`]), which scripts parse.
//!
//! Used by the PowerShell module (through the C ABI) and by the drop-in plugin binary.

#![forbid(unsafe_code)]

pub mod escape;
#[cfg(not(unix))]
#[path = "other.rs"]
mod platform;
#[cfg(unix)]
#[path = "unix.rs"]
mod platform;

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use ssmsession_datachannel::driver::SessionEnd;
use ssmsession_datachannel::shell::{ShellInput, ShellSession};
use tokio::sync::Notify;

pub use escape::{EscapeFilter, Filtered};
pub use platform::window_size;

/// How often the terminal size is checked (the plugin: 500 ms).
pub const RESIZE_INTERVAL: Duration = Duration::from_millis(500);
/// The size sent when there is no terminal to ask (the plugin's fallback).
pub const FALLBACK_SIZE: (u16, u16) = (300, 100);
/// The escape character unless told otherwise.
pub const DEFAULT_ESCAPE: u8 = b'~';

/// How to attach.
#[derive(Clone, Debug)]
pub struct AttachOptions {
    /// The escape character; None turns escapes off.
    pub escape: Option<u8>,
}

impl Default for AttachOptions {
    fn default() -> Self {
        Self {
            escape: Some(DEFAULT_ESCAPE),
        }
    }
}

/// How an attached session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    pub end: SessionEnd,
    /// Left with the escape sequence.
    pub escaped: bool,
    /// The remote exit code, when the agent reported one.
    pub exit_code: Option<i32>,
}

/// The terminal could not be taken over.
#[derive(Debug, thiserror::Error)]
#[error("could not use the terminal: {0}")]
pub struct TerminalError(#[from] pub io::Error);

/// `\nStarting session with SessionId: <id>\n`, as the plugin prints it.
pub fn starting_line(session_id: &str) -> String {
    format!("\nStarting session with SessionId: {session_id}\n")
}

/// The plugin's closing lines (protocol notes §6.4): the service's reason, or the plain
/// exit line when it gave none (the engine already words that one) or the session was
/// ended from here.
pub fn exit_lines(session_id: &str, end: &SessionEnd) -> String {
    match end {
        SessionEnd::Closed(reason) if reason.starts_with(EXITING) => format!("\n\n{reason}\n\n"),
        SessionEnd::Closed(reason) | SessionEnd::Failed(reason) if !reason.trim().is_empty() => {
            format!("\n\nSessionId: {session_id} : {reason}\n\n")
        }
        _ => format!("\n\n{EXITING}{session_id}.\n\n"),
    }
}

const EXITING: &str = "Exiting session with sessionId: ";

fn write_terminal(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    // A closed terminal is not the session's end: the remote side decides that.
    let _ = out.write_all(bytes).and_then(|_| out.flush());
}

/// Attaches the session to this process's terminal until the session ends or the escape
/// sequence is typed. The terminal is restored before this returns.
pub async fn attach(
    mut session: ShellSession,
    options: AttachOptions,
) -> Result<Attached, TerminalError> {
    let raw = platform::RawMode::enable()?;
    tracing::debug!(
        terminal = raw.is_terminal(),
        "attached to the local terminal"
    );
    let escaped = Arc::new(Notify::new());
    let (reader, typed) = platform::KeyReader::start();
    let keys = tokio::spawn(forward_keys(
        typed,
        session.input.clone(),
        EscapeFilter::new(options.escape),
        escaped.clone(),
    ));
    let sizes = tokio::spawn(forward_sizes(session.input.clone()));
    // Ends the helpers however this function is left (also when its future is dropped).
    let _helpers = AbortOnDrop(vec![keys.abort_handle(), sizes.abort_handle()]);

    let mut left_by_escape = false;
    loop {
        tokio::select! {
            chunk = session.output.recv() => match chunk {
                Some(bytes) => write_terminal(&bytes),
                None => break,
            },
            _ = escaped.notified() => {
                left_by_escape = true;
                session.stop();
                break;
            }
        }
    }
    let end = session.wait().await;
    // Keys first (the task, then its thread, which stops within one poll slice), then the
    // terminal settings.
    keys.abort();
    drop(reader);
    drop(raw);
    Ok(Attached {
        end: if left_by_escape {
            SessionEnd::Stopped
        } else {
            end
        },
        escaped: left_by_escape,
        exit_code: session.exit_code(),
    })
}

struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

/// Typed keys → the session, through the escape filter. At the end of input (standard
/// input redirected from a file or /dev/null, or a terminal that hung up) the remote
/// terminal gets Ctrl+D, its end-of-input character, as ssh's remote shell gets EOF: a
/// shell then exits instead of waiting for keys that will never come.
async fn forward_keys(
    mut typed: tokio::sync::mpsc::Receiver<Vec<u8>>,
    input: ShellInput,
    mut filter: EscapeFilter,
    escaped: Arc<Notify>,
) {
    while let Some(bytes) = typed.recv().await {
        let Filtered {
            forward,
            disconnect,
            help,
        } = filter.feed(&bytes);
        if !forward.is_empty() && input.keys(&forward).await.is_err() {
            return;
        }
        if help {
            write_terminal(escape::help_text(options_escape(&filter)).as_bytes());
        }
        if disconnect {
            escaped.notify_one();
            return;
        }
    }
    let _ = input.keys(&[END_OF_INPUT]).await;
}

/// Ctrl+D: a terminal's end-of-input character.
const END_OF_INPUT: u8 = 0x04;

fn options_escape(filter: &EscapeFilter) -> u8 {
    filter.escape().unwrap_or(DEFAULT_ESCAPE)
}

/// The terminal size → the session, at the start and on every change.
async fn forward_sizes(input: ShellInput) {
    let mut tick = tokio::time::interval(RESIZE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    loop {
        tick.tick().await;
        let size = platform::window_size().unwrap_or(FALLBACK_SIZE);
        if last != Some(size) {
            last = Some(size);
            if input.resize(size.0, size.1).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines_match_the_plugin() {
        assert_eq!(
            exit_lines("s-1", &SessionEnd::Closed(String::new())),
            "\n\nExiting session with sessionId: s-1.\n\n"
        );
        assert_eq!(
            exit_lines("s-1", &SessionEnd::Stopped),
            "\n\nExiting session with sessionId: s-1.\n\n"
        );
        assert_eq!(
            exit_lines(
                "s-1",
                &SessionEnd::Closed("Exiting session with sessionId: s-1.".into())
            ),
            "\n\nExiting session with sessionId: s-1.\n\n"
        );
        assert_eq!(
            exit_lines("s-1", &SessionEnd::Closed("Session timed out".into())),
            "\n\nSessionId: s-1 : Session timed out\n\n"
        );
        assert_eq!(
            starting_line("s-1"),
            "\nStarting session with SessionId: s-1\n"
        );
    }
}
