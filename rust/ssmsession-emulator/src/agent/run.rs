//! One session's agent: the engine (role Agent) over whichever socket is current, the
//! handshake, the session's work (port forwarding), and the end of the session.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use serde_json::json;
use ssmsession_datachannel::bridge::Chunking;
use ssmsession_datachannel::crypto::{self, SessionCipher};
use ssmsession_datachannel::engine::{Endpoint, Link, Payload, PumpEnd, Retransmission, Role};
use ssmsession_datachannel::handshake::{
    HandshakeComplete, HandshakeRequest, HandshakeResponse, RequestedClientAction, STATUS_SUCCESS,
};
use ssmsession_datachannel::inbound::{
    inbound_queue, InboundReceiver, InboundSender, INBOUND_BYTES,
};
use ssmsession_datachannel::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, SCHEMA_VERSION,
};
use ssmsession_datachannel::payload::Flag;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::link::AgentLink;
use super::port::{self, Target};
use super::{command, shell};
use super::{requested_session, HANDSHAKE_TIMEOUT};
use crate::config::{Faults, AGENT_VERSION, BASIC_AGENT_TARGET_PREFIX, BASIC_AGENT_VERSION};
use crate::hostile::{Hostile, FAR_AHEAD_SIZE, OVERSIZED_SIZE};
use crate::server::AppState;
use crate::sessions::Session;

/// The agent's window (the real agent holds up to 100 000 messages).
const AGENT_WINDOW: usize = 10_000;
/// The window of the flood mode: it keeps at most this many messages unacknowledged.
const FLOOD_WINDOW: usize = 300;
/// The reference agent's buffer: in practice it never waits for acknowledgements.
const REFERENCE_WINDOW: usize = 100_000;
/// The first sequence number of the far-ahead flood: beyond any real session.
const FAR_AHEAD_FIRST: i64 = 1 << 40;
/// How long the first socket of the accept-drop and ws-resume modes lives.
const HOSTILE_CLOSE_AFTER: Duration = Duration::from_millis(500);
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
    /// The agent ends the session with a reason (empty: a normal end).
    Closed(String),
    /// A shell's program or a command ended by itself: after its last messages the agent
    /// announces `agent_session_state` Terminating (agent-behaviour §5), then closes.
    Completed,
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

/// The agent's `agent_session_state` message (sequence 0, flags 3, no payload type), sent
/// when a shell or command session ends normally. The agent addresses it to the service;
/// the emulator's service passes it on (not in source: clients must ignore it, and AWS's
/// plugin does).
fn agent_session_state(session: &Session, state: &str) -> Vec<u8> {
    let body = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "SessionState": state,
        "SessionId": session.id,
    });
    ClientMessage {
        message_type: MessageType::AgentSessionState,
        schema_version: SCHEMA_VERSION,
        created_date: now_ms(),
        sequence_number: 0,
        flags: 3,
        message_id: Uuid::new_v4(),
        payload_type: PayloadType(0),
        payload: serde_json::to_vec(&body).unwrap_or_default(),
    }
    .encode()
    .unwrap_or_default()
}

/// The agent's sending discipline for this session (see `hostile`).
fn endpoint_for(hostile: Option<Hostile>) -> Endpoint {
    match hostile {
        Some(Hostile::Flood { .. }) => Endpoint::new(Role::Agent, FLOOD_WINDOW),
        Some(Hostile::OldestOnly { .. }) => {
            let mut endpoint = Endpoint::new(Role::Agent, REFERENCE_WINDOW);
            endpoint.set_retransmission(Retransmission::OldestOnly);
            endpoint
        }
        _ => Endpoint::new(Role::Agent, AGENT_WINDOW),
    }
}

/// The faults of one socket: the configured ones, and those of a hostile mode.
fn faults_for(state: &AppState, hostile: Option<Hostile>) -> Faults {
    let mut faults = state.config.agent.faults.clone();
    if matches!(
        hostile,
        Some(Hostile::AcceptThenDrop | Hostile::PlainTextResume)
    ) {
        faults.close_after = Some(HOSTILE_CLOSE_AFTER);
    }
    faults
}

/// Messages numbered far beyond anything the session sends (the far-ahead flood).
async fn send_far_ahead(link: &AgentLink, count: usize) {
    let template = ClientMessage {
        message_type: MessageType::OutputStreamData,
        schema_version: SCHEMA_VERSION,
        created_date: now_ms(),
        sequence_number: FAR_AHEAD_FIRST,
        flags: 0,
        message_id: Uuid::new_v4(),
        payload_type: PayloadType::OUTPUT,
        payload: vec![b'z'; FAR_AHEAD_SIZE],
    }
    .encode()
    .unwrap_or_default();
    for i in 0..count {
        // The digest covers the payload only: the same frame with another number.
        let mut frame = template.clone();
        frame[48..56].copy_from_slice(&(FAR_AHEAD_FIRST + i as i64).to_be_bytes());
        if link.writer().send_data(frame.into()).await.is_err() {
            return;
        }
    }
}

/// One message over the client's size limit.
async fn send_oversized(link: &AgentLink) {
    let frame = ClientMessage {
        message_type: MessageType::OutputStreamData,
        schema_version: SCHEMA_VERSION,
        created_date: now_ms(),
        sequence_number: 0,
        flags: 0,
        message_id: Uuid::new_v4(),
        payload_type: PayloadType::OUTPUT,
        payload: vec![b'o'; OVERSIZED_SIZE],
    }
    .encode()
    .unwrap_or_default();
    let _ = link.writer().send_data(frame.into()).await;
}

/// How the session's work ended, as the agent winds down.
struct Finished {
    /// `channel_closed`'s Output.
    reason: String,
    /// The work ended by itself (a command exited): everything it sent goes out before
    /// the 2 s drain, as the real agent writes every message to its socket as it goes.
    /// Otherwise (terminated) only the drain.
    completely: bool,
    /// `agent_session_state` Terminating goes out after the drain.
    announce: bool,
}

impl Finished {
    fn from(ended: Result<WorkEnd, tokio::task::JoinError>) -> Self {
        let (reason, completely, announce) = match ended {
            Ok(WorkEnd::Terminated) => (String::new(), false, false),
            Ok(WorkEnd::Closed(reason)) => (reason, true, false),
            Ok(WorkEnd::Completed) => (String::new(), true, true),
            Err(_) => (
                "The agent's session worker failed.".to_owned(),
                false,
                false,
            ),
        };
        Self {
            reason,
            completely,
            announce,
        }
    }
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
    let hostile = Hostile::of(&session.target);
    let mut endpoint = endpoint_for(hostile);
    let (to_client, mut outbound) = mpsc::channel(CHANNEL_DEPTH);
    let (inbound, from_client) = inbound_queue(INBOUND_BYTES);
    let mut work = AbortOnDrop(tokio::spawn(session_work(
        state.clone(),
        session.clone(),
        hostile,
        to_client,
        from_client,
    )));
    let mut status = tokio::time::interval(STATUS_CHECK);
    let mut first = true;
    let mut finished: Option<Finished> = None;
    loop {
        if !first && hostile == Some(Hostile::AcceptThenDrop) {
            log("hostile: dropping the resumed socket");
            drop(socket);
        } else {
            let mut link = AgentLink::new(socket, faults_for(&state, hostile));
            if first {
                match hostile {
                    Some(Hostile::FarAhead { count }) => send_far_ahead(&link, count).await,
                    Some(Hostile::Oversized) => send_oversized(&link).await,
                    _ => {}
                }
            } else {
                log("resumed");
                let _ = endpoint.resend_all(&mut link).await;
            }
            if let Some(reason) = run_socket(
                &state,
                &session,
                &mut endpoint,
                &mut link,
                &mut outbound,
                &inbound,
                &mut work,
                &mut status,
                &mut finished,
            )
            .await
            {
                state.sessions.terminate(&session.id);
                log(&format!(
                    "{} (next sequence {}, unacknowledged {}, {:?})",
                    if reason.is_empty() {
                        "ended"
                    } else {
                        "ended with a reason"
                    },
                    endpoint.next_sequence(),
                    endpoint.unacknowledged(),
                    endpoint.counters()
                ));
                // The service's message comes after everything the agent sent.
                let _ = link
                    .writer()
                    .send_data(channel_closed(&session, &reason).into())
                    .await;
                return link.close(1000, "Session ended");
            }
        }
        first = false;
        let invalid = endpoint
            .counters()
            .invalid_frames
            .load(std::sync::atomic::Ordering::Relaxed);
        log(&format!(
            "socket lost ({invalid} invalid frames dropped so far); waiting for ResumeSession"
        ));
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

/// Pumps one socket until the session ends (its `channel_closed` reason) or the socket is
/// lost (None).
#[allow(clippy::too_many_arguments)]
async fn run_socket(
    state: &AppState,
    session: &Session,
    endpoint: &mut Endpoint,
    link: &mut AgentLink,
    outbound: &mut mpsc::Receiver<Payload>,
    inbound: &InboundSender,
    work: &mut AbortOnDrop<WorkEnd>,
    status: &mut tokio::time::Interval,
    finished: &mut Option<Finished>,
) -> Option<String> {
    loop {
        if let Some(done) = finished.as_ref() {
            if done.completely {
                // Everything the work sent goes out first (the reference agent writes each
                // message to its socket as it goes, whatever the acknowledgements).
                endpoint.set_stop_when_sent(true);
                let sent = endpoint.pump(link, outbound, inbound).await;
                endpoint.set_stop_when_sent(false);
                match sent {
                    PumpEnd::AllSent | PumpEnd::Finished => {}
                    PumpEnd::Unacknowledged(_) => {
                        return Some("The client stopped acknowledging data.".to_owned())
                    }
                    PumpEnd::LinkLost(_) | PumpEnd::PeerError(_) | PumpEnd::ChannelClosed(_) => {
                        return None
                    }
                }
            }
            // Then at most 2 s for the last acknowledgements, as the reference agent drains
            // its buffer before it closes; what is unacknowledged then is on its way.
            let pumped = tokio::time::timeout(DRAIN_WAIT, endpoint.pump(link, outbound, inbound))
                .await
                .ok();
            if matches!(pumped, Some(PumpEnd::LinkLost(_) | PumpEnd::PeerError(_))) {
                return None;
            }
            if done.announce {
                let terminating = agent_session_state(session, "Terminating");
                let _ = link.writer().send_data(terminating.into()).await;
            }
            return Some(done.reason.clone());
        }
        tokio::select! {
            pumped = endpoint.pump(link, outbound, inbound) => return match pumped {
                PumpEnd::LinkLost(_) | PumpEnd::PeerError(_) | PumpEnd::ChannelClosed(_) | PumpEnd::AllSent => None,
                // The work dropped its sender (it ended) and everything was acknowledged:
                // its own end says why (the two can be ready at once).
                PumpEnd::Finished => {
                    let ended = tokio::time::timeout(DRAIN_WAIT, &mut work.0).await;
                    let done = Finished::from(ended.unwrap_or(Ok(WorkEnd::Terminated)));
                    if done.announce {
                        let terminating = agent_session_state(session, "Terminating");
                        let _ = link.writer().send_data(terminating.into()).await;
                    }
                    Some(done.reason)
                }
                PumpEnd::Unacknowledged(age) => {
                    if state.config.log_requests {
                        eprintln!("data-channel {} gave up: nothing acknowledged for {age:?}", session.id);
                    }
                    Some("The client stopped acknowledging data.".to_owned())
                }
            },
            ended = &mut work.0 => *finished = Some(Finished::from(ended)),
            _ = terminated_through_api(state, &session.id, status) => return Some(String::new()),
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
    hostile: Option<Hostile>,
    to_client: mpsc::Sender<Payload>,
    from_client: InboundReceiver,
) -> WorkEnd {
    let mut from_client = if hostile == Some(Hostile::TerminateHang) {
        ignoring_terminate(from_client)
    } else {
        from_client
    };
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
    if let Some(Hostile::LateHandshake { delay_ms }) = hostile {
        // Silent first; what the client sends meanwhile is dropped by the handshake below.
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    } else if interactive && kms_key_id.is_none() {
        // As the real agent: plain shells start at once, without a handshake (protocol
        // notes §4.1); the client learns the session type from the first output.
        let program = shell_program(&session, &state.config.agent.shell);
        let setup = match terminal_setup(&session, state.config.agent.pace) {
            Ok(setup) => setup,
            Err(reason) => return WorkEnd::Closed(reason),
        };
        return shell::interactive(to_client, from_client, program, setup, None).await;
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
    let mut client_version = String::new();
    let handshake_started = std::time::Instant::now();
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
        if let Some(response) = &response {
            client_version = response.client_version.clone();
        }
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
        handshake_time_to_complete: i64::try_from(handshake_started.elapsed().as_nanos())
            .unwrap_or(i64::MAX),
        customer_message: customer_message(
            cipher.is_some(),
            separate_output(&session),
            &client_version,
        ),
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
    let sending = sending_for(hostile, agent.chunk_size, agent.pace);
    if parameters["SessionType"] == "Port" {
        let properties = &parameters["Properties"];
        // The port plugin checks its parameters once the handshake is over.
        let target = match Target::from_properties(properties, agent.faults.refuse_ports) {
            Ok(target) => target,
            Err(reason) => return WorkEnd::Closed(reason),
        };
        let multiplexed = multiplexes(properties, agent_version(&session), &client_version);
        if multiplexed {
            let mux = port::MuxSettings {
                keepalive: smux_keepalive(&client_version),
                bad_smux: hostile == Some(Hostile::BadSmux),
            };
            port::multiplexed(to_client, from_client, target, sending, mux).await
        } else {
            let reconnect = properties["type"] == "LocalPortForwarding";
            port::basic(to_client, from_client, target, sending, reconnect).await
        }
    } else if parameters["SessionType"] == "NonInteractiveCommands" {
        if let Some(Hostile::NoNewline { bytes }) = hostile {
            return command::endless_line(to_client, from_client, bytes, cipher).await;
        }
        match command::CommandSpec::from_plan(&session.plan) {
            Ok(spec) => {
                command::non_interactive(to_client, from_client, spec, cipher, sending).await
            }
            Err(reason) => WorkEnd::Closed(reason),
        }
    } else {
        let program = shell_program(&session, &agent.shell);
        let setup = match terminal_setup(&session, agent.pace) {
            Ok(setup) => setup,
            Err(reason) => return WorkEnd::Closed(reason),
        };
        shell::interactive(to_client, from_client, program, setup, cipher).await
    }
}

/// How the session's work cuts and spaces what it sends: the configured chunk and pace, or
/// what a hostile mode asks for (the reference agent's 1 KiB and 1 ms; the flood's chunk).
fn sending_for(hostile: Option<Hostile>, chunk_size: usize, pace: Option<Duration>) -> Chunking {
    match hostile {
        Some(Hostile::OldestOnly { pace_us }) => Chunking {
            size: ssmsession_datachannel::bridge::REFERENCE_CHUNK,
            pace: Some(Duration::from_micros(pace_us)).filter(|p| !p.is_zero()),
        },
        Some(Hostile::Flood { chunk }) => Chunking {
            size: chunk,
            pace: None,
        },
        _ => Chunking {
            size: chunk_size,
            pace,
        },
    }
}

/// The client's payloads without its TerminateSession flags (the terminate-hang mode's
/// agent ignores them, as real agents do in shell and command sessions).
fn ignoring_terminate(mut from_client: InboundReceiver) -> InboundReceiver {
    let (relay, relayed) = inbound_queue(INBOUND_BYTES);
    tokio::spawn(async move {
        while let Some(payload) = from_client.recv().await {
            if !is_terminate(&payload) && relay.send(payload).await.is_err() {
                return;
            }
        }
    });
    relayed
}

/// The terminal's setup from the session's document and the agent's pace: shells get the
/// profile and ignore the properties; interactive commands read `runAsElevated`.
fn terminal_setup(
    session: &Session,
    pace: Option<Duration>,
) -> Result<shell::TerminalSetup, String> {
    let shell = session.plan.session_type == "Standard_Stream";
    Ok(shell::TerminalSetup {
        profile: if shell {
            session.plan.shell_profile()
        } else {
            String::new()
        },
        run_as_elevated: !shell && super::environment::run_as_elevated(&session.plan.properties)?,
        pace,
    })
}

/// What a shell or interactive command session runs.
fn shell_program(session: &Session, shell: &Option<String>) -> shell::Program {
    if session.plan.session_type == "InteractiveCommands" {
        shell::Program::Command(session.plan.text("commands"))
    } else {
        shell::Program::Shell(shell.clone())
    }
}

/// What the agent prints when a session is encrypted.
const ENCRYPTED_MESSAGE: &str = "This session is encrypted using AWS KMS.";
/// What the agent adds for clients too old for separate output streams.
const OLD_CLIENT_MESSAGE: &str = "Standard output and standard error arrive as one stream: update the Session Manager plugin (1.2.295 and earlier cannot tell them apart).";
/// The last client version the agent warns about separate output streams.
const LAST_CLIENT_WITHOUT_SEPARATE_OUTPUT: &str = "1.2.295";
/// Clients above this version get smux without keep-alive (agent-behaviour §7).
const LAST_CLIENT_WITH_SMUX_KEEPALIVE: &str = "1.2.331.0";

/// Whether the session's document asks for separate output streams.
fn separate_output(session: &Session) -> bool {
    session.plan.session_type == "NonInteractiveCommands"
        && command::CommandSpec::from_plan(&session.plan).is_ok_and(|spec| spec.separate_output)
}

/// HandshakeComplete's CustomerMessage: the KMS notice when encrypted, and a notice for
/// clients of 1.2.295 or earlier when output streams are separate (agent-behaviour §3).
fn customer_message(encrypted: bool, separate_output: bool, client_version: &str) -> String {
    use ssmsession_datachannel::handshake::Version;
    let mut notices = Vec::new();
    if encrypted {
        notices.push(ENCRYPTED_MESSAGE);
    }
    if separate_output
        && Version::parse(client_version) <= Version::parse(LAST_CLIENT_WITHOUT_SEPARATE_OUTPUT)
    {
        notices.push(OLD_CLIENT_MESSAGE);
    }
    notices.join("\n")
}

/// Whether the agent's smux server keeps its keep-alive on for this client: only up to
/// client version 1.2.331.0 (above it, keep-alive would defeat the idle timeout).
fn smux_keepalive(client_version: &str) -> bool {
    use ssmsession_datachannel::handshake::Version;
    Version::parse(client_version) <= Version::parse(LAST_CLIENT_WITH_SMUX_KEEPALIVE)
}

/// The KMS steps of the handshake, as the agent takes them: decrypt the client's data key
/// with the session's encryption context (KMS Decrypt), then send a challenge encrypted
/// with the agent's key and check that the client returns it under its own.
async fn encryption(
    state: &AppState,
    session: &Session,
    blob: &[u8],
    challenge: Option<&str>,
    to_client: &mpsc::Sender<Payload>,
    from_client: &mut InboundReceiver,
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

/// Whether a port session runs smux, as the agent decides (agent-behaviour §7): only for
/// `type: LocalPortForwarding`, an agent new enough for it, and a client version of at
/// least 1.1.70 (an empty or unreadable one is lower than any).
fn multiplexes(properties: &serde_json::Value, agent_version: &str, client_version: &str) -> bool {
    use ssmsession_datachannel::handshake::Version;
    properties["type"] == "LocalPortForwarding"
        && agent_version != BASIC_AGENT_VERSION
        && Version::parse(client_version) >= Version::parse("1.1.70")
}

pub fn is_terminate(payload: &Payload) -> bool {
    payload.payload_type == PayloadType::FLAG
        && Flag::from_payload(&payload.data) == Some(Flag::TerminateSession)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smux_needs_local_port_forwarding_a_new_agent_and_a_client_of_1_1_70_or_later() {
        let lpf = json!({ "type": "LocalPortForwarding" });
        assert!(multiplexes(&lpf, AGENT_VERSION, "1.2.677.0"));
        assert!(multiplexes(&lpf, AGENT_VERSION, "1.1.70"));
        assert!(!multiplexes(&lpf, AGENT_VERSION, "1.1.61.0"));
        assert!(!multiplexes(&lpf, AGENT_VERSION, ""));
        assert!(!multiplexes(&lpf, BASIC_AGENT_VERSION, "1.2.677.0"));
        assert!(!multiplexes(
            &json!({ "portNumber": "22" }),
            AGENT_VERSION,
            "1.2.677.0"
        ));
    }

    #[test]
    fn smux_keepalive_stays_on_for_clients_up_to_1_2_331_0() {
        assert!(smux_keepalive("1.2.331.0"));
        assert!(smux_keepalive("1.2.0.0"));
        assert!(smux_keepalive(""));
        assert!(!smux_keepalive("1.2.331.1"));
        assert!(!smux_keepalive("1.2.677.0"));
    }

    #[test]
    fn old_clients_are_told_when_output_streams_are_separate() {
        assert_eq!(customer_message(false, false, "1.2.0.0"), "");
        assert_eq!(customer_message(false, true, "1.2.677.0"), "");
        assert_eq!(customer_message(false, true, "1.2.295"), OLD_CLIENT_MESSAGE);
        assert_eq!(customer_message(false, true, "1.1.0.0"), OLD_CLIENT_MESSAGE);
        assert_eq!(
            customer_message(true, true, "1.2.0"),
            format!("{ENCRYPTED_MESSAGE}\n{OLD_CLIENT_MESSAGE}")
        );
        assert_eq!(customer_message(true, false, "1.2.0"), ENCRYPTED_MESSAGE);
    }

    #[test]
    fn the_terminating_state_is_a_control_message_with_the_session_id() {
        let session = Session {
            id: "s-1".into(),
            target: "i-1".into(),
            document_name: None,
            owner: "arn:aws:iam::111122223333:user/tester".into(),
            reason: None,
            parameters: json!({}),
            plan: Default::default(),
            status: crate::sessions::SessionStatus::Connected,
            started: std::time::SystemTime::now(),
            ended: None,
            token: "token".into(),
        };
        let frame = agent_session_state(&session, "Terminating");
        let message = ClientMessage::decode(&frame).unwrap().message;
        assert_eq!(message.message_type, MessageType::AgentSessionState);
        assert_eq!((message.sequence_number, message.flags), (0, 3));
        let body: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(body["SessionState"], "Terminating");
        assert_eq!(body["SessionId"], "s-1");
    }
}
