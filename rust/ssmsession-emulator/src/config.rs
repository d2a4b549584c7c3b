//! What the emulator accepts: credentials (for SigV4 verification), an optional fixed
//! region, the documents it knows, and the targets that answer with service errors.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Access key id of the embedded default credential. Deliberately not AKIA-shaped: it must
/// never be mistaken for a real key.
pub const DEFAULT_ACCESS_KEY: &str = "AKIDSSMEMULATOR";
/// Secret of the embedded default credential.
pub const DEFAULT_SECRET_KEY: &str = "ssm-emulator-secret-key";
/// IAM user name the default credential maps to; session ids start with it.
pub const DEFAULT_USER: &str = "emulator-user";

/// Targets that make StartSession fail with a service error, so tests can drive every
/// error path: (target, error code).
pub const ERROR_TARGETS: &[(&str, &str)] = &[
    ("i-targetnotconnected", "TargetNotConnected"),
    ("i-accessdenied", "AccessDeniedException"),
    ("i-throttled", "ThrottlingException"),
    ("i-internalerror", "InternalServerError"),
];

/// Targets named `i-delay-<milliseconds>` are answered after that delay (at most
/// [`MAX_DELAY_MS`]), for timeout and cancellation tests.
pub const DELAY_TARGET_PREFIX: &str = "i-delay-";
pub const MAX_DELAY_MS: u64 = 60_000;

/// The answer delay a target asks for, if any.
pub fn requested_delay(target: &str) -> Option<std::time::Duration> {
    let ms: u64 = target.strip_prefix(DELAY_TARGET_PREFIX)?.parse().ok()?;
    Some(std::time::Duration::from_millis(ms.min(MAX_DELAY_MS)))
}

/// Targets named `i-basicagent…` get an agent too old for multiplexing (3.0.161.0), so
/// port sessions to them run in basic mode.
pub const BASIC_AGENT_TARGET_PREFIX: &str = "i-basicagent";
/// The version such agents report.
pub const BASIC_AGENT_VERSION: &str = "3.0.161.0";
/// The version the fake agent reports otherwise: new enough for multiplexed ports
/// without smux keep-alive.
pub const AGENT_VERSION: &str = "3.3.3572.0";

/// Faults the fake agent injects into its data channels, for reliability tests. Fractions
/// are per frame, 0.0–1.0.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Frames lost, in both directions.
    pub drop: f64,
    /// Frames delivered twice, in both directions.
    pub duplicate: f64,
    /// Frames the agent holds back and sends after the next one.
    pub reorder: f64,
    /// Added before each frame the agent sends.
    pub delay: Duration,
    /// Each socket is closed (code 1000 "Bye", as the service does hourly) this long after
    /// it opened, so that clients must resume.
    pub close_after: Option<Duration>,
    /// Sends `pause_publication` this often, and `start_publication` 200 ms later.
    pub pause_every: Option<Duration>,
    /// Every port connection attempt fails (ConnectToPortError).
    pub refuse_ports: bool,
    /// This long after each socket opened, the agent goes silent: it reads and discards
    /// every frame and sends nothing (no acknowledgements, no data), like an agent whose
    /// host froze. Clients must give up in bounded time without buffering without bound.
    pub stall_after: Option<Duration>,
}

impl Faults {
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }
}

/// The real agent's pause between the messages of a stream (agent-behaviour §6).
pub const REAL_AGENT_PACE: Duration = Duration::from_millis(1);

/// How the fake agent behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    /// Bytes per message the agent sends from a target connection or a command (the real
    /// agent: 1024).
    pub chunk_size: usize,
    /// The pause after each such message: the real agent's 1 ms by default
    /// ([`REAL_AGENT_PACE`]), which caps a stream at about 1 MB/s; None sends as fast as the
    /// window allows (`--agent-pacing fast`, for benchmarks).
    pub pace: Option<Duration>,
    pub faults: Faults,
    /// How long the agent keeps a session whose socket was lost, waiting for the client
    /// to resume it.
    pub resume_wait: Duration,
    /// Asks clients for KMS encryption with this key (shell and command sessions; port
    /// sessions are never encrypted), as an agent whose preferences name a KMS key does.
    pub kms_key_id: Option<String>,
    /// With KMS: send the newer agents' anti-replay challenge and require the client to
    /// acknowledge it (agent setting `Kms.RequireKMSChallengeResponse`).
    pub kms_challenge: bool,
    /// The program shell sessions (`Standard_Stream`) run under a pseudo-terminal; None:
    /// `bash` when there is one, else `sh` (`cmd.exe` on Windows).
    pub shell: Option<String>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            chunk_size: 1024,
            pace: Some(REAL_AGENT_PACE),
            faults: Faults::default(),
            resume_wait: Duration::from_secs(60),
            kms_key_id: None,
            kms_challenge: false,
            shell: None,
        }
    }
}

/// A key pair the emulator accepts, and the IAM user it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub secret_key: String,
    pub user: String,
}

impl Credential {
    /// Parses `ACCESS_KEY:SECRET_KEY[:USER]`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = spec.splitn(3, ':');
        let access_key = parts.next().unwrap_or_default();
        let secret_key = parts.next().unwrap_or_default();
        let user = parts.next().unwrap_or(DEFAULT_USER);
        if access_key.is_empty() || secret_key.is_empty() || user.is_empty() {
            return Err(format!(
                "credential '{}' is not ACCESS_KEY:SECRET_KEY[:USER]",
                access_key
            ));
        }
        Ok(Self {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            user: user.to_owned(),
        })
    }
}

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Loopback address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    pub credentials: Vec<Credential>,
    /// When set, requests signed for another region are rejected like the service does.
    pub region: Option<String>,
    /// Session documents served besides the AWS-owned ones (`--document`).
    pub extra_documents: Vec<crate::documents::ExtraDocument>,
    /// Account id used in owner ARNs.
    pub account_id: String,
    /// One line per request on stderr (operation, status, target; never secrets).
    pub log_requests: bool,
    /// How long the temporary credentials the emulator issues stay valid.
    pub credential_lifetime: std::time::Duration,
    pub agent: AgentConfig,
    /// Serve `https://` and `wss://` under this identity's host name (see [`crate::tls`]);
    /// None serves plain `http://` and `ws://` on 127.0.0.1.
    pub tls: Option<std::sync::Arc<crate::tls::TlsIdentity>>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            credentials: vec![Credential {
                access_key: DEFAULT_ACCESS_KEY.to_owned(),
                secret_key: DEFAULT_SECRET_KEY.to_owned(),
                user: DEFAULT_USER.to_owned(),
            }],
            region: None,
            extra_documents: Vec::new(),
            account_id: "123456789012".to_owned(),
            log_requests: false,
            credential_lifetime: crate::issued::LIFETIME,
            agent: AgentConfig::default(),
            tls: None,
        }
    }
}

impl EmulatorConfig {
    pub(crate) fn credential(&self, access_key: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.access_key == access_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_specs_parse() {
        let c = Credential::parse("AK:SK:alice").unwrap();
        assert_eq!(
            (
                c.access_key.as_str(),
                c.secret_key.as_str(),
                c.user.as_str()
            ),
            ("AK", "SK", "alice")
        );
        assert_eq!(Credential::parse("AK:SK").unwrap().user, DEFAULT_USER);
        assert!(Credential::parse("AK").is_err());
        assert!(Credential::parse(":SK").is_err());
    }

    #[test]
    fn delay_targets() {
        use std::time::Duration;
        assert_eq!(
            requested_delay("i-delay-250"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            requested_delay("i-delay-999999"),
            Some(Duration::from_millis(MAX_DELAY_MS))
        );
        assert_eq!(requested_delay("i-delay-x"), None);
        assert_eq!(requested_delay("i-1"), None);
    }
}
