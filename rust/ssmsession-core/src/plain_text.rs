//! Unencrypted endpoints: `http://` for the API and `ws://` for the data channel carry
//! signed requests, session tokens and the session's bytes in the clear. They are allowed
//! for loopback hosts (the local emulator, a local proxy) and otherwise only when the user
//! opts in with `SSMSESSION_ALLOW_HTTP=1`, and then with a warning. TLS certificates are
//! always verified: no code path turns verification off.

use crate::error::CoreError;

/// The environment variable that allows plain-text endpoints on other hosts.
pub const ALLOW_VARIABLE: &str = "SSMSESSION_ALLOW_HTTP";

/// Whether the variable's value opts in (`1` or `true`, any case).
pub fn allowed_by(value: Option<&str>) -> bool {
    value.is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        // ::ffff:127.0.0.1 is the IPv4 loopback too.
        url::Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// The host of a URL, for messages (never the path or query, which may carry secrets).
pub fn shown_host(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "unparsable URL".to_owned())
}

/// Whether `endpoint` is a URL whose host is a loopback address or `localhost`.
pub fn is_loopback_url(endpoint: &str) -> bool {
    url::Url::parse(endpoint)
        .ok()
        .is_some_and(|url| url.host().is_some_and(|host| is_loopback_host(&host)))
}

/// Checks `endpoint` (an API or data-channel URL). Ok(None) when it is encrypted or on
/// loopback; Ok(Some(warning)) when it is plain text elsewhere and `allowed`; otherwise an
/// `InsecureEndpoint` error saying how to opt in.
pub fn check(endpoint: &str, allowed: bool) -> Result<Option<String>, CoreError> {
    let Ok(url) = url::Url::parse(endpoint) else {
        // Malformed URLs are reported by the callers' own validation.
        return Ok(None);
    };
    if !matches!(url.scheme(), "http" | "ws") {
        return Ok(None);
    }
    let shown = url.host_str().unwrap_or_default();
    if url.host().is_some_and(|host| is_loopback_host(&host)) {
        return Ok(None);
    }
    let scheme = url.scheme();
    if allowed {
        return Ok(Some(format!(
            "The endpoint '{shown}' is reached over unencrypted {scheme}:// ({ALLOW_VARIABLE} is set): \
             signatures, session tokens and session data cross the network in the clear."
        )));
    }
    Err(CoreError::invalid_request(
        "InsecureEndpoint",
        format!(
            "Refusing unencrypted {scheme}:// to '{shown}': plain text is allowed only for loopback \
             endpoints. Use https://, or set {ALLOW_VARIABLE}=1 to allow it anyway."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_and_loopback_endpoints_pass() {
        for url in [
            "https://ssm.eu-west-3.amazonaws.com",
            "wss://ssmmessages.eu-west-3.amazonaws.com/v1/data-channel/s",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/",
            "ws://[::ffff:127.0.0.1]:9000/v1/data-channel/x",
            "ws://localhost:1234/v1/data-channel/x",
            "http://emulator.localhost",
        ] {
            assert_eq!(check(url, false).unwrap(), None, "{url}");
        }
    }

    #[test]
    fn plain_text_elsewhere_is_refused_unless_allowed_then_warned() {
        for url in [
            "http://10.0.0.5:8080",
            "ws://ssmmessages.example.com/x",
            "http://[fe80::1]/",
        ] {
            let error = check(url, false).unwrap_err();
            assert_eq!(error.code(), "InsecureEndpoint");
            assert!(error.to_string().contains(ALLOW_VARIABLE), "{error}");
            let warning = check(url, true).unwrap().expect("a warning");
            assert!(warning.contains("in the clear"), "{warning}");
        }
    }

    #[test]
    fn the_opt_in_takes_one_or_true() {
        assert!(allowed_by(Some("1")));
        assert!(allowed_by(Some("TRUE")));
        assert!(!allowed_by(Some("0")));
        assert!(!allowed_by(Some("")));
        assert!(!allowed_by(None));
    }
}
