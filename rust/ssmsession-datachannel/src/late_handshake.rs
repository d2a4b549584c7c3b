//! A handshake that comes after a shell session already started.
//!
//! Agents start plain shells without a handshake, so a client that wants a shell takes a
//! silent agent for a quiet shell after a few seconds (`open_session_with`). A slow agent,
//! a KMS-encrypted shell or a custom InteractiveCommands document may still send its
//! HandshakeRequest later; the agent then waits 15 s for the answer and fails the session
//! without it. So the shell answers it whenever it comes, as AWS's plugin does — and
//! since the agent drops input that arrives before its handshake completes
//! (agent-behaviour §4), what was typed meanwhile is kept (up to [`REPLAY_LIMIT`]) and
//! sent again once it has.

use std::sync::{Arc, OnceLock};

use crate::crypto::SessionCipher;
use crate::handshake::{HandshakeComplete, SessionKind};
use crate::message::PayloadType;
use crate::session::{answer_request, challenge_response, LateHandshake};
use crate::shell::ShellInput;

/// Bytes of typed input kept for a replay after a late handshake.
pub const REPLAY_LIMIT: usize = 64 * 1024;

/// The cipher of a session, set once when a late handshake agrees on KMS encryption.
pub type CipherSlot = Arc<OnceLock<Arc<SessionCipher>>>;

/// A cipher slot already holding the handshake's cipher, if any.
pub fn cipher_slot(cipher: Option<Arc<SessionCipher>>) -> CipherSlot {
    let slot = OnceLock::new();
    if let Some(cipher) = cipher {
        let _ = slot.set(cipher);
    }
    Arc::new(slot)
}

/// What happens to typed input while it is not known whether a handshake is coming.
#[derive(Debug)]
pub(crate) enum Gate {
    /// Sent as typed, and kept in case the agent turns out to be in a handshake.
    Recording { typed: Vec<u8>, lost: usize },
    /// The agent's handshake is under way: kept, not sent (the agent would drop it).
    Holding { typed: Vec<u8>, lost: usize },
    /// Sent as typed.
    Open,
}

/// The input side of a session that may still see a late handshake. Keys pass it in order.
#[derive(Debug)]
pub struct InputGate(tokio::sync::Mutex<Gate>);

impl InputGate {
    pub(crate) fn recording() -> Self {
        Self(tokio::sync::Mutex::new(Gate::Recording {
            typed: Vec::new(),
            lost: 0,
        }))
    }

    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, Gate> {
        self.0.lock().await
    }
}

impl Gate {
    /// Records `bytes` as typed; whether they go to the agent now.
    pub(crate) fn admit(&mut self, bytes: &[u8]) -> bool {
        match self {
            Gate::Open => true,
            Gate::Recording { typed, lost } | Gate::Holding { typed, lost } => {
                let room = REPLAY_LIMIT.saturating_sub(typed.len()).min(bytes.len());
                typed.extend_from_slice(&bytes[..room]);
                *lost += bytes.len() - room;
                matches!(self, Gate::Recording { .. })
            }
        }
    }

    fn hold(&mut self) {
        if let Gate::Recording { typed, lost } = self {
            *self = Gate::Holding {
                typed: std::mem::take(typed),
                lost: *lost,
            };
        }
    }

    /// Opens the gate; what was kept (bytes, and the count of bytes beyond the limit).
    fn open(&mut self) -> (Vec<u8>, usize) {
        match std::mem::replace(self, Gate::Open) {
            Gate::Recording { typed, lost } | Gate::Holding { typed, lost } => (typed, lost),
            Gate::Open => (Vec::new(), 0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// No HandshakeRequest yet.
    Waiting,
    /// Answered; HandshakeComplete (and with KMS, the challenge) to come.
    Answered,
    /// Complete, or the agent showed it runs without one: nothing more to do.
    Done,
}

/// The shell's side of a late handshake.
pub(crate) struct LateHandshaker {
    context: LateHandshake,
    gate: Arc<InputGate>,
    cipher: CipherSlot,
    input: ShellInput,
    stage: Stage,
}

impl LateHandshaker {
    pub(crate) fn new(
        context: LateHandshake,
        gate: Arc<InputGate>,
        cipher: CipherSlot,
        input: ShellInput,
    ) -> Self {
        Self {
            context,
            gate,
            cipher,
            input,
            stage: Stage::Waiting,
        }
    }

    /// Output came first: the agent runs this shell without a handshake (it sends its
    /// HandshakeRequest first thing when it has one), so input needs no replay.
    pub(crate) async fn output_arrived(&mut self) {
        if self.stage == Stage::Waiting {
            self.stage = Stage::Done;
            self.gate.lock().await.open();
        }
    }

    /// Handles a handshake payload. Returns text for the terminal (the agent's customer
    /// message, a note about lost input), or why the session cannot go on.
    pub(crate) async fn handle(
        &mut self,
        payload_type: PayloadType,
        data: &[u8],
    ) -> Result<Option<Vec<u8>>, String> {
        match (payload_type, self.stage) {
            (PayloadType::HANDSHAKE_REQUEST, Stage::Waiting) => {
                self.gate.lock().await.hold();
                tracing::info!(
                    "the agent's handshake came after the session started; answering it"
                );
                let context = &self.context;
                let answer = answer_request(
                    data,
                    &context.client_version,
                    &context.session_id,
                    context.encryption.as_ref(),
                )
                .await
                .map_err(|e| e.to_string())?;
                self.input
                    .send_payload(answer.response)
                    .await
                    .map_err(|e| e.to_string())?;
                match answer.session {
                    Ok((SessionKind::Shell { .. }, _)) => {}
                    Ok((SessionKind::Port { .. }, _)) => {
                        return Err("the agent asked for a port session on a shell".into())
                    }
                    Err(reason) => {
                        return Err(format!(
                            "the agent asked for a session this client cannot run: {reason}"
                        ))
                    }
                }
                if let Some(cipher) = answer.cipher {
                    let _ = self.cipher.set(Arc::new(cipher));
                }
                self.stage = Stage::Answered;
                Ok(None)
            }
            (PayloadType::ENC_CHALLENGE_REQUEST, Stage::Answered) => {
                let cipher = self
                    .cipher
                    .get()
                    .ok_or("the agent sent a KMS challenge, but no key was agreed")?;
                let response = challenge_response(cipher, data).map_err(|e| e.to_string())?;
                self.input
                    .send_payload(response)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(None)
            }
            (PayloadType::HANDSHAKE_COMPLETE, Stage::Answered) => {
                self.stage = Stage::Done;
                let complete: Option<HandshakeComplete> = serde_json::from_slice(data).ok();
                let mut note = String::new();
                if let Some(message) = complete.map(|c| c.customer_message) {
                    if !message.is_empty() {
                        note.push_str(&message);
                        note.push_str("\r\n");
                    }
                }
                let mut gate = self.gate.lock().await;
                let (typed, lost) = gate.open();
                if lost > 0 {
                    note.push_str(&format!(
                        "SSMSession: {lost} bytes typed before the agent's handshake completed were lost (at most {REPLAY_LIMIT} are kept).\r\n"
                    ));
                }
                // Under the gate's lock: nothing typed now can overtake the replay.
                if !typed.is_empty() {
                    tracing::info!(
                        bytes = typed.len(),
                        "sending input typed before the handshake again"
                    );
                    self.input
                        .send_now(&typed)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                drop(gate);
                Ok((!note.is_empty()).then(|| note.into_bytes()))
            }
            // A repeated or out-of-order handshake message: the agent takes exactly one
            // answer (a second would block its inbound handling), so it gets none.
            (other, stage) => {
                tracing::warn!(
                    payload_type = other.0,
                    ?stage,
                    "ignoring an unexpected handshake message"
                );
                Ok(None)
            }
        }
    }
}

/// Whether a payload type belongs to the handshake.
pub(crate) fn is_handshake(payload_type: PayloadType) -> bool {
    matches!(
        payload_type,
        PayloadType::HANDSHAKE_REQUEST
            | PayloadType::ENC_CHALLENGE_REQUEST
            | PayloadType::HANDSHAKE_COMPLETE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_keeps_what_is_typed_up_to_the_limit_and_holds_during_the_handshake() {
        let mut gate = Gate::Recording {
            typed: Vec::new(),
            lost: 0,
        };
        assert!(gate.admit(b"ls\r"), "recorded keys still go out");
        gate.hold();
        assert!(!gate.admit(&vec![b'x'; REPLAY_LIMIT]), "held keys wait");
        let (typed, lost) = gate.open();
        assert_eq!(typed.len(), REPLAY_LIMIT);
        assert!(typed.starts_with(b"ls\rx"));
        assert_eq!(lost, 3);
        assert!(gate.admit(b"more"), "an open gate passes keys");
        assert_eq!(gate.open(), (Vec::new(), 0));
    }
}
