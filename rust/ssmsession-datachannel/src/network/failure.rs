//! Network failures said plainly: a certificate that did not verify (host and reason), a
//! proxy that wants credentials, cannot be reached, or refused the tunnel (proxy as
//! host:port and the setting that named it, never its password). Used for the SDK's API
//! calls and for the data channel alike.

use std::error::Error as StdError;

use rustls::CertificateError;

use super::proxy_plan::ProxyEndpoint;

/// A failure the user can act on, with a stable code (`CertificateNotTrusted`,
/// `CertificateExpired`, `CertificateNameMismatch`, `CertificateRejected`,
/// `TlsHandshakeFailed`, `ProxyAuthenticationRequired`, `ProxyUnreachable`,
/// `ProxyRefusedTunnel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkFailure {
    pub code: &'static str,
    pub message: String,
}

impl std::error::Error for NetworkFailure {}

impl std::fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a connection to `host` went through, for the diagnosis.
pub struct Attempt<'a> {
    /// The destination host (the name certificates are checked against).
    pub host: &'a str,
    /// The proxy the connection went through, if any.
    pub proxy: Option<&'a ProxyEndpoint>,
    /// The trusted roots, described ("the system store and AWS_CA_BUNDLE '…'").
    pub trust: &'a str,
}

/// The failure `error` (or one of its sources) stands for, if it is a certificate, TLS or
/// proxy failure; None for anything else (DNS, refused connections to the endpoint, …).
pub fn diagnose(error: &(dyn StdError + 'static), attempt: &Attempt<'_>) -> Option<NetworkFailure> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(failure) = diagnose_one(e, attempt) {
            return Some(failure);
        }
        // io::Error hides the error it wraps from `source()`: look inside.
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(failure) = diagnose(inner, attempt) {
                    return Some(failure);
                }
            }
        }
        depth += 1;
        if depth > 32 {
            break;
        }
        current = e.source();
    }
    None
}

fn diagnose_one(error: &(dyn StdError + 'static), attempt: &Attempt<'_>) -> Option<NetworkFailure> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls_failure(tls, attempt));
    }
    let proxy = attempt.proxy?;
    // hyper-util's CONNECT tunnel (used by the SDK's client and by the data channel) keeps
    // its error type private; its messages are stable and tested below.
    let text = error.to_string();
    let named = format!("The proxy {} (from {})", proxy.address(), proxy.source());
    if text.contains("proxy authorization required") {
        let message = if proxy.has_credentials() {
            format!("{named} refused the credentials given for it (407 Proxy Authentication Required) when connecting to {}. Check the user name and password in the proxy URL or ClientConfig.ProxyCredentials.", attempt.host)
        } else {
            format!("{named} requires authentication (407 Proxy Authentication Required) to reach {}. Give credentials as http://user:password@host:port (percent-encode special characters) or with ClientConfig.ProxyCredentials.", attempt.host)
        };
        return Some(NetworkFailure {
            code: "ProxyAuthenticationRequired",
            message,
        });
    }
    if text.contains("tunnel error: unsuccessful")
        || text.contains("tunnel error: unexpected end of file")
    {
        return Some(NetworkFailure {
            code: "ProxyRefusedTunnel",
            message: format!("{named} refused to open a tunnel to {} (its answer to CONNECT was not 200). The proxy may block this host; ask for it to be allowed, or bypass the proxy for it with NO_PROXY.", attempt.host),
        });
    }
    if text.contains("tunnel error: failed to create underlying connection") {
        let cause = error
            .source()
            .map(plain_cause)
            .unwrap_or_else(|| "no reason given".to_owned());
        return Some(NetworkFailure {
            code: "ProxyUnreachable",
            message: format!("{named} could not be reached: {cause}."),
        });
    }
    None
}

fn tls_failure(error: &rustls::Error, attempt: &Attempt<'_>) -> NetworkFailure {
    let host = attempt.host;
    let hint = "If a proxy or firewall inspects TLS, add its root certificate with AWS_CA_BUNDLE, ca_bundle in the profile, or SSL_CERT_FILE.";
    let (code, reason) = match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => (
                "CertificateNotTrusted",
                format!("it was issued by a certificate authority that is not trusted (trusted: {}). {hint}", attempt.trust),
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                "CertificateExpired",
                "it has expired (or this computer's clock is wrong).".to_owned(),
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                "CertificateExpired",
                "it is not valid yet (or this computer's clock is wrong).".to_owned(),
            ),
            CertificateError::NotValidForName => (
                "CertificateNameMismatch",
                format!("it is not valid for the name {host}."),
            ),
            CertificateError::NotValidForNameContext { presented, .. } => (
                "CertificateNameMismatch",
                format!(
                    "it is not valid for the name {host} (it names {}).",
                    if presented.is_empty() { "no host".to_owned() } else { presented.join(", ") }
                ),
            ),
            CertificateError::Revoked => ("CertificateRejected", "it has been revoked.".to_owned()),
            CertificateError::BadEncoding => ("CertificateRejected", "it is not a valid certificate.".to_owned()),
            CertificateError::BadSignature => ("CertificateRejected", "its signature is not valid.".to_owned()),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => (
                "CertificateRejected",
                "it is not meant for TLS servers.".to_owned(),
            ),
            other => ("CertificateRejected", format!("it was rejected ({other:?}).")),
        },
        rustls::Error::AlertReceived(alert) => {
            return NetworkFailure {
                code: "TlsHandshakeFailed",
                message: format!("The TLS handshake with {host} failed: the server answered with the alert '{alert:?}'."),
            }
        }
        other => {
            return NetworkFailure {
                code: "TlsHandshakeFailed",
                message: format!("The TLS handshake with {host} failed: {other}."),
            }
        }
    };
    let via = attempt
        .proxy
        .map(|p| format!(" (reached through the proxy {})", p.address()))
        .unwrap_or_default();
    NetworkFailure {
        code,
        message: format!("The TLS certificate of {host}{via} could not be verified: {reason}"),
    }
}

/// The innermost message of a cause, without "(os error N)".
fn plain_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::proxy_plan::ProxyPlan;
    use std::collections::HashMap;

    fn proxy(url: &str) -> ProxyEndpoint {
        let vars: HashMap<&str, String> = [("HTTPS_PROXY", url.to_owned())].into_iter().collect();
        ProxyPlan::from_environment(|n| vars.get(n).cloned())
            .unwrap()
            .proxy_for("https", "ssm.example.test", 443)
            .unwrap()
            .clone()
    }

    /// Runs hyper-util's tunnel against a one-shot fake proxy that answers `answer`.
    async fn tunnel_error(
        answer: Option<&'static [u8]>,
        endpoint: &ProxyEndpoint,
    ) -> Box<dyn StdError + Send + Sync> {
        use hyper_util::client::legacy::connect::proxy::Tunnel;
        use hyper_util::client::legacy::connect::HttpConnector;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tower_service::Service;
        let uri = match answer {
            Some(answer) => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let address = listener.local_addr().unwrap();
                tokio::spawn(async move {
                    let (mut socket, _) = listener.accept().await.unwrap();
                    let mut buffer = [0u8; 1024];
                    let _ = socket.read(&mut buffer).await;
                    let _ = socket.write_all(answer).await;
                });
                format!("http://{address}/")
            }
            // A port nothing listens on: bind one and drop it.
            None => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let address = listener.local_addr().unwrap();
                drop(listener);
                format!("http://{address}/")
            }
        };
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        let mut tunnel = Tunnel::new(uri.parse().unwrap(), connector);
        if let Some(auth) = endpoint.basic_auth() {
            tunnel = tunnel.with_auth(auth);
        }
        std::future::poll_fn(|cx| tunnel.poll_ready(cx))
            .await
            .unwrap();
        match tunnel
            .call("https://ssm.example.test:443".parse().unwrap())
            .await
        {
            Ok(_) => panic!("the tunnel opened"),
            Err(e) => Box::new(e),
        }
    }

    #[tokio::test]
    async fn proxy_failures_name_the_proxy_but_never_its_password() {
        let with_login = proxy("http://alice:s3cret@proxy.corp:3128");
        let attempt = Attempt {
            host: "ssm.example.test",
            proxy: Some(&with_login),
            trust: "the system store",
        };
        let error = tunnel_error(
            Some(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
            &with_login,
        )
        .await;
        let failure = diagnose(&*error, &attempt).unwrap();
        assert_eq!(failure.code, "ProxyAuthenticationRequired");
        assert!(
            failure.message.starts_with(
                "The proxy proxy.corp:3128 (from HTTPS_PROXY) refused the credentials"
            ),
            "{failure}"
        );
        assert!(!failure.message.contains("s3cret"), "{failure}");

        let error = tunnel_error(Some(b"HTTP/1.1 403 Forbidden\r\n\r\n"), &with_login).await;
        assert_eq!(
            diagnose(&*error, &attempt).unwrap().code,
            "ProxyRefusedTunnel"
        );

        let error = tunnel_error(None, &with_login).await;
        let failure = diagnose(&*error, &attempt).unwrap();
        assert_eq!(failure.code, "ProxyUnreachable");
        assert!(
            failure
                .message
                .ends_with("could not be reached: Connection refused."),
            "{failure}"
        );

        let anonymous = proxy("http://proxy.corp:3128");
        let attempt = Attempt {
            proxy: Some(&anonymous),
            ..attempt
        };
        let error = tunnel_error(
            Some(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
            &anonymous,
        )
        .await;
        let failure = diagnose(&*error, &attempt).unwrap();
        assert!(
            failure.message.contains("requires authentication"),
            "{failure}"
        );
    }

    #[test]
    fn certificate_failures_say_host_and_reason_inside_io_errors() {
        let attempt = Attempt {
            host: "ssm.emulator.test",
            proxy: None,
            trust: "the system store",
        };
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let failure = diagnose(&wrapped, &attempt).unwrap();
        assert_eq!(failure.code, "CertificateNotTrusted");
        assert!(failure.message.starts_with("The TLS certificate of ssm.emulator.test could not be verified: it was issued by a certificate authority that is not trusted (trusted: the system store)."), "{failure}");
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(
            diagnose(&expired, &attempt).unwrap().code,
            "CertificateExpired"
        );
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(diagnose(&name, &attempt)
            .unwrap()
            .message
            .contains("not valid for the name ssm.emulator.test"));
        assert!(diagnose(&std::io::Error::other("plain"), &attempt).is_none());
    }
}
