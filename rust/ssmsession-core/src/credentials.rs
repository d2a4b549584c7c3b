//! Credentials of a client: a named profile must exist, the credentials fetched to check
//! that they resolve are handed to the client once, and where they came from.

use std::borrow::Cow;
use std::sync::Mutex;

use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_types::os_shim_internal::{Env, Fs};

use crate::client_settings::non_empty;
use crate::error::{describe_chain, CoreError};
use crate::request::ClientSettings;

#[allow(deprecated)] // the loader still takes ProfileFiles, an alias of EnvConfigFiles
pub(crate) fn profile_files(
    settings: &ClientSettings,
) -> aws_config::profile::profile_file::ProfileFiles {
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
pub(crate) async fn check_profile_exists(
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

/// Wraps the resolved credentials provider so that the credentials fetched to check that
/// they resolve are also the ones the client's identity cache starts with: one fetch (one
/// STS or SSO call) instead of two. Later resolutions, e.g. after expiry, go to the
/// wrapped provider.
#[derive(Debug)]
pub(crate) struct CheckedOnce {
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
    pub(crate) fn new(inner: SharedCredentialsProvider) -> Self {
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

/// Credentials from `provider` now, or why there are none.
pub(crate) async fn fetch(provider: &SharedCredentialsProvider) -> Result<Credentials, CoreError> {
    provider
        .provide_credentials()
        .await
        .map_err(|e| CoreError::NoCredentials {
            detail: Some(describe_chain(&e)),
        })
}

/// Which provider produced `credentials`, from the feature markers the SDK's providers
/// attach (most specific first: an SSO profile also carries the profile marker).
pub(crate) fn credential_source(credentials: &Credentials) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
