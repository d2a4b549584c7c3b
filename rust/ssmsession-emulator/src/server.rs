//! Sockets and lifecycle: bind loopback, serve until stopped; in the caller's runtime
//! ([`Emulator`]) or on a thread of its own for synchronous tests ([`BackgroundEmulator`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::EmulatorConfig;
use crate::credential_endpoints as credentials;
use crate::issued::IssuedCredentials;
use crate::json_api;
use crate::sessions::SessionStore;

pub struct AppState {
    pub config: EmulatorConfig,
    pub sessions: SessionStore,
    pub issued: IssuedCredentials,
    pub stream_base: String,
    pub agents: crate::agent::AgentRegistry,
    /// Requests seen per flaky fault target (see [`crate::api_faults`]).
    pub flaky: crate::api_faults::FlakyCounts,
    /// The local KMS's master key (see [`crate::kms`]).
    pub kms: crate::kms::KmsKeys,
    /// The session documents (see [`crate::documents`]).
    pub documents: crate::documents::DocumentStore,
    /// API calls being answered (see [`crate::in_flight`]).
    pub in_flight: crate::in_flight::InFlight,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the emulator binds loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Document(String),
}

/// A running emulator inside the caller's tokio runtime.
pub struct Emulator {
    url: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Emulator {
    pub async fn start(config: EmulatorConfig) -> Result<Self, StartError> {
        let addr = config.listen;
        if !addr.ip().is_loopback() {
            return Err(StartError::NotLoopback(addr));
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let (scheme, host) = match &config.tls {
            Some(identity) => (("https", "wss"), identity.host_name().to_owned()),
            None => (("http", "ws"), local.ip().to_string()),
        };
        let authority = format!("{host}:{}", local.port());
        let listener = match &config.tls {
            Some(identity) => Listening::Tls(
                crate::tls::TlsListener::new(listener, identity).map_err(StartError::Document)?,
            ),
            None => Listening::Plain(listener),
        };
        let issued = IssuedCredentials::with_lifetime(config.credential_lifetime);
        let documents =
            crate::documents::DocumentStore::new(&config.extra_documents, &config.account_id)
                .map_err(StartError::Document)?;
        let state = Arc::new(AppState {
            documents,
            config,
            sessions: SessionStore::default(),
            issued,
            stream_base: format!("{}://{authority}", scheme.1),
            agents: Default::default(),
            flaky: Default::default(),
            kms: Default::default(),
            in_flight: Default::default(),
        });
        let router = Router::new()
            .route("/", post(json_api::handle))
            .route("/emulator/in-flight", get(crate::in_flight::report))
            .route("/credentials/container", get(credentials::container))
            .route("/latest/api/token", put(credentials::imds_token))
            .route(
                "/latest/meta-data/iam/security-credentials/",
                get(credentials::imds_role),
            )
            .route(
                "/latest/meta-data/iam/security-credentials/{role}",
                get(credentials::imds_credentials),
            )
            .route(
                "/latest/meta-data/placement/region",
                get(credentials::imds_region),
            )
            .route(
                "/federation/credentials",
                get(credentials::sso_role_credentials),
            )
            .route("/v1/data-channel/{session_id}", get(crate::agent::upgrade))
            .fallback(json_api::not_found)
            .with_state(state);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let until_stopped = async {
            let _ = stopped.await;
        };
        let task = match listener {
            Listening::Tls(listener) => tokio::spawn(async move {
                report(
                    axum::serve(listener, router)
                        .with_graceful_shutdown(until_stopped)
                        .await,
                )
            }),
            Listening::Plain(listener) => tokio::spawn(async move {
                // No Nagle: data-channel messages and acknowledgements are small and
                // latency-bound (with Nagle and delayed ACKs a round trip takes ~90 ms).
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                report(
                    axum::serve(listener, router)
                        .with_graceful_shutdown(until_stopped)
                        .await,
                )
            }),
        };
        Ok(Self {
            url: format!("{}://{authority}", scheme.0),
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, or `https://<host name>:<port>` in TLS mode.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

enum Listening {
    Plain(TcpListener),
    Tls(crate::tls::TlsListener),
}

fn report(served: std::io::Result<()>) {
    if let Err(e) = served {
        eprintln!("ssm-emulator: server stopped with an error: {e}");
    }
}

/// An emulator on its own thread and runtime, stopped when dropped.
pub struct BackgroundEmulator {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundEmulator {
    pub fn start(config: EmulatorConfig) -> Result<Self, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ssm-emulator")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let emulator = runtime.block_on(Emulator::start(config))?;
        let url = emulator.url().to_owned();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ssm-emulator-main".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let _ = stopped.await;
                    emulator.stop().await;
                });
            })
            .map_err(StartError::Runtime)?;
        Ok(Self {
            url,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for BackgroundEmulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
