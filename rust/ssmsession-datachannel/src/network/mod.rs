//! One network configuration for every outbound connection of a client: the SDK's API
//! calls (SSM, KMS, STS, SSO, container credentials) and the data channel's WebSocket.
//! It says which proxy each destination goes through ([`ProxyPlan`]) and which
//! certificate authorities TLS trusts ([`TrustRoots`]), and turns certificate and proxy
//! failures into messages a user can act on ([`failure`]).

pub mod bypass_list;
pub mod failure;
pub mod no_proxy;
pub mod proxy_plan;
pub mod trust;
pub mod tunnel;

use std::sync::Arc;
use std::time::Duration;

pub use failure::{diagnose, Attempt, NetworkFailure};
pub use proxy_plan::{ExplicitProxy, ProxyEndpoint, ProxyPlan};
pub use trust::{TrustRoots, TrustSources};

/// Connecting to a proxy gives up after this long (the SDK's connect timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Proxies and trusted roots, shared by a client's connections.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    pub proxies: ProxyPlan,
    pub trust: Arc<TrustRoots>,
}

impl Default for NetworkConfig {
    /// Direct connections trusting the system store.
    fn default() -> Self {
        Self {
            proxies: ProxyPlan::direct(),
            trust: Arc::new(TrustRoots::system()),
        }
    }
}

impl NetworkConfig {
    /// For the debug stream: which proxy a connection to `url` uses and which roots TLS
    /// trusts ("wss://host:443 through proxy.corp:3128 (from HTTPS_PROXY); trusting …").
    pub fn describe_route(&self, url: &str) -> String {
        let host = url
            .parse::<tokio_tungstenite::tungstenite::http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_owned))
            .unwrap_or_else(|| url.to_owned());
        let route = match self.proxies.proxy_for_url(url) {
            Some(proxy) => format!(
                "{host} through the proxy {} (from {})",
                proxy.address(),
                proxy.source()
            ),
            None => format!("{host} directly"),
        };
        if url.starts_with("https://") || url.starts_with("wss://") {
            format!("{route}, trusting {}", self.trust.describe())
        } else {
            route
        }
    }

    /// The plain-language failure for an error of a connection to `host`, if it is a
    /// certificate or proxy failure.
    pub fn diagnose(
        &self,
        error: &(dyn std::error::Error + 'static),
        scheme: &str,
        host: &str,
        port: u16,
    ) -> Option<NetworkFailure> {
        let trust = self.trust.describe();
        diagnose(
            error,
            &Attempt {
                host,
                proxy: self.proxies.proxy_for(scheme, host, port),
                trust: &trust,
            },
        )
    }
}
