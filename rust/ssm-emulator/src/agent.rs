//! The fake SSM agent behind `/v1/data-channel/<session-id>`: the stream URL StartSession
//! returns. It checks the token in the OpenDataChannel frame and drives the handshake as
//! the real agent does (HandshakeRequest as sequence 0 with flags SYN, acknowledgements for
//! the client's messages, HandshakeComplete once every action succeeded, 15 s timeout).
//! The TerminateSession flag ends the session with `channel_closed`. Session data (shell
//! and port traffic) comes with the data-channel engine.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use ssm_datachannel::handshake::{
    HandshakeComplete, HandshakeRequest, HandshakeResponse, RequestedClientAction, STATUS_SUCCESS,
};
use ssm_datachannel::message::{
    epoch_millis as now_ms, ClientMessage, MessageType, PayloadType, FLAG_SYN, SCHEMA_VERSION,
};
use ssm_datachannel::payload::{acknowledge, Flag, OpenDataChannel};
use uuid::Uuid;

use crate::server::AppState;
use crate::sessions::Session;

/// The version the fake agent reports: new enough for multiplexed ports without smux
/// keep-alive.
pub const AGENT_VERSION: &str = "3.3.3572.0";
/// How long the agent waits for the OpenDataChannel frame and for the HandshakeResponse.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// `GET /v1/data-channel/<id>`: verifies a signed upgrade (service `ssmmessages`), accepts
/// an unsigned one as older clients send, and hands the socket to the agent.
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    socket: WebSocketUpgrade,
) -> Response {
    if headers.contains_key("authorization") {
        let verified = crate::auth::verify(
            &state.config,
            &state.issued,
            "ssmmessages",
            &method,
            &uri,
            &headers,
            &Bytes::new(),
            SystemTime::now(),
        );
        if let Err(error) = verified {
            return (error.status, error.message).into_response();
        }
    }
    let Some(session) = state.sessions.active(&session_id) else {
        return (
            StatusCode::NOT_FOUND,
            format!("Session {session_id} does not exist or has ended."),
        )
            .into_response();
    };
    socket.on_upgrade(move |socket| run(state, session, socket))
}

/// The session plugin and properties the agent asks the client to run, from the document.
pub fn requested_session(session: &Session) -> RequestedClientAction {
    let parameter = |name: &str| session.parameters[name][0].as_str().map(str::to_owned);
    let (session_type, properties) = match session
        .document_name
        .as_deref()
        .unwrap_or("SSM-SessionManagerRunShell")
    {
        "AWS-StartPortForwardingSession" | "AWS-StartPortForwardingSessionToRemoteHost" => (
            "Port",
            json!({
                "type": "LocalPortForwarding",
                "portNumber": parameter("portNumber").unwrap_or_else(|| "80".into()),
                "localPortNumber": parameter("localPortNumber").unwrap_or_default(),
                "host": parameter("host"),
            }),
        ),
        "AWS-StartSSHSession" => (
            "Port",
            json!({ "portNumber": parameter("portNumber").unwrap_or_else(|| "22".into()) }),
        ),
        "AWS-StartNonInteractiveCommand" => (
            "NonInteractiveCommands",
            json!({ "commands": parameter("command") }),
        ),
        "AWS-StartInteractiveCommand" => (
            "InteractiveCommands",
            json!({ "commands": parameter("command") }),
        ),
        _ => ("Standard_Stream", Value::Null),
    };
    RequestedClientAction {
        action_type: "SessionType".into(),
        action_parameters: json!({ "SessionType": session_type, "Properties": properties }),
    }
}

fn output(sequence: i64, payload_type: PayloadType, payload: Vec<u8>) -> ClientMessage {
    ClientMessage {
        message_type: MessageType::OutputStreamData,
        schema_version: SCHEMA_VERSION,
        created_date: now_ms(),
        sequence_number: sequence,
        flags: if sequence == 0 { FLAG_SYN } else { 0 },
        message_id: Uuid::new_v4(),
        payload_type,
        payload,
    }
}

/// The service's `channel_closed` message; an empty `Output` means a normal end.
fn channel_closed(session: &Session, output: &str) -> ClientMessage {
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
}

async fn send(socket: &mut WebSocket, message: &ClientMessage) -> bool {
    match message.encode() {
        Ok(frame) => socket.send(Message::Binary(frame.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        })))
        .await;
}

async fn run(state: Arc<AppState>, session: Session, mut socket: WebSocket) {
    let log = |what: &str| {
        if state.config.log_requests {
            eprintln!("data-channel {} {what}", session.id);
        }
    };
    // 1. OpenDataChannel, with the session's current token.
    let open = match tokio::time::timeout(HANDSHAKE_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => {
            serde_json::from_str::<OpenDataChannel>(text.as_str()).ok()
        }
        _ => None,
    };
    let current_token = state.sessions.active(&session.id).map(|s| s.token);
    match open {
        Some(open) if Some(&open.token_value) == current_token.as_ref() => log("opened"),
        _ => {
            log("rejected: no valid OpenDataChannel token");
            return close(
                socket,
                1008,
                "The token in OpenDataChannel is not valid for this session.",
            )
            .await;
        }
    }

    // 2. HandshakeRequest as sequence 0.
    let request = HandshakeRequest {
        agent_version: AGENT_VERSION.into(),
        requested_client_actions: vec![requested_session(&session)],
    };
    let payload = serde_json::to_vec(&request).unwrap_or_default();
    if !send(
        &mut socket,
        &output(0, PayloadType::HANDSHAKE_REQUEST, payload),
    )
    .await
    {
        return;
    }

    // 3. Acknowledge the client's messages; complete the handshake on a successful
    //    HandshakeResponse; discard other payloads until then, as the agent does.
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let mut completed = false;
    let mut next_output = 1;
    loop {
        let frame = if completed {
            socket.recv().await
        } else {
            match tokio::time::timeout_at(deadline, socket.recv()).await {
                Ok(frame) => frame,
                Err(_) => {
                    log("handshake timed out");
                    return close(socket, 1000, "Handshake timed out. Please ensure that you have the latest version of the session manager plugin.").await;
                }
            }
        };
        let bytes = match frame {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return log("closed by the client")
            }
            Some(Ok(_)) => continue,
        };
        let Ok(decoded) = ClientMessage::decode(&bytes) else {
            continue;
        };
        let message = decoded.message;
        if message.message_type != MessageType::InputStreamData {
            continue;
        }
        if !send(&mut socket, &acknowledge(&message, now_ms())).await {
            return;
        }
        if completed
            && message.payload_type == PayloadType::FLAG
            && Flag::from_payload(&message.payload) == Some(Flag::TerminateSession)
        {
            state.sessions.terminate(&session.id);
            log("terminated by the client");
            let _ = send(&mut socket, &channel_closed(&session, "")).await;
            return close(socket, 1000, "Session terminated").await;
        }
        if completed || message.payload_type != PayloadType::HANDSHAKE_RESPONSE {
            continue;
        }
        let accepted =
            serde_json::from_slice::<HandshakeResponse>(&message.payload).is_ok_and(|response| {
                !response.processed_client_actions.is_empty()
                    && response
                        .processed_client_actions
                        .iter()
                        .all(|a| a.action_status == STATUS_SUCCESS)
            });
        if !accepted {
            log("handshake refused by the client");
            return close(
                socket,
                1000,
                "The client did not accept the requested session.",
            )
            .await;
        }
        let complete = HandshakeComplete {
            handshake_time_to_complete: 1_000_000,
            customer_message: String::new(),
        };
        let payload = serde_json::to_vec(&complete).unwrap_or_default();
        if !send(
            &mut socket,
            &output(next_output, PayloadType::HANDSHAKE_COMPLETE, payload),
        )
        .await
        {
            return;
        }
        next_output += 1;
        completed = true;
        log("handshake complete");
    }
}
