//! The socket under an engine, split so that reading never waits for writing.
//!
//! If one task both wrote and read, two peers sending hard at each other could both block
//! in a write with full socket buffers and never read again: a deadlock that appears under
//! load. So each link's writes go through its own writer task: acknowledgements and
//! control frames on an unbounded queue (their number is bounded by the peer's window),
//! data frames on a small bounded one that the engine checks before taking more data.

use std::fmt::Display;
use std::future::Future;

use bytes::Bytes;
use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc;

/// The socket failed; the message says how (never with payloads or tokens).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LinkError(pub String);

/// Data frames queued for writing at most; beyond it the engine stops taking new data
/// (and skips retransmissions) until the socket drains.
pub const DATA_QUEUE: usize = 64;

/// What the writer task writes.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded message. Shared, not copied: the engine keeps the same bytes for
    /// retransmission.
    Frame(Bytes),
    /// A WebSocket close frame; the writer stops after it.
    Close { code: u16, reason: String },
}

/// The writing half of a link. Cheap to clone; the writer task ends when every clone is
/// gone (after writing what was queued) or the socket fails.
#[derive(Clone, Debug)]
pub struct LinkWriter {
    urgent: mpsc::UnboundedSender<Outgoing>,
    data: mpsc::Sender<Bytes>,
}

fn gone() -> LinkError {
    LinkError("the connection is closed".into())
}

impl LinkWriter {
    /// Starts the writer task for `sink`; `message` builds the socket's message type.
    pub fn spawn<S, M>(mut sink: S, message: fn(Outgoing) -> M) -> Self
    where
        S: Sink<M> + Unpin + Send + 'static,
        S::Error: Display,
        M: Send + 'static,
    {
        let (urgent, mut urgent_rx) = mpsc::unbounded_channel::<Outgoing>();
        let (data, mut data_rx) = mpsc::channel::<Bytes>(DATA_QUEUE);
        tokio::spawn(async move {
            loop {
                let item = tokio::select! {
                    biased;
                    item = urgent_rx.recv() => item,
                    frame = data_rx.recv() => frame.map(Outgoing::Frame),
                };
                let Some(item) = item else { break };
                let closing = matches!(item, Outgoing::Close { .. });
                if sink.feed(message(item)).await.is_err() {
                    break;
                }
                // Flush once the queues are empty: many small frames, few system calls.
                if closing {
                    let _ = sink.flush().await;
                    break;
                }
                let drained = urgent_rx.is_empty() && data_rx.is_empty();
                if drained && sink.flush().await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        Self { urgent, data }
    }

    /// Queues an acknowledgement or control frame; never waits.
    pub fn send_urgent(&self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.urgent
            .send(Outgoing::Frame(frame.into()))
            .map_err(|_| gone())
    }

    /// Queues a close frame; the writer stops after writing it.
    pub fn close(&self, code: u16, reason: &str) {
        let _ = self.urgent.send(Outgoing::Close {
            code,
            reason: reason.to_owned(),
        });
    }

    /// Queues a data frame, waiting while the queue is full.
    pub async fn send_data(&self, frame: Bytes) -> Result<(), LinkError> {
        self.data.send(frame).await.map_err(|_| gone())
    }

    /// Queues a data frame if there is room; false when the queue is full.
    pub fn try_send_data(&self, frame: Bytes) -> Result<bool, LinkError> {
        match self.data.try_send(frame) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(false),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(gone()),
        }
    }

    /// Room in the data queue.
    pub fn data_room(&self) -> usize {
        self.data.capacity()
    }

    /// Resolves once the data queue has room (or the writer is gone).
    pub async fn data_ready(&self) {
        let _ = self.data.reserve().await;
    }
}

/// A message-oriented connection carrying encoded data-channel messages.
pub trait Link: Send {
    /// Where to queue frames for writing.
    fn writer(&self) -> &LinkWriter;
    /// The next frame, or None once the connection closed. Must be cancel-safe: the engine
    /// polls it in `select!` next to its other work.
    fn recv(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, LinkError>> + Send;
}
