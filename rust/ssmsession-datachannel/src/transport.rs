//! The WebSocket under the data channel: the upgrade request (SigV4-signed for
//! `ssmmessages` unless the URL is presigned), the OpenDataChannel text frame, then one
//! binary [`ClientMessage`] per frame.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::link::{Link, LinkError, LinkWriter, Outgoing};
use crate::message::{ClientMessage, DecodeError, DecodedFrame, EncodeError};
use crate::network::{NetworkConfig, NetworkFailure};
use crate::payload::OpenDataChannel;

/// The largest WebSocket message (and frame) accepted from the peer. Real agents send at
/// most about 1 KiB of payload per message, this client at most 256 KiB; anything near this
/// cap is a broken or hostile peer, and the session fails with a message saying so instead
/// of buffering it (the library default is 64 MiB per message).
pub const MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// The socket's limits: messages and frames up to [`MAX_MESSAGE_SIZE`].
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_SIZE))
        .max_frame_size(Some(MAX_MESSAGE_SIZE))
}

/// Query parameters that make a stream URL presigned (then it is not signed again).
const PRESIGN_PARAMETERS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// Credentials and region to sign the upgrade with.
#[derive(Clone)]
pub struct Signing {
    pub credentials: Credentials,
    pub region: String,
}

/// How to open one data channel.
#[derive(Clone)]
pub struct ChannelConfig {
    pub stream_url: String,
    /// From StartSession or ResumeSession; never logged.
    pub token_value: String,
    /// One per process, reused on reconnects.
    pub client_id: Uuid,
    /// Four parts, at least 1.2.764.0 (see the protocol notes, §1.4).
    pub client_version: String,
    /// None for an unsigned upgrade (reference plugins before 1.2.764.0).
    pub signing: Option<Signing>,
    /// Proxies and trusted roots; the default connects directly and trusts the system.
    pub network: NetworkConfig,
    /// A WebSocket ping this often, and the connection given up when nothing at all was
    /// heard from the service for [`KEEPALIVE_MISSES`] intervals and a grace (at most
    /// [`KEEPALIVE_GRACE`]):
    /// keeps proxies and NAT from dropping an idle session, and notices a dead peer. None:
    /// one ping after connecting (as AWS's plugin sends) and nothing more.
    pub keepalive: Option<Duration>,
}

/// The keepalive interval unless configured: well under the 60 s idle limit common in
/// proxies and load balancers (AWS's plugin pings every 5 minutes; users behind proxies
/// ask for 15–30 s, aws/session-manager-plugin#15).
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(30);
/// Intervals without hearing anything (a pong, an acknowledgement, data) before the
/// connection is taken for dead.
pub const KEEPALIVE_MISSES: u32 = 2;
/// Added to the missed intervals, for slow networks (at most one more interval).
pub const KEEPALIVE_GRACE: Duration = Duration::from_secs(10);
/// The payload of the pings, as AWS's plugin sends them.
const PING_PAYLOAD: &[u8] = b"keepalive";

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("the stream URL is not a WebSocket URL: {0}")]
    InvalidUrl(String),
    #[error("could not sign the WebSocket upgrade: {0}")]
    Signing(String),
    #[error("the WebSocket connection failed: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("a frame could not be encoded: {0}")]
    Encode(#[from] EncodeError),
    #[error("a frame could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    #[error("could not connect through the proxy: {0}")]
    Proxy(String),
    /// A certificate or proxy failure, said plainly; trying again does not help.
    #[error("{0}")]
    Network(NetworkFailure),
    #[error("the connection closed: {0}")]
    Closed(String),
}

impl TransportError {
    /// Whether trying again can succeed: the connection failed or was refused, the service
    /// answered the upgrade with a 5xx or 429, or the proxy failed. Not a bad URL, a
    /// signing failure, or a 4xx (refused signature, unknown session).
    pub fn may_pass(&self) -> bool {
        use tokio_tungstenite::tungstenite::Error;
        match self {
            TransportError::WebSocket(Error::Io(_))
            | TransportError::WebSocket(Error::ConnectionClosed)
            | TransportError::WebSocket(Error::AlreadyClosed)
            | TransportError::WebSocket(Error::Protocol(_))
            | TransportError::Proxy(_)
            | TransportError::Closed(_) => true,
            // An unreachable proxy may come back; certificates and refusals do not change.
            TransportError::Network(failure) => failure.code == "ProxyUnreachable",
            TransportError::WebSocket(Error::Http(response)) => {
                response.status().is_server_error() || response.status().as_u16() == 429
            }
            _ => false,
        }
    }
}

fn is_presigned(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .filter_map(|pair| pair.split('=').next())
            .any(|name| PRESIGN_PARAMETERS.contains(&name))
    })
}

/// The headers that sign a GET of `url` for `ssmmessages`.
fn signed_headers(
    url: &str,
    signing: &Signing,
    now: SystemTime,
) -> Result<Vec<(String, String)>, TransportError> {
    let identity: Identity = signing.credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signing.region)
        .name("ssmmessages")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| TransportError::Signing(e.to_string()))?
        .into();
    let https = url
        .replacen("wss://", "https://", 1)
        .replacen("ws://", "http://", 1);
    let request = SignableRequest::new("GET", https, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| TransportError::Signing(e.to_string()))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| TransportError::Signing(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// An open data channel: binary messages both ways. Writes go through the link's writer
/// task (see [`crate::link`]), reads come from the stream half.
pub struct Connection {
    writer: LinkWriter,
    reader: SplitStream<WebSocketStream<MaybeTlsStream<TcpStream>>>,
    /// When anything was last heard from the service, and how long silence may last.
    heard: Instant,
    dead_after: Option<Duration>,
    /// Sends the keepalive pings while the connection lives.
    _pinger: Option<AbortOnDrop>,
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Pings every `interval` through `writer`, until the writer is gone.
fn start_pinger(writer: LinkWriter, interval: Duration) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if writer.ping(PING_PAYLOAD).is_err() {
                return;
            }
        }
    }))
}

fn to_message(item: Outgoing) -> Message {
    match item {
        Outgoing::Frame(frame) => Message::binary(frame),
        Outgoing::Close { code, reason } => Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        })),
        Outgoing::Ping(payload) => Message::Ping(payload),
    }
}

/// Opens the WebSocket and sends OpenDataChannel.
pub async fn connect(config: &ChannelConfig) -> Result<Connection, TransportError> {
    if !(config.stream_url.starts_with("wss://") || config.stream_url.starts_with("ws://")) {
        return Err(TransportError::InvalidUrl(config.stream_url.clone()));
    }
    let mut request = config.stream_url.as_str().into_client_request()?;
    if let (Some(signing), false) = (&config.signing, is_presigned(&config.stream_url)) {
        for (name, value) in signed_headers(&config.stream_url, signing, SystemTime::now())? {
            let value = HeaderValue::from_str(&value)
                .map_err(|e| TransportError::Signing(e.to_string()))?;
            let name: tokio_tungstenite::tungstenite::http::HeaderName = name
                .parse()
                .map_err(|_| TransportError::Signing(format!("bad header name {name}")))?;
            request.headers_mut().insert(name, value);
        }
    }
    let https: Uri = config
        .stream_url
        .replacen("wss://", "https://", 1)
        .replacen("ws://", "http://", 1)
        .parse()
        .map_err(|_| TransportError::InvalidUrl(config.stream_url.clone()))?;
    let secure = config.stream_url.starts_with("wss://");
    let host = https
        .host()
        .ok_or_else(|| TransportError::InvalidUrl(config.stream_url.clone()))?
        .to_owned();
    let port = https.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let scheme = if secure { "wss" } else { "ws" };
    let proxy = config.network.proxies.proxy_for(scheme, &host, port);
    tracing::info!(
        route = %config.network.describe_route(&config.stream_url),
        signed = config.signing.is_some() && !is_presigned(&config.stream_url),
        "opening the data channel"
    );
    let explain = |error: &(dyn std::error::Error + 'static)| {
        config.network.diagnose(error, scheme, &host, port)
    };
    let tcp = match proxy {
        Some(proxy) => {
            let target: Uri = format!("https://{host}:{port}/")
                .parse()
                .map_err(|_| TransportError::InvalidUrl(config.stream_url.clone()))?;
            crate::network::tunnel::open(proxy, &target)
                .await
                .map_err(|e| match explain(&*e) {
                    Some(failure) => TransportError::Network(failure),
                    None => TransportError::Proxy(format!(
                        "the proxy {} (from {}) did not open a tunnel: {e}",
                        proxy.address(),
                        proxy.source()
                    )),
                })?
        }
        None => TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|e| TransportError::WebSocket(e.into()))?,
    };
    // No Nagle: messages and acknowledgements are small and latency-bound.
    let _ = tcp.set_nodelay(true);
    let connector = if secure {
        let tls = config
            .network
            .trust
            .client_config()
            .map_err(TransportError::Proxy)?;
        tokio_tungstenite::Connector::Rustls(tls)
    } else {
        tokio_tungstenite::Connector::Plain
    };
    let (mut socket, _) = tokio_tungstenite::client_async_tls_with_config(
        request,
        tcp,
        Some(websocket_config()),
        Some(connector),
    )
    .await
    .map_err(|e| match explain(&e) {
        Some(failure) => TransportError::Network(failure),
        None => TransportError::WebSocket(e),
    })?;
    // A ping first, as AWS's plugin sends one right after connecting: services and agents
    // must take it before OpenDataChannel.
    socket.send(Message::Ping(PING_PAYLOAD.into())).await?;
    let open = OpenDataChannel::new(
        config.token_value.clone(),
        config.client_id,
        config.client_version.clone(),
    );
    socket.send(Message::text(open.to_json())).await?;
    let (sink, reader) = socket.split();
    let writer = LinkWriter::spawn(sink, to_message);
    let pinger = config
        .keepalive
        .filter(|interval| !interval.is_zero())
        .map(|interval| start_pinger(writer.clone(), interval));
    Ok(Connection {
        dead_after: config
            .keepalive
            .filter(|interval| !interval.is_zero())
            .map(|interval| interval * KEEPALIVE_MISSES + KEEPALIVE_GRACE.min(interval)),
        heard: Instant::now(),
        _pinger: pinger,
        writer,
        reader,
    })
}

impl Connection {
    /// Queues one message for writing.
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), TransportError> {
        self.writer
            .send_data(message.encode()?.into())
            .await
            .map_err(|e| TransportError::Closed(e.message))
    }

    /// The next message, or None when the channel closed. Text and binary frames both
    /// carry messages (as the reference reads them); pings and pongs are handled inside.
    pub async fn recv(&mut self) -> Result<Option<DecodedFrame>, TransportError> {
        match Link::recv(self).await {
            Ok(Some(frame)) => Ok(Some(ClientMessage::decode(&frame)?)),
            Ok(None) => Ok(None),
            Err(e) => Err(TransportError::Closed(e.message)),
        }
    }

    /// Sends a normal close frame; the socket closes once it is written.
    pub fn close(self) {
        self.writer.close(1000, "");
    }
}

/// A read error as the engine sees it: a message over the limit is the peer's fault.
fn link_error(error: tokio_tungstenite::tungstenite::Error) -> LinkError {
    use tokio_tungstenite::tungstenite::error::CapacityError;
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => LinkError::peer_fault(
            format!("the agent sent a {size}-byte message; the limit is {max_size} bytes"),
        ),
        Error::Capacity(e) => {
            LinkError::peer_fault(format!("the agent sent an oversized message ({e})"))
        }
        other => LinkError::lost(other.to_string()),
    }
}

impl Link for Connection {
    fn writer(&self) -> &LinkWriter {
        &self.writer
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
        // `next` is cancel-safe, and nothing is held between frames. What waits on the
        // socket is read before the silence is judged: after a pause in reading (a full
        // local side), frames that arrived meanwhile count.
        loop {
            let silent_until = self.dead_after.map(|limit| self.heard + limit);
            let frame = tokio::select! {
                biased;
                frame = self.reader.next() => frame,
                _ = sleep_until(silent_until), if silent_until.is_some() => {
                    let limit = self.dead_after.unwrap_or_default();
                    return Err(LinkError::lost(format!(
                        "nothing was heard from the service for {} s, not even an answer to keepalive pings",
                        limit.as_secs()
                    )));
                }
            };
            let Some(frame) = frame else { return Ok(None) };
            self.heard = Instant::now();
            match frame.map_err(link_error)? {
                Message::Binary(bytes) => return Ok(Some(bytes.into())),
                Message::Text(text) => return Ok(Some(text.as_bytes().to_vec())),
                Message::Close(_) => return Ok(None),
                _ => continue,
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The session id is the last path segment of the stream URL.
pub fn session_id_of(stream_url: &str) -> &str {
    let path = stream_url.split('?').next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A WebSocket server on loopback that counts the pings it gets; after the first text
    /// frame (OpenDataChannel) it goes on reading (and so answering pings) only when
    /// `answers` is set.
    async fn ping_counting_server(answers: bool) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "ws://{}/v1/data-channel/s-1?role=publish_subscribe",
            listener.local_addr().unwrap()
        );
        let pings = Arc::new(AtomicUsize::new(0));
        let counted = pings.clone();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(message)) = socket.next().await {
                match message {
                    Message::Ping(_) => {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    Message::Text(_) if !answers => {
                        // Frozen: the socket stays open, nothing is read or answered.
                        std::future::pending::<()>().await;
                    }
                    _ => {}
                }
            }
        });
        (url, pings)
    }

    fn config(url: String, keepalive: Option<Duration>) -> ChannelConfig {
        ChannelConfig {
            stream_url: url,
            token_value: "token".into(),
            client_id: Uuid::new_v4(),
            client_version: "1.2.764.0".into(),
            signing: None,
            network: Default::default(),
            keepalive,
        }
    }

    #[tokio::test]
    async fn pings_first_then_on_the_keepalive_interval() {
        let (url, pings) = ping_counting_server(true).await;
        let mut connection = connect(&config(url, Some(Duration::from_millis(100))))
            .await
            .unwrap();
        let idle = tokio::time::timeout(Duration::from_millis(550), Link::recv(&mut connection));
        assert!(idle.await.is_err(), "a live peer is not given up");
        // One right after connecting, then one per 100 ms.
        let counted = pings.load(Ordering::SeqCst);
        assert!((4..=7).contains(&counted), "{counted} pings");
    }

    #[tokio::test]
    async fn a_peer_that_answers_nothing_is_given_up_with_a_clear_error() {
        let (url, _) = ping_counting_server(false).await;
        let mut connection = connect(&config(url, Some(Duration::from_millis(100))))
            .await
            .unwrap();
        let started = Instant::now();
        let error = tokio::time::timeout(Duration::from_secs(5), Link::recv(&mut connection))
            .await
            .expect("given up in bounded time")
            .unwrap_err();
        assert!(error.message.contains("keepalive"), "{error}");
        assert!(!error.peer_fault);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
    }

    #[tokio::test]
    async fn without_keepalive_only_the_first_ping_is_sent_and_silence_is_allowed() {
        let (url, pings) = ping_counting_server(false).await;
        let mut connection = connect(&config(url, None)).await.unwrap();
        let idle = tokio::time::timeout(Duration::from_millis(400), Link::recv(&mut connection));
        assert!(idle.await.is_err());
        assert_eq!(pings.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn presigned_urls_are_recognised() {
        assert!(is_presigned(
            "wss://h/v1/data-channel/s?role=publish_subscribe&X-Amz-Signature=abc"
        ));
        assert!(!is_presigned(
            "wss://h/v1/data-channel/s?role=publish_subscribe&cell-number=AAE%2B"
        ));
        assert!(!is_presigned("wss://h/v1/data-channel/s"));
    }

    #[test]
    fn the_upgrade_is_signed_for_ssmmessages() {
        let signing = Signing {
            credentials: Credentials::new("AKIDTEST", "secret", Some("token".into()), None, "test"),
            region: "eu-west-3".into(),
        };
        let headers = signed_headers(
            "wss://ssmmessages.eu-west-3.amazonaws.com/v1/data-channel/s?role=publish_subscribe",
            &signing,
            SystemTime::now(),
        )
        .unwrap();
        let authorization = &headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        assert!(
            authorization.contains("/eu-west-3/ssmmessages/aws4_request"),
            "{authorization}"
        );
        assert!(headers
            .iter()
            .any(|(n, v)| n == "x-amz-security-token" && v == "token"));
        assert!(headers.iter().any(|(n, _)| n == "x-amz-date"));
    }
}
