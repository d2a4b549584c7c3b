//! The network configuration of a client, from its settings: the ClientConfig proxy when
//! given, else the proxy variables of the caller's environment snapshot; the trusted roots
//! from `AWS_CA_BUNDLE` (else the profile's `ca_bundle`), `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`. Read from the snapshot because on Unix `$env:` changes made inside
//! pwsh never reach the native process environment.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use aws_types::os_shim_internal::{Env, Fs};
use ssmsession_datachannel::network::{
    ExplicitProxy, NetworkConfig, ProxyPlan, TrustRoots, TrustSources,
};

#[allow(deprecated)]
// aws_config::profile::load takes ProfileFiles, an alias of EnvConfigFiles
use aws_config::profile::profile_file::ProfileFiles;

use crate::error::CoreError;
use crate::request::ClientSettings;

/// Builds the network configuration; a proxy or CA setting that cannot be used is an
/// `InvalidRequest` naming the setting.
#[allow(deprecated)] // ProfileFiles: the type aws_config::profile::load takes
pub(crate) async fn network_for(
    settings: &ClientSettings,
    env: &Env,
    profile_files: &ProfileFiles,
) -> Result<NetworkConfig, CoreError> {
    let proxies = proxy_plan(settings, env)
        .map_err(|message| CoreError::invalid_request("InvalidProxySetting", message))?;
    let sources = trust_sources(settings, env, profile_files).await;
    let trust = TrustRoots::load(&sources)
        .map_err(|message| CoreError::invalid_request("InvalidCaBundle", message))?;
    Ok(NetworkConfig {
        proxies,
        trust: Arc::new(trust),
    })
}

fn proxy_plan(settings: &ClientSettings, env: &Env) -> Result<ProxyPlan, String> {
    let host = settings
        .proxy_host
        .as_deref()
        .filter(|h| !h.trim().is_empty());
    match host {
        Some(host) => ProxyPlan::explicit(&ExplicitProxy {
            host: host.to_owned(),
            port: settings.proxy_port.unwrap_or(0),
            user: settings.proxy_user.clone(),
            password: settings.proxy_password.clone(),
            bypass_list: settings.proxy_bypass_list.clone().unwrap_or_default(),
            bypass_on_local: settings.proxy_bypass_on_local.unwrap_or(false),
        }),
        None => {
            let credentials_only = settings.proxy_user.is_some()
                || settings.proxy_port.is_some()
                || settings
                    .proxy_bypass_list
                    .as_ref()
                    .is_some_and(|l| !l.is_empty())
                || settings.proxy_bypass_on_local == Some(true);
            if credentials_only {
                return Err("ClientConfig.ProxyPort, ProxyCredentials, ProxyBypassList and ProxyBypassOnLocal need ClientConfig.ProxyHost.".to_owned());
            }
            ProxyPlan::from_environment(|name| env.get(name).ok())
        }
    }
}

#[allow(deprecated)]
async fn trust_sources(
    settings: &ClientSettings,
    env: &Env,
    profile_files: &ProfileFiles,
) -> TrustSources {
    let variable = |name: &str| env.get(name).ok().filter(|v| !v.trim().is_empty());
    let bundle = match variable("AWS_CA_BUNDLE") {
        Some(path) => Some(("AWS_CA_BUNDLE".to_owned(), expand_home(&path, env))),
        None => profile_ca_bundle(settings, env, profile_files)
            .await
            .map(|path| ("profile ca_bundle".to_owned(), expand_home(&path, env))),
    };
    // The system store already honours the process's own SSL_CERT_FILE/SSL_CERT_DIR; only
    // values the caller set since (with $env: in pwsh) are added, not the same files twice.
    let changed = |name: &str| {
        variable(name).filter(|value| std::env::var(name).ok().as_deref() != Some(value.as_str()))
    };
    TrustSources {
        bundle,
        cert_file: changed("SSL_CERT_FILE").map(PathBuf::from),
        cert_dir: changed("SSL_CERT_DIR"),
    }
}

/// `~/x` (or `~\\x`) under the caller's home folder, as profile files often write paths.
fn expand_home(path: &str, env: &Env) -> PathBuf {
    let rest = path.strip_prefix("~/").or_else(|| path.strip_prefix("~\\"));
    let home = env
        .get("HOME")
        .or_else(|_| env.get("USERPROFILE"))
        .ok()
        .filter(|h| !h.is_empty());
    match (rest, home) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The selected profile's `ca_bundle` (named profile, `AWS_PROFILE`, or `default`).
#[allow(deprecated)]
async fn profile_ca_bundle(
    settings: &ClientSettings,
    env: &Env,
    profile_files: &ProfileFiles,
) -> Option<String> {
    let name = settings
        .profile_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| Cow::Owned(n.to_owned()));
    let set = aws_config::profile::load(&Fs::real(), env, profile_files, name)
        .await
        .ok()?;
    set.get_profile(set.selected_profile())?
        .get("ca_bundle")
        .filter(|path| !path.trim().is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_leading_tilde_is_the_callers_home() {
        let env = Env::from(HashMap::from([(
            "HOME".to_owned(),
            "/home/alice".to_owned(),
        )]));
        assert_eq!(
            expand_home("~/ca.pem", &env),
            PathBuf::from("/home/alice/ca.pem")
        );
        assert_eq!(
            expand_home("/etc/ca.pem", &env),
            PathBuf::from("/etc/ca.pem")
        );
        assert_eq!(
            expand_home("~bob/ca.pem", &env),
            PathBuf::from("~bob/ca.pem")
        );
        let homeless = Env::from(HashMap::<String, String>::new());
        assert_eq!(
            expand_home("~/ca.pem", &homeless),
            PathBuf::from("~/ca.pem")
        );
    }
}
