//! What the emulator's end-to-end tests share: client settings that reach the emulator on
//! loopback with its keys (and nothing of this machine's AWS setup), and started sessions.
#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;

use ssm_emulator::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use ssmsession_core::{ChannelCall, ClientCache, ClientSettings, StartSessionCall};

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

/// The target the tests start sessions to.
pub const TARGET: &str = "i-0123456789abcdef0";

/// StartSession to [`TARGET`] with `document` (and its `command` parameter); the call that
/// opens the session's channel (its KMS target left for the test to set).
pub async fn started_channel(
    cache: &ClientCache,
    url: &str,
    document: Option<&str>,
    command: Option<&str>,
) -> ChannelCall {
    let parameters =
        command.map(|command| BTreeMap::from([("command".to_owned(), vec![command.to_owned()])]));
    let started = ssmsession_core::start_session(
        cache,
        StartSessionCall {
            target: Some(TARGET.into()),
            document_name: document.map(str::to_owned),
            parameters,
            reason: None,
            client: settings(url),
        },
    )
    .await
    .expect("StartSession");
    ChannelCall {
        session_id: started.session_id.expect("a session id"),
        stream_url: started.stream_url.expect("a stream URL"),
        token_value: started.token_value.expect("a token"),
        client: settings(url),
        ..Default::default()
    }
}
