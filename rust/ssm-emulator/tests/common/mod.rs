//! What the emulator's end-to-end tests share: client settings that reach the emulator on
//! loopback with its keys, and nothing of this machine's AWS setup.

use std::collections::BTreeMap;

use ssm_emulator::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use ssmsession_core::ClientSettings;

/// The emulator at `url`, its default keys, one attempt per call, no instance metadata.
pub fn settings(url: &str) -> ClientSettings {
    let mut environment = BTreeMap::new();
    environment.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
    ClientSettings {
        region: Some("eu-west-3".into()),
        endpoint_url: Some(url.into()),
        access_key: Some(DEFAULT_ACCESS_KEY.into()),
        secret_key: Some(DEFAULT_SECRET_KEY.into()),
        environment: Some(environment),
        max_attempts: Some(1),
        ..Default::default()
    }
}
