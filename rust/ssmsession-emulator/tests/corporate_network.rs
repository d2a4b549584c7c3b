//! Behind a corporate proxy with a private CA: the emulator in TLS mode under a made-up
//! host name (`https://`, `wss://`, a CA made for the run), reached only through a
//! loopback CONNECT proxy that resolves every name to 127.0.0.1 and records each tunnel.
//! Every test asserts on the proxy's record, not only on success.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssmsession_core::{
    ChannelCall, ClientCache, ClientSettings, CoreError, PortForwardCall, ResolveClientCall,
    StartSessionCall, StartSessionOutput,
};
use ssmsession_datachannel::driver::SessionEnd;
use ssmsession_emulator::connect_proxy::{ConnectProxy, ProxyConfig, ProxyRecord};
use ssmsession_emulator::tls::{ServerCertificate, TlsIdentity};
use ssmsession_emulator::{AgentConfig, Emulator, EmulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HOST: &str = "ssm.emulator.test";

struct Office {
    emulator: Emulator,
    proxy: ConnectProxy,
    ca_file: PathBuf,
}

impl Office {
    async fn open(
        config: EmulatorConfig,
        kind: ServerCertificate,
        login: Option<(&str, &str)>,
    ) -> Self {
        let identity = TlsIdentity::generate(HOST, kind).expect("certificates");
        let ca_file = std::env::temp_dir().join(format!(
            "ssmsession-ca-{}-{}.pem",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&ca_file, identity.ca_pem()).unwrap();
        let emulator = Emulator::start(EmulatorConfig {
            tls: Some(Arc::new(identity)),
            ..config
        })
        .await
        .unwrap();
        let proxy = ConnectProxy::start(ProxyConfig {
            credentials: login.map(|(u, p)| (u.to_owned(), p.to_owned())),
            ..Default::default()
        })
        .await
        .unwrap();
        Self {
            emulator,
            proxy,
            ca_file,
        }
    }

    fn url(&self) -> &str {
        self.emulator.url()
    }

    /// `host:port` as the client asks the proxy for it.
    fn authority(&self) -> String {
        self.url().trim_start_matches("https://").to_owned()
    }

    /// The emulator's keys, its endpoint, and `variables` (HTTPS_PROXY, AWS_CA_BUNDLE …).
    fn settings(&self, variables: &[(&str, String)]) -> ClientSettings {
        let mut settings = common::settings(self.url());
        let environment = settings.environment.as_mut().unwrap();
        for (name, value) in variables {
            environment.insert((*name).to_owned(), value.clone());
        }
        settings
    }

    fn through_proxy(&self) -> ClientSettings {
        self.settings(&[
            ("HTTPS_PROXY", self.proxy.url().to_owned()),
            ("AWS_CA_BUNDLE", self.ca_file.display().to_string()),
        ])
    }

    fn tunnels(&self) -> Vec<ProxyRecord> {
        self.proxy.records()
    }

    async fn close(self) {
        self.emulator.stop().await;
        self.proxy.stop().await;
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

async fn start(
    cache: &ClientCache,
    client: ClientSettings,
    document: Option<&str>,
    parameters: &[(&str, &str)],
) -> Result<StartSessionOutput, CoreError> {
    ssmsession_core::start_session(
        cache,
        StartSessionCall {
            target: Some(common::TARGET.into()),
            document_name: document.map(str::to_owned),
            parameters: Some(
                parameters
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                    .collect::<BTreeMap<_, _>>(),
            ),
            reason: None,
            client,
        },
    )
    .await
}

/// What ResolveClient says of `client` (its route among it), without calling the service.
async fn resolved(client: &ClientSettings) -> ssmsession_core::Resolution {
    ssmsession_core::resolve_client(
        &ClientCache::new(),
        ResolveClientCall {
            client: client.clone(),
        },
    )
    .await
    .unwrap()
}

fn connect_to(office: &Office, status: u16) -> ProxyRecord {
    ProxyRecord {
        method: "CONNECT".into(),
        target: office.authority(),
        status,
        sent_credentials: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_session_goes_through_the_proxy_and_trusts_the_ca_bundle() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let cache = ClientCache::new();
    let started = start(&cache, office.through_proxy(), None, &[])
        .await
        .expect("StartSession through the proxy");
    assert!(started
        .stream_url
        .unwrap()
        .starts_with(&format!("wss://{HOST}:")));
    assert_eq!(office.tunnels(), [connect_to(&office, 200)]);
    office.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profiles_ca_bundle_is_trusted_when_aws_ca_bundle_is_not_set() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let config = office.ca_file.with_extension("config");
    std::fs::write(
        &config,
        format!("[profile corp]\nca_bundle = {}\n", office.ca_file.display()),
    )
    .unwrap();
    let mut client = office.settings(&[
        ("HTTPS_PROXY", office.proxy.url().to_owned()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("AWS_PROFILE", "corp".to_owned()),
    ]);
    // Explicit keys, so the profile gives only its ca_bundle.
    client.max_attempts = Some(1);
    let resolution = resolved(&client).await;
    assert!(
        resolution.network.contains("profile ca_bundle"),
        "{}",
        resolution.network
    );
    start(&ClientCache::new(), client, None, &[])
        .await
        .expect("StartSession trusting the profile's CA");
    assert_eq!(office.tunnels(), [connect_to(&office, 200)]);
    let _ = std::fs::remove_file(config);
    office.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_or_expired_certificate_is_a_clear_error_within_seconds() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let began = Instant::now();
    let mut client = office.settings(&[("HTTPS_PROXY", office.proxy.url().to_owned())]);
    client.max_attempts = Some(3);
    let error = start(&ClientCache::new(), client, None, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CertificateNotTrusted", "{error}");
    assert_eq!(error.kind(), "network");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "The TLS certificate of {HOST} (reached through the proxy 127.0.0.1:"
        )),
        "{message}"
    );
    assert!(
        message.contains("not trusted (trusted: the system store)"),
        "{message}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
    // Not retried: one tunnel, whatever MaxAttempts says.
    assert_eq!(office.tunnels(), [connect_to(&office, 200)]);
    office.close().await;

    let expired = Office::open(EmulatorConfig::default(), ServerCertificate::Expired, None).await;
    let error = start(&ClientCache::new(), expired.through_proxy(), None, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CertificateExpired", "{error}");
    assert!(error.to_string().contains("it has expired"), "{error}");
    expired.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_authentication_is_sent_and_a_refusal_names_the_proxy_without_its_password() {
    let office = Office::open(
        EmulatorConfig::default(),
        ServerCertificate::Valid,
        Some(("corp\\alice", "p@ss:word")),
    )
    .await;
    let proxy_port = office.proxy.url().rsplit(':').next().unwrap().to_owned();
    let with = |password: &str| {
        office.settings(&[
            (
                "HTTPS_PROXY",
                format!("http://corp%5Calice:{password}@127.0.0.1:{proxy_port}"),
            ),
            ("AWS_CA_BUNDLE", office.ca_file.display().to_string()),
        ])
    };
    start(&ClientCache::new(), with("p%40ss%3Aword"), None, &[])
        .await
        .expect("the right password");
    let error = start(&ClientCache::new(), with("wrong-secret"), None, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "ProxyAuthenticationRequired", "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "The proxy 127.0.0.1:{proxy_port} (from HTTPS_PROXY) refused the credentials"
        )),
        "{message}"
    );
    assert!(!message.contains("wrong-secret"), "{message}");
    let statuses: Vec<(u16, bool)> = office
        .tunnels()
        .iter()
        .map(|r| (r.status, r.sent_credentials))
        .collect();
    assert_eq!(statuses, [(200, true), (407, true)]);
    office.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_config_proxy_settings_beat_the_environment_and_an_unreachable_proxy_is_named() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let other = ConnectProxy::start(ProxyConfig::default()).await.unwrap();
    let mut client = office.settings(&[
        ("HTTPS_PROXY", other.url().to_owned()),
        ("AWS_CA_BUNDLE", office.ca_file.display().to_string()),
    ]);
    client.proxy_host = Some("127.0.0.1".into());
    client.proxy_port = Some(
        office
            .proxy
            .url()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
    );
    start(&ClientCache::new(), client.clone(), None, &[])
        .await
        .expect("through the ClientConfig proxy");
    assert_eq!(office.tunnels(), [connect_to(&office, 200)]);
    assert!(
        other.records().is_empty(),
        "the environment's proxy was not used"
    );

    // ProxyBypassList: a matching pattern sends the host around the proxy (the route ResolveClient
    // reports, as -Debug shows it; no connection is made).
    client.proxy_bypass_list = Some(vec![r"\.emulator\.test".into()]);
    let resolution = resolved(&client).await;
    assert!(
        resolution.network.starts_with(&format!("{HOST} directly")),
        "{}",
        resolution.network
    );

    // A proxy nothing listens on: a quick error naming it and the setting.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    client.proxy_bypass_list = None;
    client.proxy_port = Some(port);
    let began = Instant::now();
    let error = start(&ClientCache::new(), client, None, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "ProxyUnreachable", "{error}");
    assert_eq!(
        error.to_string(),
        format!("The proxy 127.0.0.1:{port} (from ClientConfig.ProxyHost) could not be reached: Connection refused.")
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
    other.stop().await;
    office.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_decides_the_route_as_curl_reads_it() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let route = |no_proxy: &str| {
        let client = office.settings(&[
            ("HTTPS_PROXY", office.proxy.url().to_owned()),
            ("NO_PROXY", no_proxy.to_owned()),
        ]);
        async move { resolved(&client).await.network }
    };
    for bypassed in [
        ".emulator.test",
        "emulator.test",
        "*",
        "other.example, ssm.emulator.test",
    ] {
        assert!(
            route(bypassed)
                .await
                .starts_with(&format!("{HOST} directly")),
            "{bypassed}"
        );
    }
    for proxied in [
        "notemulator.test",
        "ssm.emulator.test:443",
        "*.emulator.test",
        "10.0.0.0/8",
    ] {
        assert!(
            route(proxied)
                .await
                .starts_with(&format!("{HOST} through the proxy 127.0.0.1:")),
            "{proxied}"
        );
    }
    // A host NO_PROXY does not name goes through the proxy for real.
    let client = office.settings(&[
        ("HTTPS_PROXY", office.proxy.url().to_owned()),
        ("NO_PROXY", "notemulator.test,10.0.0.0/8".to_owned()),
        ("AWS_CA_BUNDLE", office.ca_file.display().to_string()),
    ]);
    start(&ClientCache::new(), client, None, &[]).await.unwrap();
    assert_eq!(office.tunnels(), [connect_to(&office, 200)]);
    office.close().await;
}

async fn echo_round_trip(address: std::net::SocketAddr, bytes: usize) {
    let mut connection = TcpStream::connect(address).await.unwrap();
    let sent: Vec<u8> = (0..bytes).map(|i| (i * 7 % 251) as u8).collect();
    let writer = {
        let sent = sent.clone();
        let (mut reader, mut writer) = connection.split();
        let write = async {
            writer.write_all(&sent).await.unwrap();
        };
        let mut received = vec![0u8; sent.len()];
        let read = reader.read_exact(&mut received);
        let (_, read) = tokio::join!(write, read);
        read.unwrap();
        received
    };
    assert_eq!(writer, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn port_forwarding_runs_over_wss_through_the_proxy() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let echo = common::echo_server().await;
    let cache = ClientCache::new();
    let client = office.through_proxy();
    let port = echo.to_string();
    let started = start(
        &cache,
        client.clone(),
        Some("AWS-StartPortForwardingSession"),
        &[("portNumber", &port), ("localPortNumber", "0")],
    )
    .await
    .unwrap();
    let (forward, _) = ssmsession_core::start_port_forward(
        &cache,
        PortForwardCall {
            session_id: started.session_id.unwrap(),
            stream_url: started.stream_url.unwrap(),
            token_value: started.token_value.unwrap(),
            local_port_number: Some(0),
            client,
            ..Default::default()
        },
    )
    .await
    .expect("the forward starts over wss:// through the proxy");
    echo_round_trip(forward.local_addr, 200_000).await;
    forward.stop();
    let end = tokio::time::timeout(Duration::from_secs(20), forward.wait())
        .await
        .unwrap();
    assert_eq!(end, SessionEnd::Stopped);
    // One tunnel for the API (its connection is reused), one for the WebSocket.
    assert_eq!(
        office.tunnels(),
        [connect_to(&office, 200), connect_to(&office, 200)]
    );
    office.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_encrypted_command_runs_through_the_proxy_with_kms_on_the_same_route() {
    let config = common::with_separate_output(EmulatorConfig {
        agent: AgentConfig {
            kms_key_id: Some("alias/ssm-sessions".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    let office = Office::open(config, ServerCertificate::Valid, None).await;
    let cache = ClientCache::new();
    // KMS is not SSM: the emulator serves it, named like a regional endpoint would be.
    let client = office.settings(&[
        ("HTTPS_PROXY", office.proxy.url().to_owned()),
        ("AWS_CA_BUNDLE", office.ca_file.display().to_string()),
        ("AWS_ENDPOINT_URL_KMS", office.url().to_owned()),
    ]);
    let started = start(
        &cache,
        client.clone(),
        Some(common::SEPARATE_OUTPUT_DOCUMENT),
        &[("command", "sh -c 'echo secret-out; exit 4'")],
    )
    .await
    .unwrap();
    let call = ChannelCall {
        session_id: started.session_id.unwrap(),
        stream_url: started.stream_url.unwrap(),
        token_value: started.token_value.unwrap(),
        target: Some(common::TARGET.into()),
        client,
        ..Default::default()
    };
    let (running, opened) = ssmsession_core::start_command(&cache, call)
        .await
        .expect("the encrypted session opens");
    assert_eq!(
        opened.customer_message,
        "This session is encrypted using AWS KMS."
    );
    tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .unwrap();
    let mut stdout = Vec::new();
    let mut exit_code = None;
    for _ in 0..100 {
        let taken = running.take();
        stdout.extend(taken.stdout);
        exit_code = taken.exit_code.or(exit_code);
        if !running.has_output() {
            break;
        }
    }
    assert_eq!(String::from_utf8_lossy(&stdout), "secret-out\n");
    assert_eq!(exit_code, Some(4));
    let tunnels = office.tunnels();
    assert!(
        tunnels.len() >= 2 && tunnels.iter().all(|t| *t == connect_to(&office, 200)),
        "{tunnels:?}"
    );
    office.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_channel_verifies_the_certificate_with_the_same_roots() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let cache = ClientCache::new();
    let started = start(
        &cache,
        office.through_proxy(),
        Some("AWS-StartPortForwardingSession"),
        &[("portNumber", "22")],
    )
    .await
    .unwrap();
    // The channel's client trusts the system store alone.
    let without_ca = office.settings(&[("HTTPS_PROXY", office.proxy.url().to_owned())]);
    let error = ssmsession_core::start_port_forward(
        &cache,
        PortForwardCall {
            session_id: started.session_id.unwrap(),
            stream_url: started.stream_url.unwrap(),
            token_value: started.token_value.unwrap(),
            local_port_number: Some(0),
            client: without_ca,
            ..Default::default()
        },
    )
    .await
    .err()
    .expect("the WebSocket's certificate is not trusted");
    assert_eq!(error.code(), "CertificateNotTrusted", "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "The TLS certificate of {HOST} (reached through the proxy"
        )),
        "{error}"
    );
    // The API call's tunnel, then the WebSocket's (refused at TLS, not retried).
    assert_eq!(
        office.tunnels(),
        [connect_to(&office, 200), connect_to(&office, 200)]
    );
    office.close().await;
}

/// The credential chain's own calls share the configuration: container credentials from an
/// https:// endpoint under the made-up name arrive through the proxy, trusting the CA, and
/// the StartSession signed with them goes the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_credentials_are_fetched_through_the_proxy_with_the_private_ca() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let mut client = office.through_proxy();
    client.access_key = None;
    client.secret_key = None;
    client.environment.as_mut().unwrap().insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        format!("{}/credentials/container", office.url()),
    );
    let resolution = ssmsession_core::resolve_client(
        &ClientCache::new(),
        ResolveClientCall {
            client: client.clone(),
        },
    )
    .await
    .expect("container credentials through the proxy");
    assert_eq!(resolution.credential_source, "Container");
    assert_eq!(office.tunnels(), [connect_to(&office, 200)]);
    start(&ClientCache::new(), client, None, &[])
        .await
        .expect("StartSession with the container's credentials");
    assert_eq!(
        office.tunnels(),
        [
            connect_to(&office, 200),
            connect_to(&office, 200),
            connect_to(&office, 200)
        ],
        "a second client fetched its own credentials, then called StartSession"
    );
    office.close().await;
}

/// A certificate for another name (here: the emulator's, reached as `other.emulator.test`)
/// is refused with the names it does carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused_with_the_names_it_carries() {
    let office = Office::open(EmulatorConfig::default(), ServerCertificate::Valid, None).await;
    let mut client = office.through_proxy();
    let other = office.url().replace(HOST, "other.emulator.test");
    client.endpoint_url = Some(other.clone());
    let error = start(&ClientCache::new(), client, None, &[])
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CertificateNameMismatch", "{error}");
    let message = error.to_string();
    assert!(
        message.contains("it is not valid for the name other.emulator.test (it names ")
            && message.contains(HOST),
        "{message}"
    );
    let tunnels = office.tunnels();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    assert_eq!(
        tunnels[0].target,
        other.trim_start_matches("https://").to_owned()
    );
    office.close().await;
}
