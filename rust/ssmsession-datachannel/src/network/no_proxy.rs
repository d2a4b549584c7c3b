//! `NO_PROXY` as curl reads it (lib/noproxy.c): entries separated by commas or blanks; a
//! value of exactly `*` bypasses every host; a host name matches itself and its
//! subdomains (a leading or trailing dot is ignored, case-insensitive); an IP address
//! matches itself, or its network with a `/bits` suffix. Entries are compared with the
//! host name only: an entry carrying a port (`host:8443`) never matches, as in curl.

use std::net::IpAddr;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    everything: bool,
    entries: Vec<String>,
}

impl NoProxy {
    pub fn parse(value: &str) -> Self {
        let trimmed = value.trim();
        Self {
            everything: trimmed == "*",
            entries: trimmed
                .split([',', ' ', '\t'])
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether `host` (a name, an IPv4 address, or an IPv6 address with or without
    /// brackets) is to be reached directly.
    pub fn bypasses(&self, host: &str) -> bool {
        if self.everything {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(address) => self.entries.iter().any(|entry| ip_matches(entry, address)),
            Err(_) => {
                let name = bare.strip_suffix('.').unwrap_or(bare);
                self.entries.iter().any(|entry| name_matches(entry, name))
            }
        }
    }

    /// Entries that can never match because they carry a port, for the debug stream.
    pub fn entries_with_ports(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .map(String::as_str)
            .filter(|entry| entry_has_port(entry))
    }
}

fn entry_has_port(entry: &str) -> bool {
    match entry.rsplit_once(':') {
        // An IPv6 address has colons too; a bracketed one with a port ends in `]:port`.
        Some((head, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!head.contains(':') || head.ends_with(']'))
        }
        None => false,
    }
}

fn name_matches(entry: &str, name: &str) -> bool {
    let entry = entry.strip_suffix('.').unwrap_or(entry);
    let entry = entry.strip_prefix('.').unwrap_or(entry);
    if entry.is_empty() || entry.len() > name.len() {
        return false;
    }
    if entry.len() == name.len() {
        return entry.eq_ignore_ascii_case(name);
    }
    let split = name.len() - entry.len();
    name.as_bytes()[split - 1] == b'.'
        && name
            .get(split..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(entry))
}

fn ip_matches(entry: &str, address: IpAddr) -> bool {
    let (network, bits) = match entry.split_once('/') {
        Some((network, bits)) => match bits.parse::<u8>() {
            Ok(bits) => (network, Some(bits)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let network = network.trim_start_matches('[').trim_end_matches(']');
    let Ok(network) = network.parse::<IpAddr>() else {
        return false;
    };
    match (network, address) {
        (IpAddr::V4(network), IpAddr::V4(address)) => {
            prefix_matches(&network.octets(), &address.octets(), bits.unwrap_or(32))
        }
        (IpAddr::V6(network), IpAddr::V6(address)) => {
            prefix_matches(&network.octets(), &address.octets(), bits.unwrap_or(128))
        }
        _ => false,
    }
}

/// Whether the first `bits` bits agree; more bits than the address has never match
/// (curl rejects such an entry).
fn prefix_matches(network: &[u8], address: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    if bits > network.len() * 8 {
        return false;
    }
    let whole = bits / 8;
    if network[..whole] != address[..whole] {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    network[whole] & mask == address[whole] & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_match_themselves_and_their_subdomains() {
        let rules = NoProxy::parse("example.com, .internal.corp  Intranet.");
        for host in [
            "example.com",
            "www.example.com",
            "EXAMPLE.COM",
            "a.b.internal.corp",
            "internal.corp",
            "intranet",
            "example.com.",
        ] {
            assert!(rules.bypasses(host), "{host}");
        }
        for host in [
            "notexample.com",
            "example.com.evil",
            "corp",
            "ssm.amazonaws.com",
        ] {
            assert!(!rules.bypasses(host), "{host}");
        }
    }

    #[test]
    fn only_a_lone_star_bypasses_everything() {
        assert!(NoProxy::parse("*").bypasses("anything.example"));
        assert!(NoProxy::parse(" * ").bypasses("10.1.2.3"));
        // In a list, curl compares `*` as a name: it matches nothing.
        assert!(!NoProxy::parse("*,example.com").bypasses("anything.example"));
        assert!(!NoProxy::parse("*.example.com").bypasses("www.example.com"));
    }

    #[test]
    fn addresses_match_exactly_or_by_network() {
        let rules = NoProxy::parse("10.0.0.0/8,192.168.1.7,fd00::/16,::1,172.16.0.0/33");
        assert!(rules.bypasses("10.200.3.4"));
        assert!(rules.bypasses("192.168.1.7"));
        assert!(!rules.bypasses("192.168.1.8"));
        assert!(rules.bypasses("[fd00::5]"));
        assert!(rules.bypasses("::1"));
        assert!(
            !rules.bypasses("172.16.0.1"),
            "a /33 is rejected, not a match"
        );
        assert!(!rules.bypasses("11.0.0.1"));
        let odd = NoProxy::parse("192.168.0.0/20");
        assert!(odd.bypasses("192.168.15.255"));
        assert!(!odd.bypasses("192.168.16.0"));
    }

    #[test]
    fn entries_with_ports_never_match_and_are_reported() {
        let rules = NoProxy::parse("ssm.example.test:443,[::1]:8080,fd00::1,plain.test");
        assert!(!rules.bypasses("ssm.example.test"));
        assert!(rules.bypasses("plain.test"));
        assert_eq!(
            rules.entries_with_ports().collect::<Vec<_>>(),
            ["ssm.example.test:443", "[::1]:8080"]
        );
    }

    #[test]
    fn empty_rules_bypass_nothing() {
        assert!(!NoProxy::parse("").bypasses("example.com"));
        assert!(!NoProxy::parse(" , ,").bypasses("example.com"));
    }
}
