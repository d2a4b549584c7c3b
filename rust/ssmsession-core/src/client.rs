//! Building SSM clients from [`ClientSettings`] with aws-config, and caching them.
//!
//! Loading a config reads profile files and may resolve credentials over the network
//! (SSO, STS); the first call pays for that, later calls with equal settings reuse the
//! client, its connection pool and its identity cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{AppName, BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde::Serialize;
use ssmsession_datachannel::network::NetworkConfig;

use crate::client_settings::{
    check_header_bound, kms_endpoint, non_empty, resolve_region, retry_config,
    selected_profile_has_region, timeout_config, validate_endpoint,
};
use crate::credentials::{check_profile_exists, credential_source, profile_files, CheckedOnce};
use crate::environment::env_for;
use crate::error::CoreError;
use crate::request::{ClientSettings, ResolveClientCall};

/// Clients kept at most; a full cache is emptied rather than tracked for recency, because
/// a process normally uses a handful of setting combinations.
const MAX_CACHED_CLIENTS: usize = 64;

/// Name the explicit keys carry in SDK diagnostics (and in [`Resolution`]).
const EXPLICIT_KEYS_SOURCE: &str = "Parameters";

/// Where a client's region and credentials came from, for the caller's diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resolution {
    pub region: String,
    /// `Parameter`, `Environment`, `Profile`, `InstanceMetadata`, `ClientConfig` or
    /// `AuthenticationRegion`.
    pub region_source: &'static str,
    /// `Parameters` for explicit keys, else `Sso`, `CredentialProcess`, `WebIdentity`,
    /// `AssumeRole`, `Profile`, `Environment`, `Container`, `InstanceMetadata` or `Unknown`.
    pub credential_source: String,
    /// How the client's API calls connect: the endpoint host, directly or through which
    /// proxy (host:port and the setting that named it), and which roots TLS trusts.
    pub network: String,
    /// What the caller should show the user about this client (an opted-in plain-text
    /// endpoint); repeated with every call made with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A client, where its settings came from, its credentials provider (the data channel
/// signs its WebSocket upgrade with the same credentials; the SDK config no longer exposes
/// the provider), the KMS client beside it, and the network configuration every
/// connection made for it uses (the data channel's too).
#[derive(Clone, Debug)]
pub struct CachedClient {
    pub ssm: aws_sdk_ssm::Client,
    pub resolution: Resolution,
    pub credentials: SharedCredentialsProvider,
    pub kms: aws_sdk_kms::Client,
    pub network: Arc<NetworkConfig>,
}

/// Clients by settings. Thread-safe; share one per process.
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<ClientSettings, CachedClient>>,
}

impl ClientCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// A client for `settings`: the cached one, or a new one whose credentials and region
    /// were checked to resolve.
    pub async fn client(&self, settings: &ClientSettings) -> Result<CachedClient, CoreError> {
        if let Some(cached) = self.lock().get(settings) {
            return Ok(cached.clone());
        }
        // Built outside the lock: building can take seconds (SSO, STS) and must not stall
        // calls with other settings. Two racing builders both succeed; one copy is kept.
        let built = build_client(settings).await?;
        let mut clients = self.lock();
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        clients.insert(settings.clone(), built.clone());
        Ok(built)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientSettings, CachedClient>> {
        // A panic while holding the lock cannot leave the map half-updated (single inserts),
        // so a poisoned lock is still safe to use.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Resolves (and caches) the client for `call` without calling the service, so callers
/// can fail on credentials and region before asking the user anything.
pub async fn resolve_client(
    cache: &ClientCache,
    call: ResolveClientCall,
) -> Result<Resolution, CoreError> {
    Ok(cache.client(&call.client).await?.resolution)
}

async fn build_client(settings: &ClientSettings) -> Result<CachedClient, CoreError> {
    check_header_bound(settings)?;
    let env = env_for(settings.environment.as_ref());
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).env(env.clone());

    let explicit_keys = match (
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
            true
        }
        (None, None) => false,
        _ => {
            return Err(CoreError::invalid_request(
                "IncompleteKeys",
                "AccessKey and SecretKey must be given together.",
            ))
        }
    };
    if let Some(path) = non_empty(&settings.profile_location) {
        if !std::path::Path::new(path).is_file() {
            return Err(CoreError::invalid_request(
                "ProfileLocationNotFound",
                format!("The profile file '{path}' does not exist."),
            ));
        }
        loader = loader.profile_files(profile_files(settings));
    }
    if let Some(profile) = non_empty(&settings.profile_name) {
        if !explicit_keys {
            check_profile_exists(settings, &env, profile).await?;
        }
        loader = loader.profile_name(profile);
    }
    if let Some(region) = non_empty(&settings.region) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(url) = non_empty(&settings.endpoint_url) {
        validate_endpoint(url)?;
        loader = loader.endpoint_url(url);
    }
    if let Some(retry) = retry_config(settings)? {
        loader = loader.retry_config(retry);
    }
    loader = loader.timeout_config(timeout_config(settings));
    if let Some(fips) = settings.use_fips {
        loader = loader.use_fips(fips);
    }
    if let Some(dual_stack) = settings.use_dual_stack {
        loader = loader.use_dual_stack(dual_stack);
    }
    let network =
        Arc::new(crate::network::network_for(settings, &env, &profile_files(settings)).await?);
    loader = loader.http_client(crate::http_client::http_client_for(&network)?);
    if let Some(name) = non_empty(&settings.app_name) {
        let app_name = AppName::new(name.to_owned()).map_err(|_| {
            CoreError::invalid_request(
                "InvalidUserAgent",
                format!("'{name}' is not a valid user agent application name (letters, digits and !#$%&'*+-.^_`|~ only)."),
            )
        })?;
        loader = loader.app_name(app_name);
    }

    let config = loader.load().await;
    // The endpoint as the SDK will use it: the parameter, AWS_ENDPOINT_URL(_SSM) or the
    // profile's endpoint_url.
    let allow_plain_text =
        crate::plain_text::allowed_by(env.get(crate::plain_text::ALLOW_VARIABLE).ok().as_deref());
    let warnings: Vec<String> = match config.endpoint_url() {
        Some(url) => crate::plain_text::check(url, allow_plain_text)?
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    let profile_names_region =
        non_empty(&settings.region).is_none() && selected_profile_has_region(settings, &env).await;
    let (region, region_source) =
        resolve_region(settings, &env, config.region(), profile_names_region)?;
    let provider = SharedCredentialsProvider::new(CheckedOnce::new(
        config
            .credentials_provider()
            .ok_or(CoreError::NoCredentials { detail: None })?,
    ));
    let credentials = crate::credentials::fetch(&provider).await?;
    let client_config = aws_sdk_ssm::config::Builder::from(&config)
        .region(Region::new(region.clone()))
        .credentials_provider(provider.clone())
        .interceptor(crate::response_limit::ResponseBodyLimit)
        .build();
    // KMS (for sessions the agent encrypts) with the same credentials and region; its
    // endpoint is its own, not an SSM endpoint given with -EndpointUrl (see kms_endpoint).
    let mut kms_config = aws_sdk_kms::config::Builder::from(&config)
        .region(Region::new(region.clone()))
        .credentials_provider(provider.clone())
        .interceptor(crate::response_limit::ResponseBodyLimit);
    kms_config.set_endpoint_url(kms_endpoint(settings, &env));
    let kms_config = kms_config.build();
    let endpoint = config
        .endpoint_url()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("https://ssm.{region}.amazonaws.com"));
    let resolution = Resolution {
        network: network.describe_route(&endpoint),
        region,
        region_source,
        credential_source: if explicit_keys {
            EXPLICIT_KEYS_SOURCE
        } else {
            credential_source(&credentials)
        }
        .to_owned(),
        warnings,
    };
    Ok(CachedClient {
        ssm: aws_sdk_ssm::Client::from_conf(client_config),
        resolution,
        credentials: provider,
        kms: aws_sdk_kms::Client::from_conf(kms_config),
        network,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::isolated_env;

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
        let CachedClient {
            ssm: client,
            resolution,
            ..
        } = build_client(&settings).await.unwrap();
        assert_eq!(client.config().region().unwrap().as_ref(), "ap-south-2");
        assert_eq!(resolution.region_source, "Environment");
        assert_eq!(resolution.credential_source, "Environment");
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

    fn write_profile_file(name: &str, body: &str) -> String {
        let dir = std::env::temp_dir().join(format!("ssmsession-core-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    }

    #[tokio::test]
    async fn a_named_profile_gives_credentials_and_region() {
        let path = write_profile_file(
            "creds-ok",
            "[emu]\naws_access_key_id = AKIDX\naws_secret_access_key = s\nregion = eu-central-2\n",
        );
        let settings = ClientSettings {
            profile_name: Some("emu".into()),
            profile_location: Some(path),
            environment: isolated_env(&[]),
            ..Default::default()
        };
        let resolution = build_client(&settings).await.unwrap().resolution;
        assert_eq!(resolution.region, "eu-central-2");
        assert_eq!(resolution.region_source, "Profile");
        assert_eq!(resolution.credential_source, "Profile");
    }

    #[tokio::test]
    async fn a_missing_named_profile_is_an_error_not_a_fall_through() {
        let path = write_profile_file(
            "creds-other",
            "[other]\naws_access_key_id = A\naws_secret_access_key = s\n",
        );
        let settings = ClientSettings {
            region: Some("eu-west-3".into()),
            profile_name: Some("missing".into()),
            profile_location: Some(path),
            // Environment keys exist, and must not be used instead.
            environment: isolated_env(&[
                ("AWS_ACCESS_KEY_ID", "AKIDENV"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ]),
            ..Default::default()
        };
        let err = build_client(&settings).await.unwrap_err();
        assert_eq!(err.kind(), "credentials");
        assert!(
            err.to_string()
                .contains("The profile 'missing' was not found"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn client_config_region_is_the_last_resort_and_authentication_region_signs() {
        let mut settings = ClientSettings {
            access_key: Some("AKIDTEST".into()),
            secret_key: Some("secret".into()),
            fallback_region: Some("us-west-2".into()),
            environment: isolated_env(&[]),
            ..Default::default()
        };
        let resolution = build_client(&settings).await.unwrap().resolution;
        assert_eq!(
            (resolution.region.as_str(), resolution.region_source),
            ("us-west-2", "ClientConfig")
        );

        settings.region = Some("eu-west-3".into());
        let resolution = build_client(&settings).await.unwrap().resolution;
        assert_eq!(
            (resolution.region.as_str(), resolution.region_source),
            ("eu-west-3", "Parameter")
        );

        settings.signing_region = Some("eu-north-1".into());
        let CachedClient {
            ssm: client,
            resolution,
            ..
        } = build_client(&settings).await.unwrap();
        assert_eq!(resolution.region_source, "AuthenticationRegion");
        assert_eq!(client.config().region().unwrap().as_ref(), "eu-north-1");
    }

    #[tokio::test]
    async fn retry_settings_fall_back_to_the_environment() {
        let settings = ClientSettings {
            region: Some("eu-west-3".into()),
            access_key: Some("AKIDTEST".into()),
            secret_key: Some("secret".into()),
            environment: isolated_env(&[("AWS_MAX_ATTEMPTS", "7"), ("AWS_RETRY_MODE", "adaptive")]),
            ..Default::default()
        };
        let client = build_client(&settings).await.unwrap().ssm;
        let retry = client.config().retry_config().unwrap();
        assert_eq!(retry.max_attempts(), 7);
        assert_eq!(retry.mode(), aws_config::retry::RetryMode::Adaptive);
    }
}
