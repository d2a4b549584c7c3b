//! Port sessions on the client: a local TCP listener whose connections travel over the
//! data channel — multiplexed (smux v1, many connections at once) when the agent supports
//! it, basic (one connection at a time) otherwise — with reconnects through ResumeSession
//! and a clean end (TerminateSession flag, the API as a fallback).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_smux::MuxBuilder;
use serde::Serialize;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::bridge::{
    bridge, copy_stream, pump_from_channel, pump_to_channel, ByteCounters, Chunking,
};
use crate::engine::{Endpoint, EngineCounters, Payload, PumpEnd, DEFAULT_UNACKNOWLEDGED_LIMIT};
use crate::handshake::{AgentFeatures, SessionKind};
use crate::message::PayloadType;
use crate::payload::Flag;
use crate::session::{EngineChannels, LocalChannels, OpenedSession};
use crate::transport::{connect, ChannelConfig, Connection, Signing};

/// Bytes buffered between the smux client and the channel.
const MUX_PIPE_BUFFER: usize = 512 * 1024;
/// How long a stop waits for the agent to acknowledge the TerminateSession flag before
/// the TerminateSession API is called instead.
const TERMINATE_WAIT: Duration = Duration::from_secs(3);
/// Reconnect attempts after a lost socket (the reference retryer: 5 retries, 100–200 ms
/// doubling up to 5 s).
const RECONNECT_ATTEMPTS: u32 = 5;
const RECONNECT_FIRST_DELAY: Duration = Duration::from_millis(150);
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(5);

/// The plugin prints this when the agent reports ConnectToPortError.
pub const CONNECT_TO_PORT_ERROR: &str =
    "Connection to destination port failed, check SSM Agent logs.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PortMode {
    /// smux v1 over the channel: any number of local connections at once.
    Multiplexed,
    /// One local connection at a time (agents up to 3.0.196.0, and SSH-style documents).
    Basic,
}

/// How to run a port session locally.
#[derive(Clone, Debug)]
pub struct PortOptions {
    pub chunking: Chunking,
    /// Overrides the `localPortNumber` the session was started with; 0 picks a free port.
    pub local_port: Option<u16>,
    pub bind_address: IpAddr,
    /// Leave the session running on the service when the forward stops (it can be
    /// resumed), instead of terminating it.
    pub keep_session: bool,
    /// How long sent data may stay unacknowledged before the session is given up (the
    /// agent or its host stalled). Memory stays bounded meanwhile: the window holds at
    /// most its size in messages, and local readers wait.
    pub stall_timeout: Duration,
}

impl Default for PortOptions {
    fn default() -> Self {
        Self {
            chunking: Chunking::default(),
            local_port: None,
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            keep_session: false,
            stall_timeout: DEFAULT_UNACKNOWLEDGED_LIMIT,
        }
    }
}

/// What ResumeSession gave for reopening the channel.
#[derive(Clone)]
pub struct Resumed {
    pub token_value: String,
    /// Newer services return a fresh URL (new `cell-number`); None keeps the old one.
    pub stream_url: Option<String>,
    /// Fresh signing credentials, when the caller has newer ones.
    pub signing: Option<Signing>,
}

/// The SSM API calls a running session needs, provided by the caller (this crate does not
/// talk to the SSM API).
pub trait SessionControl: Send + Sync + 'static {
    /// ResumeSession. `Ok(None)` when the service returned no token: the session timed out.
    fn resume(&self) -> impl Future<Output = Result<Option<Resumed>, String>> + Send;
    /// The TerminateSession API.
    fn terminate(&self) -> impl Future<Output = Result<(), String>> + Send;
}

/// Live figures of a port session.
#[derive(Debug)]
pub struct PortStats {
    pub connections_active: AtomicU64,
    pub connections_total: AtomicU64,
    /// ConnectToPortError flags from the agent.
    pub connect_errors: AtomicU64,
    pub reconnects: Arc<AtomicU64>,
    pub bytes: Arc<ByteCounters>,
    /// The channel's own figures (retransmissions, duplicates, "not ready").
    pub engine: Arc<EngineCounters>,
}

/// A snapshot of [`PortStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortStatsSnapshot {
    pub connections_active: u64,
    pub connections_total: u64,
    pub connect_errors: u64,
    pub reconnects: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    pub messages_resent: u64,
    pub duplicates_received: u64,
}

impl PortStats {
    pub fn snapshot(&self) -> PortStatsSnapshot {
        let (sent, received) = self.bytes.snapshot();
        PortStatsSnapshot {
            connections_active: self.connections_active.load(Ordering::Relaxed),
            connections_total: self.connections_total.load(Ordering::Relaxed),
            connect_errors: self.connect_errors.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            bytes_sent: sent,
            bytes_received: received,
            messages_sent: self.engine.messages_sent.load(Ordering::Relaxed),
            messages_resent: self.engine.messages_resent.load(Ordering::Relaxed),
            duplicates_received: self.engine.duplicates.load(Ordering::Relaxed),
        }
    }
}

/// How a port session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "State", content = "Message")]
pub enum SessionEnd {
    /// The service closed the channel; the text is its reason as the plugin prints it.
    Closed(String),
    /// Stopped from this side; the session was terminated unless it was to be kept.
    Stopped,
    /// Given up: the reason.
    Failed(String),
}

/// A session running in the background ([`Driver::spawn`]): stop it, read or await its end.
/// Port forwards and commands both hold one.
pub struct SessionRun {
    stop: watch::Sender<bool>,
    ended: watch::Receiver<Option<SessionEnd>>,
}

impl SessionRun {
    /// Asks the session to stop; [`SessionRun::wait`] tells when it has.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// How it ended, once it has.
    pub fn end(&self) -> Option<SessionEnd> {
        self.ended.borrow().clone()
    }

    /// Waits for the end.
    pub async fn wait(&self) -> SessionEnd {
        let mut ended = self.ended.clone();
        let result = ended.wait_for(Option::is_some).await;
        match result {
            Ok(end) => end.clone().unwrap_or(SessionEnd::Stopped),
            Err(_) => SessionEnd::Failed("the session task ended unexpectedly".into()),
        }
    }

    /// A receiver that sees the end (for waiting next to other things).
    pub(crate) fn ended(&self) -> watch::Receiver<Option<SessionEnd>> {
        self.ended.clone()
    }
}

/// A running port session.
pub struct PortForward {
    pub local_addr: SocketAddr,
    pub mode: PortMode,
    pub stats: Arc<PortStats>,
    run: SessionRun,
}

impl PortForward {
    /// Asks the session to stop; [`PortForward::wait`] tells when it has.
    pub fn stop(&self) {
        self.run.stop();
    }

    /// How it ended, once it has.
    pub fn end(&self) -> Option<SessionEnd> {
        self.run.end()
    }

    /// Waits for the end.
    pub async fn wait(&self) -> SessionEnd {
        self.run.wait().await
    }
}

/// Why a port session could not start.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("this is not a port session (the agent asked for {0})")]
    NotAPortSession(String),
    #[error("could not listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// The local port the session was started for (`localPortNumber`, empty = any).
fn requested_local_port(properties: &Value) -> u16 {
    match &properties["localPortNumber"] {
        Value::String(text) => text.trim().parse().unwrap_or(0),
        Value::Number(number) => number
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// Starts forwarding: binds the local listener and runs the session in the background.
/// On a bind failure the session is terminated (unless it is to be kept).
pub async fn start_port_forward<C: SessionControl>(
    opened: OpenedSession,
    config: ChannelConfig,
    options: PortOptions,
    control: C,
) -> Result<PortForward, PortError> {
    let properties = match &opened.kind {
        SessionKind::Port { properties } => properties.clone(),
        SessionKind::Shell { session_type, .. } => {
            let kind = session_type.clone();
            if !options.keep_session {
                let _ = opened.terminate(TERMINATE_WAIT).await;
            }
            return Err(PortError::NotAPortSession(kind));
        }
    };
    let features = AgentFeatures::of(&opened.agent_version);
    let mode =
        if properties["type"] == "LocalPortForwarding" && features.multiplexed_port_forwarding {
            PortMode::Multiplexed
        } else {
            PortMode::Basic
        };
    let port = options
        .local_port
        .unwrap_or_else(|| requested_local_port(&properties));
    let address = SocketAddr::new(options.bind_address, port);
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(source) => {
            if !options.keep_session {
                let _ = opened.terminate(TERMINATE_WAIT).await;
            }
            return Err(PortError::Listen { address, source });
        }
    };
    let local_addr = listener.local_addr().unwrap_or(address);
    tracing::info!(%local_addr, ?mode, "listening for port forwarding");
    let stats = Arc::new(PortStats {
        connections_active: AtomicU64::new(0),
        connections_total: AtomicU64::new(0),
        connect_errors: AtomicU64::new(0),
        reconnects: Arc::default(),
        bytes: Arc::default(),
        engine: opened.endpoint.counters(),
    });

    let OpenedSession {
        connection,
        mut endpoint,
        local,
        engine,
        closed,
        ..
    } = opened;
    endpoint.set_unacknowledged_limit(options.stall_timeout);
    let app_stats = stats.clone();
    let chunking = options.chunking;
    let keepalive = !features.smux_keepalive_off;
    let app = async move {
        match mode {
            PortMode::Multiplexed => {
                run_multiplexed(listener, local, chunking, app_stats, keepalive).await
            }
            PortMode::Basic => run_basic(listener, local, chunking, app_stats).await,
        }
    };
    let driver = Driver {
        closed,
        connection,
        endpoint,
        engine,
        config,
        control,
        keep_session: options.keep_session,
        reconnects: stats.reconnects.clone(),
        // The listener never finishes by itself: nothing to wait for at the end.
        drain_wait: None,
    };
    let run = driver.spawn(app);
    Ok(PortForward {
        local_addr,
        mode,
        stats,
        run,
    })
}

/// Owns the socket and the sequencing state; replaces the socket when it is lost. Runs
/// the session's local side (`app`, fed through the session's [`LocalChannels`]) until the
/// session ends or is stopped. Shared by port and command sessions.
pub(crate) struct Driver<C> {
    /// The service closed the channel during the handshake: nothing to pump, only the
    /// queued payloads to hand to the local side.
    pub(crate) closed: Option<String>,
    pub(crate) connection: Connection,
    pub(crate) endpoint: Endpoint,
    pub(crate) engine: EngineChannels,
    pub(crate) config: ChannelConfig,
    pub(crate) control: C,
    pub(crate) keep_session: bool,
    pub(crate) reconnects: Arc<AtomicU64>,
    /// When the service closes the channel, how long the local side may take to finish
    /// what was delivered before it (None: stop it at once).
    pub(crate) drain_wait: Option<Duration>,
}

enum Outcome {
    End(SessionEnd),
    StopRequested,
}

impl<C: SessionControl> Driver<C> {
    /// Runs in the background.
    pub(crate) fn spawn(self, app: impl Future<Output = ()> + Send + 'static) -> SessionRun {
        let (stop, stop_rx) = watch::channel(false);
        let (ended_tx, ended) = watch::channel(None);
        tokio::spawn(async move {
            let end = self.run(app, stop_rx).await;
            let _ = ended_tx.send(Some(end));
        });
        SessionRun { stop, ended }
    }

    async fn run(
        mut self,
        app: impl Future<Output = ()> + Send + 'static,
        mut stop: watch::Receiver<bool>,
    ) -> SessionEnd {
        // Dropping the set aborts the local side: listener, connections, smux.
        let mut local_side = JoinSet::new();
        local_side.spawn(app);
        let outcome = loop {
            if let Some(reason) = self.closed.take() {
                break Outcome::End(SessionEnd::Closed(reason));
            }
            let pumped = tokio::select! {
                end = self.endpoint.pump(&mut self.connection, &mut self.engine.outbound, &self.engine.inbound) => end,
                _ = stop.wait_for(|stop| *stop) => break Outcome::StopRequested,
            };
            tracing::debug!(end = ?pumped, unacknowledged = self.endpoint.unacknowledged(), "the channel pump ended");
            match pumped {
                PumpEnd::ChannelClosed(reason) => break Outcome::End(SessionEnd::Closed(reason)),
                // The local side never closes its channel on its own; treat it as a stop.
                PumpEnd::Finished => break Outcome::StopRequested,
                PumpEnd::Unacknowledged(age) => {
                    break Outcome::End(SessionEnd::Failed(format!(
                        "The agent did not acknowledge data for {} s; the session was given up.",
                        age.as_secs()
                    )))
                }
                PumpEnd::LinkLost(_) => match self.reconnect().await {
                    Ok(Some(connection)) => {
                        self.connection = connection;
                        self.reconnects.fetch_add(1, Ordering::Relaxed);
                        // A failure here is another lost link, handled on the next round.
                        let _ = self.endpoint.resend_all(&mut self.connection).await;
                    }
                    Ok(None) => {
                        break Outcome::End(SessionEnd::Closed(format!(
                            "Session: {} timed out.",
                            session_id_of(&self.config.stream_url)
                        )))
                    }
                    Err(reason) => break Outcome::End(SessionEnd::Failed(reason)),
                },
            }
        };
        if let (Some(wait), Outcome::End(SessionEnd::Closed(_))) = (self.drain_wait, &outcome) {
            // What the engine still holds goes to the local side first (the local side
            // makes room meanwhile), then closing the inbound channel lets it finish.
            let _ =
                tokio::time::timeout(wait, self.endpoint.deliver_remaining(&self.engine.inbound))
                    .await;
            let (closed, _) = mpsc::channel(1);
            drop(std::mem::replace(&mut self.engine.inbound, closed));
            let _ = tokio::time::timeout(wait, local_side.join_next()).await;
        }
        drop(local_side);
        match outcome {
            Outcome::End(SessionEnd::Failed(reason)) => {
                if !self.keep_session {
                    let _ = self.control.terminate().await;
                }
                SessionEnd::Failed(reason)
            }
            Outcome::End(end) => end,
            Outcome::StopRequested => {
                tracing::info!(
                    keep_session = self.keep_session,
                    "stopping the port forward"
                );
                if !self.keep_session && !self.terminate_in_band().await {
                    tracing::info!("the TerminateSession flag was not confirmed; calling the API");
                    if let Err(reason) = self.control.terminate().await {
                        return SessionEnd::Failed(format!(
                            "The session could not be terminated: {reason}"
                        ));
                    }
                }
                SessionEnd::Stopped
            }
        }
    }

    /// Sends the TerminateSession flag and waits for the service's `channel_closed` (the
    /// agent has ended the session then). True when the session is known to end: closed,
    /// or the flag acknowledged and the socket closed or silent; false when the flag could
    /// not be delivered (then the API is used).
    async fn terminate_in_band(&mut self) -> bool {
        let flag = Payload {
            payload_type: PayloadType::FLAG,
            data: Flag::TerminateSession.to_payload(),
        };
        if self
            .endpoint
            .send(&mut self.connection, flag)
            .await
            .is_err()
        {
            return false;
        }
        // An outbound channel that stays open: the pump runs until channel_closed, the
        // socket's end or the timeout, not merely until everything is acknowledged.
        let (_open, mut idle) = mpsc::channel::<Payload>(1);
        let pumped = tokio::time::timeout(
            TERMINATE_WAIT,
            self.endpoint
                .pump(&mut self.connection, &mut idle, &self.engine.inbound),
        )
        .await;
        match pumped {
            Ok(PumpEnd::ChannelClosed(_)) => true,
            _ => self.endpoint.unacknowledged() == 0,
        }
    }

    /// ResumeSession, then a new socket with the new token; retried with backoff.
    async fn reconnect(&mut self) -> Result<Option<Connection>, String> {
        let mut delay = RECONNECT_FIRST_DELAY;
        let mut last_error = String::new();
        for attempt in 0..=RECONNECT_ATTEMPTS {
            tracing::warn!(attempt, "the data channel was lost; resuming the session");
            match self.control.resume().await {
                Ok(None) => return Ok(None),
                Ok(Some(resumed)) => {
                    self.config.token_value = resumed.token_value;
                    if let Some(url) = resumed.stream_url.filter(|u| !u.is_empty()) {
                        self.config.stream_url = url;
                    }
                    if let Some(signing) = resumed.signing {
                        self.config.signing = Some(signing);
                    }
                    match connect(&self.config).await {
                        Ok(connection) => return Ok(Some(connection)),
                        Err(e) => last_error = format!("could not reopen the data channel: {e}"),
                    }
                }
                Err(e) => last_error = format!("ResumeSession failed: {e}"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(RECONNECT_MAX_DELAY);
        }
        Err(format!(
            "The connection to the session was lost and could not be resumed: {last_error}"
        ))
    }
}

/// The session id is the last path segment of the stream URL.
pub(crate) fn session_id_of(stream_url: &str) -> &str {
    let path = stream_url.split('?').next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default()
}

/// Counts a local connection while it lives.
struct ActiveConnection(Arc<PortStats>);

impl ActiveConnection {
    fn new(stats: Arc<PortStats>) -> Self {
        stats.connections_total.fetch_add(1, Ordering::Relaxed);
        stats.connections_active.fetch_add(1, Ordering::Relaxed);
        Self(stats)
    }
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        self.0.connections_active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts ConnectToPortError flags; other flags need nothing on the client.
async fn watch_flags(mut control: mpsc::UnboundedReceiver<Payload>, stats: Arc<PortStats>) {
    while let Some(payload) = control.recv().await {
        if payload.payload_type == PayloadType::FLAG
            && Flag::from_payload(&payload.data) == Some(Flag::ConnectToPortError)
        {
            stats.connect_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn run_multiplexed(
    listener: TcpListener,
    local: LocalChannels,
    chunking: Chunking,
    stats: Arc<PortStats>,
    keepalive: bool,
) {
    let mut tasks = JoinSet::new();
    let (engine_side, mux_side) = tokio::io::duplex(MUX_PIPE_BUFFER);
    let (control, flags) = mpsc::unbounded_channel();
    tasks.spawn(bridge(
        engine_side,
        local.to_agent,
        local.from_agent,
        control,
        chunking,
        stats.bytes.clone(),
    ));
    tasks.spawn(watch_flags(flags, stats.clone()));
    let mut builder = MuxBuilder::client();
    if keepalive {
        // Agents up to 3.1.1511.0 keep smux keep-alive on; so must we (10 s / 30 s).
        if let (Some(interval), Some(timeout)) = (NonZeroU64::new(10), NonZeroU64::new(30)) {
            builder
                .with_keep_alive_interval(interval)
                .with_keep_alive_timeout(timeout);
        }
    }
    let (connector, _acceptor, worker) = builder.with_connection(mux_side).build();
    tasks.spawn(async move {
        let _ = worker.await;
    });
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of descriptors and the like: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let Ok(stream) = connector.connect() else {
            // The multiplexer is gone (the channel ended): nothing more can be forwarded.
            return;
        };
        let active = ActiveConnection::new(stats.clone());
        tasks.spawn(async move {
            let _active = active;
            let mut tcp = tcp;
            let mut stream = stream;
            copy_stream(&mut tcp, &mut stream).await;
        });
    }
}

async fn run_basic(
    listener: TcpListener,
    mut local: LocalChannels,
    chunking: Chunking,
    stats: Arc<PortStats>,
) {
    let (control, flags) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    tasks.spawn(watch_flags(flags, stats.clone()));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of descriptors and the like: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let active = ActiveConnection::new(stats.clone());
        serve_basic(tcp, &mut local, &control, chunking, &stats.bytes).await;
        drop(active);
        // The agent closes its side and dials again on the next data.
        let disconnect = Payload {
            payload_type: PayloadType::FLAG,
            data: Flag::DisconnectToPort.to_payload(),
        };
        if local.to_agent.send(disconnect).await.is_err() {
            return;
        }
    }
}

async fn serve_basic(
    tcp: TcpStream,
    local: &mut LocalChannels,
    control: &mpsc::UnboundedSender<Payload>,
    chunking: Chunking,
    bytes: &ByteCounters,
) {
    let (reader, writer) = tcp.into_split();
    tokio::select! {
        _ = pump_to_channel(reader, &local.to_agent, chunking, &bytes.sent) => {}
        _ = pump_from_channel(writer, &mut local.from_agent, control, &bytes.received) => {}
    }
}
