//! What a client's settings turn into besides credentials: the region and where it came
//! from, the retry and timeout configuration, the KMS endpoint, and the checks that name a
//! bad setting before the SDK fails with an obscure error.

use std::borrow::Cow;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::Region;
use aws_types::os_shim_internal::{Env, Fs};

use crate::credentials::profile_files;
use crate::error::CoreError;
use crate::request::ClientSettings;

/// The behaviour version's connect timeout (3.1 s), restated because a timeout config given
/// to the loader replaces the default one as a whole.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Each attempt's limit unless ClientConfig.Timeout says otherwise: the AWS .NET SDK's
/// (HttpClient's) 100 s. The Rust SDK has none by default, so a server that accepts the
/// connection and never answers would hold the caller forever.
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(100);

pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Refuses settings that would end up in HTTP headers or signatures with characters no
/// header may carry (a line break pasted with a key): a clear error naming the setting,
/// never its value, instead of a failure deep in the SDK.
pub(crate) fn check_header_bound(settings: &ClientSettings) -> Result<(), CoreError> {
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

/// Where KMS calls go: `AWS_ENDPOINT_URL_KMS`, else `AWS_ENDPOINT_URL`, else the SSM
/// endpoint when that is a loopback address (the local emulator serves KMS too), else the
/// regional KMS endpoint. A VPC or other SSM endpoint is never used for KMS.
pub(crate) fn kms_endpoint(settings: &ClientSettings, env: &Env) -> Option<String> {
    let variable = |name: &str| env.get(name).ok().filter(|v| !v.trim().is_empty());
    variable("AWS_ENDPOINT_URL_KMS")
        .or_else(|| variable("AWS_ENDPOINT_URL"))
        .or_else(|| {
            non_empty(&settings.endpoint_url)
                .filter(|url| crate::plain_text::is_loopback_url(url))
                .map(str::to_owned)
        })
}

/// Whether the profile the chain reads (named, `AWS_PROFILE` or `default`) sets `region`;
/// tells a profile region from an instance-metadata one for the debug stream.
pub(crate) async fn selected_profile_has_region(settings: &ClientSettings, env: &Env) -> bool {
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
pub(crate) fn resolve_region(
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

pub(crate) fn retry_config(settings: &ClientSettings) -> Result<Option<RetryConfig>, CoreError> {
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

pub(crate) fn timeout_config(settings: &ClientSettings) -> TimeoutConfig {
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
pub(crate) fn is_region_name(region: &str) -> bool {
    (1..=63).contains(&region.len())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// The SDK accepts any string and fails later with an opaque endpoint-resolution error;
/// check the shape here so the user hears what is wrong with the URL.
pub(crate) fn validate_endpoint(url: &str) -> Result<(), CoreError> {
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
    use crate::environment::{env_for, isolated_env};

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
