//! The local terminal on Unix, through rustix (no unsafe code): raw mode on standard input
//! (restored by a guard), its size, and a key reader thread that polls so that it can be
//! stopped — a thread left blocked in `read` would steal the next keystroke from the shell
//! (pwsh) that called us.

use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::termios::{isatty, tcgetattr, tcgetwinsize, tcsetattr, OptionalActions, Termios};
use tokio::sync::mpsc;

/// How long one wait for input lasts: the longest a stop takes.
const POLL_SLICE: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};
/// The plugin reads standard input in chunks of this size.
const READ_CHUNK: usize = 1024;

/// Raw mode on standard input while held; the saved settings come back when dropped
/// (also on errors, early returns and unwinding panics). Nothing is changed when standard
/// input is not a terminal.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enable() -> io::Result<Self> {
        let stdin = io::stdin();
        if !isatty(stdin.as_fd()) {
            return Ok(Self { saved: None });
        }
        let saved = tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        // No echo, no line editing, no signals from Ctrl+C/Ctrl+Z/Ctrl+\ (they travel as
        // bytes to the remote terminal), no output post-processing (the remote terminal
        // sends CR LF itself).
        raw.make_raw();
        tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw)?;
        Ok(Self { saved: Some(saved) })
    }

    /// Whether standard input is a terminal (and so was put in raw mode).
    pub fn is_terminal(&self) -> bool {
        self.saved.is_some()
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            if let Err(e) = tcsetattr(io::stdin().as_fd(), OptionalActions::Now, &saved) {
                tracing::warn!(%e, "could not restore the terminal settings");
            }
        }
    }
}

/// Columns and rows of the terminal on standard output (or input), if there is one.
pub fn window_size() -> Option<(u16, u16)> {
    let of = |size: rustix::termios::Winsize| {
        (size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
    };
    tcgetwinsize(io::stdout().as_fd())
        .ok()
        .and_then(of)
        .or_else(|| tcgetwinsize(io::stdin().as_fd()).ok().and_then(of))
}

/// Reads standard input on a thread until stopped (dropped), at end of input, or when the
/// receiver is gone.
pub struct KeyReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl KeyReader {
    pub fn start() -> (Self, mpsc::Receiver<Vec<u8>>) {
        let (keys, typed) = mpsc::channel(16);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ssmsession-terminal-keys".into())
            .spawn(move || read_until_stopped(&stopped, &keys))
            .ok();
        (Self { stop, thread }, typed)
    }
}

fn read_until_stopped(stop: &AtomicBool, keys: &mpsc::Sender<Vec<u8>>) {
    let stdin = io::stdin();
    let fd = stdin.as_fd();
    let mut buffer = [0u8; READ_CHUNK];
    while !stop.load(Ordering::Acquire) {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&POLL_SLICE)) {
            Ok(0) | Err(Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(%e, "stopped reading keys");
                return;
            }
        }
        match rustix::io::read(fd, &mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                if keys.blocking_send(buffer[..n].to_vec()).is_err() {
                    return;
                }
            }
            Err(Errno::INTR) | Err(Errno::AGAIN) => continue,
            Err(e) => {
                tracing::debug!(%e, "stopped reading keys");
                return;
            }
        }
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            // At most one poll slice; a key typed meanwhile still goes to the session.
            let _ = thread.join();
        }
    }
}
