//! Building SSM clients from [`ClientSettings`] with aws-config, and caching them.
//!
//! Loading a config reads profile files and may resolve credentials over the network
//! (SSO, STS); the first call pays for that, later calls with equal settings reuse the
//! client, its connection pool and its identity cache.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{AppName, BehaviorVersion, Region};
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_types::os_shim_internal::{Env, Fs};
use serde::Serialize;
use ssm_datachannel::network::NetworkConfig;

use crate::environment::env_for;
use crate::error::{describe_chain, CoreError};
use crate::request::{ClientSettings, ResolveClientCall};

/// Clients kept at most; a full cache is emptied rather than tracked for recency, because
/// a process normally uses a handful of setting combinations.
const MAX_CACHED_CLIENTS: usize = 64;

/// Name the explicit keys carry in SDK diagnostics (and in [`Resolution`]).
const EXPLICIT_KEYS_SOURCE: &str = "Parameters";

/// The behaviour version's connect timeout (3.1 s), restated because a timeout config given
/// to the loader replaces the default one as a whole.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Each attempt's limit unless ClientConfig.Timeout says otherwise: the AWS .NET SDK's
/// (HttpClient's) 100 s. The Rust SDK has none by default, so a server that accepts the
/// connection and never answers would hold the caller forever.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(100);

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

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

#[allow(deprecated)] // the loader still takes ProfileFiles, an alias of EnvConfigFiles
fn profile_files(settings: &ClientSettings) -> aws_config::profile::profile_file::ProfileFiles {
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
    match non_empty(&settings.profile_location) {
        Some(path) => ProfileFiles::builder()
            .with_file(ProfileFileKind::Credentials, path)
            .build(),
        None => ProfileFiles::default(),
    }
}

/// A profile named by the caller must exist: AWS Tools fails at once rather than falling
/// through to other credentials, and so do we.
async fn check_profile_exists(
    settings: &ClientSettings,
    env: &Env,
    name: &str,
) -> Result<(), CoreError> {
    let set = aws_config::profile::load(
        &Fs::real(),
        env,
        &profile_files(settings),
        Some(Cow::Owned(name.to_owned())),
    )
    .await
    .map_err(|e| CoreError::NoCredentials {
        detail: Some(format!(
            "The profile files could not be read: {}",
            describe_chain(&e)
        )),
    })?;
    if set.get_profile(name).is_some() {
        return Ok(());
    }
    let place = match non_empty(&settings.profile_location) {
        Some(path) => format!("in '{path}'"),
        None => "in the shared config and credentials files".to_owned(),
    };
    Err(CoreError::NoCredentials {
        detail: Some(format!(
            "The profile '{name}' was not found {place}. Profiles kept only in the AWS .NET SDK \
             credential store (including SAML role profiles) cannot be read by SSMSession; \
             use a profile in the shared files instead."
        )),
    })
}

/// Refuses settings that would end up in HTTP headers or signatures with characters no
/// header may carry (a line break pasted with a key): a clear error naming the setting,
/// never its value, instead of a failure deep in the SDK.
fn check_header_bound(settings: &ClientSettings) -> Result<(), CoreError> {
    let named = [
        ("AccessKey", &settings.access_key),
        ("SecretKey", &settings.secret_key),
        ("SessionToken", &settings.session_token),
        ("Region", &settings.region),
        ("SigningRegion", &settings.signing_region),
        ("ProfileName", &settings.profile_name),
        ("EndpointUrl", &settings.endpoint_url),
        ("AppName", &settings.app_name),
    ];
    for (name, value) in named {
        let Some(value) = value else { continue };
        if let Some((position, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
            return Err(CoreError::invalid_request(
                "InvalidHeaderValue",
                format!(
                    "{name} contains a control character (U+{:04X} at byte {}); keys, tokens, regions and names never do.",
                    u32::from(c),
                    position + 1
                ),
            ));
        }
    }
    Ok(())
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
    let credentials =
        provider
            .provide_credentials()
            .await
            .map_err(|e| CoreError::NoCredentials {
                detail: Some(describe_chain(&e)),
            })?;
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

/// Where KMS calls go: `AWS_ENDPOINT_URL_KMS`, else `AWS_ENDPOINT_URL`, else the SSM
/// endpoint when that is a loopback address (the local emulator serves KMS too), else the
/// regional KMS endpoint. A VPC or other SSM endpoint is never used for KMS.
fn kms_endpoint(settings: &ClientSettings, env: &Env) -> Option<String> {
    let variable = |name: &str| env.get(name).ok().filter(|v| !v.trim().is_empty());
    variable("AWS_ENDPOINT_URL_KMS")
        .or_else(|| variable("AWS_ENDPOINT_URL"))
        .or_else(|| {
            non_empty(&settings.endpoint_url)
                .filter(|url| crate::plain_text::is_loopback_url(url))
                .map(str::to_owned)
        })
}

/// Wraps the resolved credentials provider so that the credentials fetched to check that
/// they resolve are also the ones the client's identity cache starts with: one fetch (one
/// STS or SSO call) instead of two. Later resolutions, e.g. after expiry, go to the
/// wrapped provider.
#[derive(Debug)]
struct CheckedOnce {
    inner: SharedCredentialsProvider,
    handover: Mutex<Handover>,
}

#[derive(Debug)]
enum Handover {
    /// Nothing fetched yet: the next fetch (the check) is kept for the client.
    NotYet,
    /// The checked credentials, waiting for the client's first resolution.
    Ready(Credentials),
    /// Handed over: every later resolution asks the wrapped provider.
    Done,
}

impl CheckedOnce {
    fn new(inner: SharedCredentialsProvider) -> Self {
        Self {
            inner,
            handover: Mutex::new(Handover::NotYet),
        }
    }
}

impl ProvideCredentials for CheckedOnce {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let lock = || self.handover.lock().unwrap_or_else(|p| p.into_inner());
            {
                let mut state = lock();
                if let Handover::Ready(_) = &*state {
                    if let Handover::Ready(credentials) =
                        std::mem::replace(&mut *state, Handover::Done)
                    {
                        return Ok(credentials);
                    }
                }
            }
            let credentials = self.inner.provide_credentials().await?;
            let mut state = lock();
            if matches!(*state, Handover::NotYet) {
                *state = Handover::Ready(credentials.clone());
            }
            Ok(credentials)
        })
    }
}

/// Which provider produced `credentials`, from the feature markers the SDK's providers
/// attach (most specific first: an SSO profile also carries the profile marker).
fn credential_source(credentials: &Credentials) -> &'static str {
    use AwsCredentialFeature as F;
    let Some(features) = credentials.get_property::<Vec<AwsCredentialFeature>>() else {
        return "Unknown";
    };
    let has = |wanted: &[F]| features.iter().any(|f| wanted.contains(f));
    if has(&[F::CredentialsProfileSso, F::CredentialsSso]) {
        "Sso"
    } else if has(&[F::CredentialsProfileProcess, F::CredentialsProcess]) {
        "CredentialProcess"
    } else if has(&[
        F::CredentialsEnvVarsStsWebIdToken,
        F::CredentialsProfileStsWebIdToken,
        F::CredentialsStsAssumeRoleWebId,
    ]) {
        "WebIdentity"
    } else if has(&[
        F::CredentialsProfileSourceProfile,
        F::CredentialsStsAssumeRole,
    ]) {
        "AssumeRole"
    } else if has(&[F::CredentialsProfile, F::CredentialsProfileNamedProvider]) {
        "Profile"
    } else if has(&[F::CredentialsEnvVars]) {
        "Environment"
    } else if has(&[F::CredentialsHttp]) {
        "Container"
    } else if has(&[F::CredentialsImds]) {
        "InstanceMetadata"
    } else {
        "Unknown"
    }
}

/// Whether the profile the chain reads (named, `AWS_PROFILE` or `default`) sets `region`;
/// tells a profile region from an instance-metadata one for the debug stream.
async fn selected_profile_has_region(settings: &ClientSettings, env: &Env) -> bool {
    let name = non_empty(&settings.profile_name).map(|n| Cow::Owned(n.to_owned()));
    match aws_config::profile::load(&Fs::real(), env, &profile_files(settings), name).await {
        Ok(set) => set
            .get_profile(set.selected_profile())
            .and_then(|profile| profile.get("region"))
            .is_some_and(|region| !region.is_empty()),
        Err(_) => false,
    }
}

/// The region to use and where it came from: the aws-config chain (parameter,
/// environment, profile, instance metadata), then ClientConfig's region; an
/// AuthenticationRegion replaces it for signing.
fn resolve_region(
    settings: &ClientSettings,
    env: &Env,
    chain: Option<&Region>,
    profile_names_region: bool,
) -> Result<(String, &'static str), CoreError> {
    let env_has = |name: &str| env.get(name).is_ok_and(|v| !v.is_empty());
    let (region, source) = match (chain, non_empty(&settings.fallback_region)) {
        (Some(region), _) => {
            let source = if non_empty(&settings.region).is_some() {
                "Parameter"
            } else if env_has("AWS_REGION") || env_has("AWS_DEFAULT_REGION") {
                "Environment"
            } else if profile_names_region {
                "Profile"
            } else {
                "InstanceMetadata"
            };
            (region.as_ref().to_owned(), source)
        }
        (None, Some(fallback)) => (fallback.to_owned(), "ClientConfig"),
        (None, None) => return Err(CoreError::NoRegion),
    };
    let (region, source) = match non_empty(&settings.signing_region) {
        Some(signing) => (signing.to_owned(), "AuthenticationRegion"),
        None => (region, source),
    };
    if !is_region_name(&region) {
        return Err(CoreError::invalid_request(
            "InvalidRegion",
            format!("'{region}' is not a valid region name (expected a name such as eu-west-3)."),
        ));
    }
    Ok((region, source))
}

fn retry_config(settings: &ClientSettings) -> Result<Option<RetryConfig>, CoreError> {
    let base = match settings
        .retry_mode
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("standard") | Some("legacy") => Some(RetryConfig::standard()),
        Some("adaptive") => Some(RetryConfig::adaptive()),
        Some(other) => {
            return Err(CoreError::invalid_request(
                "InvalidRetryMode",
                format!("RetryMode '{other}' is not one of Standard, Adaptive, Legacy."),
            ))
        }
    };
    match settings.max_attempts {
        Some(0) => Err(CoreError::invalid_request(
            "InvalidMaxAttempts",
            "MaxAttempts must be at least 1.",
        )),
        Some(attempts) => Ok(Some(
            base.unwrap_or_else(RetryConfig::standard)
                .with_max_attempts(attempts),
        )),
        None => Ok(base),
    }
}

fn timeout_config(settings: &ClientSettings) -> TimeoutConfig {
    let ms = Duration::from_millis;
    let mut builder = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(
            settings
                .attempt_timeout_ms
                .map(ms)
                .unwrap_or(DEFAULT_ATTEMPT_TIMEOUT),
        );
    if let Some(t) = settings.operation_timeout_ms {
        builder = builder.operation_timeout(ms(t));
    }
    if let Some(t) = settings.read_timeout_ms {
        builder = builder.read_timeout(ms(t));
    }
    builder.build()
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
    fn control_characters_in_header_bound_settings_are_refused_by_name() {
        for (access_key, token) in [
            ("AKVALUE\nID", None),
            ("AKVALUE\u{7f}", None),
            ("AKVALUE", Some("TOKENVALUE\0")),
        ] {
            let settings = ClientSettings {
                access_key: Some(access_key.into()),
                secret_key: Some("secret".into()),
                session_token: token.map(str::to_owned),
                ..Default::default()
            };
            let error = check_header_bound(&settings).unwrap_err();
            assert_eq!(error.code(), "InvalidHeaderValue");
            let message = error.to_string();
            assert!(
                message.starts_with("AccessKey") || message.starts_with("SessionToken"),
                "{message}"
            );
            assert!(!message.contains("VALUE"), "{message}");
        }
        let fine = ClientSettings {
            access_key: Some("AKIDEXAMPLE".into()),
            secret_key: Some("wJalr/K7MDENG+bPxRfiCY".into()),
            ..Default::default()
        };
        assert!(check_header_bound(&fine).is_ok());
    }

    #[test]
    fn kms_goes_to_its_own_endpoint_or_the_local_emulator_never_a_vpc_ssm_endpoint() {
        let with = |endpoint: Option<&str>, extra: &[(&str, &str)]| {
            let settings = ClientSettings {
                endpoint_url: endpoint.map(str::to_owned),
                environment: isolated_env(extra),
                ..Default::default()
            };
            kms_endpoint(&settings, &env_for(settings.environment.as_ref()))
        };
        assert_eq!(
            with(Some("http://127.0.0.1:5061"), &[]).as_deref(),
            Some("http://127.0.0.1:5061")
        );
        assert_eq!(
            with(Some("https://vpce-1.ssm.eu-west-3.vpce.amazonaws.com"), &[]),
            None
        );
        assert_eq!(with(None, &[]), None);
        assert_eq!(
            with(
                Some("https://vpce-1.ssm.eu-west-3.vpce.amazonaws.com"),
                &[("AWS_ENDPOINT_URL_KMS", "https://kms.example")]
            )
            .as_deref(),
            Some("https://kms.example")
        );
        assert_eq!(
            with(None, &[("AWS_ENDPOINT_URL", "http://localhost:9")]).as_deref(),
            Some("http://localhost:9")
        );
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

    #[derive(Debug, Default, Clone)]
    struct CountingProvider(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl ProvideCredentials for CountingProvider {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "s",
                None,
                None,
                "test",
            )))
        }
    }

    #[tokio::test]
    async fn the_checked_credentials_are_handed_to_the_client_once() {
        let counting = CountingProvider::default();
        let checked = CheckedOnce::new(SharedCredentialsProvider::new(counting.clone()));
        let first = checked.provide_credentials().await.unwrap();
        let handed_over = checked.provide_credentials().await.unwrap();
        assert_eq!(first.access_key_id(), "AKID0");
        assert_eq!(
            handed_over.access_key_id(),
            "AKID0",
            "the check's credentials are reused"
        );
        assert_eq!(
            checked.provide_credentials().await.unwrap().access_key_id(),
            "AKID1",
            "later ones are fetched"
        );
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn retry_modes_and_attempts() {
        let mut settings = ClientSettings {
            retry_mode: Some("Adaptive".into()),
            max_attempts: Some(5),
            ..Default::default()
        };
        let retry = retry_config(&settings).unwrap().unwrap();
        assert_eq!(retry.max_attempts(), 5);
        assert_eq!(retry.mode(), aws_config::retry::RetryMode::Adaptive);
        settings.retry_mode = Some("sometimes".into());
        assert_eq!(
            retry_config(&settings).unwrap_err().code(),
            "InvalidRetryMode"
        );
        assert!(retry_config(&ClientSettings::default()).unwrap().is_none());
    }

    #[test]
    fn timeouts_map_to_the_sdk() {
        let settings = ClientSettings {
            attempt_timeout_ms: Some(1500),
            read_timeout_ms: Some(700),
            ..Default::default()
        };
        let timeouts = timeout_config(&settings);
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(timeouts.read_timeout(), Some(Duration::from_millis(700)));
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
    }

    #[test]
    fn every_attempt_has_a_time_limit_by_default() {
        let timeouts = timeout_config(&ClientSettings::default());
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(DEFAULT_ATTEMPT_TIMEOUT)
        );
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), None);
    }
}
