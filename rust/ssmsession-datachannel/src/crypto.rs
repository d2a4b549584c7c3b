//! KMS encryption of a session's payloads (protocol notes §4.3): a 64-byte data key from
//! KMS GenerateDataKey, split in two AES-256-GCM keys — bytes 0..32 encrypt what the agent
//! sends (the client decrypts with them), bytes 32..64 what the client sends. Each message
//! is `nonce (12) ‖ ciphertext ‖ tag (16)` with a random nonce and no associated data.

use std::future::Future;
use std::pin::Pin;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;

/// Bytes of the data key KMS generates for a session.
pub const DATA_KEY_LENGTH: usize = 64;
const NONCE_LENGTH: usize = 12;
const TAG_LENGTH: usize = 16;
/// Random bytes in the agent's challenge.
pub const CHALLENGE_LENGTH: usize = 64;

/// A payload could not be decrypted (wrong key, tampered or cut off).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a message could not be decrypted: {0}")]
pub struct CryptoError(pub String);

/// The two directions' ciphers of one end.
pub struct SessionCipher {
    encrypt: Aes256Gcm,
    decrypt: Aes256Gcm,
}

impl SessionCipher {
    fn from_halves(encrypt: &[u8], decrypt: &[u8]) -> Result<Self, CryptoError> {
        let cipher =
            |key: &[u8]| Aes256Gcm::new_from_slice(key).map_err(|e| CryptoError(e.to_string()));
        Ok(Self {
            encrypt: cipher(encrypt)?,
            decrypt: cipher(decrypt)?,
        })
    }

    fn check(data_key: &[u8]) -> Result<(), CryptoError> {
        if data_key.len() == DATA_KEY_LENGTH {
            Ok(())
        } else {
            Err(CryptoError(format!(
                "the data key has {} bytes, not {DATA_KEY_LENGTH}",
                data_key.len()
            )))
        }
    }

    /// The client's end: decrypts with bytes 0..32, encrypts with 32..64.
    pub fn for_client(data_key: &[u8]) -> Result<Self, CryptoError> {
        Self::check(data_key)?;
        Self::from_halves(&data_key[32..], &data_key[..32])
    }

    /// The agent's end: encrypts with bytes 0..32, decrypts with 32..64.
    pub fn for_agent(data_key: &[u8]) -> Result<Self, CryptoError> {
        Self::check(data_key)?;
        Self::from_halves(&data_key[..32], &data_key[32..])
    }

    /// `nonce ‖ ciphertext ‖ tag`, with a fresh random nonce.
    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LENGTH] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        // Encryption only fails for inputs beyond GCM's 64 GiB limit.
        let sealed = self.encrypt.encrypt(&nonce, plain).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LENGTH + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if data.len() < NONCE_LENGTH + TAG_LENGTH {
            return Err(CryptoError(format!("{} bytes is too short", data.len())));
        }
        let (nonce, sealed) = data.split_at(NONCE_LENGTH);
        let nonce_bytes: [u8; NONCE_LENGTH] = nonce
            .try_into()
            .map_err(|_| CryptoError("bad nonce".into()))?;
        self.decrypt
            .decrypt(&Nonce::from(nonce_bytes), sealed)
            .map_err(|_| CryptoError("authentication failed".into()))
    }
}

/// What KMS GenerateDataKey returns.
pub struct DataKey {
    pub plaintext: Vec<u8>,
    pub ciphertext_blob: Vec<u8>,
}

/// A boxed future (the provider is a trait object).
pub type DataKeyFuture = Pin<Box<dyn Future<Output = Result<DataKey, String>> + Send>>;

/// Calls KMS GenerateDataKey for the client; this crate does not talk to AWS APIs.
pub trait KeyProvider: Send + Sync {
    /// `NumberOfBytes` 64 with `key_id` and the encryption context.
    fn generate_data_key(&self, key_id: &str, context: Vec<(String, String)>) -> DataKeyFuture;
}

/// What the client needs to accept a KMS-encrypted session.
#[derive(Clone)]
pub struct Encryption {
    pub provider: std::sync::Arc<dyn KeyProvider>,
    /// The session's target, for the `aws:ssm:TargetId` encryption context.
    pub target: String,
    /// The session's id as StartSession returned it, for the `aws:ssm:SessionId`
    /// encryption context (as AWS's plugin takes it; the stream URL's last segment is not
    /// guaranteed to be the same).
    pub session_id: String,
}

/// The encryption context the agent decrypts the data key with.
pub fn encryption_context(session_id: &str, target: &str) -> Vec<(String, String)> {
    encryption_context_with(session_id, target, None)
}

/// [`encryption_context`], plus `aws:ssm:RandomChallenge` when the agent's anti-replay
/// challenge was acknowledged.
pub fn encryption_context_with(
    session_id: &str,
    target: &str,
    challenge: Option<&str>,
) -> Vec<(String, String)> {
    let mut context = vec![
        ("aws:ssm:SessionId".to_owned(), session_id.to_owned()),
        ("aws:ssm:TargetId".to_owned(), target.to_owned()),
    ];
    if let Some(challenge) = challenge {
        context.push(("aws:ssm:RandomChallenge".to_owned(), challenge.to_owned()));
    }
    context
}

pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn from_base64(text: &str) -> Result<Vec<u8>, CryptoError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| CryptoError(format!("not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn aes_256_gcm_matches_the_gcm_specification_vector() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14: zero key,
        // zero 96-bit IV, one zero block.
        let cipher = Aes256Gcm::new_from_slice(&[0u8; 32]).unwrap();
        let sealed = cipher
            .encrypt(&Nonce::from([0u8; 12]), &[0u8; 16][..])
            .unwrap();
        assert_eq!(
            sealed,
            hex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")
        );
    }

    #[test]
    fn the_key_halves_cross_between_client_and_agent() {
        let key: Vec<u8> = (0..64).collect();
        let client = SessionCipher::for_client(&key).unwrap();
        let agent = SessionCipher::for_agent(&key).unwrap();
        let from_agent = agent.encrypt(b"output");
        assert_eq!(client.decrypt(&from_agent).unwrap(), b"output");
        let from_client = client.encrypt(b"input");
        assert_eq!(agent.decrypt(&from_client).unwrap(), b"input");
        // Each direction has its own key: an end cannot read its own messages.
        assert!(client.decrypt(&from_client).is_err());
        // The agent encrypts with bytes 0..32: check against a cipher built from them alone.
        let first_half = Aes256Gcm::new_from_slice(&key[..32]).unwrap();
        let nonce: [u8; 12] = from_agent[..12].try_into().unwrap();
        assert_eq!(
            first_half
                .decrypt(&Nonce::from(nonce), &from_agent[12..])
                .unwrap(),
            b"output"
        );
    }

    #[test]
    fn tampered_short_and_foreign_messages_are_refused() {
        let key = [7u8; 64];
        let client = SessionCipher::for_client(&key).unwrap();
        let agent = SessionCipher::for_agent(&key).unwrap();
        let mut sealed = agent.encrypt(b"hello");
        assert_eq!(sealed.len(), 12 + 5 + 16);
        sealed[14] ^= 1;
        assert!(client.decrypt(&sealed).is_err());
        assert!(client.decrypt(&[0u8; 20]).is_err());
        let other = SessionCipher::for_agent(&[8u8; 64]).unwrap();
        assert!(client.decrypt(&other.encrypt(b"x")).is_err());
        assert!(SessionCipher::for_client(&[0u8; 32]).is_err());
    }

    #[test]
    fn nonces_differ_per_message() {
        let agent = SessionCipher::for_agent(&[1u8; 64]).unwrap();
        assert_ne!(agent.encrypt(b"same")[..12], agent.encrypt(b"same")[..12]);
    }
}
