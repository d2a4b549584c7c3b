//! The WebSocket under the data channel: the upgrade request (SigV4-signed for
//! `ssmmessages` unless the URL is presigned), the OpenDataChannel text frame, then one
//! binary [`ClientMessage`] per frame.

use std::time::SystemTime;

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
use crate::payload::OpenDataChannel;
use crate::proxy::{tunnel_for, ProxySettings};

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
    /// HTTPS_PROXY and friends; the default connects directly.
    pub proxy: ProxySettings,
}

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
    #[error("the connection closed: {0}")]
    Closed(String),
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
}

fn to_message(item: Outgoing) -> Message {
    match item {
        Outgoing::Frame(frame) => Message::binary(frame),
        Outgoing::Close { code, reason } => Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        })),
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
    let tunnel = tunnel_for(&config.proxy, &https)
        .await
        .map_err(TransportError::Proxy)?;
    tracing::info!(
        host = https.host().unwrap_or_default(),
        signed = config.signing.is_some() && !is_presigned(&config.stream_url),
        proxied = tunnel.is_some(),
        "opening the data channel"
    );
    let (mut socket, _) = match tunnel {
        Some(tunnel) => {
            let _ = tunnel.set_nodelay(true);
            tokio_tungstenite::client_async_tls_with_config(
                request,
                tunnel,
                Some(websocket_config()),
                None,
            )
            .await?
        }
        // No Nagle: messages and acknowledgements are small and latency-bound.
        None => {
            tokio_tungstenite::connect_async_with_config(request, Some(websocket_config()), true)
                .await?
        }
    };
    let open = OpenDataChannel::new(
        config.token_value.clone(),
        config.client_id,
        config.client_version.clone(),
    );
    socket.send(Message::text(open.to_json())).await?;
    let (sink, reader) = socket.split();
    Ok(Connection {
        writer: LinkWriter::spawn(sink, to_message),
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
        // `next` is cancel-safe, and nothing is held between frames.
        while let Some(frame) = self.reader.next().await {
            match frame.map_err(link_error)? {
                Message::Binary(bytes) => return Ok(Some(bytes.into())),
                Message::Text(text) => return Ok(Some(text.as_bytes().to_vec())),
                Message::Close(_) => return Ok(None),
                _ => continue,
            }
        }
        Ok(None)
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
