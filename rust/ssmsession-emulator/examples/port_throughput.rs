//! Port-forwarding throughput and latency through the emulator on loopback, against the
//! plain TCP copy over loopback measured in the same run.
//!
//! `cargo run --release -p ssmsession-emulator --example port_throughput [-- <scale>]`
//!
//! Each upload row sends bytes one way through a forwarded port to a counting sink on
//! 127.0.0.1 (which answers with the count at EOF) and reports MB/s; each download row
//! reads what a source on 127.0.0.1 sends through the forward; the latency rows time 1-byte
//! request/response round trips. The client and the fake agent use the same chunk size.
//! Every forwarded row names the agent's pacing: `agent fast` (no pause: what the client
//! can do) or `agent real` (AWS's agent: 1 KiB messages, 1 ms apart).
//! CPU is the process's user+system time per MB (client and emulator share the process),
//! read from /proc on Linux. `scale` (default 1.0) multiplies the transfer sizes; an
//! optional second argument runs only the forwarded rows whose name contains it (for
//! profiling one row, e.g. `perf record ... port_throughput 1 32`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ssmsession_core::{ClientCache, ClientSettings, PortForwardCall, StartSessionCall};
use ssmsession_emulator::{
    AgentConfig, Emulator, EmulatorConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MB: f64 = 1024.0 * 1024.0;

/// Counts what arrives until EOF and answers with the count; answers 1-byte pings at once.
async fn sink_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 256 * 1024];
                let mut total: u64 = 0;
                loop {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(1) if buffer[0] == b'?' => {
                            if stream.write_all(b"!").await.is_err() {
                                return;
                            }
                        }
                        Ok(n) => total += n as u64,
                    }
                }
                let _ = stream.write_all(&total.to_be_bytes()).await;
            });
        }
    });
    port
}

/// A plain TCP relay on 127.0.0.1 to `upstream`: what a forwarded connection costs with
/// no protocol at all (same buffer size as the forwarder).
async fn relay_server(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let _ = client.set_nodelay(true);
            tokio::spawn(async move {
                let mut server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                let _ = server.set_nodelay(true);
                ssmsession_datachannel::bridge::copy_stream(&mut client, &mut server).await;
            });
        }
    });
    port
}

/// Sends `bytes` to `port` and waits until the sink has counted them; returns seconds.
async fn one_way(port: u16, bytes: u64) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = stream.set_nodelay(true);
    let block = vec![0x5au8; 256 * 1024];
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(block.len() as u64) as usize;
        stream.write_all(&block[..n]).await.unwrap();
        sent += n as u64;
    }
    stream.shutdown().await.unwrap();
    let mut count = [0u8; 8];
    stream.read_exact(&mut count).await.unwrap();
    assert_eq!(u64::from_be_bytes(count), bytes, "every byte arrived");
    started.elapsed().as_secs_f64()
}

/// Median round trip of a 1-byte request and its 1-byte answer, in microseconds.
async fn round_trip_us(port: u16, samples: usize) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = stream.set_nodelay(true);
    let mut answer = [0u8; 1];
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        stream.write_all(b"?").await.unwrap();
        stream.read_exact(&mut answer).await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// User + system CPU seconds of this process (Linux /proc), if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn settings(url: &str) -> ClientSettings {
    let mut environment = BTreeMap::new();
    environment.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
    ClientSettings {
        region: Some("eu-west-3".into()),
        endpoint_url: Some(url.into()),
        access_key: Some(DEFAULT_ACCESS_KEY.into()),
        secret_key: Some(DEFAULT_SECRET_KEY.into()),
        environment: Some(environment),
        ..Default::default()
    }
}

struct Row {
    name: String,
    bytes: u64,
    seconds: f64,
    cpu_per_mb_ms: Option<f64>,
}

/// Writes `bytes` to every connection, then closes it.
async fn source_server(bytes: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let block = vec![0xa5u8; 256 * 1024];
                let mut sent = 0u64;
                while sent < bytes {
                    let n = (bytes - sent).min(block.len() as u64) as usize;
                    if stream.write_all(&block[..n]).await.is_err() {
                        return;
                    }
                    sent += n as u64;
                }
            });
        }
    });
    port
}

/// Reads from `port` until EOF; returns the bytes and the seconds.
async fn read_all_from(port: u16) -> (u64, f64) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = stream.set_nodelay(true);
    let mut buffer = vec![0u8; 256 * 1024];
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    (total, started.elapsed().as_secs_f64())
}

/// The agent's pace: AWS's 1 ms after each message, or none.
fn agent_pace(real: bool) -> Option<Duration> {
    real.then_some(ssmsession_emulator::REAL_AGENT_PACE)
}

/// A forwarded session to `port`, with the agent sending `chunk`-byte messages at its pace.
async fn forward_session(
    chunk: usize,
    pace_us: u64,
    agent_real: bool,
    port: u16,
) -> (Emulator, ssmsession_core::PortForward) {
    let config = EmulatorConfig {
        agent: AgentConfig {
            chunk_size: chunk,
            pace: agent_pace(agent_real),
            ..Default::default()
        },
        ..Default::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    let cache = ClientCache::new();
    let mut parameters = BTreeMap::new();
    parameters.insert("portNumber".to_owned(), vec![port.to_string()]);
    parameters.insert("localPortNumber".to_owned(), vec!["0".to_owned()]);
    let started = ssmsession_core::start_session(
        &cache,
        StartSessionCall {
            target: Some("i-0123456789abcdef0".into()),
            document_name: Some("AWS-StartPortForwardingSession".into()),
            parameters: Some(parameters),
            reason: None,
            client: settings(emulator.url()),
        },
    )
    .await
    .unwrap();
    let (forward, _) = ssmsession_core::start_port_forward(
        &cache,
        PortForwardCall {
            session_id: started.session_id.unwrap(),
            stream_url: started.stream_url.unwrap(),
            token_value: started.token_value.unwrap(),
            chunk_size: Some(chunk),
            pace_microseconds: Some(pace_us),
            client: settings(emulator.url()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (emulator, forward)
}

/// How long the forward takes to end, at most.
const STOP_WAIT: Duration = Duration::from_secs(10);

async fn forwarded_row(
    name: &str,
    chunk: usize,
    pace_us: u64,
    agent_real: bool,
    bytes: u64,
    sink: u16,
) -> (Row, f64) {
    let (emulator, forward) = forward_session(chunk, pace_us, agent_real, sink).await;
    let port = forward.local_addr.port();
    let latency = round_trip_us(port, 200).await;
    let cpu_before = cpu_seconds();
    let seconds = one_way(port, bytes).await;
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    if std::env::var_os("PORT_THROUGHPUT_STATS").is_some() {
        eprintln!("{name}: {:?}", forward.stats.snapshot());
    }
    forward.stop();
    let _ = tokio::time::timeout(STOP_WAIT, forward.wait()).await;
    emulator.stop().await;
    let row = Row {
        name: name.to_owned(),
        bytes,
        seconds,
        cpu_per_mb_ms: cpu.map(|c| c * 1000.0 / (bytes as f64 / MB)),
    };
    (row, latency)
}

/// A download through the forward: the agent reads the source in `chunk`-byte messages.
async fn downloaded_row(name: &str, chunk: usize, agent_real: bool, bytes: u64) -> Row {
    let source = source_server(bytes).await;
    let (emulator, forward) = forward_session(chunk, 0, agent_real, source).await;
    let cpu_before = cpu_seconds();
    let (received, seconds) = read_all_from(forward.local_addr.port()).await;
    assert_eq!(received, bytes, "{name}: every byte arrived");
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    forward.stop();
    let _ = tokio::time::timeout(STOP_WAIT, forward.wait()).await;
    emulator.stop().await;
    Row {
        name: name.to_owned(),
        bytes,
        seconds,
        cpu_per_mb_ms: cpu.map(|c| c * 1000.0 / (bytes as f64 / MB)),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let size = |megabytes: f64| ((megabytes * scale).max(0.25) * MB) as u64;
    let only = std::env::args().nth(2);
    let sink = sink_server().await;

    let direct_latency = round_trip_us(sink, 200).await;
    let cpu_before = cpu_seconds();
    let direct_bytes = size(1024.0);
    let direct_seconds = one_way(sink, direct_bytes).await;
    let direct_cpu = cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let mut rows = vec![Row {
        name: "plain TCP over loopback (limit)".into(),
        bytes: direct_bytes,
        seconds: direct_seconds,
        cpu_per_mb_ms: direct_cpu.map(|c| c * 1000.0 / (direct_bytes as f64 / MB)),
    }];
    // A forwarded byte crosses loopback three times (local client -> forwarder -> agent ->
    // target), so two plain relays give the limit of that path with no protocol work.
    let relayed = relay_server(relay_server(sink).await).await;
    let cpu_before = cpu_seconds();
    let relay_bytes = size(256.0);
    let relay_seconds = one_way(relayed, relay_bytes).await;
    let relay_cpu = cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    rows.push(Row {
        name: "plain TCP through two relays (3 hops)".into(),
        bytes: relay_bytes,
        seconds: relay_seconds,
        cpu_per_mb_ms: relay_cpu.map(|c| c * 1000.0 / (relay_bytes as f64 / MB)),
    });
    let mut latencies = Vec::new();
    for (name, chunk, pace, agent_real, megabytes) in [
        (
            "up, 1 KiB paced 1 ms (plugin), agent fast",
            1024,
            1000,
            false,
            2.0,
        ),
        // The service budget (~1000 messages/s) spent on larger messages.
        (
            "up, 32 KiB paced 1 ms, agent fast",
            32 * 1024,
            1000,
            false,
            16.0,
        ),
        ("up, 1 KiB unpaced, agent fast", 1024, 0, false, 32.0),
        ("up, 32 KiB unpaced, agent fast", 32 * 1024, 0, false, 256.0),
        // AWS's agent: its acknowledgements and the echo's answer as it paces them.
        ("up, 32 KiB unpaced, agent real", 32 * 1024, 0, true, 256.0),
    ] {
        if only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let (row, latency) =
            forwarded_row(name, chunk, pace, agent_real, size(megabytes), sink).await;
        latencies.push((name, latency));
        rows.push(row);
    }
    for (name, chunk, agent_real, megabytes) in [
        ("down, agent real (1 KiB, 1 ms)", 1024, true, 4.0),
        ("down, agent fast, 1 KiB", 1024, false, 32.0),
        ("down, agent fast, 32 KiB", 32 * 1024, false, 256.0),
    ] {
        if only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        rows.push(downloaded_row(name, chunk, agent_real, size(megabytes)).await);
    }

    let limit = rows[0].bytes as f64 / MB / rows[0].seconds;
    println!(
        "{:<46} {:>10} {:>10} {:>9} {:>12}",
        "row", "MB", "MB/s", "% limit", "CPU ms/MB"
    );
    for row in &rows {
        let rate = row.bytes as f64 / MB / row.seconds;
        println!(
            "{:<46} {:>10.1} {:>10.1} {:>8.1}% {:>12}",
            row.name,
            row.bytes as f64 / MB,
            rate,
            100.0 * rate / limit,
            row.cpu_per_mb_ms
                .map(|c| format!("{c:.2}"))
                .unwrap_or_else(|| "n/a".into())
        );
    }
    println!();
    println!("round trip of 1 byte, median of 200: direct {direct_latency:.0} µs");
    for (name, latency) in latencies {
        println!(
            "  {name}: {latency:.0} µs (+{:.0} µs)",
            latency - direct_latency
        );
    }
}
