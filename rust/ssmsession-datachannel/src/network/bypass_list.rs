//! `ClientConfig.ProxyBypassList` and `ProxyBypassOnLocal` with the meaning .NET's
//! `System.Net.WebProxy` gives them (the AWS .NET SDK builds one from these settings):
//! each entry is a regular expression, searched case-insensitively and unanchored in
//! `scheme://host`, with `:port` appended when the port is not the scheme's default;
//! "on local" bypasses names without a dot (intranet names) and loopback addresses.

use std::net::IpAddr;

use regex_lite::{Regex, RegexBuilder};

#[derive(Clone, Debug)]
pub struct BypassList {
    patterns: Vec<Regex>,
    on_local: bool,
}

impl BypassList {
    /// Compiles the entries; a pattern that is not a regular expression is named in the
    /// error (.NET refuses it when the list is set).
    pub fn new(entries: &[String], on_local: bool) -> Result<Self, String> {
        let patterns = entries
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| {
                RegexBuilder::new(entry)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| {
                        format!("ClientConfig.ProxyBypassList entry '{entry}' is not a regular expression: {e}")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { patterns, on_local })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && !self.on_local
    }

    pub fn bypasses(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.on_local && is_local(host) {
            return true;
        }
        let default_port = match scheme {
            "https" | "wss" => 443,
            _ => 80,
        };
        let scheme = match scheme {
            "wss" => "https",
            "ws" => "http",
            other => other,
        };
        let subject = if port == default_port {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{port}")
        };
        self.patterns
            .iter()
            .any(|pattern| pattern.is_match(&subject))
    }
}

fn is_local(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(address) => address.is_loopback(),
        Err(_) => !bare.contains('.') || bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str], on_local: bool) -> BypassList {
        BypassList::new(
            &entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>(),
            on_local,
        )
        .unwrap()
    }

    /// The same answers `[System.Net.WebProxy]::IsBypassed` gives for this list (checked
    /// in pwsh 7.6).
    #[test]
    fn entries_are_unanchored_case_insensitive_regular_expressions() {
        let rules = list(
            &[
                r".*\.internal\.corp",
                "example.com",
                "http://plain.*",
                r"10\.0\..*",
                "port.test:8443",
                "ssm",
            ],
            false,
        );
        let cases = [
            ("https", "a.internal.corp", 443, true),
            ("https", "example.com", 443, true),
            ("https", "www.example.com", 443, true),
            ("https", "example.com.evil", 443, true),
            ("https", "notexample.com", 443, true),
            ("http", "plain.test", 80, true),
            ("https", "plain.test", 443, false),
            ("https", "10.0.0.5", 443, true),
            ("https", "port.test", 8443, true),
            ("https", "port.test", 443, false),
            ("https", "intranet", 443, false),
            ("https", "ssm.eu-west-1.amazonaws.com", 443, true),
            ("https", "EXAMPLE.com", 443, true),
            ("wss", "plain.test", 443, false),
        ];
        for (scheme, host, port, expected) in cases {
            assert_eq!(
                rules.bypasses(scheme, host, port),
                expected,
                "{scheme}://{host}:{port}"
            );
        }
    }

    #[test]
    fn on_local_bypasses_dotless_names_and_loopback() {
        let rules = list(&[], true);
        assert!(rules.bypasses("https", "intranet", 443));
        assert!(rules.bypasses("https", "127.0.0.1", 443));
        assert!(rules.bypasses("https", "[::1]", 443));
        assert!(!rules.bypasses("https", "ssm.eu-west-1.amazonaws.com", 443));
        assert!(!list(&[], false).bypasses("https", "intranet", 443));
    }

    #[test]
    fn a_pattern_that_is_not_a_regular_expression_is_named() {
        let error = BypassList::new(&["*.wild.test".to_owned()], false).unwrap_err();
        assert!(error.contains("'*.wild.test'"), "{error}");
    }
}
