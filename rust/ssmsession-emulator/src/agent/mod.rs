//! The fake SSM agent behind `/v1/data-channel/<session-id>`: the stream URL StartSession
//! returns. It checks the token in the OpenDataChannel frame, then hands the socket to the
//! session's agent task (`run`), which outlives sockets so that a client can resume.
//!
//! - `run`: the handshake as the real agent drives it, the engine's delivery rules, waiting
//!   for a resumed socket, `channel_closed` at the end.
//! - `port`: the target side of port sessions (smux server or basic), dialling loopback only.
//! - `command`: the target side of non-interactive command sessions (a local process,
//!   started from the command line split as the agent splits it: `shell_words`).
//! - `shell`: the target side of shell and interactive command sessions (a local program
//!   under a pseudo-terminal).
//! - `environment`, `utf8_holdback`: what session processes get and how their output is
//!   cut, as the agent does both.
//! - `link`: the socket, with the configured fault injection.

mod command;
mod environment;
mod link;
mod port;
mod run;
mod shell;
mod shell_words;
mod utf8_holdback;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use ssmsession_datachannel::handshake::RequestedClientAction;
use ssmsession_datachannel::payload::OpenDataChannel;
use tokio::sync::mpsc;

use crate::server::AppState;
use crate::sessions::Session;

pub use crate::config::AGENT_VERSION;

/// How long the agent waits for the OpenDataChannel frame and for the HandshakeResponse.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// The agent task of each live session, by session id: new sockets (resumes) go to it.
#[derive(Default)]
pub struct AgentRegistry {
    tasks: Mutex<HashMap<String, mpsc::Sender<WebSocket>>>,
}

impl AgentRegistry {
    /// Hands an authenticated socket to the session's agent task, starting one if needed.
    async fn attach(&self, state: &Arc<AppState>, session: Session, socket: WebSocket) {
        let sender = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            tasks.retain(|_, sender| !sender.is_closed());
            match tasks.get(&session.id) {
                Some(sender) => sender.clone(),
                None => {
                    let (sender, sockets) = mpsc::channel(4);
                    tasks.insert(session.id.clone(), sender.clone());
                    tokio::spawn(run::agent(state.clone(), session, sockets));
                    sender
                }
            }
        };
        let _ = sender.send(socket).await;
    }
}

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
    if let Some(crate::hostile::Hostile::RefuseFirst { count }) =
        crate::hostile::Hostile::of(&session.target)
    {
        let key = format!("upgrade {}", session.id);
        if state.flaky.should_fail(&key, count) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The data channel is not available yet (hostile mode refuse-first).",
            )
                .into_response();
        }
    }
    socket.on_upgrade(move |socket| accept(state, session, socket))
}

/// The session plugin the agent asks the client to run, from the session's document. The
/// Properties are the document's for Port sessions and JSON null for the shell types, as
/// the real agent sends them (agent-behaviour §3).
pub fn requested_session(session: &Session) -> RequestedClientAction {
    let plan = &session.plan;
    let properties = if plan.session_type == "Port" {
        plan.properties.clone()
    } else {
        Value::Null
    };
    RequestedClientAction {
        action_type: "SessionType".into(),
        action_parameters: json!({ "SessionType": plan.session_type, "Properties": properties }),
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

/// The client's OpenDataChannel frame. Pings and pongs before it are answered (by the
/// WebSocket layer) and passed over: AWS's plugin pings right after connecting, before it
/// sends OpenDataChannel (protocol notes §1.5). Anything else first is no OpenDataChannel.
async fn open_data_channel(socket: &mut WebSocket) -> Option<OpenDataChannel> {
    loop {
        match socket.recv().await? {
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            _ => return None,
        }
    }
}

/// Checks the OpenDataChannel frame against the session's current token (a resumed
/// session has a new one), then attaches the socket to the session's agent.
async fn accept(state: Arc<AppState>, session: Session, mut socket: WebSocket) {
    let open = tokio::time::timeout(HANDSHAKE_TIMEOUT, open_data_channel(&mut socket))
        .await
        .ok()
        .flatten();
    let current_token = state.sessions.active(&session.id).map(|s| s.token);
    match open {
        Some(open) if Some(&open.token_value) == current_token.as_ref() => {
            if state.config.log_requests {
                eprintln!("data-channel {} opened", session.id);
            }
            state.agents.attach(&state, session, socket).await;
        }
        _ => {
            if state.config.log_requests {
                eprintln!(
                    "data-channel {} rejected: no valid OpenDataChannel token",
                    session.id
                );
            }
            close(
                socket,
                1008,
                "The token in OpenDataChannel is not valid for this session.",
            )
            .await
        }
    }
}
