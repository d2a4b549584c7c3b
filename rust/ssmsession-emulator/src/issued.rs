//! Temporary credentials the emulator hands out through its credential endpoints
//! (container, instance metadata, SSO, STS), which its SigV4 check then accepts together
//! with their session token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::config::Credential;

/// How long issued credentials are valid unless configured otherwise.
pub const LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug)]
pub struct Issued {
    pub credential: Credential,
    pub session_token: String,
    pub expires: SystemTime,
}

pub struct IssuedCredentials {
    by_access_key: Mutex<HashMap<String, Issued>>,
    lifetime: Duration,
}

impl Default for IssuedCredentials {
    fn default() -> Self {
        Self::with_lifetime(LIFETIME)
    }
}

fn random_upper_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill(&mut buffer[..]);
    hex::encode_upper(buffer)
}

impl IssuedCredentials {
    pub fn with_lifetime(lifetime: Duration) -> Self {
        Self {
            by_access_key: Mutex::default(),
            lifetime,
        }
    }

    /// New temporary credentials for `user`.
    pub fn issue(&self, user: &str) -> Issued {
        let issued = Issued {
            credential: Credential {
                // Shaped like temporary keys (ASIA…), never like long-term ones.
                access_key: format!("ASIAEMU{}", random_upper_hex(6)),
                secret_key: random_upper_hex(20),
                user: user.to_owned(),
            },
            session_token: random_upper_hex(48),
            expires: SystemTime::now() + self.lifetime,
        };
        self.by_access_key
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issued.credential.access_key.clone(), issued.clone());
        issued
    }

    pub fn get(&self, access_key: &str) -> Option<Issued> {
        self.by_access_key
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key)
            .cloned()
    }
}
