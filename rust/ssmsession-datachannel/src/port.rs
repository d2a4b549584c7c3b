//! Port sessions on the client: a local TCP listener whose connections travel over the
//! data channel — multiplexed (smux v1, many connections at once) when the agent supports
//! it, basic (one connection at a time) otherwise — with reconnects through ResumeSession
//! and a clean end (TerminateSession flag, the API as a fallback).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_smux::error::MuxError;
use async_smux::MuxBuilder;
use serde::Serialize;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::bridge::{
    bridge, copy_stream, pump_from_channel, pump_to_channel, ByteCounters, Chunking,
};
use crate::driver::{
    Cut, Driver, Ending, LocalEnd, SessionControl, SessionEnd, SessionRun, TERMINATE_WAIT,
};
use crate::engine::{EngineCounters, Payload, DEFAULT_UNACKNOWLEDGED_LIMIT};
use crate::handshake::{AgentFeatures, SessionKind};
use crate::message::PayloadType;
use crate::payload::Flag;
use crate::session::{LocalChannels, OpenedSession};
use crate::transport::ChannelConfig;

/// Bytes buffered between the smux client and the channel.
const MUX_PIPE_BUFFER: usize = 512 * 1024;
/// smux frames received and not yet read by local connections, at most (session-wide, as
/// smux v1 has no per-stream flow control); each is at most 64 KiB, so this bounds the
/// multiplexer's receive side at 4 MiB — the reference's own receive buffer size.
const MUX_RX_FRAMES: usize = 64;
/// smux frames queued per stream for sending, at most.
const MUX_TX_FRAMES: usize = 64;

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

    /// Bytes from the agent that were acknowledged but never reached a local connection
    /// (a stop cut them short); final once the forward has ended.
    pub fn undelivered(&self) -> Option<Cut> {
        self.run.undelivered()
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
                crate::driver::end_unwanted(opened, &control).await;
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
    // Without `type: LocalPortForwarding` (AWS-StartSSHSession and the like) the agent ends
    // the session with its first connection (agent-behaviour §7).
    let one_connection = properties["type"] != "LocalPortForwarding";
    let app = async move {
        match mode {
            PortMode::Multiplexed => {
                run_multiplexed(listener, local, chunking, app_stats, keepalive).await
            }
            PortMode::Basic => {
                run_basic(listener, local, chunking, app_stats, one_connection).await
            }
        }
    };
    let driver = Driver {
        ending: Ending::Flag,
        closed,
        connection,
        endpoint,
        engine,
        config,
        control,
        keep_session: options.keep_session,
        reconnects: stats.reconnects.clone(),
    };
    let run = driver.spawn(app);
    Ok(PortForward {
        local_addr,
        mode,
        stats,
        run,
    })
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
) -> LocalEnd {
    // Dropping the set aborts the helpers when this returns.
    let mut helpers = JoinSet::new();
    let (engine_side, mux_side) = tokio::io::duplex(MUX_PIPE_BUFFER);
    let (control, flags) = mpsc::unbounded_channel();
    let (channel_end_tx, mut channel_end) = tokio::sync::oneshot::channel::<()>();
    let bytes = stats.bytes.clone();
    helpers.spawn(async move {
        bridge(
            engine_side,
            local.to_agent,
            local.from_agent,
            control,
            chunking,
            bytes,
        )
        .await;
        let _ = channel_end_tx.send(());
    });
    helpers.spawn(watch_flags(flags, stats.clone()));
    let mut builder = MuxBuilder::client();
    if keepalive {
        // Agents up to 3.1.1511.0 keep smux keep-alive on; so must we (10 s / 30 s).
        if let (Some(interval), Some(timeout)) = (NonZeroU64::new(10), NonZeroU64::new(30)) {
            builder
                .with_keep_alive_interval(interval)
                .with_keep_alive_timeout(timeout);
        }
    }
    if let (Some(rx), Some(tx)) = (
        NonZeroUsize::new(MUX_RX_FRAMES),
        NonZeroUsize::new(MUX_TX_FRAMES),
    ) {
        builder.with_max_rx_queue(rx).with_max_tx_queue(tx);
    }
    let (connector, _acceptor, worker) = builder.with_connection(mux_side).build();
    let (worker_end_tx, mut worker_end) = tokio::sync::oneshot::channel();
    helpers.spawn(async move {
        let _ = worker_end_tx.send(worker.await);
    });
    let mut connections = JoinSet::new();
    let result = loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    // Out of descriptors and the like: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let Ok(stream) = connector.connect() else {
                    // The multiplexer is gone; its end is reported next.
                    continue;
                };
                let active = ActiveConnection::new(stats.clone());
                connections.spawn(async move {
                    let _active = active;
                    let mut tcp = tcp;
                    let mut stream = stream;
                    copy_stream(&mut tcp, &mut stream).await;
                });
            }
            ended = &mut worker_end => break multiplexer_end(ended.ok()),
            // The bridge ends when the channel closes (the session ended: what arrived is in
            // the multiplexer) or when the multiplexer failed, whose error then follows.
            _ = &mut channel_end => {
                let ended = tokio::time::timeout(Duration::from_millis(200), &mut worker_end).await;
                break match ended {
                    Ok(Ok(result)) => multiplexer_end(Some(result)),
                    _ => Ok(()),
                };
            }
        }
    };
    drop(listener);
    // What arrived before the end reaches the connections before they close.
    while connections.join_next().await.is_some() {}
    result
}

/// What the multiplexer's end means: an error other than its connection's end is the
/// agent's doing.
fn multiplexer_end(result: Option<Result<(), MuxError>>) -> LocalEnd {
    match result {
        Some(Err(MuxError::ConnectionClosed)) | Some(Ok(())) | None => Ok(()),
        Some(Err(MuxError::IoError(_))) => Ok(()),
        Some(Err(e)) => Err(format!(
            "The agent sent port forwarding data the multiplexer (smux) could not read ({e}); the session was given up."
        )),
    }
}

async fn run_basic(
    listener: TcpListener,
    mut local: LocalChannels,
    chunking: Chunking,
    stats: Arc<PortStats>,
    one_connection: bool,
) -> LocalEnd {
    let (control, flags) = mpsc::unbounded_channel();
    let mut helpers = JoinSet::new();
    helpers.spawn(watch_flags(flags, stats.clone()));
    // Bytes the target sent before any local connection (a server's banner): kept for the
    // first connection, as the plugin leaves them to the agent's retransmission.
    let mut early: Option<Payload> = None;
    loop {
        let accepted = if early.is_some() {
            tokio::select! {
                accepted = listener.accept() => accepted,
                _ = local.from_agent.sender_gone() => return Ok(()),
            }
        } else {
            tokio::select! {
                accepted = listener.accept() => accepted,
                payload = local.from_agent.recv() => {
                    match payload {
                        None => return Ok(()),
                        Some(payload) if payload.payload_type == PayloadType::OUTPUT => early = Some(payload),
                        Some(other) => {
                            let _ = control.send(other);
                        }
                    }
                    continue;
                }
            }
        };
        let Ok((tcp, _)) = accepted else {
            // Out of descriptors and the like: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        if let Some(payload) = early.take() {
            local.from_agent.put_back(payload);
        }
        let active = ActiveConnection::new(stats.clone());
        let channel_ended = serve_basic(tcp, &mut local, &control, chunking, &stats.bytes).await;
        drop(active);
        if channel_ended {
            return Ok(());
        }
        // The agent closes its side and dials again on the next data.
        let disconnect = Payload {
            payload_type: PayloadType::FLAG,
            data: Flag::DisconnectToPort.to_payload(),
        };
        if local.to_agent.send(disconnect).await.is_err() {
            return Ok(());
        }
        if one_connection {
            // The agent ends such a session with its connection: stop listening now, so
            // that no connection is accepted that could not be served, and wait for the
            // service to close the channel.
            drop(listener);
            tracing::info!("the session's one connection ended; it ends with it");
            while local.from_agent.recv().await.is_some() {}
            return Ok(());
        }
    }
}

/// One local connection of a basic session; true when the channel ended (everything that
/// arrived was written to the connection first).
async fn serve_basic(
    tcp: TcpStream,
    local: &mut LocalChannels,
    control: &mpsc::UnboundedSender<Payload>,
    chunking: Chunking,
    bytes: &ByteCounters,
) -> bool {
    let (reader, writer) = tcp.into_split();
    tokio::select! {
        _ = pump_to_channel(reader, &local.to_agent, chunking, &bytes.sent) => false,
        written = pump_from_channel(writer, &mut local.from_agent, control, &bytes.received) => written.is_ok(),
    }
}
