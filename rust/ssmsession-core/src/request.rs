//! What callers send: the StartSession API fields plus the client settings that decide
//! credentials, region, endpoint and retries. Field names follow the AWS API and the
//! PowerShell parameters (PascalCase); unknown fields are rejected so that a typo on the
//! PowerShell side fails loudly instead of being ignored.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// One `StartSession` call: the API request and the client it goes through.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StartSessionCall {
    /// Instance, managed node or ECS target. Required by the service; the SDK does not check
    /// it, so an absent target reaches the service and comes back as its validation error.
    pub target: Option<String>,
    /// Session document; the service defaults to `SSM-SessionManagerRunShell`.
    pub document_name: Option<String>,
    /// Document parameters: name → list of values, as on the wire.
    pub parameters: Option<BTreeMap<String, Vec<String>>>,
    /// Free-text reason recorded with the session.
    pub reason: Option<String>,
    /// How to build the client. Absent means the aws-config default chains.
    #[serde(default)]
    pub client: ClientSettings,
}

/// Client settings. Equal settings share one cached client (see [`crate::ClientCache`]).
#[derive(Clone, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClientSettings {
    /// Region system name such as `eu-west-3`; otherwise the region chain decides.
    pub region: Option<String>,
    /// Endpoint such as `http://127.0.0.1:5061`; signing still uses the resolved region.
    pub endpoint_url: Option<String>,
    /// Explicit access key id; must come with `SecretKey`.
    pub access_key: Option<String>,
    /// Explicit secret access key; must come with `AccessKey`.
    pub secret_key: Option<String>,
    /// Session token for temporary explicit keys.
    pub session_token: Option<String>,
    /// Named profile from the shared config and credentials files.
    pub profile_name: Option<String>,
    /// A credentials file to read instead of the default shared files.
    pub profile_location: Option<String>,
    /// Snapshot of the caller's environment variables. PowerShell keeps `$env:` changes in
    /// a managed copy that native code cannot see on Unix, so the module sends the variables
    /// that matter here. Absent means the native process environment.
    pub environment: Option<BTreeMap<String, String>>,
    /// Total attempts per call, including the first (the SDK's standard mode default is 3).
    pub max_attempts: Option<u32>,
    /// Upper bound for a whole call including retries, in milliseconds.
    pub operation_timeout_ms: Option<u64>,
    /// Upper bound for one attempt, in milliseconds (AWS Tools' ClientConfig.Timeout).
    pub attempt_timeout_ms: Option<u64>,
    /// Longest wait for response bytes, in milliseconds (ClientConfig.ReadWriteTimeout).
    pub read_timeout_ms: Option<u64>,
    /// `standard` or `adaptive` (ClientConfig.RetryMode; `legacy` is treated as standard).
    pub retry_mode: Option<String>,
    /// Region used only when no other source yields one (ClientConfig.RegionEndpoint).
    pub fallback_region: Option<String>,
    /// Region to sign with whatever the resolved region (ClientConfig.AuthenticationRegion).
    pub signing_region: Option<String>,
    /// Use FIPS endpoints (ClientConfig.UseFIPSEndpoint).
    pub use_fips: Option<bool>,
    /// Use dual-stack endpoints (ClientConfig.UseDualstackEndpoint).
    pub use_dual_stack: Option<bool>,
    /// Application name added to the user agent (ClientConfig.UserAgent).
    pub app_name: Option<String>,
    /// Proxy host for every connection (ClientConfig.ProxyHost); replaces the
    /// environment's proxy variables.
    pub proxy_host: Option<String>,
    /// Its port (ClientConfig.ProxyPort).
    pub proxy_port: Option<u16>,
    /// Basic authentication for it (ClientConfig.ProxyCredentials); never logged.
    pub proxy_user: Option<String>,
    pub proxy_password: Option<String>,
    /// Regular expressions of destinations reached directly (ClientConfig.ProxyBypassList).
    pub proxy_bypass_list: Option<Vec<String>>,
    /// Dotless names and loopback reached directly (ClientConfig.ProxyBypassOnLocal).
    pub proxy_bypass_on_local: Option<bool>,
}

/// Resolve credentials and region for a client without calling the service.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ResolveClientCall {
    #[serde(default)]
    pub client: ClientSettings,
}

/// Secrets never reach logs or error messages through `{:?}`.
impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redacted(value: &Option<String>) -> Option<&'static str> {
            value.as_ref().map(|_| "** redacted **")
        }
        f.debug_struct("ClientSettings")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("access_key", &self.access_key)
            .field("secret_key", &redacted(&self.secret_key))
            .field("session_token", &redacted(&self.session_token))
            .field("profile_name", &self.profile_name)
            .field("profile_location", &self.profile_location)
            .field(
                "environment",
                &self
                    .environment
                    .as_ref()
                    .map(|vars| vars.keys().collect::<Vec<_>>()),
            )
            .field("max_attempts", &self.max_attempts)
            .field("operation_timeout_ms", &self.operation_timeout_ms)
            .field("attempt_timeout_ms", &self.attempt_timeout_ms)
            .field("read_timeout_ms", &self.read_timeout_ms)
            .field("retry_mode", &self.retry_mode)
            .field("fallback_region", &self.fallback_region)
            .field("signing_region", &self.signing_region)
            .field("use_fips", &self.use_fips)
            .field("use_dual_stack", &self.use_dual_stack)
            .field("app_name", &self.app_name)
            .field("proxy_host", &self.proxy_host)
            .field("proxy_port", &self.proxy_port)
            .field("proxy_user", &self.proxy_user)
            .field("proxy_password", &redacted(&self.proxy_password))
            .field("proxy_bypass_list", &self.proxy_bypass_list)
            .field("proxy_bypass_on_local", &self.proxy_bypass_on_local)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_fields_and_client_settings() {
        let call: StartSessionCall = serde_json::from_str(
            r#"{"Target":"i-0123","DocumentName":"AWS-StartPortForwardingSession",
                "Parameters":{"portNumber":["80"]},"Reason":"why",
                "Client":{"Region":"eu-west-3","EndpointUrl":"http://127.0.0.1:1","MaxAttempts":1}}"#,
        )
        .unwrap();
        assert_eq!(call.target.as_deref(), Some("i-0123"));
        assert_eq!(
            call.parameters.unwrap()["portNumber"],
            vec!["80".to_string()]
        );
        assert_eq!(call.client.region.as_deref(), Some("eu-west-3"));
        assert_eq!(call.client.max_attempts, Some(1));
    }

    #[test]
    fn rejects_unknown_fields() {
        let err = serde_json::from_str::<StartSessionCall>(r#"{"Targte":"i-1"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `Targte`"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let settings = ClientSettings {
            access_key: Some("AKIDVISIBLE".into()),
            secret_key: Some("very-secret".into()),
            session_token: Some("token-secret".into()),
            proxy_password: Some("proxy-secret".into()),
            ..Default::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("proxy-secret"), "{shown}");
        assert!(shown.contains("AKIDVISIBLE"));
        assert!(
            !shown.contains("very-secret") && !shown.contains("token-secret"),
            "{shown}"
        );
    }
}
