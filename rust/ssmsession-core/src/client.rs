//! Building SSM clients from [`ClientSettings`] with aws-config, and caching them.
//!
//! Loading a config reads profile files and may resolve credentials over the network
//! (SSO, STS); the first call pays for that, later calls with equal settings reuse the
//! client, its connection pool and its identity cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;

use crate::environment::env_for;
use crate::error::{describe_chain, CoreError};
use crate::request::ClientSettings;

/// Clients kept at most; a full cache is emptied rather than tracked for recency, because
/// a process normally uses a handful of setting combinations.
const MAX_CACHED_CLIENTS: usize = 64;

/// Name the explicit keys carry in SDK diagnostics.
const EXPLICIT_KEYS_SOURCE: &str = "SSMSession parameters";

/// The behaviour version's connect timeout (3.1 s), restated because a timeout config given
/// to the loader replaces the default one as a whole.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Clients by settings. Thread-safe; share one per process.
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<ClientSettings, aws_sdk_ssm::Client>>,
}

impl ClientCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// A client for `settings`: the cached one, or a new one whose credentials and region
    /// were checked to resolve.
    pub async fn client(
        &self,
        settings: &ClientSettings,
    ) -> Result<aws_sdk_ssm::Client, CoreError> {
        if let Some(client) = self.lock().get(settings) {
            return Ok(client.clone());
        }
        // Built outside the lock: building can take seconds (SSO, STS) and must not stall
        // calls with other settings. Two racing builders both succeed; one copy is kept.
        let client = build_client(settings).await?;
        let mut clients = self.lock();
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        clients.insert(settings.clone(), client.clone());
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientSettings, aws_sdk_ssm::Client>> {
        // A panic while holding the lock cannot leave the map half-updated (single inserts),
        // so a poisoned lock is still safe to use.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

async fn build_client(settings: &ClientSettings) -> Result<aws_sdk_ssm::Client, CoreError> {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).env(env_for(settings.environment.as_ref()));

    match (
        non_empty(&settings.access_key),
        non_empty(&settings.secret_key),
    ) {
        (Some(access_key), Some(secret_key)) => {
            loader = loader.credentials_provider(Credentials::new(
                access_key,
                secret_key,
                non_empty(&settings.session_token).map(str::to_owned),
                None,
                EXPLICIT_KEYS_SOURCE,
            ));
        }
        (None, None) => {}
        _ => {
            return Err(CoreError::invalid_request(
                "IncompleteKeys",
                "AccessKey and SecretKey must be given together.",
            ))
        }
    }
    if let Some(profile) = non_empty(&settings.profile_name) {
        loader = loader.profile_name(profile);
    }
    if let Some(path) = non_empty(&settings.profile_location) {
        if !std::path::Path::new(path).is_file() {
            return Err(CoreError::invalid_request(
                "ProfileLocationNotFound",
                format!("The profile file '{path}' does not exist."),
            ));
        }
        #[allow(deprecated)] // the loader still takes ProfileFiles, an alias of EnvConfigFiles
        let files = aws_config::profile::profile_file::ProfileFiles::builder()
            .with_file(
                aws_config::profile::profile_file::ProfileFileKind::Credentials,
                path,
            )
            .build();
        loader = loader.profile_files(files);
    }
    if let Some(region) = non_empty(&settings.region) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(url) = non_empty(&settings.endpoint_url) {
        validate_endpoint(url)?;
        loader = loader.endpoint_url(url);
    }
    if let Some(attempts) = settings.max_attempts {
        if attempts == 0 {
            return Err(CoreError::invalid_request(
                "InvalidMaxAttempts",
                "MaxAttempts must be at least 1.",
            ));
        }
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(attempts));
    }
    if let Some(ms) = settings.operation_timeout_ms {
        loader = loader.timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(Duration::from_millis(ms))
                .build(),
        );
    }

    let config = loader.load().await;
    match config.region() {
        None => return Err(CoreError::NoRegion),
        Some(region) if !is_region_name(region.as_ref()) => {
            return Err(CoreError::invalid_request(
                "InvalidRegion",
                format!(
                    "'{}' is not a valid region name (expected a name such as eu-west-3).",
                    region.as_ref()
                ),
            ))
        }
        Some(_) => {}
    }
    let provider = config
        .credentials_provider()
        .ok_or(CoreError::NoCredentials { detail: None })?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| CoreError::NoCredentials {
            detail: Some(describe_chain(&e)),
        })?;
    Ok(aws_sdk_ssm::Client::new(&config))
}

/// A region name must be a DNS label (the SDK builds the endpoint host from it); checked
/// here because the SDK's own failure names an internal interceptor, not the region.
fn is_region_name(region: &str) -> bool {
    (1..=63).contains(&region.len())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// The SDK accepts any string and fails later with an opaque endpoint-resolution error;
/// check the shape here so the user hears what is wrong with the URL.
fn validate_endpoint(url: &str) -> Result<(), CoreError> {
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    let has_host = url
        .split_once("://")
        .map(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
        .unwrap_or(false);
    if scheme_ok && has_host && !url.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(CoreError::invalid_request(
            "InvalidEndpointUrl",
            format!("The endpoint URL '{url}' is not an absolute http:// or https:// URL."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn isolated_env(extra: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        vars.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        vars.insert("HOME".into(), "/nonexistent-ssmsession-test-home".into());
        for (k, v) in extra {
            vars.insert((*k).into(), (*v).into());
        }
        Some(vars)
    }

    #[test]
    fn endpoint_urls_are_checked() {
        assert!(validate_endpoint("http://127.0.0.1:5061").is_ok());
        assert!(validate_endpoint("https://ssm.eu-west-3.amazonaws.com/").is_ok());
        for bad in [
            "127.0.0.1:5061",
            "ftp://x",
            "http://",
            "http:///x",
            "http://a b",
        ] {
            let err = validate_endpoint(bad).unwrap_err();
            assert_eq!(err.code(), "InvalidEndpointUrl", "{bad}");
        }
    }

    #[test]
    fn region_names_are_checked() {
        for good in ["eu-west-3", "us-gov-west-1", "cn-north-1", "local"] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in ["", "eu west 3", "EU-WEST-3", "-eu", "eu-", "eu_west"] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_invalid_region_is_named_in_the_error() {
        let settings = ClientSettings {
            region: Some("eu west 3".into()),
            access_key: Some("AKIDTEST".into()),
            secret_key: Some("secret".into()),
            environment: isolated_env(&[]),
            ..Default::default()
        };
        let err = build_client(&settings).await.unwrap_err();
        assert_eq!(err.code(), "InvalidRegion");
        assert!(err.to_string().contains("'eu west 3'"), "{err}");
    }

    #[tokio::test]
    async fn an_empty_region_variable_counts_as_unset() {
        let settings = ClientSettings {
            access_key: Some("AKIDTEST".into()),
            secret_key: Some("secret".into()),
            environment: isolated_env(&[("AWS_REGION", "")]),
            ..Default::default()
        };
        let err = build_client(&settings).await.unwrap_err();
        assert!(matches!(err, CoreError::NoRegion), "{err:?}");
    }

    #[tokio::test]
    async fn missing_region_is_reported_before_any_call() {
        let settings = ClientSettings {
            access_key: Some("AKIDTEST".into()),
            secret_key: Some("secret".into()),
            environment: isolated_env(&[]),
            ..Default::default()
        };
        let err = build_client(&settings).await.unwrap_err();
        assert!(matches!(err, CoreError::NoRegion), "{err:?}");
    }

    #[tokio::test]
    async fn missing_credentials_are_reported_before_any_call() {
        let settings = ClientSettings {
            region: Some("eu-west-3".into()),
            environment: isolated_env(&[]),
            ..Default::default()
        };
        let err = build_client(&settings).await.unwrap_err();
        assert_eq!(err.kind(), "credentials", "{err:?}");
        assert!(err
            .to_string()
            .starts_with(crate::error::NO_CREDENTIALS_MESSAGE));
    }

    #[tokio::test]
    async fn region_and_keys_come_from_the_snapshot_not_the_process() {
        let settings = ClientSettings {
            environment: isolated_env(&[
                ("AWS_REGION", "ap-south-2"),
                ("AWS_ACCESS_KEY_ID", "AKIDFROMSNAPSHOT"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
            ]),
            ..Default::default()
        };
        let client = build_client(&settings).await.unwrap();
        assert_eq!(client.config().region().unwrap().as_ref(), "ap-south-2");
    }

    #[tokio::test]
    async fn half_a_key_pair_is_rejected() {
        let settings = ClientSettings {
            access_key: Some("AKIDONLY".into()),
            ..Default::default()
        };
        let err = build_client(&settings).await.unwrap_err();
        assert_eq!(err.code(), "IncompleteKeys");
    }
}
