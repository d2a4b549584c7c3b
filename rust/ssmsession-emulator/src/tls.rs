//! The emulator's TLS mode: a private certificate authority made for this run only, a
//! server certificate it signs for a made-up host name (and `localhost`, `127.0.0.1`),
//! and a listener that serves the API and the data channel over TLS with it. Clients
//! trust the CA through `AWS_CA_BUNDLE` and friends, so tests exercise real verification
//! (`https://`, `wss://`) with names no DNS knows, reached through a proxy.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Handshakes taking longer than this are dropped (a client that connects and says
/// nothing must not hold a slot).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections handshaken but not yet taken by the server, at most.
const ACCEPT_BACKLOG: usize = 64;

/// A CA and the server certificate it signed, for one emulator run.
pub struct TlsIdentity {
    host_name: String,
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("host_name", &self.host_name)
            .finish_non_exhaustive()
    }
}

/// How the server certificate is made, for certificate-failure tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerCertificate {
    /// Valid now and for the host name.
    #[default]
    Valid,
    /// Valid for the host name but expired in 2001.
    Expired,
}

impl TlsIdentity {
    /// A new CA and a server certificate for `host_name`, `localhost` and `127.0.0.1`.
    pub fn generate(host_name: &str, kind: ServerCertificate) -> Result<Self, String> {
        let failed = |e: rcgen::Error| format!("cannot make the emulator's certificates: {e}");
        if host_name.is_empty() || host_name.contains(['/', ':', ' ']) {
            return Err(format!(
                "'{host_name}' is not a host name for the emulator's certificate"
            ));
        }
        let ca_key = KeyPair::generate().map_err(failed)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(
            DnType::CommonName,
            "SSMSession emulator private CA (this run only)",
        );
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_certificate = ca.self_signed(&ca_key).map_err(failed)?;
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().map_err(failed)?;
        let mut server = CertificateParams::new(vec![host_name.to_owned(), "localhost".to_owned()])
            .map_err(failed)?;
        server
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        server
            .distinguished_name
            .push(DnType::CommonName, host_name);
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if kind == ServerCertificate::Expired {
            server.not_before = rcgen::date_time_ymd(2000, 1, 1);
            server.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let server_certificate = server.signed_by(&server_key, &issuer).map_err(failed)?;
        Ok(Self {
            host_name: host_name.to_owned(),
            ca_pem: ca_certificate.pem(),
            chain: vec![server_certificate.der().clone()],
            key: server_key.serialize_der(),
        })
    }

    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// The CA certificate, PEM: what clients put in `AWS_CA_BUNDLE`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn acceptor(&self) -> Result<TlsAcceptor, String> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .map_err(|e| format!("the emulator's certificate is unusable: {e}"))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// A listener that hands the server TLS connections: TCP accepts and handshakes run in a
/// task of their own so a slow handshake never holds up the others.
pub struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, identity: &TlsIdentity) -> Result<Self, String> {
        let acceptor = identity.acceptor()?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let (sender, handshaken) = mpsc::channel(ACCEPT_BACKLOG);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    // Out of descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // No Nagle: data-channel messages are small and latency-bound.
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(Self {
            handshaken,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(accepted) => accepted,
            // The accept task ended (only when the listener is dropped): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
