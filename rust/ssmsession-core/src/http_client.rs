//! The SDK's own HTTP client (aws-smithy-http-client: hyper, rustls with aws-lc), set up
//! from a client's [`NetworkConfig`]: one connector per route (direct, or through each
//! configured proxy) with the same trusted roots, and a router that sends each request by
//! the proxy plan. Connection failures that are certificate or proxy problems come back
//! as a [`NetworkFailure`] the caller can show as it is.

use std::sync::Arc;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use ssmsession_datachannel::network::{NetworkConfig, NetworkFailure, ProxyEndpoint};

use crate::error::CoreError;

/// An HTTP client that routes every request as `network` says.
pub(crate) fn http_client_for(network: &Arc<NetworkConfig>) -> Result<SharedHttpClient, CoreError> {
    let mut trust = TrustStore::default();
    for pem in network.trust.extra_pem() {
        trust = trust.with_pem_certificate(pem);
    }
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| CoreError::Internal {
            message: format!("The TLS settings could not be applied: {e}"),
        })?;
    let direct = smithy_client(tls.clone(), None);
    let mut proxied: Vec<(ProxyEndpoint, SharedHttpClient)> = Vec::new();
    for scheme in ["https", "http"] {
        if let Some(proxy) = network.proxies.first_proxy(scheme) {
            if !proxied.iter().any(|(known, _)| known == proxy) {
                let config = proxy_config(proxy)?;
                proxied.push((proxy.clone(), smithy_client(tls.clone(), Some(config))));
            }
        }
    }
    let network = Arc::clone(network);
    Ok(http_client_fn(move |settings, components| {
        SharedHttpConnector::new(RoutedConnector {
            network: Arc::clone(&network),
            direct: direct.http_connector(settings, components),
            proxied: proxied
                .iter()
                .map(|(proxy, client)| (proxy.clone(), client.http_connector(settings, components)))
                .collect(),
        })
    }))
}

fn proxy_config(proxy: &ProxyEndpoint) -> Result<ProxyConfig, CoreError> {
    let config = ProxyConfig::all(proxy.uri().to_string()).map_err(|e| CoreError::Internal {
        message: format!("The proxy {} could not be set up: {e}", proxy.address()),
    })?;
    // The SDK's client pastes user and password into a proxy URL unescaped and parses that
    // again (decoding percent escapes): a password with '@' or ':' would make the URL
    // unparsable and the proxy silently unused. Escaped here, they arrive intact.
    let escape = |text: &str| utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
    Ok(match proxy.credentials() {
        Some((user, password)) => config.with_basic_auth(escape(user), escape(password)),
        None => config,
    })
}

/// One hyper client: TLS with the client's roots, through `proxy` when given.
fn smithy_client(tls: TlsContext, proxy: Option<ProxyConfig>) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut builder = Connector::builder();
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        let mut builder = builder
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(tls.clone());
        if let Some(proxy) = &proxy {
            builder = builder.proxy_config(proxy.clone());
        }
        builder.build()
    })
}

#[derive(Debug)]
struct RoutedConnector {
    network: Arc<NetworkConfig>,
    direct: SharedHttpConnector,
    proxied: Vec<(ProxyEndpoint, SharedHttpConnector)>,
}

impl HttpConnector for RoutedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Ok(url) = url::Url::parse(request.uri()) else {
            return self.direct.call(request);
        };
        let scheme = url.scheme().to_owned();
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let connector = match self.network.proxies.proxy_for(&scheme, &host, port) {
            None => &self.direct,
            Some(proxy) => match self.proxied.iter().find(|(known, _)| known == proxy) {
                Some((_, connector)) => connector,
                // Never direct when a proxy applies: that would bypass a proxy the user named.
                None => {
                    let message =
                        format!("no connection was set up for the proxy {}", proxy.address());
                    return HttpConnectorFuture::ready(Err(ConnectorError::other(
                        message.into(),
                        None,
                    )));
                }
            },
        };
        tracing::debug!(route = %self.network.describe_route(request.uri()), "API request");
        let pending = connector.call(request);
        let network = Arc::clone(&self.network);
        HttpConnectorFuture::new(async move {
            pending.await.map_err(|error| {
                match network.diagnose(&error, &scheme, &host, port) {
                    // An unreachable proxy may be a blip: the SDK's retries apply.
                    Some(failure) if failure.code == "ProxyUnreachable" => {
                        ConnectorError::io(Box::new(failure))
                    }
                    // Certificates and proxy refusals do not change on retry.
                    Some(failure) => ConnectorError::other(Box::new(failure), None),
                    None => error,
                }
            })
        })
    }
}

/// The network failure somewhere in `error`'s sources, if any.
pub(crate) fn network_failure(error: &(dyn std::error::Error + 'static)) -> Option<NetworkFailure> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(failure) = e.downcast_ref::<NetworkFailure>() {
            return Some(failure.clone());
        }
        depth += 1;
        if depth > 32 {
            return None;
        }
        current = e.source();
    }
    None
}
