//! Opening a session: connect, then run the handshake the agent drives, with the
//! protocol's delivery rules already in force — acknowledgements, in-order delivery,
//! retransmission of the client's own messages, `channel_closed`.

use std::time::{Duration, Instant};

use serde::Deserialize;
use uuid::Uuid;

use crate::handshake::{respond, HandshakeComplete, HandshakeRequest, SessionKind, Version};
use crate::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, SCHEMA_VERSION,
};
use crate::payload::{acknowledge, AcknowledgeContent, Flag};
use crate::reliability::{Arrival, OutgoingWindow, Reorder, WindowFull, DEFAULT_CAPACITY};
use crate::transport::{connect, ChannelConfig, Connection, TransportError};

/// How often unacknowledged messages are checked for retransmission (the reference tick).
pub const RESEND_TICK: Duration = Duration::from_millis(100);

/// A session whose handshake completed.
pub struct OpenedSession {
    pub connection: Connection,
    pub kind: SessionKind,
    pub agent_version: Version,
    /// Shown to the user when not empty (e.g. "This session is encrypted using AWS KMS.").
    pub customer_message: String,
    /// The client's sent, unacknowledged messages.
    pub outgoing: OutgoingWindow<ClientMessage>,
    /// Where the agent's next messages are delivered in order.
    pub incoming: Reorder<ClientMessage>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the session ended: {0}")]
    ChannelClosed(String),
    #[error("the channel closed before the handshake completed")]
    ClosedDuringHandshake,
    #[error("the handshake did not complete within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("the session did not close within {0:?} of TerminateSession")]
    TerminateTimeout(Duration),
    #[error("the agent asked for a session this client cannot run: {0}")]
    Refused(String),
    #[error(transparent)]
    Backpressure(#[from] WindowFull),
}

/// The JSON of a `channel_closed` message; `Output` says why.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChannelClosed {
    #[serde(default)]
    output: String,
    #[serde(default)]
    session_id: String,
}

/// An `input_stream_data` message with the given sequence number.
pub fn input_message(sequence: i64, payload_type: PayloadType, payload: Vec<u8>) -> ClientMessage {
    ClientMessage {
        message_type: MessageType::InputStreamData,
        schema_version: SCHEMA_VERSION,
        created_date: now_ms(),
        sequence_number: sequence,
        flags: 0,
        message_id: Uuid::new_v4(),
        payload_type,
        payload,
    }
}

impl OpenedSession {
    /// Ends the session from this side: sends the TerminateSession flag (a sequenced,
    /// retransmitted message) and waits for the service's `channel_closed` or the socket's
    /// close, at most `timeout`.
    pub async fn terminate(mut self, timeout: Duration) -> Result<(), SessionError> {
        let flag = Flag::TerminateSession.to_payload();
        let sequence = self.outgoing.push(Instant::now(), |seq| {
            input_message(seq, PayloadType::FLAG, flag)
        })?;
        if let Some(message) = self
            .outgoing
            .unacknowledged()
            .find(|m| m.sequence_number == sequence)
        {
            let message = message.clone();
            self.connection.send(&message).await?;
        }
        let closed = async {
            let mut ticker = tokio::time::interval(RESEND_TICK);
            loop {
                let frame = tokio::select! {
                    frame = self.connection.recv() => frame?,
                    _ = ticker.tick() => {
                        resend_due(&mut self.connection, &mut self.outgoing).await?;
                        continue;
                    }
                };
                let Some(frame) = frame else { return Ok(()) };
                if frame.validate().is_err() {
                    continue;
                }
                let message = frame.message;
                match message.message_type {
                    MessageType::ChannelClosed => return Ok(()),
                    MessageType::Acknowledge => apply_acknowledgement(&mut self.outgoing, &message),
                    // Late output: acknowledge it so the agent can finish, then drop it.
                    MessageType::OutputStreamData => {
                        self.connection
                            .send(&acknowledge(&message, now_ms()))
                            .await?
                    }
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(timeout, closed).await {
            Ok(result) => result,
            Err(_) => Err(SessionError::TerminateTimeout(timeout)),
        }
    }
}

/// Connects and completes the handshake within `timeout`.
pub async fn open_session(
    config: &ChannelConfig,
    timeout: Duration,
) -> Result<OpenedSession, SessionError> {
    let connection = connect(config).await?;
    match tokio::time::timeout(timeout, handshake(connection, &config.client_version)).await {
        Ok(result) => result,
        Err(_) => Err(SessionError::HandshakeTimeout(timeout)),
    }
}

async fn handshake(
    mut connection: Connection,
    client_version: &str,
) -> Result<OpenedSession, SessionError> {
    let mut outgoing: OutgoingWindow<ClientMessage> = OutgoingWindow::new(DEFAULT_CAPACITY);
    let mut incoming: Reorder<ClientMessage> = Reorder::new(DEFAULT_CAPACITY);
    let mut requested: Option<(SessionKind, Version)> = None;
    let mut ticker = tokio::time::interval(RESEND_TICK);
    loop {
        let frame = tokio::select! {
            frame = connection.recv() => frame?,
            _ = ticker.tick() => {
                resend_due(&mut connection, &mut outgoing).await?;
                continue;
            }
        };
        let Some(frame) = frame else {
            return Err(SessionError::ClosedDuringHandshake);
        };
        // Invalid messages are dropped unacknowledged; the agent sends them again.
        if frame.validate().is_err() {
            continue;
        }
        let message = frame.message;
        match message.message_type {
            MessageType::Acknowledge => apply_acknowledgement(&mut outgoing, &message),
            MessageType::ChannelClosed => {
                let closed: Option<ChannelClosed> = serde_json::from_slice(&message.payload).ok();
                let reason = match closed {
                    Some(c) if !c.output.is_empty() => c.output,
                    Some(c) => format!("Exiting session with sessionId: {}.", c.session_id),
                    None => "the service closed the channel".to_owned(),
                };
                return Err(SessionError::ChannelClosed(reason));
            }
            MessageType::OutputStreamData => {
                let sequence = message.sequence_number;
                let mut next = match incoming.offer(sequence, message) {
                    Arrival::InOrder(message) => Some(message),
                    Arrival::Buffered | Arrival::Duplicate => {
                        connection.send(&acknowledge_sequence(sequence)).await?;
                        None
                    }
                    Arrival::Dropped => None,
                };
                while let Some(message) = next {
                    // Handshake messages are acknowledged before they are handled.
                    connection.send(&acknowledge(&message, now_ms())).await?;
                    match message.payload_type {
                        PayloadType::HANDSHAKE_REQUEST => {
                            let request: HandshakeRequest =
                                serde_json::from_slice(&message.payload).map_err(|e| {
                                    SessionError::Refused(format!(
                                        "unreadable HandshakeRequest: {e}"
                                    ))
                                })?;
                            let outcome = respond(&request, client_version);
                            let response =
                                serde_json::to_vec(&outcome.response).unwrap_or_default();
                            let sequence = outgoing.push(Instant::now(), |seq| {
                                input_message(seq, PayloadType::HANDSHAKE_RESPONSE, response)
                            })?;
                            if let Some(sent) = outgoing
                                .unacknowledged()
                                .find(|m| m.sequence_number == sequence)
                            {
                                connection.send(sent).await?;
                            }
                            match outcome.session {
                                Some(kind) => {
                                    requested = Some((kind, Version::parse(&request.agent_version)))
                                }
                                None => {
                                    return Err(SessionError::Refused(
                                        outcome.response.errors.unwrap_or_default().join("; "),
                                    ))
                                }
                            }
                        }
                        PayloadType::HANDSHAKE_COMPLETE => {
                            let complete: HandshakeComplete = serde_json::from_slice(
                                &message.payload,
                            )
                            .unwrap_or(HandshakeComplete {
                                handshake_time_to_complete: 0,
                                customer_message: String::new(),
                            });
                            let Some((kind, agent_version)) = requested.take() else {
                                return Err(SessionError::Refused(
                                    "HandshakeComplete before HandshakeRequest".into(),
                                ));
                            };
                            let _ = incoming.commit();
                            return Ok(OpenedSession {
                                connection,
                                kind,
                                agent_version,
                                customer_message: complete.customer_message,
                                outgoing,
                                incoming,
                            });
                        }
                        // Anything else before the handshake completes is not for us yet.
                        _ => {}
                    }
                    next = incoming.commit();
                }
            }
            // start_publication, pause_publication, agent_session_state, unknown types.
            _ => {}
        }
    }
}

/// Sends again what has waited for an acknowledgement longer than the timeout.
async fn resend_due(
    connection: &mut Connection,
    outgoing: &mut OutgoingWindow<ClientMessage>,
) -> Result<(), TransportError> {
    let due: Vec<ClientMessage> = outgoing.due(Instant::now()).into_iter().cloned().collect();
    for message in &due {
        connection.send(message).await?;
    }
    Ok(())
}

/// Removes what an `acknowledge` message acknowledges from the window; an unreadable or
/// unknown acknowledgement changes nothing.
fn apply_acknowledgement(outgoing: &mut OutgoingWindow<ClientMessage>, message: &ClientMessage) {
    if let Ok(content) = serde_json::from_slice::<AcknowledgeContent>(&message.payload) {
        outgoing.acknowledge(content.acknowledged_message_sequence_number, Instant::now());
    }
}

/// An acknowledgement for an `output_stream_data` sequence number (receivers match by
/// number only).
fn acknowledge_sequence(sequence: i64) -> ClientMessage {
    let placeholder = ClientMessage {
        message_type: MessageType::OutputStreamData,
        schema_version: SCHEMA_VERSION,
        created_date: now_ms(),
        sequence_number: sequence,
        flags: 0,
        message_id: Uuid::nil(),
        payload_type: PayloadType::OUTPUT,
        payload: Vec::new(),
    };
    acknowledge(&placeholder, now_ms())
}
