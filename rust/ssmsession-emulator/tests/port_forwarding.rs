//! Port forwarding end to end on loopback: StartSession through the SDK, the native client
//! opens the data channel, listens locally, and the emulator's fake agent connects each
//! forwarded connection to a TCP echo server on 127.0.0.1 — multiplexed and basic, with
//! faults injected, across forced reconnects, and to a refused port.

mod common;

use common::{
    echo_server, forward_configured, forward_document, forward_to, forward_with, open_raw_session,
    settings, start_port_session, Forwarding,
};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use ssmsession_datachannel::driver::SessionEnd;
use ssmsession_datachannel::port::PortMode;
use ssmsession_emulator::{AgentConfig, Emulator, EmulatorConfig, Faults};
use std::collections::BTreeMap;

use ssmsession_core::{ClientCache, PortForwardCall, SessionCall, StartSessionCall};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// How much longer the transfer tests run: `SSMSESSION_SOAK_SCALE` (the soak mode of
/// `build.ps1 -Soak` sets it; 1 in CI).
fn soak_scale() -> usize {
    std::env::var("SSMSESSION_SOAK_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

/// Bytes that differ per connection and position.
fn pattern(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Sends `data` through the forwarded port and checks that the echo comes back intact.
async fn round_trip(address: SocketAddr, data: Vec<u8>) {
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let expected = Sha256::digest(&data);
    let length = data.len();
    let writing = tokio::spawn(async move {
        writer.write_all(&data).await.unwrap();
        writer
    });
    let mut received = vec![0u8; length];
    reader.read_exact(&mut received).await.unwrap();
    assert_eq!(Sha256::digest(&received), expected, "echo differs");
    drop(writing.await.unwrap());
}

async fn stop(forwarding: Forwarding) -> SessionEnd {
    forwarding.forward.stop();
    tokio::time::timeout(Duration::from_secs(20), forwarding.forward.wait())
        .await
        .expect("stops in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_connections_share_one_multiplexed_session() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-0123456789abcdef0", echo, 32 * 1024).await;
    assert_eq!(forwarding.output.mode, PortMode::Multiplexed);
    assert_ne!(forwarding.output.local_port, 0, "a free port was picked");
    let address = forwarding.forward.local_addr;

    let connections: Vec<_> = (0..24)
        .map(|i| tokio::spawn(round_trip(address, pattern(i, 200_000 + i as usize * 997))))
        .collect();
    for connection in connections {
        connection.await.expect("connection echoed intact");
    }
    let stats = forwarding.forward.stats.snapshot();
    assert_eq!(stats.connections_total, 24);
    assert!(stats.bytes_sent >= 24 * 200_000, "{stats:?}");
    assert!(stats.bytes_received >= 24 * 200_000, "{stats:?}");

    // Stopping terminates the session on the service.
    let session_id = forwarding.output.session_id.clone();
    let cache = ClientCache::new();
    let url = forwarding.url.clone();
    assert_eq!(stop(forwarding).await, SessionEnd::Stopped);
    let resumed = ssmsession_core::resume_session(
        &cache,
        SessionCall {
            session_id: Some(session_id),
            client: settings(&url),
        },
    )
    .await;
    assert!(resumed.is_err(), "a terminated session cannot be resumed");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_agents_get_basic_mode_one_connection_at_a_time() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-basicagent0000001", echo, 1024).await;
    assert_eq!(forwarding.output.mode, PortMode::Basic);
    let address = forwarding.forward.local_addr;
    // After the first connection closes, DisconnectToPort makes the agent dial again.
    round_trip(address, pattern(1, 100_000)).await;
    round_trip(address, pattern(2, 50_000)).await;
    assert_eq!(forwarding.forward.stats.snapshot().connections_total, 2);
    assert_eq!(stop(forwarding).await, SessionEnd::Stopped);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_megabytes_arrive_byte_exact_through_loss_duplicates_and_reordering() {
    let config = EmulatorConfig {
        agent: AgentConfig {
            chunk_size: 32 * 1024,
            // Unpaced: tens of megabytes at the real agent's 1 MB/s would take minutes.
            pace: None,
            faults: Faults {
                drop: 0.05,
                duplicate: 0.05,
                reorder: 0.05,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-0123456789abcdef0", echo, 32 * 1024).await;
    let address = forwarding.forward.local_addr;
    tokio::time::timeout(
        Duration::from_secs(240 * soak_scale() as u64),
        round_trip(address, pattern(7, soak_scale() * 50 * 1024 * 1024)),
    )
    .await
    .expect("the transfer finishes");
    let stats = forwarding.forward.stats.snapshot();
    assert!(
        stats.messages_resent > 0,
        "losses were repaired by retransmission: {stats:?}"
    );
    assert!(
        stats.duplicates_received > 0,
        "duplicates were dropped: {stats:?}"
    );
    eprintln!("under faults: {stats:?}");
    assert_eq!(stop(forwarding).await, SessionEnd::Stopped);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_socket_is_resumed_mid_transfer_without_losing_a_byte() {
    let config = EmulatorConfig {
        agent: AgentConfig {
            chunk_size: 32 * 1024,
            // Unpaced: tens of megabytes at the real agent's 1 MB/s would take minutes.
            pace: None,
            faults: Faults {
                close_after: Some(Duration::from_millis(400)),
                pause_every: Some(Duration::from_millis(700)),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-0123456789abcdef0", echo, 32 * 1024).await;
    let address = forwarding.forward.local_addr;
    // Two connections across several forced closes, while the service pauses publication.
    let first = tokio::spawn(round_trip(
        address,
        pattern(11, soak_scale() * 24 * 1024 * 1024),
    ));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let second = tokio::spawn(round_trip(address, pattern(12, 4 * 1024 * 1024)));
    tokio::time::timeout(Duration::from_secs(120 * soak_scale() as u64), async {
        first.await.unwrap();
        second.await.unwrap();
    })
    .await
    .expect("the transfers finish");
    let stats = forwarding.forward.stats.snapshot();
    eprintln!("across forced closes: {stats:?}");
    assert!(stats.reconnects >= 1, "the socket was resumed: {stats:?}");
    assert_eq!(stop(forwarding).await, SessionEnd::Stopped);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_target_port_is_reported_and_the_local_connection_closed() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let nothing = closed_port().await;
    let forwarding = forward_to(emulator.url(), "i-0123456789abcdef0", nothing, 1024).await;
    let mut stream = TcpStream::connect(forwarding.forward.local_addr)
        .await
        .unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
        .await
        .expect("the local connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while forwarding.forward.stats.snapshot().connect_errors == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ConnectToPortError counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stop(forwarding).await, SessionEnd::Stopped);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminating_through_the_api_ends_the_forward_with_channel_closed() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_to(emulator.url(), "i-0123456789abcdef0", echo, 1024).await;
    ssmsession_core::terminate_session(
        &forwarding.cache,
        SessionCall {
            session_id: Some(forwarding.output.session_id.clone()),
            client: settings(&forwarding.url),
        },
    )
    .await
    .expect("TerminateSession");
    let end = tokio::time::timeout(Duration::from_secs(10), forwarding.forward.wait())
        .await
        .expect("the forward ends");
    assert_eq!(
        end,
        SessionEnd::Closed(format!(
            "Exiting session with sessionId: {}.",
            forwarding.output.session_id
        ))
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_that_stops_acknowledging_ends_the_forward_in_bounded_time_and_memory() {
    let config = EmulatorConfig {
        agent: AgentConfig {
            faults: Faults {
                stall_after: Some(Duration::from_millis(400)),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let echo = echo_server().await;
    let forwarding = forward_configured(emulator.url(), "i-0123456789abcdef0", echo, |call| {
        call.stall_timeout_ms = Some(2_000);
    })
    .await;
    // Once the agent is silent, a local application writes as fast as the forward takes
    // its bytes: all of them stay unacknowledged.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stream = TcpStream::connect(forwarding.forward.local_addr)
        .await
        .unwrap();
    let writing = tokio::spawn(async move {
        let (_reader, mut writer) = stream.into_split();
        let block = vec![7u8; 64 * 1024];
        while writer.write_all(&block).await.is_ok() {}
    });
    let started = std::time::Instant::now();
    // Once the window is full nothing more is taken from the application while stalled.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let taken_early = forwarding.forward.stats.bytes.snapshot().0;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let taken_later = forwarding.forward.stats.bytes.snapshot().0;
    let end = tokio::time::timeout(Duration::from_secs(15), forwarding.forward.wait())
        .await
        .expect("the forward gives up by itself");
    let elapsed = started.elapsed();
    writing.abort();
    let taken = forwarding.forward.stats.bytes.snapshot().0;
    eprintln!("stalled: taken {taken_early} then {taken_later} then {taken} bytes; ended after {elapsed:?}: {end:?}");
    match &end {
        SessionEnd::Failed(reason) => assert!(
            reason.contains("did not acknowledge data for 2 s"),
            "{reason}"
        ),
        other => panic!("expected a failure naming the stall, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(8),
        "gave up {elapsed:?} after the stall"
    );
    assert!(taken_early > 0, "the forward took data into its window");
    assert_eq!(
        taken_early, taken_later,
        "nothing more is read from the application while the agent is stalled"
    );
    // The window (2 MiB in flight) plus the hand-off queue (64 messages) and the smux pipe,
    // not what the application offered.
    assert!(taken < 6 * 1024 * 1024, "{taken} bytes buffered");
    emulator.stop().await;
}

/// A minimal HTTP CONNECT proxy on loopback that records the targets it was asked for.
async fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .unwrap_or_default()
                    .to_owned();
                record.lock().unwrap().push(target.clone());
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

/// Loopback is never proxied (as instance metadata is not): a local emulator, a local
/// port forward target or a test endpoint must not depend on the proxy variables a
/// corporate machine sets for everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn loopback_is_never_reached_through_a_proxy() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = echo_server().await;
    let (proxy_port, seen) = connect_proxy().await;
    let mut client = settings(emulator.url());
    let environment = client.environment.as_mut().unwrap();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        environment.insert(name.into(), format!("http://127.0.0.1:{proxy_port}"));
    }
    let forwarding = forward_with(emulator.url(), "i-0123456789abcdef0", echo, 4096, client).await;
    round_trip(forwarding.forward.local_addr, pattern(5, 100_000)).await;
    assert_eq!(stop(forwarding).await, SessionEnd::Stopped);
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    emulator.stop().await;
}

/// A port document without `type: LocalPortForwarding` (AWS-StartSSHSession) runs in basic
/// mode, and the agent ends the session with its one connection (agent-behaviour §7): the
/// forward serves that connection, then stops listening — no later connection is accepted
/// and closed with nothing — and ends when the service closes the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_style_session_serves_one_connection_then_stops_listening() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let echo = common::echo_server().await;
    let cache = ClientCache::new();
    let started = ssmsession_core::start_session(
        &cache,
        StartSessionCall {
            target: Some(common::TARGET.into()),
            document_name: Some("AWS-StartSSHSession".into()),
            parameters: Some(BTreeMap::from([(
                "portNumber".to_owned(),
                vec![echo.to_string()],
            )])),
            reason: None,
            client: common::settings(emulator.url()),
        },
    )
    .await
    .expect("StartSession");
    let call = PortForwardCall {
        session_id: started.session_id.unwrap(),
        stream_url: started.stream_url.unwrap(),
        token_value: started.token_value.unwrap(),
        local_port_number: Some(0),
        client: common::settings(emulator.url()),
        ..Default::default()
    };
    let (forward, _) = ssmsession_core::start_port_forward(&cache, call)
        .await
        .expect("the forward starts");
    let address = forward.local_addr;
    let mut connection = TcpStream::connect(address).await.unwrap();
    connection.write_all(b"hello").await.unwrap();
    let mut echoed = [0u8; 5];
    connection.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"hello");
    drop(connection);
    let end = tokio::time::timeout(Duration::from_secs(20), forward.wait())
        .await
        .expect("the session ends with its connection");
    assert!(matches!(end, SessionEnd::Closed(_)), "{end:?}");
    assert!(
        TcpStream::connect(address).await.is_err(),
        "a second connection must not be accepted"
    );
    emulator.stop().await;
}

/// Basic mode dials the target before anything is pumped, and a target that refuses ends
/// the session with the agent's reason (agent-behaviour §7: basic mode never sends
/// ConnectToPortError).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_basic_mode_a_refused_target_ends_the_session_with_the_reason() {
    let config = EmulatorConfig {
        agent: AgentConfig {
            faults: Faults {
                refuse_ports: true,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let forwarding = forward_to(emulator.url(), "i-basicagent-refused", 9, 1024).await;
    assert_eq!(forwarding.forward.mode, PortMode::Basic);
    let end = tokio::time::timeout(Duration::from_secs(20), forwarding.forward.wait())
        .await
        .expect("the session ends");
    let SessionEnd::Closed(reason) = &end else {
        panic!("{end:?}")
    };
    assert!(reason.contains("unable to connect"), "{reason}");
    assert_eq!(forwarding.forward.stats.snapshot().connect_errors, 0);
    emulator.stop().await;
}

/// The reason a forward's session ended, waited for with a deadline.
async fn closed_reason(forwarding: Forwarding) -> String {
    let end = tokio::time::timeout(Duration::from_secs(20), forwarding.forward.wait())
        .await
        .expect("the session ends");
    match end {
        SessionEnd::Closed(reason) => reason,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_to_instance_metadata_and_the_vpc_resolver_is_refused_as_by_the_agent() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    for host in ["169.254.169.254", "fd00:ec2::254", "169.254.169.253"] {
        let parameters = [
            ("host", host.to_owned()),
            ("portNumber", "80".to_owned()),
            ("localPortNumber", "0".to_owned()),
        ];
        let forwarding = forward_document(
            emulator.url(),
            "i-0123456789abcdef0",
            "AWS-StartPortForwardingSessionToRemoteHost",
            &parameters,
            |_| {},
        )
        .await;
        let reason = closed_reason(forwarding).await;
        assert!(
            reason.contains(host) && reason.contains("not allowed"),
            "{host}: {reason}"
        );
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_document_without_a_port_number_fails_after_the_handshake() {
    let mut config = EmulatorConfig::default();
    config
        .extra_documents
        .push(ssmsession_emulator::documents::ExtraDocument {
            name: "Test-NoPort".into(),
            content: Some(
                serde_json::json!({
                    "schemaVersion": "1.0",
                    "sessionType": "Port",
                    "properties": { "type": "LocalPortForwarding", "portNumber": "" }
                })
                .to_string(),
            ),
        });
    let emulator = Emulator::start(config).await.unwrap();
    let forwarding = forward_document(
        emulator.url(),
        "i-0123456789abcdef0",
        "Test-NoPort",
        &[],
        |_| {},
    )
    .await;
    let reason = closed_reason(forwarding).await;
    assert!(reason.contains("no port number"), "{reason}");
    emulator.stop().await;
}

/// Opens a multiplexed port session as a client reporting `client_version`, then watches
/// what the agent sends: first for `quiet` before the client has said anything, then for
/// `after` once it opened an smux stream (a SYN frame). Returns the Output payloads of each
/// window.
async fn agent_output_around_first_frame(
    client_version: &str,
    quiet: Duration,
    after: Duration,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use ssmsession_datachannel::engine::Payload;
    use ssmsession_datachannel::message::PayloadType;
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let cache = ClientCache::new();
    let port = [("portNumber", closed_port().await.to_string())];
    let started = start_port_session(
        &cache,
        emulator.url(),
        "i-0123456789abcdef0",
        "AWS-StartPortForwardingSession",
        &port,
    )
    .await;
    let opened = open_raw_session(
        &started.stream_url.unwrap(),
        &started.token_value.unwrap(),
        client_version,
    )
    .await;
    let mut engine = opened.engine;
    let mut connection = opened.connection;
    let mut endpoint = opened.endpoint;
    let mut local = opened.local;
    let mut windows = Vec::new();
    for (window, syn) in [(quiet, false), (after, true)] {
        if syn {
            // smux v1 SYN for stream 3, as AWS's plugin opens its first stream.
            let frame = vec![1, 0, 0, 0, 3, 0, 0, 0];
            local.to_agent.send(Payload::output(frame)).await.unwrap();
        }
        let mut outputs = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        loop {
            tokio::select! {
                payload = local.from_agent.recv() => match payload {
                    Some(payload) if payload.payload_type == PayloadType::OUTPUT => outputs.push(payload.data),
                    Some(_) => {}
                    None => break,
                },
                _ = endpoint.pump(&mut connection, &mut engine.outbound, &engine.inbound) => break,
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        windows.push(outputs);
    }
    emulator.stop().await;
    let after = windows.pop().unwrap_or_default();
    (windows.pop().unwrap_or_default(), after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multiplexing_agent_says_nothing_before_the_client_and_keeps_smux_alive_only_for_old_clients(
) {
    // smux v1 NOP (keep-alive): version 1, command 3, no data, stream 0.
    let nop = vec![1u8, 3, 0, 0, 0, 0, 0, 0];
    let quiet = Duration::from_millis(1500);
    let after = Duration::from_millis(1500);
    // A client of 1.2.0.0 (what AWS's plugin built from source reports) gets keep-alive,
    // but only once it has spoken: AWS's plugin fails on agent output that comes before
    // it set up its multiplexer.
    let (before, after_syn) = agent_output_around_first_frame("1.2.0.0", quiet, after).await;
    assert!(before.is_empty(), "the agent spoke first: {before:?}");
    assert!(after_syn.contains(&nop), "no keep-alive: {after_syn:?}");
    // Clients above 1.2.331.0 get none.
    let (before, after_syn) =
        agent_output_around_first_frame(ssmsession_core::CLIENT_VERSION, quiet, after).await;
    assert!(before.is_empty(), "the agent spoke first: {before:?}");
    assert!(!after_syn.contains(&nop), "keep-alive sent: {after_syn:?}");
}
