//! The agent's socket as an engine [`Link`], with the configured faults: lost, duplicated
//! and reordered frames (both ways), added delay, `pause_publication` bursts, a forced
//! close and a stall (silence after a while). Outgoing faults act in the link's writer, so
//! they never hold up reading.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use ssmsession_datachannel::link::{Link, LinkError, LinkWriter, Outgoing};
use ssmsession_datachannel::message::{
    epoch_millis, ClientMessage, MessageType, PayloadType, SCHEMA_VERSION,
};
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::Faults;

/// How long a closed socket waits for the client's answering close frame: the client
/// answers once it has read everything before it, which a slow reader takes time to do.
const CLOSING_HANDSHAKE_LIMIT: Duration = Duration::from_secs(120);
/// How long a `pause_publication` burst lasts before `start_publication`.
const PAUSE_LENGTH: Duration = Duration::from_millis(200);

pub struct AgentLink {
    writer: LinkWriter,
    reader: SplitStream<WebSocket>,
    faults: Faults,
    /// A received frame to hand out a second time (duplication).
    replay: Option<Vec<u8>>,
    closes_at: Option<Instant>,
    /// When the next pause starts, or (while paused) when it ends.
    next_publication_change: Option<Instant>,
    paused: bool,
    /// From then on every frame is discarded, both ways (the stall fault).
    stalls_at: Option<Instant>,
}

fn stalled(stalls_at: Option<Instant>) -> bool {
    stalls_at.is_some_and(|at| Instant::now() >= at)
}

fn chance(fraction: f64) -> bool {
    fraction > 0.0 && rand::random::<f64>() < fraction
}

/// A service control message (`pause_publication` / `start_publication`).
fn publication(message_type: MessageType) -> Vec<u8> {
    ClientMessage {
        message_type,
        schema_version: SCHEMA_VERSION,
        created_date: epoch_millis(),
        sequence_number: 0,
        flags: 0,
        message_id: Uuid::new_v4(),
        payload_type: PayloadType::UNSET,
        payload: Vec::new(),
    }
    .encode()
    .unwrap_or_default()
}

impl AgentLink {
    pub fn new(socket: WebSocket, faults: Faults) -> Self {
        let now = Instant::now();
        let (sink, reader) = socket.split();
        let stalls_at = faults.stall_after.map(|after| now + after);
        Self {
            writer: LinkWriter::spawn(faulty_sink(sink, faults.clone(), stalls_at), |item| item),
            stalls_at,
            reader,
            closes_at: faults.close_after.map(|after| now + after),
            next_publication_change: faults.pause_every.map(|every| now + every),
            faults,
            replay: None,
            paused: false,
        }
    }

    /// Sends without faults: service messages such as `channel_closed`.
    pub fn send_reliably(&self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.writer.send_urgent(frame)
    }

    /// Closes the socket after what is queued, with the WebSocket closing handshake: the
    /// socket is read (and what arrives dropped) until the client answers the close frame.
    /// Dropping it at once would close the TCP connection with the client's unread
    /// acknowledgements in its buffer, which makes the kernel reset it — and a reset
    /// discards what the client had not read yet, `channel_closed` included.
    pub fn close(self, code: u16, reason: &str) {
        self.writer.close(code, reason);
        let mut reader = self.reader;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CLOSING_HANDSHAKE_LIMIT, async {
                while let Some(Ok(_)) = reader.next().await {}
            })
            .await;
        });
    }

    fn toggle_publication(&mut self) -> Result<(), LinkError> {
        self.paused = !self.paused;
        let (message_type, next) = if self.paused {
            (MessageType::PausePublication, Some(PAUSE_LENGTH))
        } else {
            (MessageType::StartPublication, self.faults.pause_every)
        };
        self.next_publication_change = next.map(|after| Instant::now() + after);
        self.send_reliably(publication(message_type))
    }
}

impl Link for AgentLink {
    fn writer(&self) -> &LinkWriter {
        &self.writer
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
        if let Some(frame) = self.replay.take() {
            return Ok(Some(frame));
        }
        loop {
            let closes_at = self.closes_at;
            let change_at = self.next_publication_change;
            tokio::select! {
                frame = self.reader.next() => {
                    let bytes: Vec<u8> = match frame {
                        Some(Ok(Message::Binary(bytes))) => bytes.into(),
                        Some(Ok(Message::Text(text))) => text.as_str().as_bytes().to_vec(),
                        Some(Ok(Message::Close(_))) | None => return Ok(None),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(LinkError::lost(e.to_string())),
                    };
                    if stalled(self.stalls_at) || chance(self.faults.drop) {
                        continue;
                    }
                    if chance(self.faults.duplicate) {
                        self.replay = Some(bytes.clone());
                    }
                    return Ok(Some(bytes));
                }
                _ = sleep_until(closes_at), if closes_at.is_some() => {
                    // As the service does about hourly: a normal close, then resume.
                    self.closes_at = None;
                    self.writer.close(1000, "Bye");
                    return Ok(None);
                }
                _ = sleep_until(change_at), if change_at.is_some() => {
                    self.toggle_publication()?;
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The socket's sink with the faults applied to engine frames on their way out: a delay
/// before each, and some lost, doubled, or held back until after the next one. Service
/// messages (`channel_closed`, publication control) and close frames pass untouched.
/// Once stalled, nothing but close frames passes.
fn faulty_sink(
    sink: SplitSink<WebSocket, Message>,
    faults: Faults,
    stalls_at: Option<Instant>,
) -> impl futures_util::Sink<Outgoing, Error = axum::Error> + Unpin + Send {
    let delay = faults.delay;
    let mut held: Option<bytes::Bytes> = None;
    let faulted = sink.with_flat_map(move |item: Outgoing| {
        let frames: Vec<Outgoing> = match item {
            Outgoing::Frame(_) if stalled(stalls_at) => Vec::new(),
            Outgoing::Frame(frame) if !is_service_message(&frame) => {
                if chance(faults.drop) {
                    Vec::new()
                } else if held.is_none() && chance(faults.reorder) {
                    held = Some(frame);
                    Vec::new()
                } else {
                    let mut out = Vec::new();
                    if chance(faults.duplicate) {
                        out.push(Outgoing::Frame(frame.clone()));
                    }
                    out.push(Outgoing::Frame(frame));
                    out.extend(held.take().map(Outgoing::Frame));
                    out
                }
            }
            other => vec![other],
        };
        futures_util::stream::iter(frames.into_iter().map(|o| Ok(to_message(o))))
    });
    Box::pin(faulted.with(move |item: Outgoing| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<_, axum::Error>(item)
    }))
}

fn is_service_message(frame: &[u8]) -> bool {
    ClientMessage::decode(frame).is_ok_and(|decoded| {
        matches!(
            decoded.message.message_type,
            MessageType::ChannelClosed
                | MessageType::PausePublication
                | MessageType::StartPublication
        )
    })
}

fn to_message(item: Outgoing) -> Message {
    match item {
        Outgoing::Frame(frame) => Message::Binary(frame),
        Outgoing::Close { code, reason } => Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
        Outgoing::Ping(payload) => Message::Ping(payload),
    }
}
