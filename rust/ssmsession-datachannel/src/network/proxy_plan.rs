//! Which proxy, if any, each connection goes through: the `ClientConfig` proxy (host,
//! port, credentials, bypass list) when the caller gave one, else the proxy variables of
//! the caller's environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper
//! case first). Loopback and the link-local credential and metadata endpoints are always
//! reached directly.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use base64::Engine;
use percent_encoding::percent_decode_str;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};

use super::bypass_list::BypassList;
use super::no_proxy::NoProxy;

/// An HTTP proxy: where it is, how to log in, and which setting named it. Its password is
/// never displayed, logged or put in an error.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyEndpoint {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    source: String,
}

impl fmt::Debug for ProxyEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyEndpoint")
            .field("address", &self.address())
            .field("user", &self.user)
            .field(
                "password",
                &self.password.as_ref().map(|_| "** redacted **"),
            )
            .field("source", &self.source)
            .finish()
    }
}

impl ProxyEndpoint {
    /// Parses a proxy URL as the variables carry it: `http://[user[:password]@]host[:port]`
    /// (no scheme means http; the port defaults to 80, as in .NET, Go and Python — curl
    /// assumes 1080); user and password are percent-decoded.
    pub fn from_url(source: &str, value: &str) -> Result<Self, String> {
        let trimmed = value.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("http://{trimmed}")
        };
        let shown = redact_url(&with_scheme);
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| format!("{source} is not a proxy URL ('{shown}'): {e}"))?;
        match url.scheme() {
            "http" => {}
            "https" => {
                return Err(format!(
                    "{source} names an https:// proxy ('{shown}'): TLS to the proxy itself is not supported; corporate proxies take plain http:// connections and tunnel TLS with CONNECT."
                ))
            }
            other => {
                return Err(format!(
                    "{source} names a {other}:// proxy ('{shown}'); only http:// proxies (HTTP CONNECT) are supported."
                ))
            }
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(address)) => address.to_string(),
            Some(url::Host::Ipv6(address)) => address.to_string(),
            None => return Err(format!("{source} has no proxy host ('{shown}').")),
        };
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let user = Some(decode(url.username())).filter(|u| !u.is_empty());
        let password = url.password().map(decode);
        Ok(Self {
            host,
            port: url.port().unwrap_or(80),
            user,
            password,
            source: source.to_owned(),
        })
    }

    /// A proxy given by host and port, as `ClientConfig.ProxyHost`/`ProxyPort` do.
    pub fn from_parts(
        host: &str,
        port: u16,
        user: Option<String>,
        password: Option<String>,
    ) -> Result<Self, String> {
        let host = host.trim();
        if host.is_empty() || host.contains("://") || host.contains('/') || host.contains('@') {
            return Err(format!(
                "ClientConfig.ProxyHost '{host}' is not a host name or IP address; give the host alone (e.g. proxy.example.com) and the port in ProxyPort, as the AWS .NET SDK expects."
            ));
        }
        if port == 0 {
            return Err("ClientConfig.ProxyPort must be a port number from 1 to 65535.".to_owned());
        }
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            user: user.filter(|u| !u.is_empty()),
            password,
            source: "ClientConfig.ProxyHost".to_owned(),
        })
    }

    /// `host:port`, for messages and the debug stream.
    pub fn address(&self) -> String {
        match self.host.parse::<Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        }
    }

    /// The setting that named this proxy (`HTTPS_PROXY`, `ClientConfig.ProxyHost`, …).
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn has_credentials(&self) -> bool {
        self.user.is_some()
    }

    /// `http://host:port/`, credentials left out.
    pub fn uri(&self) -> Uri {
        format!("http://{}/", self.address())
            .parse()
            .unwrap_or_else(|_| Uri::from_static("http://invalid.invalid/"))
    }

    /// The `Proxy-Authorization` value for basic authentication, marked sensitive.
    pub fn basic_auth(&self) -> Option<HeaderValue> {
        let user = self.user.as_deref()?;
        let pair = format!("{user}:{}", self.password.as_deref().unwrap_or_default());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// User and password, for clients that take them apart.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.user
            .as_deref()
            .map(|user| (user, self.password.as_deref().unwrap_or_default()))
    }
}

/// A URL with its password replaced, for error messages.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[derive(Clone, Debug)]
enum Bypass {
    /// The environment's `NO_PROXY`.
    NoProxy(NoProxy),
    /// ClientConfig's bypass list and "on local".
    List(BypassList),
}

/// The proxy decision for every connection of one client.
#[derive(Clone, Debug)]
pub struct ProxyPlan {
    /// For https:// and wss:// destinations.
    secure: Option<ProxyEndpoint>,
    /// For http:// and ws:// destinations.
    plain: Option<ProxyEndpoint>,
    bypass: Bypass,
}

impl Default for ProxyPlan {
    fn default() -> Self {
        Self::direct()
    }
}

/// The ClientConfig proxy settings.
#[derive(Clone, Debug, Default)]
pub struct ExplicitProxy {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub bypass_list: Vec<String>,
    pub bypass_on_local: bool,
}

impl ProxyPlan {
    /// Every connection direct.
    pub fn direct() -> Self {
        Self {
            secure: None,
            plain: None,
            bypass: Bypass::NoProxy(NoProxy::default()),
        }
    }

    /// From the proxy variables `lookup` finds (a snapshot or the process environment).
    pub fn from_environment(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let read = |name: &str| {
            lookup(name)
                .map(|value| (name.to_owned(), value))
                .or_else(|| {
                    let lower = name.to_ascii_lowercase();
                    lookup(&lower).map(|value| (lower, value))
                })
                .filter(|(_, value)| !value.trim().is_empty())
        };
        let endpoint = |found: Option<(String, String)>| {
            found
                .map(|(name, value)| ProxyEndpoint::from_url(&name, &value))
                .transpose()
        };
        let all = endpoint(read("ALL_PROXY"))?;
        let secure = endpoint(read("HTTPS_PROXY"))?.or_else(|| all.clone());
        let plain = endpoint(read("HTTP_PROXY"))?.or(all);
        let no_proxy = read("NO_PROXY")
            .map(|(_, value)| NoProxy::parse(&value))
            .unwrap_or_default();
        Ok(Self {
            secure,
            plain,
            bypass: Bypass::NoProxy(no_proxy),
        })
    }

    /// From ClientConfig: one proxy for every scheme, with .NET's bypass rules; the
    /// environment's proxy variables do not apply.
    pub fn explicit(settings: &ExplicitProxy) -> Result<Self, String> {
        let endpoint = ProxyEndpoint::from_parts(
            &settings.host,
            settings.port,
            settings.user.clone(),
            settings.password.clone(),
        )?;
        Ok(Self {
            secure: Some(endpoint.clone()),
            plain: Some(endpoint),
            bypass: Bypass::List(BypassList::new(
                &settings.bypass_list,
                settings.bypass_on_local,
            )?),
        })
    }

    /// The proxy a connection to `scheme://host:port` goes through, or None to connect
    /// directly. `scheme` is http, https, ws or wss.
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Option<&ProxyEndpoint> {
        let proxy = match scheme {
            "https" | "wss" => self.secure.as_ref(),
            _ => self.plain.as_ref(),
        }?;
        if always_direct(host) {
            return None;
        }
        let bypassed = match &self.bypass {
            Bypass::NoProxy(rules) => rules.bypasses(host),
            Bypass::List(list) => list.bypasses(scheme, host, port),
        };
        (!bypassed).then_some(proxy)
    }

    /// The proxy for a URL (`proxy_for` with its parts); None for a URL without a host.
    pub fn proxy_for_url(&self, url: &str) -> Option<&ProxyEndpoint> {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?;
        let port = uri.port_u16().unwrap_or(match scheme {
            "https" | "wss" => 443,
            _ => 80,
        });
        self.proxy_for(scheme, uri.host()?, port)
    }

    /// The proxy for `scheme` destinations that are not bypassed, if one is configured.
    pub fn first_proxy(&self, scheme: &str) -> Option<&ProxyEndpoint> {
        match scheme {
            "https" | "wss" => self.secure.as_ref(),
            _ => self.plain.as_ref(),
        }
    }

    /// Whether any proxy is configured at all.
    pub fn is_direct(&self) -> bool {
        self.secure.is_none() && self.plain.is_none()
    }

    /// What the plan is, for the debug stream: proxies as host:port with their source,
    /// never credentials.
    pub fn describe(&self) -> String {
        let show = |endpoint: &ProxyEndpoint| {
            let login = if endpoint.has_credentials() {
                ", with basic authentication"
            } else {
                ""
            };
            format!("{} (from {}{login})", endpoint.address(), endpoint.source())
        };
        let mut parts = Vec::new();
        match (&self.secure, &self.plain) {
            (None, None) => return "no proxy".to_owned(),
            (Some(a), Some(b)) if a == b => parts.push(format!("proxy {}", show(a))),
            (secure, plain) => {
                if let Some(secure) = secure {
                    parts.push(format!("https proxy {}", show(secure)));
                }
                if let Some(plain) = plain {
                    parts.push(format!("http proxy {}", show(plain)));
                }
            }
        }
        if let Bypass::NoProxy(rules) = &self.bypass {
            for entry in rules.entries_with_ports() {
                parts.push(format!(
                    "NO_PROXY entry '{entry}' has a port and never matches (curl compares host names only)"
                ));
            }
        }
        parts.join("; ")
    }
}

/// Loopback, `localhost`, and the link-local endpoints of instance metadata (IPv4 and
/// IPv6), ECS and EKS credentials: never through a proxy.
fn always_direct(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(address)) => address.is_loopback() || address.is_link_local(),
        Ok(IpAddr::V6(address)) => {
            address.is_loopback()
                || (address.segments()[0] & 0xffc0) == 0xfe80
                || address.segments()[..2] == [0xfd00, 0x0ec2]
        }
        Err(_) => {
            let name = bare.strip_suffix('.').unwrap_or(bare).to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn plan(vars: &[(&str, &str)]) -> Result<ProxyPlan, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyPlan::from_environment(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_scheme_picks_the_variable_and_all_proxy_fills_in() {
        let both = plan(&[
            ("HTTPS_PROXY", "http://secure.corp:3128"),
            ("http_proxy", "plain.corp:8080"),
        ])
        .unwrap();
        assert_eq!(
            both.proxy_for("wss", "ssmmessages.eu-west-3.amazonaws.com", 443)
                .unwrap()
                .address(),
            "secure.corp:3128"
        );
        let plain = both.proxy_for("http", "example.com", 80).unwrap();
        assert_eq!(
            (plain.address().as_str(), plain.source()),
            ("plain.corp:8080", "http_proxy")
        );

        let all = plan(&[("ALL_PROXY", "http://all.corp")]).unwrap();
        assert_eq!(
            all.proxy_for("https", "a.example", 443).unwrap().address(),
            "all.corp:80"
        );
        assert!(plan(&[]).unwrap().is_direct());
    }

    #[test]
    fn credentials_are_percent_decoded_and_never_shown() {
        let plan = plan(&[("HTTPS_PROXY", "http://us%40er:p%3Ass%20w@proxy.corp:3128")]).unwrap();
        let proxy = plan.proxy_for("https", "ssm.example", 443).unwrap();
        assert_eq!(proxy.credentials(), Some(("us@er", "p:ss w")));
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss w");
        assert_eq!(
            proxy.basic_auth().unwrap().to_str().unwrap(),
            format!("Basic {expected}")
        );
        for shown in [format!("{proxy:?}"), plan.describe(), proxy.address()] {
            assert!(
                !shown.contains("p%3Ass") && !shown.contains("p:ss"),
                "{shown}"
            );
        }
        assert!(plan
            .describe()
            .contains("proxy.corp:3128 (from HTTPS_PROXY, with basic authentication)"));
    }

    #[test]
    fn unusable_proxy_urls_are_named_without_their_password() {
        for (value, expected) in [
            ("https://u:secret@proxy.corp", "https:// proxy"),
            ("socks5://u:secret@proxy.corp:1080", "socks5:// proxy"),
            ("http://u:secret@", "HTTPS_PROXY"),
        ] {
            let error = plan(&[("HTTPS_PROXY", value)]).unwrap_err();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn no_proxy_and_the_always_direct_hosts() {
        let plan = plan(&[
            ("HTTPS_PROXY", "http://proxy.corp:3128"),
            ("NO_PROXY", ".emulator.test,10.0.0.0/8"),
        ])
        .unwrap();
        for host in [
            "ssm.emulator.test",
            "10.1.1.1",
            "127.0.0.1",
            "[::1]",
            "localhost",
            "169.254.169.254",
            "169.254.170.2",
            "[fd00:ec2::254]",
        ] {
            assert!(plan.proxy_for("https", host, 443).is_none(), "{host}");
        }
        assert!(plan
            .proxy_for("https", "ssm.eu-west-3.amazonaws.com", 443)
            .is_some());
        assert!(plan
            .proxy_for_url("https://kms.eu-west-3.amazonaws.com/")
            .is_some());
        assert!(plan
            .proxy_for_url("http://169.254.170.2/v2/credentials")
            .is_none());
    }

    #[test]
    fn explicit_settings_replace_the_environment() {
        let explicit = ProxyPlan::explicit(&ExplicitProxy {
            host: "cc.corp".into(),
            port: 8080,
            user: Some("u".into()),
            password: Some("p".into()),
            bypass_list: vec![r"\.internal$".into()],
            bypass_on_local: true,
        })
        .unwrap();
        let proxy = explicit.proxy_for("https", "ssm.example", 443).unwrap();
        assert_eq!(
            (proxy.address().as_str(), proxy.source()),
            ("cc.corp:8080", "ClientConfig.ProxyHost")
        );
        assert!(explicit.proxy_for("https", "a.internal", 443).is_none());
        assert!(explicit.proxy_for("https", "intranet", 443).is_none());
        assert!(explicit.proxy_for("http", "ssm.example", 80).is_some());

        for (host, port) in [("http://cc.corp", 8080), ("", 8080), ("cc.corp", 0)] {
            let error = ProxyPlan::explicit(&ExplicitProxy {
                host: host.into(),
                port,
                ..Default::default()
            })
            .unwrap_err();
            assert!(error.starts_with("ClientConfig.Proxy"), "{error}");
        }
    }
}
