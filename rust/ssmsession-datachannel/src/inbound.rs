//! The queue from the engine to the session's local side (a command's buffers, a port's
//! connections, a terminal), bounded in bytes rather than in messages.
//!
//! A bound in messages alone is no bound: a peer decides how big its messages are. Here
//! every queued payload holds permits of a byte budget until the local side takes it, so
//! the engine can ask "is there room for this one?" and wait for it — and what the engine
//! acknowledges is always something it can hand over (see `engine`).

use std::sync::Arc;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::engine::Payload;

/// The default budget between the engine and the local side.
pub const INBOUND_BYTES: usize = 1024 * 1024;
/// What one queued payload costs beyond its bytes (its place in the queue), so that a
/// flood of empty payloads is bounded too.
pub const ENTRY_OVERHEAD: usize = 64;

struct Queued {
    payload: Payload,
    /// Released when the local side takes the payload.
    _permit: OwnedSemaphorePermit,
}

/// The engine's end.
#[derive(Clone)]
pub struct InboundSender {
    queue: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
    limit: usize,
    _alive: Arc<Alive>,
}

/// Tells the receiver when the last sender is gone, even while it is not reading.
struct Alive(watch::Sender<bool>);

impl Drop for Alive {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// The local side's end.
pub struct InboundReceiver {
    queue: mpsc::UnboundedReceiver<Queued>,
    /// A payload handed back to be read first (see [`InboundReceiver::put_back`]).
    front: Option<Payload>,
    gone: watch::Receiver<bool>,
}

/// The local side is gone; the payload comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed(pub Payload);

/// Why [`InboundSender::try_send`] did not queue the payload.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError {
    /// No room in the budget now.
    Full(Payload),
    /// The local side is gone.
    Closed(Payload),
}

/// A new queue holding at most `limit_bytes` (a payload bigger than the whole budget is
/// still taken, alone).
pub fn inbound_queue(limit_bytes: usize) -> (InboundSender, InboundReceiver) {
    let limit = limit_bytes.clamp(ENTRY_OVERHEAD, u32::MAX as usize);
    let (queue, rx) = mpsc::unbounded_channel();
    let (alive, gone) = watch::channel(false);
    (
        InboundSender {
            queue,
            budget: Arc::new(Semaphore::new(limit)),
            limit,
            _alive: Arc::new(Alive(alive)),
        },
        InboundReceiver {
            queue: rx,
            front: None,
            gone,
        },
    )
}

impl InboundSender {
    /// What a payload of `len` bytes costs in the budget.
    pub fn cost(&self, len: usize) -> usize {
        (len + ENTRY_OVERHEAD).min(self.limit)
    }

    fn permits(&self, len: usize) -> u32 {
        // The budget is at most u32::MAX permits (see `inbound_queue`).
        u32::try_from(self.cost(len)).unwrap_or(u32::MAX)
    }

    /// Queues the payload if the budget has room now.
    pub fn try_send(&self, payload: Payload) -> Result<(), TrySendError> {
        if self.queue.is_closed() {
            return Err(TrySendError::Closed(payload));
        }
        match self
            .budget
            .clone()
            .try_acquire_many_owned(self.permits(payload.data.len()))
        {
            Ok(permit) => self
                .queue_with(payload, permit)
                .map_err(|Closed(p)| TrySendError::Closed(p)),
            Err(_) => Err(TrySendError::Full(payload)),
        }
    }

    /// Queues the payload, waiting for room.
    pub async fn send(&self, payload: Payload) -> Result<(), Closed> {
        let permit = self.reserve(payload.data.len()).await;
        self.queue_with(payload, permit)
    }

    /// Waits until the budget has room for `len` bytes; the room is the caller's until the
    /// permit is used with [`InboundSender::queue_with`] or dropped. Cancel-safe.
    pub async fn reserve(&self, len: usize) -> OwnedSemaphorePermit {
        match self
            .budget
            .clone()
            .acquire_many_owned(self.permits(len))
            .await
        {
            Ok(permit) => permit,
            // The semaphore is never closed; were it, waiting more would be pointless.
            Err(_) => std::future::pending().await,
        }
    }

    /// Room for `len` bytes if the budget has it now.
    pub fn try_reserve(&self, len: usize) -> Option<OwnedSemaphorePermit> {
        self.budget
            .clone()
            .try_acquire_many_owned(self.permits(len))
            .ok()
    }

    /// Queues the payload with room reserved for it.
    pub fn queue_with(&self, payload: Payload, permit: OwnedSemaphorePermit) -> Result<(), Closed> {
        self.queue
            .send(Queued {
                payload,
                _permit: permit,
            })
            .map_err(|e| Closed(e.0.payload))
    }

    /// Bytes (with their overhead) waiting for the local side.
    pub fn queued_bytes(&self) -> usize {
        self.limit - self.budget.available_permits().min(self.limit)
    }

    /// Whether the local side is gone.
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

impl InboundReceiver {
    /// The next payload, in order; None once the engine's sender is gone and all was read.
    pub async fn recv(&mut self) -> Option<Payload> {
        if let Some(payload) = self.front.take() {
            return Some(payload);
        }
        self.queue.recv().await.map(|queued| queued.payload)
    }

    /// The next payload if one is waiting.
    pub fn try_recv(&mut self) -> Option<Payload> {
        if let Some(payload) = self.front.take() {
            return Some(payload);
        }
        self.queue.try_recv().ok().map(|queued| queued.payload)
    }

    /// Resolves once the engine's sender is gone (what it queued may still be read).
    pub async fn sender_gone(&mut self) {
        let _ = self.gone.wait_for(|gone| *gone).await;
    }

    /// Hands a payload back, to be read again first (the handshake peeks at the first
    /// payload of a shell started without one).
    pub fn put_back(&mut self, payload: Payload) {
        debug_assert!(self.front.is_none(), "one payload put back at a time");
        self.front = Some(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Payload {
        Payload::output(vec![7; n])
    }

    #[tokio::test]
    async fn the_budget_counts_bytes_until_the_local_side_takes_them() {
        let (tx, mut rx) = inbound_queue(10_000);
        tx.try_send(bytes(4_000)).unwrap();
        tx.try_send(bytes(4_000)).unwrap();
        assert_eq!(tx.queued_bytes(), 2 * (4_000 + ENTRY_OVERHEAD));
        assert!(matches!(
            tx.try_send(bytes(4_000)),
            Err(TrySendError::Full(_))
        ));
        assert_eq!(rx.recv().await.unwrap().data.len(), 4_000);
        tx.try_send(bytes(4_000)).unwrap();
    }

    #[tokio::test]
    async fn a_payload_bigger_than_the_budget_still_passes_alone() {
        let (tx, mut rx) = inbound_queue(1_000);
        tx.send(bytes(50_000)).await.unwrap();
        assert!(matches!(tx.try_send(bytes(1)), Err(TrySendError::Full(_))));
        assert_eq!(rx.recv().await.unwrap().data.len(), 50_000);
        tx.try_send(bytes(1)).unwrap();
    }

    #[tokio::test]
    async fn a_put_back_payload_is_read_first_and_a_gone_receiver_is_reported() {
        let (tx, mut rx) = inbound_queue(1_000);
        tx.try_send(bytes(2)).unwrap();
        rx.put_back(bytes(1));
        assert_eq!(rx.try_recv().unwrap().data.len(), 1);
        assert_eq!(rx.recv().await.unwrap().data.len(), 2);
        drop(rx);
        assert!(tx.is_closed());
        assert!(matches!(
            tx.try_send(bytes(1)),
            Err(TrySendError::Closed(_))
        ));
        assert!(tx.send(bytes(1)).await.is_err());
    }
}
