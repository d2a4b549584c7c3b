//! The socket under an engine, split so that reading never waits for writing.
//!
//! If one task both wrote and read, two peers sending hard at each other could both block
//! in a write with full socket buffers and never read again: a deadlock that appears under
//! load. So each link's writes go through its own writer task: acknowledgements and
//! control frames on their own queue, data frames on a small bounded one that the engine
//! checks before taking more data. The acknowledgement queue is counted: the engine reads
//! no more frames while [`URGENT_LIMIT`] wait to be written (a peer that sends without
//! reading cannot make it grow), and a close frame goes out after the data queued before
//! it, as on a socket written in order.

use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Sink, SinkExt};
use tokio::sync::{mpsc, Notify};

/// The socket failed; the message says how (never with payloads or tokens).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LinkError {
    pub message: String,
    /// The peer broke the rules (e.g. a message over the size limit): reconnecting would
    /// only meet the same again.
    pub peer_fault: bool,
}

impl LinkError {
    /// The connection was lost or failed.
    pub fn lost(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            peer_fault: false,
        }
    }

    /// The peer sent what this end refuses.
    pub fn peer_fault(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            peer_fault: true,
        }
    }
}

/// Data frames queued for writing at most; beyond it the engine stops taking new data
/// (and skips retransmissions) until the socket drains.
pub const DATA_QUEUE: usize = 64;
/// Acknowledgements and control frames waiting to be written at most before the engine
/// stops reading (each read frame queues at most one acknowledgement).
pub const URGENT_LIMIT: usize = 4096;

/// What the writer task writes.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded message. Shared, not copied: the engine keeps the same bytes for
    /// retransmission.
    Frame(Bytes),
    /// A WebSocket close frame; the writer stops after it.
    Close { code: u16, reason: String },
    /// A WebSocket ping (keepalive).
    Ping(Bytes),
}

/// The writing half of a link. Cheap to clone; the writer task ends when every clone is
/// gone (after writing what was queued) or the socket fails.
#[derive(Clone, Debug)]
pub struct LinkWriter {
    urgent: mpsc::UnboundedSender<Outgoing>,
    data: mpsc::Sender<Bytes>,
    backlog: Arc<UrgentBacklog>,
}

/// Urgent frames queued and not yet written, and a wake-up for when they fall below half
/// the limit.
#[derive(Debug, Default)]
struct UrgentBacklog {
    queued: AtomicUsize,
    drained: Notify,
}

impl UrgentBacklog {
    fn written(&self) {
        let before = self.queued.fetch_sub(1, Ordering::AcqRel);
        // Only the crossing wakes: waiters check the count after registering.
        if before == URGENT_LIMIT / 2 + 1 {
            self.drained.notify_waiters();
        }
    }
}

fn gone() -> LinkError {
    LinkError::lost("the connection is closed")
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
        let backlog = Arc::new(UrgentBacklog::default());
        let counted = backlog.clone();
        tokio::spawn(async move {
            loop {
                let (item, urgent) = tokio::select! {
                    biased;
                    item = urgent_rx.recv() => (item, true),
                    frame = data_rx.recv() => (frame.map(Outgoing::Frame), false),
                };
                let Some(item) = item else { break };
                if urgent {
                    counted.written();
                }
                if let Outgoing::Close { .. } = item {
                    // Data queued before the close goes out first.
                    while let Ok(frame) = data_rx.try_recv() {
                        if sink.feed(message(Outgoing::Frame(frame))).await.is_err() {
                            break;
                        }
                    }
                    let _ = sink.feed(message(item)).await;
                    let _ = sink.flush().await;
                    break;
                }
                if sink.feed(message(item)).await.is_err() {
                    break;
                }
                // Flush once the queues are empty: many small frames, few system calls.
                let drained = urgent_rx.is_empty() && data_rx.is_empty();
                if drained && sink.flush().await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
            // Nothing more will be written: whoever waits for room must not wait forever.
            counted.queued.store(0, Ordering::Release);
            counted.drained.notify_waiters();
        });
        Self {
            urgent,
            data,
            backlog,
        }
    }

    /// Queues an acknowledgement or control frame; never waits.
    pub fn send_urgent(&self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.backlog.queued.fetch_add(1, Ordering::AcqRel);
        self.urgent
            .send(Outgoing::Frame(frame.into()))
            .map_err(|_| {
                self.backlog.queued.fetch_sub(1, Ordering::AcqRel);
                gone()
            })
    }

    /// Queues a WebSocket ping; never waits.
    pub fn ping(&self, payload: &'static [u8]) -> Result<(), LinkError> {
        self.backlog.queued.fetch_add(1, Ordering::AcqRel);
        self.urgent
            .send(Outgoing::Ping(Bytes::from_static(payload)))
            .map_err(|_| {
                self.backlog.queued.fetch_sub(1, Ordering::AcqRel);
                gone()
            })
    }

    /// Queues a close frame, written after the data queued so far; the writer stops after
    /// writing it.
    pub fn close(&self, code: u16, reason: &str) {
        self.backlog.queued.fetch_add(1, Ordering::AcqRel);
        let _ = self.urgent.send(Outgoing::Close {
            code,
            reason: reason.to_owned(),
        });
    }

    /// Whether acknowledgements have piled up: then read no more frames until
    /// [`LinkWriter::urgent_room`].
    pub fn urgent_full(&self) -> bool {
        self.backlog.queued.load(Ordering::Acquire) >= URGENT_LIMIT
    }

    /// Resolves once the acknowledgement queue has drained to half its limit (or the
    /// writer is gone).
    pub async fn urgent_room(&self) {
        loop {
            let drained = self.backlog.drained.notified();
            if self.backlog.queued.load(Ordering::Acquire) <= URGENT_LIMIT / 2 {
                return;
            }
            drained.await;
        }
    }

    /// Queues a data frame, waiting while the queue is full.
    pub async fn send_data(&self, frame: Bytes) -> Result<(), LinkError> {
        self.data.send(frame).await.map_err(|_| gone())
    }

    /// A place in the data queue, waiting while it is full: what is put in it is queued
    /// without waiting (so a sender can number a message only once it surely goes out).
    pub async fn reserve_data(&self) -> Result<DataSlot, LinkError> {
        let permit = self
            .data
            .clone()
            .reserve_owned()
            .await
            .map_err(|_| gone())?;
        Ok(DataSlot(permit))
    }

    /// A place in the data queue if there is one now.
    pub fn try_reserve_data(&self) -> Result<Option<DataSlot>, LinkError> {
        match self.data.clone().try_reserve_owned() {
            Ok(permit) => Ok(Some(DataSlot(permit))),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(None),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(gone()),
        }
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

/// A reserved place in a link's data queue ([`LinkWriter::reserve_data`]); dropping it
/// unused gives the place back.
#[derive(Debug)]
pub struct DataSlot(mpsc::OwnedPermit<Bytes>);

impl DataSlot {
    /// Queues the frame; never waits.
    pub fn send(self, frame: Bytes) {
        self.0.send(frame);
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
