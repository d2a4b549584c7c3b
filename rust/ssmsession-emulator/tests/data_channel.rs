//! The data channel end to end on loopback: StartSession through the AWS SDK, then the
//! native client opens the returned stream URL (SigV4-signed upgrade), sends
//! OpenDataChannel, and completes the handshake with the emulator's fake agent.

use std::collections::BTreeMap;

use aws_credential_types::Credentials;
use ssmsession_core::{ClientCache, ClientSettings, StartSessionCall, StartSessionOutput};
use ssmsession_datachannel::handshake::{
    respond, HandshakeComplete, HandshakeRequest, SessionKind,
};
use ssmsession_datachannel::message::{MessageType, PayloadType};
use ssmsession_datachannel::payload::{acknowledge, AcknowledgeContent};
use ssmsession_datachannel::session::input_message;
use ssmsession_datachannel::transport::{connect, ChannelConfig, Signing, TransportError};
use ssmsession_emulator::{Emulator, EmulatorConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use uuid::Uuid;

const CLIENT_VERSION: &str = "1.2.764.0";

async fn start_session(url: &str, document: &str) -> StartSessionOutput {
    let mut environment = BTreeMap::new();
    environment.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
    // Only what each document declares: the service refuses other parameters.
    let mut parameters = BTreeMap::new();
    if document.contains("PortForwarding") || document == "AWS-StartSSHSession" {
        parameters.insert("portNumber".to_owned(), vec!["80".to_owned()]);
    }
    if document.contains("PortForwarding") {
        parameters.insert("localPortNumber".to_owned(), vec!["8080".to_owned()]);
    }
    let call = StartSessionCall {
        target: Some("i-064578e5e7454488f".into()),
        document_name: Some(document.into()),
        parameters: (!parameters.is_empty()).then_some(parameters),
        reason: None,
        client: ClientSettings {
            region: Some("eu-west-3".into()),
            endpoint_url: Some(url.into()),
            access_key: Some(DEFAULT_ACCESS_KEY.into()),
            secret_key: Some(DEFAULT_SECRET_KEY.into()),
            environment: Some(environment),
            max_attempts: Some(1),
            ..Default::default()
        },
    };
    ssmsession_core::start_session(&ClientCache::new(), call)
        .await
        .expect("StartSession")
}

fn channel(session: &StartSessionOutput, secret: &str) -> ChannelConfig {
    ChannelConfig {
        stream_url: session.stream_url.clone().unwrap(),
        token_value: session.token_value.clone().unwrap(),
        client_id: Uuid::new_v4(),
        client_version: CLIENT_VERSION.into(),
        signing: Some(Signing {
            credentials: Credentials::new(DEFAULT_ACCESS_KEY, secret, None, None, "test"),
            region: "eu-west-3".into(),
        }),
        network: Default::default(),
        keepalive: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_session_completes_the_handshake_with_the_fake_agent() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let session = start_session(emulator.url(), "AWS-StartPortForwardingSession").await;
    let mut connection = connect(&channel(&session, DEFAULT_SECRET_KEY))
        .await
        .expect("signed upgrade accepted");

    // The agent opens with HandshakeRequest: sequence 0, SYN, PayloadType 5.
    let request = connection.recv().await.unwrap().expect("HandshakeRequest");
    assert_eq!(request.validate(), Ok(()));
    let request = request.message;
    assert_eq!(request.message_type, MessageType::OutputStreamData);
    assert_eq!(
        (request.sequence_number, request.flags, request.payload_type),
        (0, 1, PayloadType::HANDSHAKE_REQUEST)
    );
    let handshake: HandshakeRequest = serde_json::from_slice(&request.payload).unwrap();
    assert_eq!(
        handshake.agent_version,
        ssmsession_emulator::agent::AGENT_VERSION
    );

    // Ack first, then answer.
    connection.send(&acknowledge(&request, 1)).await.unwrap();
    let outcome = respond(&handshake, CLIENT_VERSION);
    match &outcome.session {
        Some(SessionKind::Port { properties }) => {
            assert_eq!(properties["type"], "LocalPortForwarding");
            assert_eq!(properties["portNumber"], "80");
        }
        other => panic!("expected a port session, got {other:?}"),
    }
    let response = serde_json::to_vec(&outcome.response).unwrap();
    connection
        .send(&input_message(0, PayloadType::HANDSHAKE_RESPONSE, response))
        .await
        .unwrap();

    // The agent acknowledges sequence 0 and completes the handshake as its sequence 1.
    let mut acknowledged = None;
    let mut complete = None;
    while complete.is_none() {
        let frame = connection
            .recv()
            .await
            .unwrap()
            .expect("agent keeps the channel open");
        assert_eq!(frame.validate(), Ok(()));
        match frame.message.message_type {
            MessageType::Acknowledge => {
                let content: AcknowledgeContent =
                    serde_json::from_slice(&frame.message.payload).unwrap();
                acknowledged = Some(content.acknowledged_message_sequence_number);
            }
            MessageType::OutputStreamData => {
                assert_eq!(frame.message.sequence_number, 1);
                assert_eq!(frame.message.payload_type, PayloadType::HANDSHAKE_COMPLETE);
                complete = Some(
                    serde_json::from_slice::<HandshakeComplete>(&frame.message.payload).unwrap(),
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acknowledged, Some(0));
    connection.close();
    emulator.stop().await;
}

/// An unsigned upgrade (AWS's plugin before 1.2.764.0 never signs; this client signs only
/// when credentials resolve) is accepted and the session opens; the token authenticates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_upgrade_still_opens_the_session() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let session = start_session(emulator.url(), "AWS-StartPortForwardingSession").await;
    let mut config = channel(&session, DEFAULT_SECRET_KEY);
    config.signing = None;
    let opened =
        ssmsession_datachannel::session::open_session(&config, std::time::Duration::from_secs(20))
            .await
            .expect("the handshake completes unsigned");
    assert!(matches!(opened.kind, SessionKind::Port { .. }));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_closes_the_channel() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let session = start_session(emulator.url(), "AWS-StartSSHSession").await;
    let mut config = channel(&session, DEFAULT_SECRET_KEY);
    config.token_value = "not-the-token".into();
    let mut connection = connect(&config).await.unwrap();
    assert!(
        connection.recv().await.unwrap().is_none(),
        "closed without a handshake"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_signed_with_the_wrong_secret_is_refused() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let session = start_session(emulator.url(), "AWS-StartSSHSession").await;
    let error = connect(&channel(&session, "wrong-secret"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&error, TransportError::WebSocket(tokio_tungstenite_error) if tokio_tungstenite_error.to_string().contains("403")),
        "{error}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_session_runs_the_handshake_with_delivery_rules_in_force() {
    use ssmsession_datachannel::session::open_session;
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();

    let port = start_session(emulator.url(), "AWS-StartPortForwardingSession").await;
    let opened = open_session(
        &channel(&port, DEFAULT_SECRET_KEY),
        std::time::Duration::from_secs(10),
    )
    .await
    .expect("handshake completes");
    assert!(
        matches!(opened.kind, SessionKind::Port { .. }),
        "{:?}",
        opened.kind
    );
    assert_eq!(
        opened.agent_version.to_string(),
        ssmsession_emulator::agent::AGENT_VERSION
    );
    assert!(
        opened.endpoint.unacknowledged() == 0,
        "the HandshakeResponse was acknowledged"
    );
    assert_eq!(
        opened.endpoint.next_sequence(),
        1,
        "the HandshakeResponse took sequence 0"
    );
    assert_eq!(
        opened.endpoint.expected(),
        2,
        "HandshakeRequest and HandshakeComplete were delivered"
    );
    opened.connection.close();

    let shell = start_session(emulator.url(), "SSM-SessionManagerRunShell").await;
    let opened = open_session(
        &channel(&shell, DEFAULT_SECRET_KEY),
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(
        matches!(opened.kind, SessionKind::Shell { ref session_type, .. } if session_type == "Standard_Stream")
    );
    opened.connection.close();

    let mut refused = channel(&shell, DEFAULT_SECRET_KEY);
    refused.token_value = "stale-token".into();
    let error = open_session(&refused, std::time::Duration::from_secs(10))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(
            error,
            ssmsession_datachannel::session::SessionError::ClosedDuringHandshake
        ),
        "{error}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_ends_the_session_for_good() {
    use ssmsession_datachannel::session::open_session;
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let session = start_session(emulator.url(), "AWS-StartPortForwardingSession").await;
    let config = channel(&session, DEFAULT_SECRET_KEY);
    let opened = open_session(&config, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    opened
        .terminate(std::time::Duration::from_secs(10))
        .await
        .expect("channel_closed arrives");

    // The session is over: its stream URL no longer opens.
    let error = connect(&config)
        .await
        .err()
        .expect("no data channel for an ended session");
    assert!(error.to_string().contains("404"), "{error}");
    emulator.stop().await;
}
