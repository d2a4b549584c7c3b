//! The agent's socket as an engine [`Link`], with the configured faults: lost, duplicated
//! and reordered frames, added delay, `pause_publication` bursts and a forced close.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use ssm_datachannel::engine::{Link, LinkError};
use ssm_datachannel::message::{
    epoch_millis, ClientMessage, MessageType, PayloadType, SCHEMA_VERSION,
};
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::Faults;

/// How long a `pause_publication` burst lasts before `start_publication`.
const PAUSE_LENGTH: Duration = Duration::from_millis(200);

pub struct AgentLink {
    socket: WebSocket,
    faults: Faults,
    /// A frame held back to be sent after the next one (reordering).
    held: Option<Vec<u8>>,
    /// A received frame to hand out a second time (duplication).
    replay: Option<Vec<u8>>,
    closes_at: Option<Instant>,
    /// When the next pause starts, or (while paused) when it ends.
    next_publication_change: Option<Instant>,
    paused: bool,
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
        Self {
            socket,
            closes_at: faults.close_after.map(|after| now + after),
            next_publication_change: faults.pause_every.map(|every| now + every),
            faults,
            held: None,
            replay: None,
            paused: false,
        }
    }

    /// Sends without faults: service messages such as `channel_closed`.
    pub async fn send_reliably(&mut self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.socket
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| LinkError(e.to_string()))
    }

    pub async fn close(mut self, code: u16, reason: &str) {
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.to_owned().into(),
            })))
            .await;
    }

    async fn toggle_publication(&mut self) -> Result<(), LinkError> {
        self.paused = !self.paused;
        let (message_type, next) = if self.paused {
            (MessageType::PausePublication, Some(PAUSE_LENGTH))
        } else {
            (MessageType::StartPublication, self.faults.pause_every)
        };
        self.next_publication_change = next.map(|after| Instant::now() + after);
        self.send_reliably(publication(message_type)).await
    }
}

impl Link for AgentLink {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), LinkError> {
        if !self.faults.delay.is_zero() {
            tokio::time::sleep(self.faults.delay).await;
        }
        if chance(self.faults.drop) {
            return Ok(());
        }
        if self.held.is_none() && chance(self.faults.reorder) {
            self.held = Some(frame);
            return Ok(());
        }
        if chance(self.faults.duplicate) {
            self.send_reliably(frame.clone()).await?;
        }
        self.send_reliably(frame).await?;
        if let Some(held) = self.held.take() {
            self.send_reliably(held).await?;
        }
        Ok(())
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
        if let Some(frame) = self.replay.take() {
            return Ok(Some(frame));
        }
        loop {
            let closes_at = self.closes_at;
            let change_at = self.next_publication_change;
            tokio::select! {
                frame = self.socket.recv() => {
                    let bytes: Vec<u8> = match frame {
                        Some(Ok(Message::Binary(bytes))) => bytes.into(),
                        Some(Ok(Message::Text(text))) => text.as_str().as_bytes().to_vec(),
                        Some(Ok(Message::Close(_))) | None => return Ok(None),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(LinkError(e.to_string())),
                    };
                    if chance(self.faults.drop) {
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
                    let _ = self.socket.send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "Bye".into(),
                    }))).await;
                    return Ok(None);
                }
                _ = sleep_until(change_at), if change_at.is_some() => {
                    self.toggle_publication().await?;
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
