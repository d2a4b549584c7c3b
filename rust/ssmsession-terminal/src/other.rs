//! Platforms without a Unix terminal: interactive shells are not available yet (the Windows
//! console needs its own key translation, protocol notes §5.2).

use std::io;

use tokio::sync::mpsc;

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "interactive shells need a Unix terminal in this version of SSMSession",
    )
}

pub struct RawMode;

impl RawMode {
    pub fn enable() -> io::Result<Self> {
        Err(unsupported())
    }

    pub fn is_terminal(&self) -> bool {
        false
    }
}

pub fn window_size() -> Option<(u16, u16)> {
    None
}

pub struct KeyReader;

impl KeyReader {
    pub fn start() -> (Self, mpsc::Receiver<Vec<u8>>) {
        let (_, typed) = mpsc::channel(1);
        (Self, typed)
    }
}
