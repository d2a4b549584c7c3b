//! One session's agent: the engine (role Agent) over whichever socket is current, the
//! handshake, the session's work (port forwarding), and the end of the session.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use serde_json::json;
use ssm_datachannel::crypto::{self, SessionCipher};
use ssm_datachannel::engine::{Endpoint, Payload, PumpEnd, Role};
use ssm_datachannel::handshake::{
    HandshakeComplete, HandshakeRequest, HandshakeResponse, RequestedClientAction, STATUS_SUCCESS,
};
use ssm_datachannel::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, SCHEMA_VERSION,
};
use ssm_datachannel::payload::Flag;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::link::AgentLink;
use super::port::{self, Target};
use super::{command, shell};
use super::{requested_session, HANDSHAKE_TIMEOUT};
use crate::config::{AGENT_VERSION, BASIC_AGENT_TARGET_PREFIX, BASIC_AGENT_VERSION};
use crate::server::AppState;
use crate::sessions::Session;

/// The agent's window (the real agent holds up to 100 000 messages).
const AGENT_WINDOW: usize = 10_000;
/// Payloads buffered between the engine and the session's work, each way.
const CHANNEL_DEPTH: usize = 256;
/// How long the agent lets its last messages drain before closing (the real agent: 2 s).
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// How often the agent checks whether the session was terminated through the API.
const STATUS_CHECK: Duration = Duration::from_millis(250);

/// How the session's work ended; the text is `channel_closed`'s Output.
pub enum WorkEnd {
    /// The client sent the TerminateSession flag: a normal end (empty Output).
    Terminated,
    /// The agent ends the session with a reason.
    Closed(String),
}

/// Aborts the task when dropped, so nothing outlives the agent.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn agent_version(session: &Session) -> &'static str {
    if session.target.starts_with(BASIC_AGENT_TARGET_PREFIX) {
        BASIC_AGENT_VERSION
    } else {
        AGENT_VERSION
    }
}

/// The service's `channel_closed` message; an empty `Output` means a normal end.
fn channel_closed(session: &Session, output: &str) -> Vec<u8> {
    let message_id = Uuid::new_v4();
    let created = now_ms();
    let body = json!({
        "MessageId": message_id.to_string(),
        "CreatedDate": created.to_string(),
        "DestinationId": session.owner,
        "SessionId": session.id,
        "MessageType": "channel_closed",
        "SchemaVersion": 1,
        "Output": output,
    });
    ClientMessage {
        message_type: MessageType::ChannelClosed,
        schema_version: SCHEMA_VERSION,
        created_date: created,
        sequence_number: 0,
        flags: 0,
        message_id,
        payload_type: PayloadType::OUTPUT,
        payload: serde_json::to_vec(&body).unwrap_or_default(),
    }
    .encode()
    .unwrap_or_default()
}

/// Runs the session's agent until the session ends. `sockets` delivers the first socket
/// and any later ones (after ResumeSession).
pub async fn agent(state: Arc<AppState>, session: Session, mut sockets: mpsc::Receiver<WebSocket>) {
    let log = |what: &str| {
        if state.config.log_requests {
            eprintln!("data-channel {} {what}", session.id);
        }
    };
    let Some(mut socket) = sockets.recv().await else {
        return;
    };
    let mut endpoint = Endpoint::new(Role::Agent, AGENT_WINDOW);
    let (to_client, mut outbound) = mpsc::channel(CHANNEL_DEPTH);
    let (inbound, from_client) = mpsc::channel(CHANNEL_DEPTH);
    let mut work = AbortOnDrop(tokio::spawn(session_work(
        state.clone(),
        session.clone(),
        to_client,
        from_client,
    )));
    let mut status = tokio::time::interval(STATUS_CHECK);
    let mut first = true;
    loop {
        let mut link = AgentLink::new(socket, state.config.agent.faults.clone());
        if !first {
            log("resumed");
            let _ = endpoint.resend_all(&mut link).await;
        }
        first = false;
        let end = tokio::select! {
            pumped = endpoint.pump(&mut link, &mut outbound, &inbound) => match pumped {
                PumpEnd::LinkLost(_) => None,
                // The work dropped its sender (it ended) and everything was acknowledged:
                // its own end says why (the two can be ready at once).
                PumpEnd::Finished => Some(
                    match tokio::time::timeout(DRAIN_WAIT, &mut work.0).await {
                        Ok(Ok(WorkEnd::Closed(reason))) => reason,
                        _ => String::new(),
                    },
                ),
                PumpEnd::Unacknowledged(age) => {
                    log(&format!("gave up: nothing acknowledged for {age:?}"));
                    Some("The client stopped acknowledging data.".to_owned())
                }
                PumpEnd::ChannelClosed(_) => None,
            },
            ended = &mut work.0 => Some(match ended {
                Ok(WorkEnd::Terminated) => String::new(),
                Ok(WorkEnd::Closed(reason)) => reason,
                Err(_) => "The agent's session worker failed.".to_owned(),
            }),
            _ = terminated_through_api(&state, &session.id, &mut status) => Some(String::new()),
        };
        match end {
            Some(reason) => {
                // Let the last output and acknowledgements go out, as the agent does.
                let _ = tokio::time::timeout(
                    DRAIN_WAIT,
                    endpoint.pump(&mut link, &mut outbound, &inbound),
                )
                .await;
                state.sessions.terminate(&session.id);
                log(if reason.is_empty() {
                    "ended"
                } else {
                    "ended with a reason"
                });
                let _ = link.send_reliably(channel_closed(&session, &reason));
                return link.close(1000, "Session ended");
            }
            None => {
                drop(link);
                log("socket lost; waiting for ResumeSession");
                let resumed = tokio::select! {
                    socket = sockets.recv() => socket,
                    _ = tokio::time::sleep(state.config.agent.resume_wait) => None,
                    _ = terminated_through_api(&state, &session.id, &mut status) => None,
                };
                match resumed {
                    Some(next) => socket = next,
                    None => {
                        state.sessions.terminate(&session.id);
                        return log("not resumed; session ended");
                    }
                }
            }
        }
    }
}

/// Resolves once the session is no longer active (TerminateSession API, or it ended).
async fn terminated_through_api(
    state: &AppState,
    session_id: &str,
    ticker: &mut tokio::time::Interval,
) {
    loop {
        ticker.tick().await;
        if state.sessions.active(session_id).is_none() {
            return;
        }
    }
}

/// The handshake, then the session's work.
async fn session_work(
    state: Arc<AppState>,
    session: Session,
    to_client: mpsc::Sender<Payload>,
    mut from_client: mpsc::Receiver<Payload>,
) -> WorkEnd {
    let action = requested_session(&session);
    // Port sessions are never encrypted (protocol notes §4.1).
    let kms_key_id = state
        .config
        .agent
        .kms_key_id
        .clone()
        .filter(|_| action.action_parameters["SessionType"] != "Port");
    let session_type = action.action_parameters["SessionType"].clone();
    let interactive = session_type == "Standard_Stream" || session_type == "InteractiveCommands";
    if interactive && kms_key_id.is_none() {
        // As the real agent: plain shells start at once, without a handshake (protocol
        // notes §4.1); the client learns the session type from the first output.
        let program = shell_program(&action.action_parameters, &state.config.agent.shell);
        return shell::interactive(to_client, from_client, program, None).await;
    }
    let mut actions = vec![action.clone()];
    // Newer agents' anti-replay challenge: 16 random bytes, base64.
    let kms_challenge = (kms_key_id.is_some() && state.config.agent.kms_challenge).then(|| {
        let bytes: Vec<u8> = (0..16).map(|_| rand::random::<u8>()).collect();
        crypto::to_base64(&bytes)
    });
    if let Some(key_id) = &kms_key_id {
        let mut parameters = json!({ "KMSKeyId": key_id });
        if let Some(challenge) = &kms_challenge {
            parameters["Challenge"] = json!(challenge);
        }
        actions.push(RequestedClientAction {
            action_type: "KMSEncryption".into(),
            action_parameters: parameters,
        });
    }
    let request = HandshakeRequest {
        agent_version: agent_version(&session).into(),
        requested_client_actions: actions,
    };
    let handshake_request = Payload {
        payload_type: PayloadType::HANDSHAKE_REQUEST,
        data: serde_json::to_vec(&request).unwrap_or_default(),
    };
    if to_client.send(handshake_request).await.is_err() {
        return WorkEnd::Terminated;
    }
    let mut cipher: Option<Arc<SessionCipher>> = None;
    // Until the handshake completes, any other payload is acknowledged and discarded.
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    loop {
        let payload = match tokio::time::timeout_at(deadline, from_client.recv()).await {
            Err(_) => return WorkEnd::Closed("Handshake timed out. Please ensure that you have the latest version of the session manager plugin.".into()),
            Ok(None) => return WorkEnd::Terminated,
            Ok(Some(payload)) => payload,
        };
        if payload.payload_type != PayloadType::HANDSHAKE_RESPONSE {
            continue;
        }
        let response = serde_json::from_slice::<HandshakeResponse>(&payload.data).ok();
        let accepted = response.as_ref().is_some_and(|r| {
            !r.processed_client_actions.is_empty()
                && r.processed_client_actions
                    .iter()
                    .all(|a| a.action_status == STATUS_SUCCESS)
        });
        if !accepted {
            let errors = response
                .and_then(|r| r.errors)
                .unwrap_or_default()
                .join("; ");
            return WorkEnd::Closed(if errors.is_empty() {
                "The client did not accept the requested session.".into()
            } else {
                format!("The client did not accept the requested session: {errors}")
            });
        }
        if kms_key_id.is_some() {
            let result = response.as_ref().and_then(|r| {
                r.processed_client_actions
                    .iter()
                    .find(|a| a.action_type == "KMSEncryption")
                    .and_then(|a| a.action_result.clone())
            });
            let blob = result
                .as_ref()
                .and_then(|result| result["KMSCipherTextKey"].as_str())
                .and_then(|text| crypto::from_base64(text).ok());
            let acknowledged = result
                .as_ref()
                .is_some_and(|result| result["ChallengeAcknowledgement"] == true);
            if kms_challenge.is_some() && !acknowledged {
                // As with Kms.RequireKMSChallengeResponse.
                return WorkEnd::Closed(
                    "The client did not acknowledge the KMS challenge; this agent requires it. Please update the session manager plugin.".into(),
                );
            }
            let Some(blob) = blob else {
                return WorkEnd::Closed(
                    "The client did not answer the KMS encryption request.".into(),
                );
            };
            match encryption(
                &state,
                &session,
                &blob,
                kms_challenge.as_deref(),
                &to_client,
                &mut from_client,
                deadline,
            )
            .await
            {
                Ok(agreed) => cipher = Some(Arc::new(agreed)),
                Err(reason) => return WorkEnd::Closed(reason),
            }
        }
        break;
    }
    let complete = HandshakeComplete {
        handshake_time_to_complete: 1_000_000,
        customer_message: if cipher.is_some() {
            ENCRYPTED_MESSAGE.to_owned()
        } else {
            String::new()
        },
    };
    let complete = Payload {
        payload_type: PayloadType::HANDSHAKE_COMPLETE,
        data: serde_json::to_vec(&complete).unwrap_or_default(),
    };
    if to_client.send(complete).await.is_err() {
        return WorkEnd::Terminated;
    }

    let parameters = &action.action_parameters;
    let agent = &state.config.agent;
    if parameters["SessionType"] == "Port" {
        let properties = &parameters["Properties"];
        let target = Target::from_properties(properties, agent.faults.refuse_ports);
        let multiplexed = properties["type"] == "LocalPortForwarding"
            && agent_version(&session) != BASIC_AGENT_VERSION;
        if multiplexed {
            port::multiplexed(to_client, from_client, target, agent.chunk_size).await
        } else {
            port::basic(to_client, from_client, target, agent.chunk_size).await
        }
    } else if parameters["SessionType"] == "NonInteractiveCommands" {
        let command = parameters["Properties"]["commands"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        command::non_interactive(to_client, from_client, command, cipher).await
    } else {
        let program = shell_program(parameters, &agent.shell);
        shell::interactive(to_client, from_client, program, cipher).await
    }
}

/// What a shell or interactive command session runs.
fn shell_program(parameters: &serde_json::Value, shell: &Option<String>) -> shell::Program {
    if parameters["SessionType"] == "InteractiveCommands" {
        shell::Program::Command(
            parameters["Properties"]["commands"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    } else {
        shell::Program::Shell(shell.clone())
    }
}

/// What the agent prints when a session is encrypted.
const ENCRYPTED_MESSAGE: &str = "This session is encrypted using AWS KMS.";

/// The KMS steps of the handshake, as the agent takes them: decrypt the client's data key
/// with the session's encryption context (KMS Decrypt), then send a challenge encrypted
/// with the agent's key and check that the client returns it under its own.
async fn encryption(
    state: &AppState,
    session: &Session,
    blob: &[u8],
    challenge: Option<&str>,
    to_client: &mpsc::Sender<Payload>,
    from_client: &mut mpsc::Receiver<Payload>,
    deadline: tokio::time::Instant,
) -> Result<SessionCipher, String> {
    let context: std::collections::BTreeMap<String, String> =
        crypto::encryption_context_with(&session.id, &session.target, challenge)
            .into_iter()
            .collect();
    let (data_key, _) = state.kms.decrypt(blob, &context).map_err(|e| {
        format!(
            "KMS Decrypt of the session's data key failed ({}): the client used another encryption context or key.",
            e.code()
        )
    })?;
    let cipher = SessionCipher::for_agent(&data_key).map_err(|e| e.to_string())?;
    let challenge: Vec<u8> = (0..crypto::CHALLENGE_LENGTH)
        .map(|_| rand::random::<u8>())
        .collect();
    let request = json!({ "Challenge": crypto::to_base64(&cipher.encrypt(&challenge)) });
    to_client
        .send(Payload {
            payload_type: PayloadType::ENC_CHALLENGE_REQUEST,
            data: serde_json::to_vec(&request).unwrap_or_default(),
        })
        .await
        .map_err(|_| "The session ended during the KMS challenge.".to_owned())?;
    loop {
        let payload = match tokio::time::timeout_at(deadline, from_client.recv()).await {
            Err(_) => return Err("Handshake timed out. Please ensure that you have the latest version of the session manager plugin.".into()),
            Ok(None) => return Err("The session ended during the KMS challenge.".into()),
            Ok(Some(payload)) => payload,
        };
        if payload.payload_type != PayloadType::ENC_CHALLENGE_RESPONSE {
            continue;
        }
        let answered = serde_json::from_slice::<serde_json::Value>(&payload.data)
            .ok()
            .and_then(|v| v["Challenge"].as_str().map(str::to_owned))
            .and_then(|text| crypto::from_base64(&text).ok())
            .and_then(|sealed| cipher.decrypt(&sealed).ok());
        return match answered {
            Some(plain) if plain == challenge => Ok(cipher),
            _ => Err("The client failed the KMS challenge.".into()),
        };
    }
}

pub fn is_terminate(payload: &Payload) -> bool {
    payload.payload_type == PayloadType::FLAG
        && Flag::from_payload(&payload.data) == Some(Flag::TerminateSession)
}
