//! The certificate authorities TLS connections trust: the system's store (what
//! rustls-native-certs finds, which honours the process's `SSL_CERT_FILE`/`SSL_CERT_DIR`),
//! plus PEM files named by `AWS_CA_BUNDLE` (else the profile's `ca_bundle`) and by
//! `SSL_CERT_FILE`/`SSL_CERT_DIR` in the caller's environment. Certificates are always
//! verified; these only add roots.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// A CA file larger than this is refused rather than read: real bundles are under 1 MiB.
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Files read from one `SSL_CERT_DIR` folder at most.
const MAX_DIRECTORY_FILES: usize = 10_000;

/// Where to look for extra roots, with the setting that named each place.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TrustSources {
    /// `AWS_CA_BUNDLE`, or the profile's `ca_bundle`: (setting, path).
    pub bundle: Option<(String, PathBuf)>,
    /// `SSL_CERT_FILE` from the caller's environment.
    pub cert_file: Option<PathBuf>,
    /// `SSL_CERT_DIR` from the caller's environment: folders separated by the platform's
    /// path separator.
    pub cert_dir: Option<String>,
}

/// One place roots were added from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedRoots {
    pub setting: String,
    pub path: PathBuf,
    pub certificates: usize,
}

/// The roots of one client: the system store plus what the sources added.
#[derive(Debug)]
pub struct TrustRoots {
    added: Vec<AddedRoots>,
    extra: Vec<CertificateDer<'static>>,
    config: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl TrustRoots {
    /// The system store alone.
    pub fn system() -> Self {
        Self {
            added: Vec::new(),
            extra: Vec::new(),
            config: OnceLock::new(),
        }
    }

    /// Reads the sources. A named file or folder that is missing, unreadable or holds no
    /// certificate is an error naming the setting and the path: a user who named a bundle
    /// expects it to be used.
    pub fn load(sources: &TrustSources) -> Result<Self, String> {
        let mut roots = Self::system();
        if let Some((setting, path)) = &sources.bundle {
            roots.add_file(setting, path)?;
        }
        if let Some(path) = &sources.cert_file {
            roots.add_file("SSL_CERT_FILE", path)?;
        }
        if let Some(dirs) = &sources.cert_dir {
            for dir in std::env::split_paths(dirs).filter(|d| !d.as_os_str().is_empty()) {
                roots.add_directory(&dir)?;
            }
        }
        Ok(roots)
    }

    fn add_file(&mut self, setting: &str, path: &Path) -> Result<(), String> {
        let certificates = read_certificates(path)
            .map_err(|reason| format!("{setting} '{}' {reason}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!(
                "{setting} '{}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
                path.display()
            ));
        }
        self.push(setting, path, certificates);
        Ok(())
    }

    /// Every file of the folder that holds certificates (OpenSSL's hashed `*.0` links and
    /// plain `.pem` files alike); other files are skipped, as OpenSSL skips them.
    fn add_directory(&mut self, dir: &Path) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            format!(
                "SSL_CERT_DIR '{}' cannot be read: {}",
                dir.display(),
                plain_io(&e)
            )
        })?;
        let mut certificates = Vec::new();
        for entry in entries.take(MAX_DIRECTORY_FILES).flatten() {
            let path = entry.path();
            if path.is_file() {
                if let Ok(found) = read_certificates(&path) {
                    certificates.extend(found);
                }
            }
        }
        if certificates.is_empty() {
            return Err(format!(
                "SSL_CERT_DIR '{}' holds no PEM certificate.",
                dir.display()
            ));
        }
        self.push("SSL_CERT_DIR", dir, certificates);
        Ok(())
    }

    fn push(&mut self, setting: &str, path: &Path, certificates: Vec<CertificateDer<'static>>) {
        self.added.push(AddedRoots {
            setting: setting.to_owned(),
            path: path.to_owned(),
            certificates: certificates.len(),
        });
        self.extra.extend(certificates);
    }

    /// The places roots were added from, in order.
    pub fn added(&self) -> &[AddedRoots] {
        &self.added
    }

    /// The added roots as PEM, one certificate each (for the SDK's trust store, which
    /// takes PEM and must only be given certificates that parse).
    pub fn extra_pem(&self) -> Vec<Vec<u8>> {
        self.extra
            .iter()
            .map(|certificate| {
                let body = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
                let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
                for line in body.as_bytes().chunks(64) {
                    pem.push_str(&String::from_utf8_lossy(line));
                    pem.push('\n');
                }
                pem.push_str("-----END CERTIFICATE-----\n");
                pem.into_bytes()
            })
            .collect()
    }

    /// "the system store" or "the system store and AWS_CA_BUNDLE '/x.pem' (1 certificate)".
    pub fn describe(&self) -> String {
        let mut text = "the system store".to_owned();
        for added in &self.added {
            let plural = if added.certificates == 1 { "" } else { "s" };
            text.push_str(&format!(
                " and {} '{}' ({} certificate{plural})",
                added.setting,
                added.path.display(),
                added.certificates
            ));
        }
        text
    }

    /// The rustls configuration for the data channel's TLS, built on first use (loading
    /// the system store takes a few milliseconds).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        self.config
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(system_roots().iter().cloned());
                roots.add_parsable_certificates(self.extra.iter().cloned());
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map(|builder| {
                        Arc::new(builder.with_root_certificates(roots).with_no_client_auth())
                    })
                    .map_err(|e| format!("the TLS configuration could not be built: {e}"))
            })
            .clone()
    }
}

/// The system store, loaded once per process (as the SDK loads it).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The certificates of a PEM file that are usable as roots. Errors are phrased to follow
/// "<setting> '<path>' ".
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot be read: {}", plain_io(&e)))?;
    if metadata.is_dir() {
        return Err("is a folder, not a PEM file.".to_owned());
    }
    if metadata.len() > MAX_CA_FILE_BYTES {
        return Err(format!(
            "is larger than {} MiB; it is not a certificate bundle.",
            MAX_CA_FILE_BYTES / (1024 * 1024)
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {}", plain_io(&e)))?;
    let mut usable = Vec::new();
    for (index, parsed) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let certificate =
            parsed.map_err(|e| format!("is not valid PEM (certificate {}): {e:?}", index + 1))?;
        let mut probe = RootCertStore::empty();
        if probe.add(certificate.clone()).is_ok() {
            usable.push(certificate);
        }
    }
    Ok(usable)
}

/// An I/O error without Rust's debug decoration ("No such file or directory").
fn plain_io(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, body: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ssm-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    #[test]
    fn a_named_bundle_that_is_missing_or_empty_is_an_error_naming_it() {
        let missing = TrustSources {
            bundle: Some(("AWS_CA_BUNDLE".into(), "/nonexistent/ca.pem".into())),
            ..Default::default()
        };
        let error = TrustRoots::load(&missing).unwrap_err();
        assert_eq!(
            error,
            "AWS_CA_BUNDLE '/nonexistent/ca.pem' cannot be read: No such file or directory"
        );
        let empty = TrustSources {
            bundle: Some((
                "profile ca_bundle".into(),
                temp_file("empty.pem", b"not a cert"),
            )),
            ..Default::default()
        };
        let error = TrustRoots::load(&empty).unwrap_err();
        assert!(
            error.starts_with("profile ca_bundle '")
                && error.ends_with("holds no PEM certificate (-----BEGIN CERTIFICATE-----)."),
            "{error}"
        );
        let broken = TrustSources {
            cert_file: Some(temp_file(
                "broken.pem",
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            )),
            ..Default::default()
        };
        let error = TrustRoots::load(&broken).unwrap_err();
        assert!(
            error.starts_with("SSL_CERT_FILE '") && error.contains("is not valid PEM"),
            "{error}"
        );
    }

    #[test]
    fn no_sources_means_the_system_store_alone() {
        let roots = TrustRoots::load(&TrustSources::default()).unwrap();
        assert!(roots.added().is_empty());
        assert_eq!(roots.describe(), "the system store");
        assert!(roots.extra_pem().is_empty());
    }
}
