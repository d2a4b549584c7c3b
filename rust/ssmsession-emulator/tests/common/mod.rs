//! What the emulator's end-to-end tests share: client settings that reach the emulator on
//! loopback with its keys (and nothing of this machine's AWS setup), and started sessions.
#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::time::Duration;

use ssmsession_datachannel::session::{open_session, OpenedSession};
use ssmsession_datachannel::transport::ChannelConfig;

use ssmsession_core::{
    ChannelCall, ClientCache, ClientSettings, PortForward, PortForwardCall, PortForwardOutput,
    StartSessionCall, StartSessionOutput,
};
use ssmsession_emulator::documents::ExtraDocument;
use ssmsession_emulator::{EmulatorConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use tokio::net::TcpListener;

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

/// The name of the separate-output command document [`with_separate_output`] adds.
pub const SEPARATE_OUTPUT_DOCUMENT: &str = "Test-SeparateOutputCommand";

/// `config` serving a NonInteractiveCommands document with `separateOutputStream: true`
/// (AWS's own `AWS-StartNonInteractiveCommand` has none), as a custom document would.
pub fn with_separate_output(mut config: EmulatorConfig) -> EmulatorConfig {
    config.extra_documents.push(ExtraDocument::command(
        SEPARATE_OUTPUT_DOCUMENT,
        serde_json::json!({ "separateOutputStream": true }),
    ));
    config
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
    started_channel_to(cache, url, TARGET, document, command).await
}

/// [`started_channel`] to another target (the emulator's fault and hostile targets).
pub async fn started_channel_to(
    cache: &ClientCache,
    url: &str,
    target: &str,
    document: Option<&str>,
    command: Option<&str>,
) -> ChannelCall {
    let parameters =
        command.map(|command| BTreeMap::from([("command".to_owned(), vec![command.to_owned()])]));
    let started = ssmsession_core::start_session(
        cache,
        StartSessionCall {
            target: Some(target.into()),
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

pub struct Forwarding {
    pub cache: ClientCache,
    pub url: String,
    pub forward: PortForward,
    pub output: PortForwardOutput,
}

pub async fn forward_to(url: &str, target: &str, port: u16, chunk_size: usize) -> Forwarding {
    forward_with(url, target, port, chunk_size, settings(url)).await
}

pub async fn forward_with(
    url: &str,
    target: &str,
    port: u16,
    chunk_size: usize,
    client: ClientSettings,
) -> Forwarding {
    forward_configured(url, target, port, |call| {
        call.chunk_size = Some(chunk_size);
        call.client = client;
    })
    .await
}

/// Starts a port forwarding session to `target` (forwarding to 127.0.0.1:`port`) and
/// forwards it locally, with the call adjusted by `configure`.
pub async fn forward_configured(
    url: &str,
    target: &str,
    port: u16,
    configure: impl FnOnce(&mut PortForwardCall),
) -> Forwarding {
    let parameters = [
        ("portNumber", port.to_string()),
        ("localPortNumber", "0".into()),
    ];
    forward_document(
        url,
        target,
        "AWS-StartPortForwardingSession",
        &parameters,
        configure,
    )
    .await
}

/// StartSession to `target` with a port `document` and its `parameters`.
pub async fn start_port_session(
    cache: &ClientCache,
    url: &str,
    target: &str,
    document: &str,
    parameters: &[(&str, String)],
) -> StartSessionOutput {
    let parameters = parameters
        .iter()
        .map(|(name, value)| ((*name).to_owned(), vec![value.clone()]))
        .collect();
    ssmsession_core::start_session(
        cache,
        StartSessionCall {
            target: Some(target.into()),
            document_name: Some(document.into()),
            parameters: Some(parameters),
            reason: None,
            client: settings(url),
        },
    )
    .await
    .expect("StartSession")
}

/// Opens a started session's channel with the data-channel library alone, as a client
/// reporting `client_version`, for tests that drive the engine themselves.
pub async fn open_raw_session(
    stream_url: &str,
    token_value: &str,
    client_version: &str,
) -> OpenedSession {
    open_session(
        &ChannelConfig {
            stream_url: stream_url.to_owned(),
            token_value: token_value.to_owned(),
            client_id: uuid::Uuid::new_v4(),
            client_version: client_version.to_owned(),
            signing: None,
            network: Default::default(),
            keepalive: None,
        },
        Duration::from_secs(20),
    )
    .await
    .expect("the session opens")
}

/// Starts a session to `target` with a port `document` and its `parameters`, and forwards
/// it locally, with the call adjusted by `configure`.
pub async fn forward_document(
    url: &str,
    target: &str,
    document: &str,
    parameters: &[(&str, String)],
    configure: impl FnOnce(&mut PortForwardCall),
) -> Forwarding {
    let cache = ClientCache::new();
    let started = start_port_session(&cache, url, target, document, parameters).await;
    let mut call = PortForwardCall {
        session_id: started.session_id.unwrap(),
        stream_url: started.stream_url.unwrap(),
        token_value: started.token_value.unwrap(),
        client: settings(url),
        ..Default::default()
    };
    configure(&mut call);
    let (forward, output) = ssmsession_core::start_port_forward(&cache, call)
        .await
        .expect("port forward starts");
    Forwarding {
        cache,
        url: url.to_owned(),
        forward,
        output,
    }
}

/// A TCP echo server on 127.0.0.1; returns its port.
pub async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = stream.into_split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    port
}
