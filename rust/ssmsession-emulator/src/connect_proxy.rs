//! A small HTTP CONNECT proxy on loopback, for tests of clients behind corporate proxies.
//! Every destination name resolves to 127.0.0.1 (made-up names such as
//! `ssm.emulator.test` reach the emulator; nothing can ever leave the machine), every
//! CONNECT is recorded, and basic authentication can be required.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A request head longer than this is refused (431).
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// A client must send its request within this long.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Records kept in memory at most (the log file, when given, has them all).
const MAX_RECORDS: usize = 10_000;

#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    /// Loopback port to listen on; 0 picks one.
    pub port: u16,
    /// Basic authentication the proxy requires: (user, password).
    pub credentials: Option<(String, String)>,
    /// Each record is appended to this file as one JSON line.
    pub log: Option<PathBuf>,
}

/// One request the proxy answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProxyRecord {
    /// `CONNECT` (or what else was asked).
    pub method: String,
    /// `host:port` as the client asked for it.
    pub target: String,
    /// The status the proxy answered with (200, 407, 405, 502 …).
    pub status: u16,
    /// Whether the request carried a Proxy-Authorization header.
    pub sent_credentials: bool,
}

pub struct ConnectProxy {
    url: String,
    records: Arc<Mutex<Vec<ProxyRecord>>>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    config: ProxyConfig,
    records: Arc<Mutex<Vec<ProxyRecord>>>,
}

impl ConnectProxy {
    pub async fn start(config: ProxyConfig) -> std::io::Result<Self> {
        let listener =
            TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port))).await?;
        let local = listener.local_addr()?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            config,
            records: Arc::clone(&records),
        });
        let (shutdown, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        let shared = Arc::clone(&shared);
                        tokio::spawn(async move { serve(client, &shared).await });
                    }
                }
            }
        });
        Ok(Self {
            url: format!("http://{local}"),
            records,
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The requests answered so far, oldest first.
    pub fn records(&self) -> Vec<ProxyRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops accepting (open tunnels end with their connections).
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

async fn serve(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_nodelay(true);
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Ok(Ok(head)) => head,
        Ok(Err(HeadError::TooLong)) => {
            let _ = client
                .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
                .await;
            return;
        }
        _ => return,
    };
    let mut lines = head.split("\r\n");
    let mut request = lines.next().unwrap_or_default().split_whitespace();
    let method = request.next().unwrap_or_default().to_owned();
    let target = request.next().unwrap_or_default().to_owned();
    let authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    let record = |status: u16| ProxyRecord {
        method: method.clone(),
        target: target.clone(),
        status,
        sent_credentials: authorization.is_some(),
    };
    if method != "CONNECT" {
        remember(shared, record(405));
        let _ = client
            .write_all(
                b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n\r\n",
            )
            .await;
        return;
    }
    if let Some((user, password)) = &shared.config.credentials {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if authorization.as_deref() != Some(expected.as_str()) {
            remember(shared, record(407));
            let _ = client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"ssm-emulator\"\r\nContent-Length: 0\r\n\r\n")
                .await;
            return;
        }
    }
    // Every name resolves to loopback: only the port of the target is used.
    let port = target
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse::<u16>().ok());
    let upstream = match port {
        Some(port) => TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.ok(),
        None => None,
    };
    let Some(mut upstream) = upstream else {
        remember(shared, record(502));
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let _ = upstream.set_nodelay(true);
    remember(shared, record(200));
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

fn remember(shared: &Shared, record: ProxyRecord) {
    if let Some(path) = &shared.config.log {
        if let Ok(line) = serde_json::to_string(&record) {
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(file, "{line}");
            }
        }
    }
    let mut records = shared.records.lock().unwrap_or_else(|p| p.into_inner());
    if records.len() < MAX_RECORDS {
        records.push(record);
    }
}

enum HeadError {
    TooLong,
    Closed,
}

/// Reads up to the blank line that ends the request head (byte by byte: nothing after it
/// may be consumed, the tunnel's bytes follow at once).
async fn read_head(client: &mut TcpStream) -> Result<String, HeadError> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD_BYTES {
            return Err(HeadError::TooLong);
        }
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return Err(HeadError::Closed),
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}
