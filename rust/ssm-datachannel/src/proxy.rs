//! HTTPS proxies for the data channel's WebSocket: the `HTTPS_PROXY` / `HTTP_PROXY` /
//! `ALL_PROXY` / `NO_PROXY` rules curl applies (hyper-util's matcher), and an HTTP CONNECT
//! tunnel (hyper-util's connector) under the TLS and WebSocket handshakes.

use std::future::poll_fn;

use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::Uri;
use tower_service::Service;

/// The proxy variables, as the caller's environment has them (upper case wins).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    pub all: Option<String>,
    pub http: Option<String>,
    pub https: Option<String>,
    pub no: Option<String>,
}

impl ProxySettings {
    /// Reads the variables through `lookup` (a process environment or a snapshot).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| {
            lookup(name)
                .or_else(|| lookup(&name.to_ascii_lowercase()))
                .filter(|value| !value.trim().is_empty())
        };
        Self {
            all: read("ALL_PROXY"),
            http: read("HTTP_PROXY"),
            https: read("HTTPS_PROXY"),
            no: read("NO_PROXY"),
        }
    }

    fn matcher(&self) -> Matcher {
        let mut builder = Matcher::builder();
        if let Some(all) = &self.all {
            builder = builder.all(all.clone());
        }
        if let Some(http) = &self.http {
            builder = builder.http(http.clone());
        }
        if let Some(https) = &self.https {
            builder = builder.https(https.clone());
        }
        if let Some(no) = &self.no {
            builder = builder.no(no.clone());
        }
        builder.build()
    }
}

/// A TCP stream to the stream URL's host through the proxy that applies to it, or None when
/// no proxy applies (connect directly). `target` is the http(s) form of the stream URL.
pub async fn tunnel_for(
    settings: &ProxySettings,
    target: &Uri,
) -> Result<Option<TcpStream>, String> {
    let Some(intercept) = settings.matcher().intercept(target) else {
        return Ok(None);
    };
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    let mut tunnel = Tunnel::new(intercept.uri().clone(), connector);
    if let Some(auth) = intercept.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
    }
    let proxy = intercept
        .uri()
        .authority()
        .map(|a| a.host().to_owned())
        .unwrap_or_default();
    poll_fn(|cx| tunnel.poll_ready(cx))
        .await
        .map_err(|e| format!("the proxy {proxy} is not usable: {e}"))?;
    let io = tunnel
        .call(target.clone())
        .await
        .map_err(|e| format!("the proxy {proxy} did not open a tunnel: {e}"))?;
    Ok(Some(io.into_inner()))
}
