//! Opening a session: connect, then run the handshake the agent drives, with the
//! protocol's delivery rules already in force (the [`Endpoint`] engine: acknowledgements,
//! in-order delivery, retransmission, `channel_closed`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::crypto::{encryption_context_with, from_base64, to_base64, Encryption, SessionCipher};
use crate::engine::{Endpoint, Payload, PumpEnd, Role};
use crate::handshake::{
    requested_kms_challenge, requested_kms_key, respond_with_key, HandshakeComplete,
    HandshakeRequest, SessionKind, Version,
};
use crate::inbound::{inbound_queue, InboundReceiver, InboundSender, INBOUND_BYTES};
use crate::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, SCHEMA_VERSION,
};
use crate::payload::Flag;
use crate::reliability::WindowFull;
use crate::transport::{connect, ChannelConfig, Connection, TransportError};

pub use crate::engine::RESEND_TICK;

/// Unacknowledged messages the client keeps by default (the reference: 10 000 of at most
/// 1 KiB). Port sessions size it from their chunk size.
pub const DEFAULT_WINDOW: usize = 10_000;
/// Payloads queued from the local side for the engine to send.
const CHANNEL_DEPTH: usize = 64;

/// The session type of a session the agent started without a handshake (a plain shell).
pub const NO_HANDSHAKE_SESSION_TYPE: &str = "Standard_Stream";

/// The local side's ends of the engine's channels.
pub struct LocalChannels {
    /// Payloads to send to the agent, in order.
    pub to_agent: mpsc::Sender<Payload>,
    /// Payloads the agent sent, in order (bounded in bytes).
    pub from_agent: InboundReceiver,
}

/// The engine's ends of the same channels.
pub struct EngineChannels {
    pub outbound: mpsc::Receiver<Payload>,
    pub inbound: InboundSender,
}

/// A session whose handshake completed.
pub struct OpenedSession {
    pub connection: Connection,
    pub endpoint: Endpoint,
    pub kind: SessionKind,
    pub agent_version: Version,
    /// Shown to the user when not empty (e.g. "This session is encrypted using AWS KMS.").
    pub customer_message: String,
    /// What the agent sent after HandshakeComplete is already waiting here.
    pub local: LocalChannels,
    pub engine: EngineChannels,
    /// Set when the agent asked for KMS encryption: decrypts what it sends (Output, StdErr,
    /// ExitCode) and encrypts the client's Output.
    pub cipher: Option<Arc<SessionCipher>>,
    /// The service already closed the channel (its reason): what it sent before is queued
    /// in `local`, and the session ends once that is handled.
    pub closed: Option<String>,
    /// Set when the session was taken for a quiet shell before the agent said anything: a
    /// HandshakeRequest may still come (a slow agent, KMS, a custom document), and the
    /// shell answers it then ([`crate::late_handshake`]).
    pub late_handshake: Option<LateHandshake>,
}

/// What answering a HandshakeRequest after the session started takes.
#[derive(Clone)]
pub struct LateHandshake {
    pub client_version: String,
    /// For the KMS encryption context when no StartSession id was given.
    pub session_id: String,
    pub encryption: Option<Encryption>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{0}")]
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
    #[error("the agent did not acknowledge a message for {0:?}")]
    Unacknowledged(Duration),
    #[error("the agent broke the data channel protocol: {0}")]
    PeerError(String),
}

fn kind_name(kind: &SessionKind) -> &str {
    match kind {
        SessionKind::Shell { session_type, .. } => session_type,
        SessionKind::Port { .. } => "Port",
    }
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
        let flag = Payload {
            payload_type: PayloadType::FLAG,
            data: Flag::TerminateSession.to_payload(),
        };
        self.local
            .to_agent
            .send(flag)
            .await
            .map_err(|_| SessionError::ClosedDuringHandshake)?;
        // Late output is acknowledged and dropped so that the agent can finish.
        let mut sink = self.local.from_agent;
        let drain = tokio::spawn(async move { while sink.recv().await.is_some() {} });
        let pumped = tokio::time::timeout(
            timeout,
            self.endpoint.pump(
                &mut self.connection,
                &mut self.engine.outbound,
                &self.engine.inbound,
            ),
        )
        .await;
        drain.abort();
        match pumped {
            Ok(
                PumpEnd::ChannelClosed(_)
                | PumpEnd::LinkLost(_)
                | PumpEnd::Finished
                | PumpEnd::AllSent,
            ) => Ok(()),
            Ok(PumpEnd::Unacknowledged(age)) => Err(SessionError::Unacknowledged(age)),
            Ok(PumpEnd::PeerError(reason)) => Err(SessionError::PeerError(reason)),
            Err(_) => Err(SessionError::TerminateTimeout(timeout)),
        }
    }
}

/// Connects and completes the handshake within `timeout`.
pub async fn open_session(
    config: &ChannelConfig,
    timeout: Duration,
) -> Result<OpenedSession, SessionError> {
    open_session_with_window(config, timeout, DEFAULT_WINDOW).await
}

/// [`open_session`] with a given bound on unacknowledged messages.
pub async fn open_session_with_window(
    config: &ChannelConfig,
    timeout: Duration,
    window: usize,
) -> Result<OpenedSession, SessionError> {
    open_session_with(config, timeout, window, None, None).await
}

/// [`open_session_with_window`], able to accept KMS encryption when the agent asks for it.
///
/// `quiet_shell_after`: for callers that want a shell. Agents start unencrypted shells
/// without a handshake and the session type is learnt from their first output; a program
/// that prints nothing until it reads input (`read`, `cat`, `tail -f` of a quiet file)
/// would keep such a session from ever opening. After this long with nothing at all from
/// the agent (which sends its HandshakeRequest first thing when there is one), the session
/// is taken for a shell.
pub async fn open_session_with(
    config: &ChannelConfig,
    timeout: Duration,
    window: usize,
    encryption: Option<&Encryption>,
    quiet_shell_after: Option<Duration>,
) -> Result<OpenedSession, SessionError> {
    let connection = connect_with_retries(config).await?;
    let session_id = crate::transport::session_id_of(&config.stream_url).to_owned();
    match tokio::time::timeout(
        timeout,
        handshake(
            connection,
            &config.client_version,
            window,
            &session_id,
            encryption,
            quiet_shell_after,
        ),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(SessionError::HandshakeTimeout(timeout)),
    }
}

/// Retries of a first connection that failed for a reason that can pass (the reference
/// retryer: 5 retries, 100–200 ms doubling).
pub const CONNECT_RETRIES: u32 = 5;
const CONNECT_FIRST_DELAY: Duration = Duration::from_millis(150);
const CONNECT_MAX_DELAY: Duration = Duration::from_secs(5);

/// Connects, retrying with back-off and jitter when the failure can pass (the connection
/// refused or reset, a 5xx answer to the upgrade, a proxy failure); an answer that will not
/// change (a refused signature, an unknown session, a bad URL) fails at once.
async fn connect_with_retries(config: &ChannelConfig) -> Result<Connection, TransportError> {
    let mut delay = CONNECT_FIRST_DELAY;
    let mut retries = 0;
    loop {
        match connect(config).await {
            Ok(connection) => return Ok(connection),
            Err(e) if retries < CONNECT_RETRIES && e.may_pass() => {
                retries += 1;
                tracing::warn!(retry = retries, %e, "could not open the data channel; trying again");
                tokio::time::sleep(delay.mul_f64(0.5 + rand::random::<f64>())).await;
                delay = (delay * 2).min(CONNECT_MAX_DELAY);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The challenge field of EncChallengeRequest and EncChallengeResponse.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Challenge {
    challenge: String,
}

/// Asks KMS for the session's data key; the ciphertext blob for the agent, or the reason.
async fn data_key_for(
    encryption: &Encryption,
    key_id: &str,
    session_id: &str,
    challenge: Option<&str>,
) -> Result<(Vec<u8>, SessionCipher), String> {
    // The session id StartSession returned; the stream URL's only when none was given.
    let session_id = if encryption.session_id.is_empty() {
        session_id
    } else {
        encryption.session_id.as_str()
    };
    let context = encryption_context_with(session_id, &encryption.target, challenge);
    let key = encryption
        .provider
        .generate_data_key(key_id, context)
        .await?;
    let cipher = SessionCipher::for_client(&key.plaintext).map_err(|e| e.to_string())?;
    Ok((key.ciphertext_blob, cipher))
}

/// The answer to the agent's challenge: its bytes decrypted with our decryption key and
/// encrypted with our encryption key.
fn answer_challenge(cipher: &SessionCipher, request: &[u8]) -> Result<Vec<u8>, SessionError> {
    let refused = |why: String| SessionError::Refused(format!("KMS challenge: {why}"));
    let challenge: Challenge =
        serde_json::from_slice(request).map_err(|e| refused(e.to_string()))?;
    let sealed = from_base64(&challenge.challenge).map_err(|e| refused(e.to_string()))?;
    let plain = cipher
        .decrypt(&sealed)
        .map_err(|e| refused(e.to_string()))?;
    serde_json::to_vec(&Challenge {
        challenge: to_base64(&cipher.encrypt(&plain)),
    })
    .map_err(|e| refused(e.to_string()))
}

/// The client's answer to one HandshakeRequest.
pub(crate) struct Answer {
    /// The HandshakeResponse to send.
    pub response: Payload,
    /// The session's cipher, when the agent asked for KMS encryption and the key was made.
    pub cipher: Option<SessionCipher>,
    /// The session the agent asked for and its version, or why this client refuses it
    /// (the response says so to the agent, which ends the session).
    pub session: Result<(SessionKind, Version), String>,
}

/// Reads a HandshakeRequest and answers each requested action, asking KMS for the data key
/// when the agent wants encryption and `encryption` allows it.
pub(crate) async fn answer_request(
    data: &[u8],
    client_version: &str,
    session_id: &str,
    encryption: Option<&Encryption>,
) -> Result<Answer, SessionError> {
    let request: HandshakeRequest = serde_json::from_slice(data)
        .map_err(|e| SessionError::Refused(format!("unreadable HandshakeRequest: {e}")))?;
    let mut cipher = None;
    let data_key = match (requested_kms_key(&request), encryption) {
        (Some(key_id), Some(encryption)) => {
            let challenge = requested_kms_challenge(&request);
            Some(
                match data_key_for(encryption, &key_id, session_id, challenge.as_deref()).await {
                    Ok((blob, session_cipher)) => {
                        cipher = Some(session_cipher);
                        Ok(blob)
                    }
                    Err(reason) => Err(format!("KMS GenerateDataKey failed: {reason}")),
                },
            )
        }
        _ => None,
    };
    let outcome = respond_with_key(&request, client_version, data_key.as_ref());
    let response = Payload {
        payload_type: PayloadType::HANDSHAKE_RESPONSE,
        data: serde_json::to_vec(&outcome.response).unwrap_or_default(),
    };
    let kms_failed = matches!(data_key, Some(Err(_)));
    let session = match outcome.session {
        Some(kind) if !kms_failed => Ok((kind, Version::parse(&request.agent_version))),
        _ => Err(outcome.response.errors.unwrap_or_default().join("; ")),
    };
    Ok(Answer {
        response,
        cipher,
        session,
    })
}

/// The payload answering an EncChallengeRequest.
pub(crate) fn challenge_response(
    cipher: &SessionCipher,
    request: &[u8],
) -> Result<Payload, SessionError> {
    Ok(Payload {
        payload_type: PayloadType::ENC_CHALLENGE_RESPONSE,
        data: answer_challenge(cipher, request)?,
    })
}

/// The client's side of a channel during the handshake: the engine already runs (so the
/// agent's messages are acknowledged and kept in order), the local ends are read here.
struct Handshaking {
    connection: Connection,
    endpoint: Endpoint,
    local: LocalChannels,
    engine: EngineChannels,
    /// The agent's session and version, once its HandshakeRequest was accepted.
    requested: Option<(SessionKind, Version)>,
    cipher: Option<Arc<SessionCipher>>,
    /// Set when the service closed the channel while payloads were still queued for us.
    closed: Option<String>,
}

/// What the channel brought next during the handshake.
enum Arrival {
    Payload(Payload),
    /// Nothing from the agent within the quiet-shell wait.
    Quiet,
}

impl Handshaking {
    fn new(connection: Connection, window: usize) -> Self {
        let (to_agent, outbound) = mpsc::channel(CHANNEL_DEPTH);
        let (inbound, from_agent) = inbound_queue(INBOUND_BYTES);
        Self {
            connection,
            endpoint: Endpoint::new(Role::Client, window),
            local: LocalChannels {
                to_agent,
                from_agent,
            },
            engine: EngineChannels { outbound, inbound },
            requested: None,
            cipher: None,
            closed: None,
        }
    }

    /// The agent's next payload, running the engine meanwhile; [`Arrival::Quiet`] once
    /// `quiet_deadline` passes (when there is one).
    async fn next(
        &mut self,
        quiet_deadline: Option<tokio::time::Instant>,
    ) -> Result<Arrival, SessionError> {
        loop {
            if let Some(reason) = &self.closed {
                // The service closed the channel right behind what it delivered (a command
                // that ran at once): handle what is queued, then report the close.
                return match self.local.from_agent.try_recv() {
                    Some(payload) => Ok(Arrival::Payload(payload)),
                    None => Err(SessionError::ChannelClosed(reason.clone())),
                };
            }
            let quiet =
                tokio::time::sleep_until(quiet_deadline.unwrap_or_else(tokio::time::Instant::now));
            tokio::select! {
                end = self.endpoint.pump(&mut self.connection, &mut self.engine.outbound, &self.engine.inbound) => match end {
                    PumpEnd::ChannelClosed(reason) => self.closed = Some(reason),
                    PumpEnd::Unacknowledged(age) => return Err(SessionError::Unacknowledged(age)),
                    PumpEnd::PeerError(reason) => return Err(SessionError::PeerError(reason)),
                    PumpEnd::LinkLost(_) | PumpEnd::Finished | PumpEnd::AllSent => return Err(SessionError::ClosedDuringHandshake),
                },
                // The engine holds the sender, so the channel cannot close while it runs.
                delivered = self.local.from_agent.recv() => {
                    return delivered.map(Arrival::Payload).ok_or(SessionError::ClosedDuringHandshake)
                }
                _ = quiet, if quiet_deadline.is_some() => return Ok(Arrival::Quiet),
            }
        }
    }

    async fn send(&self, payload: Payload) -> Result<(), SessionError> {
        self.local
            .to_agent
            .send(payload)
            .await
            .map_err(|_| SessionError::ClosedDuringHandshake)
    }

    /// Answers the agent's HandshakeRequest; a session this client cannot run is refused
    /// after the answer had a moment to reach the agent (so that it ends the session).
    async fn on_request(
        &mut self,
        request: &[u8],
        client_version: &str,
        session_id: &str,
        encryption: Option<&Encryption>,
    ) -> Result<(), SessionError> {
        let answer = answer_request(request, client_version, session_id, encryption).await?;
        self.send(answer.response).await?;
        match answer.session {
            Ok(session) => {
                self.cipher = answer.cipher.map(Arc::new);
                self.requested = Some(session);
                Ok(())
            }
            Err(reason) => {
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    self.endpoint.pump(
                        &mut self.connection,
                        &mut self.engine.outbound,
                        &self.engine.inbound,
                    ),
                )
                .await;
                Err(SessionError::Refused(reason))
            }
        }
    }

    /// Answers the agent's KMS challenge with the agreed key.
    async fn on_challenge(&self, request: &[u8]) -> Result<(), SessionError> {
        let Some(cipher) = self.cipher.as_deref() else {
            return Err(SessionError::Refused(
                "the agent sent a KMS challenge, but no key was agreed".into(),
            ));
        };
        self.send(challenge_response(cipher, request)?).await
    }

    /// HandshakeComplete: the session is open.
    fn complete(mut self, message: &[u8]) -> Result<OpenedSession, SessionError> {
        let complete: HandshakeComplete =
            serde_json::from_slice(message).unwrap_or(HandshakeComplete {
                handshake_time_to_complete: 0,
                customer_message: String::new(),
            });
        let Some((kind, agent_version)) = self.requested.take() else {
            return Err(SessionError::Refused(
                "HandshakeComplete before HandshakeRequest".into(),
            ));
        };
        tracing::info!(%agent_version, session = ?kind_name(&kind), "handshake complete");
        Ok(OpenedSession {
            connection: self.connection,
            endpoint: self.endpoint,
            kind,
            agent_version,
            customer_message: complete.customer_message,
            local: self.local,
            engine: self.engine,
            cipher: self.cipher,
            closed: self.closed,
            late_handshake: None,
        })
    }

    /// A session the agent started without a handshake: a plain shell.
    fn plain_shell(self) -> OpenedSession {
        OpenedSession {
            connection: self.connection,
            endpoint: self.endpoint,
            kind: SessionKind::Shell {
                session_type: NO_HANDSHAKE_SESSION_TYPE.to_owned(),
                properties: serde_json::Value::Null,
            },
            agent_version: Version::parse(""),
            customer_message: String::new(),
            local: self.local,
            engine: self.engine,
            cipher: None,
            closed: self.closed,
            late_handshake: None,
        }
    }
}

async fn handshake(
    connection: Connection,
    client_version: &str,
    window: usize,
    session_id: &str,
    encryption: Option<&Encryption>,
    quiet_shell_after: Option<Duration>,
) -> Result<OpenedSession, SessionError> {
    let mut channel = Handshaking::new(connection, window);
    // Only until the agent says anything.
    let mut quiet_deadline = quiet_shell_after.map(|wait| tokio::time::Instant::now() + wait);
    loop {
        let delivered = match channel.next(quiet_deadline).await? {
            Arrival::Payload(payload) => payload,
            Arrival::Quiet => {
                tracing::info!("nothing from the agent: taking the session for a quiet shell");
                let mut opened = channel.plain_shell();
                opened.late_handshake = Some(LateHandshake {
                    client_version: client_version.to_owned(),
                    session_id: session_id.to_owned(),
                    encryption: encryption.cloned(),
                });
                return Ok(opened);
            }
        };
        quiet_deadline = None;
        match delivered.payload_type {
            PayloadType::HANDSHAKE_REQUEST => {
                channel
                    .on_request(&delivered.data, client_version, session_id, encryption)
                    .await?
            }
            PayloadType::ENC_CHALLENGE_REQUEST => channel.on_challenge(&delivered.data).await?,
            PayloadType::HANDSHAKE_COMPLETE => return channel.complete(&delivered.data),
            // No handshake: agents start plain shells (Standard_Stream, InteractiveCommands
            // without KMS) by sending their output at once (protocol notes §4.1). As the
            // plugin does, the first in-order Output makes this a shell session; it is the
            // first thing the local side reads.
            PayloadType::OUTPUT if channel.requested.is_none() => {
                tracing::info!("no handshake: the agent started a shell session");
                channel.local.from_agent.put_back(delivered);
                return Ok(channel.plain_shell());
            }
            // Anything else before the handshake completes is not for us yet.
            _ => {}
        }
    }
}
