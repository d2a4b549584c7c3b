//! An HTTP CONNECT tunnel (hyper-util's) to a destination through a proxy, under the data
//! channel's TLS and WebSocket handshakes.

use std::future::poll_fn;

use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::Uri;
use tower_service::Service;

use super::proxy_plan::ProxyEndpoint;

/// A TCP stream to `target` (an http(s) URI naming host and port) through `proxy`; the
/// error keeps hyper-util's source chain for [`super::failure::diagnose`].
pub async fn open(
    proxy: &ProxyEndpoint,
    target: &Uri,
) -> Result<TcpStream, Box<dyn std::error::Error + Send + Sync>> {
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(super::CONNECT_TIMEOUT));
    let mut tunnel = Tunnel::new(proxy.uri(), connector);
    if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth);
    }
    poll_fn(|cx| tunnel.poll_ready(cx)).await?;
    let io = tunnel.call(target.clone()).await?;
    Ok(io.into_inner())
}
