//! `ssm-emulator`: a local SSM endpoint. Prints its URL as the first line on stdout, then
//! serves until interrupted (Ctrl+C, SIGTERM) or until stdin closes with `--exit-on-eof`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ssmsession_emulator::{
    AgentConfig, Credential, Emulator, EmulatorConfig, Faults, DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Local AWS Systems Manager endpoint (AWS JSON 1.1, SigV4-verified)."
)]
struct Args {
    /// TCP port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Loopback address to bind (127.0.0.1 or ::1).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,

    /// Accepted key pair as ACCESS_KEY:SECRET_KEY[:USER]; repeatable. Without it the
    /// emulator accepts the embedded default pair.
    #[arg(long = "credential", value_parser = Credential::parse)]
    credentials: Vec<Credential>,

    /// Reject requests signed for any other region.
    #[arg(long)]
    region: Option<String>,

    /// Serve a session document besides the AWS-owned ones: NAME (a shell document) or
    /// NAME=FILE (a session document in JSON, schema 1.0); repeatable.
    #[arg(long = "document")]
    documents: Vec<String>,

    /// Stop when standard input reaches end of file (lets a parent that dies take the
    /// emulator with it).
    #[arg(long)]
    exit_on_eof: bool,

    /// Do not log requests on stderr.
    #[arg(long)]
    quiet: bool,

    /// Lifetime of the temporary credentials the credential endpoints issue; requests
    /// signed with them after that get ExpiredTokenException (403).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    credential_lifetime_seconds: u64,

    /// Bytes per message the fake agent sends from a target connection or a command.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=262_144))]
    agent_chunk_size: u32,

    /// How the fake agent spaces its messages: `real` (a 1 ms pause after each, as AWS's
    /// agent: about 1 MB/s per stream) or `fast` (none, for benchmarks).
    #[arg(long, default_value = "real", value_parser = ["real", "fast"])]
    agent_pacing: String,

    /// Fault injection: fraction (0–1) of data-channel frames lost, both directions.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    fault_drop: f64,

    /// Fault injection: fraction of frames delivered twice.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    fault_duplicate: f64,

    /// Fault injection: fraction of the agent's frames sent after the next one.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    fault_reorder: f64,

    /// Fault injection: milliseconds added before each frame the agent sends.
    #[arg(long, default_value_t = 0)]
    fault_delay_ms: u64,

    /// Fault injection: close every data-channel socket this many milliseconds after it
    /// opened (code 1000 "Bye"), so clients must call ResumeSession.
    #[arg(long)]
    fault_close_after_ms: Option<u64>,

    /// Fault injection: send pause_publication this often (milliseconds), and
    /// start_publication 200 ms later.
    #[arg(long)]
    fault_pause_every_ms: Option<u64>,

    /// Fault injection: refuse every port connection (ConnectToPortError).
    #[arg(long)]
    fault_refuse_ports: bool,

    /// Ask clients for KMS encryption with this key id (shell and command sessions), as
    /// the Session Manager preference "KMS encryption" does; the emulator serves KMS too.
    #[arg(long)]
    kms_key_id: Option<String>,

    /// With --kms-key-id: send newer agents' anti-replay challenge and require clients to
    /// acknowledge it (aws:ssm:RandomChallenge in the data key's encryption context).
    #[arg(long)]
    kms_challenge: bool,

    /// Fault injection: this many milliseconds after each data-channel socket opened, the
    /// agent goes silent (reads and discards everything, acknowledges and sends nothing).
    #[arg(long)]
    fault_stall_after_ms: Option<u64>,

    /// The program shell sessions run under a pseudo-terminal (default: bash if found,
    /// else sh; cmd.exe on Windows).
    #[arg(long)]
    shell: Option<String>,

    /// Serve https:// and wss:// under this made-up host name with a certificate from a
    /// private CA made for this run (clients reach the name through a proxy, e.g.
    /// `ssm-emulator connect-proxy`, which resolves every name to 127.0.0.1).
    #[arg(long, requires = "tls_ca_file")]
    tls_host: Option<String>,

    /// With --tls-host: write the private CA's certificate (PEM) here, for AWS_CA_BUNDLE.
    #[arg(long, requires = "tls_host")]
    tls_ca_file: Option<std::path::PathBuf>,

    /// With --tls-host: serve an expired certificate (for certificate-error tests).
    #[arg(long, requires = "tls_host")]
    tls_expired: bool,

    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(clap::Subcommand, Debug)]
enum Mode {
    /// Run a loopback HTTP CONNECT proxy instead of the emulator: every destination name
    /// resolves to 127.0.0.1, each request is recorded. Prints its URL as the first line.
    ConnectProxy {
        /// Loopback port; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Require basic authentication with USER:PASSWORD.
        #[arg(long)]
        credential: Option<String>,
        /// Append one JSON line per request (Method, Target, Status, SentCredentials).
        #[arg(long)]
        log: Option<std::path::PathBuf>,
        /// Stop when standard input closes.
        #[arg(long)]
        exit_on_eof: bool,
    },
}

fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Mode::ConnectProxy {
        port,
        credential,
        log,
        exit_on_eof,
    }) = args.mode
    {
        return run_connect_proxy(port, credential, log, exit_on_eof || args.exit_on_eof);
    }
    let tls = match &args.tls_host {
        Some(host) => {
            let kind = if args.tls_expired {
                ssmsession_emulator::tls::ServerCertificate::Expired
            } else {
                ssmsession_emulator::tls::ServerCertificate::Valid
            };
            let identity = match ssmsession_emulator::tls::TlsIdentity::generate(host, kind) {
                Ok(identity) => identity,
                Err(e) => {
                    eprintln!("ssm-emulator: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Some(path) = &args.tls_ca_file {
                if let Err(e) = std::fs::write(path, identity.ca_pem()) {
                    eprintln!(
                        "ssm-emulator: cannot write the CA certificate to {}: {e}",
                        path.display()
                    );
                    return ExitCode::from(2);
                }
            }
            Some(std::sync::Arc::new(identity))
        }
        None => None,
    };
    let mut config = EmulatorConfig {
        listen: SocketAddr::new(args.bind, args.port),
        region: args.region,
        extra_documents: match args
            .documents
            .iter()
            .map(|spec| ssmsession_emulator::documents::ExtraDocument::from_spec(spec))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(documents) => documents,
            Err(e) => {
                eprintln!("ssm-emulator: {e}");
                std::process::exit(2);
            }
        },
        log_requests: !args.quiet,
        credential_lifetime: Duration::from_secs(args.credential_lifetime_seconds),
        agent: AgentConfig {
            chunk_size: args.agent_chunk_size as usize,
            pace: (args.agent_pacing == "real").then_some(ssmsession_emulator::REAL_AGENT_PACE),
            faults: Faults {
                drop: args.fault_drop,
                duplicate: args.fault_duplicate,
                reorder: args.fault_reorder,
                delay: Duration::from_millis(args.fault_delay_ms),
                close_after: args.fault_close_after_ms.map(Duration::from_millis),
                pause_every: args.fault_pause_every_ms.map(Duration::from_millis),
                refuse_ports: args.fault_refuse_ports,
                stall_after: args.fault_stall_after_ms.map(Duration::from_millis),
            },
            kms_key_id: args.kms_key_id.filter(|k| !k.is_empty()),
            kms_challenge: args.kms_challenge,
            shell: args.shell.filter(|s| !s.is_empty()),
            ..Default::default()
        },
        tls,
        ..Default::default()
    };
    if !args.credentials.is_empty() {
        config.credentials = args.credentials;
    }
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let emulator = match Emulator::start(config.clone()).await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("ssm-emulator: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", emulator.url());
        let _ = std::io::stdout().flush();
        if !args.quiet {
            let keys = if config
                .credentials
                .iter()
                .any(|c| c.access_key == DEFAULT_ACCESS_KEY)
            {
                format!("default key pair {DEFAULT_ACCESS_KEY} / {DEFAULT_SECRET_KEY}")
            } else {
                format!("{} configured key pair(s)", config.credentials.len())
            };
            eprintln!("ssm-emulator: listening on {} ({keys})", emulator.url());
        }
        wait_for_stop(args.exit_on_eof).await;
        emulator.stop().await;
        ExitCode::SUCCESS
    })
}

/// The process's runtime; None (said on stderr) when it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .thread_name("ssm-emulator")
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("ssm-emulator: cannot start the runtime: {e}");
            None
        }
    }
}

fn run_connect_proxy(
    port: u16,
    credential: Option<String>,
    log: Option<std::path::PathBuf>,
    exit_on_eof: bool,
) -> ExitCode {
    let credentials = match credential.as_deref().map(|c| c.split_once(':')) {
        None => None,
        Some(Some((user, password))) if !user.is_empty() => {
            Some((user.to_owned(), password.to_owned()))
        }
        Some(_) => {
            eprintln!("ssm-emulator: --credential is USER:PASSWORD");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let config = ssmsession_emulator::connect_proxy::ProxyConfig {
            port,
            credentials,
            log,
        };
        let proxy = match ssmsession_emulator::connect_proxy::ConnectProxy::start(config).await {
            Ok(proxy) => proxy,
            Err(e) => {
                eprintln!("ssm-emulator: cannot start the proxy: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", proxy.url());
        let _ = std::io::stdout().flush();
        wait_for_stop(exit_on_eof).await;
        proxy.stop().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_stop(exit_on_eof: bool) {
    let stdin_closed = async {
        if exit_on_eof {
            let mut sink = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminated = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminated = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
        _ = stdin_closed => {}
    }
}
