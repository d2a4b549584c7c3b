//! The target side of port sessions: the emulated instance is this machine, so targets are
//! loopback ports. Multiplexed sessions run an smux v1 server over the channel and dial
//! once per stream (a failed dial answers with the ConnectToPortError flag); basic
//! sessions dial at once and, for `LocalPortForwarding`, again after DisconnectToPort (a
//! failed dial ends the session).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU64;
use std::sync::Arc;

use async_smux::{MuxBuilder, MuxStream};
use serde_json::Value;
use ssmsession_datachannel::bridge::{
    bridge, copy_stream, pump_to_channel, ByteCounters, Chunking,
};
use ssmsession_datachannel::engine::Payload;
use ssmsession_datachannel::inbound::InboundReceiver;
use ssmsession_datachannel::message::PayloadType;
use ssmsession_datachannel::payload::Flag;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::run::{is_terminate, WorkEnd};

const MUX_PIPE_BUFFER: usize = 512 * 1024;

/// Where port connections go.
#[derive(Clone, Debug)]
pub struct Target {
    host: String,
    port: u16,
    refuse: bool,
}

/// Addresses the agent never forwards to (agent-behaviour §7): instance metadata, the VPC
/// resolver, time sync and Windows licence activation, IPv4 and IPv6.
const DENIED_ADDRESSES: &[&str] = &[
    "169.254.169.254",
    "fd00:ec2::254",
    "169.254.169.253",
    "fd00:ec2::253",
    "169.254.169.123",
    "fd00:ec2::123",
    "169.254.169.250",
    "169.254.169.251",
    "fd00:ec2::240",
];

impl Target {
    /// From the session's properties (`portNumber`, optional `host`), checked as the
    /// port plugin checks them: a port number is required, and a host that is one of the
    /// denied addresses fails the session. No host means `localhost`.
    pub fn from_properties(properties: &Value, refuse: bool) -> Result<Self, String> {
        let port_text = match &properties["portNumber"] {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if port_text.is_empty() {
            return Err(format!(
                "Unable to start port forwarding session: the session's properties have no port number ({properties})."
            ));
        }
        let host = properties["host"]
            .as_str()
            .filter(|h| !h.is_empty())
            .unwrap_or("localhost")
            .to_owned();
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            let denied = DENIED_ADDRESSES
                .iter()
                .any(|denied| denied.parse::<IpAddr>().is_ok_and(|d| d == ip));
            if denied {
                return Err(format!(
                    "Unable to start port forwarding session: forwarding to {host} is not allowed (instance metadata, VPC DNS, time sync and licensing addresses are refused)."
                ));
            }
        }
        // A port number that is no port fails when dialled, as with the agent.
        let port = port_text.parse().unwrap_or(0);
        Ok(Self { host, port, refuse })
    }

    /// Connects, loopback only: the emulator never reaches another machine.
    async fn dial(&self) -> std::io::Result<TcpStream> {
        use std::io::{Error, ErrorKind};
        if self.refuse {
            return Err(Error::new(
                ErrorKind::ConnectionRefused,
                "refused by fault injection",
            ));
        }
        let ip = if self.host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            match self.host.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => ip,
                _ => {
                    return Err(Error::new(
                        ErrorKind::PermissionDenied,
                        "the emulator forwards to loopback addresses only",
                    ))
                }
            }
        };
        let stream = TcpStream::connect(SocketAddr::new(ip, self.port)).await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

fn flag(flag: Flag) -> Payload {
    Payload {
        payload_type: PayloadType::FLAG,
        data: flag.to_payload(),
    }
}

/// A malformed smux frame: version 7 (there is only 1), PSH, no data, stream 3.
const BAD_SMUX_FRAME: [u8; 8] = [7, 2, 0, 0, 3, 0, 0, 0];

/// How the agent runs its smux server for one session.
#[derive(Clone, Copy, Debug)]
pub struct MuxSettings {
    /// smux keep-alive (10 s interval, 30 s timeout): on for clients up to 1.2.331.0.
    pub keepalive: bool,
    /// Answer the first stream with a malformed frame (the bad-smux hostile mode).
    pub bad_smux: bool,
}

/// The agent's smux keep-alive interval and timeout, in seconds (agent-behaviour §7).
const SMUX_KEEPALIVE_SECONDS: (u64, u64) = (10, 30);

/// smux server over the channel; one target connection per stream.
pub async fn multiplexed(
    to_client: mpsc::Sender<Payload>,
    from_client: InboundReceiver,
    target: Target,
    sending: Chunking,
    settings: MuxSettings,
) -> WorkEnd {
    let mut from_client = from_client;
    // The agent's smux server says nothing before the client has (its first keep-alive
    // comes after 10 s), and AWS's plugin fails on agent output that comes before it has set
    // up its multiplexer. This smux implementation sends its first keep-alive at once, so
    // the server starts with the client's first frame.
    if settings.keepalive {
        match from_client.recv().await {
            Some(first) => from_client.put_back(first),
            None => return WorkEnd::Terminated,
        }
    }
    let mut tasks = JoinSet::new();
    let (engine_side, mux_side) = tokio::io::duplex(MUX_PIPE_BUFFER);
    let (control, mut flags) = mpsc::unbounded_channel();
    tasks.spawn(bridge(
        engine_side,
        to_client.clone(),
        from_client,
        control,
        sending,
        Arc::new(ByteCounters::default()),
    ));
    let mut builder = MuxBuilder::server();
    let (interval, timeout) = SMUX_KEEPALIVE_SECONDS;
    if let (true, Some(interval), Some(timeout)) = (
        settings.keepalive,
        NonZeroU64::new(interval),
        NonZeroU64::new(timeout),
    ) {
        builder
            .with_keep_alive_interval(interval)
            .with_keep_alive_timeout(timeout);
    }
    let (_connector, mut acceptor, worker) = builder.with_connection(mux_side).build();
    tasks.spawn(async move {
        let _ = worker.await;
    });
    loop {
        tokio::select! {
            stream = acceptor.accept() => match stream {
                Some(_) if settings.bad_smux => {
                    let _ = to_client.send(Payload::output(BAD_SMUX_FRAME.to_vec())).await;
                }
                Some(stream) => {
                    tasks.spawn(serve_stream(stream, target.clone(), to_client.clone()));
                }
                // The multiplexer ended with the channel.
                None => return WorkEnd::Terminated,
            },
            payload = flags.recv() => match payload {
                Some(payload) if is_terminate(&payload) => return WorkEnd::Terminated,
                Some(_) => {}
                None => return WorkEnd::Terminated,
            },
        }
    }
}

async fn serve_stream(
    mut stream: MuxStream<tokio::io::DuplexStream>,
    target: Target,
    to_client: mpsc::Sender<Payload>,
) {
    match target.dial().await {
        Ok(mut tcp) => {
            copy_stream(&mut tcp, &mut stream).await;
        }
        Err(_) => {
            // The flag names no stream: the client can only report it.
            let _ = to_client.send(flag(Flag::ConnectToPortError)).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// The agent's one target connection in basic mode, with its reader.
struct BasicConnection {
    writer: OwnedWriteHalf,
    reading: JoinSet<()>,
}

impl BasicConnection {
    async fn open(
        target: &Target,
        to_client: &mpsc::Sender<Payload>,
        sending: Chunking,
        counters: &Arc<ByteCounters>,
    ) -> std::io::Result<Self> {
        let (reader, writer) = target.dial().await?.into_split();
        let mut reading = JoinSet::new();
        let to_client = to_client.clone();
        let counters = counters.clone();
        reading.spawn(async move {
            let _ = pump_to_channel(reader, &to_client, sending, &counters.sent).await;
        });
        Ok(Self { writer, reading })
    }
}

/// Waits until the connection's target stops sending (everything it sent is queued for
/// the client by then); never without a connection.
async fn target_done(connection: &mut Option<BasicConnection>) {
    match connection.as_mut() {
        Some(connection) => {
            let _ = connection.reading.join_next().await;
        }
        None => std::future::pending().await,
    }
}

fn unable_to_connect(target: &Target, error: &std::io::Error) -> String {
    format!(
        "Unable to start port forwarding session: unable to connect to {}:{}: {error}",
        target.host, target.port
    )
}

/// Basic mode, as the real agent runs it (agent-behaviour §7): the target is dialled
/// before anything is pumped, and a failure ends the session (basic mode never sends
/// ConnectToPortError). With `type: LocalPortForwarding` (`reconnect`), a connection that
/// ends (DisconnectToPort, or the target's end) is dialled again on the next data; without
/// it (SSH-style documents) the session ends with its connection.
pub async fn basic(
    to_client: mpsc::Sender<Payload>,
    mut from_client: InboundReceiver,
    target: Target,
    sending: Chunking,
    reconnect: bool,
) -> WorkEnd {
    let counters = Arc::new(ByteCounters::default());
    let mut connection = match BasicConnection::open(&target, &to_client, sending, &counters).await
    {
        Ok(connection) => Some(connection),
        Err(e) => return WorkEnd::Closed(unable_to_connect(&target, &e)),
    };
    loop {
        let payload = tokio::select! {
            payload = from_client.recv() => payload,
            _ = target_done(&mut connection) => {
                if !reconnect {
                    return WorkEnd::Closed(String::new());
                }
                connection = None;
                continue;
            }
        };
        let Some(payload) = payload else {
            return WorkEnd::Terminated;
        };
        match payload.payload_type {
            PayloadType::OUTPUT => {
                if connection.is_none() {
                    match BasicConnection::open(&target, &to_client, sending, &counters).await {
                        Ok(opened) => connection = Some(opened),
                        Err(e) => return WorkEnd::Closed(unable_to_connect(&target, &e)),
                    }
                }
                if let Some(open) = connection.as_mut() {
                    if open.writer.write_all(&payload.data).await.is_err() {
                        if !reconnect {
                            return WorkEnd::Closed(String::new());
                        }
                        connection = None;
                    }
                }
            }
            PayloadType::FLAG => match Flag::from_payload(&payload.data) {
                Some(Flag::TerminateSession) => return WorkEnd::Terminated,
                // The client's connection closed: close ours; dial again on new data, or
                // (SSH-style) the session is over.
                Some(Flag::DisconnectToPort) => {
                    connection = None;
                    if !reconnect {
                        return WorkEnd::Closed(String::new());
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}
