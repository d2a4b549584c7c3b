//! A local stand-in for AWS KMS (`TrentService`, AWS JSON 1.1 on the same port, SigV4
//! service `kms`): `GenerateDataKey` and `Decrypt`, enough for Session Manager's KMS
//! encryption. Every key id is accepted; one random master key per emulator run seals the
//! data keys. A ciphertext blob is `SSMEMUKMS1 ‖ key-id length (2) ‖ key id ‖ nonce (12) ‖
//! AES-256-GCM(data key)`, with the key id and the encryption context as associated data,
//! so a blob opens only with the context it was made with — as with real KMS.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use serde_json::{json, Value};

use crate::service_error::ServiceError;

const BLOB_MAGIC: &[u8] = b"SSMEMUKMS1";
/// The account in the key ARNs the emulator answers with.
const ACCOUNT: &str = "000000000000";

/// The emulator's master key, made once per run.
pub struct KmsKeys {
    master: Aes256Gcm,
}

impl Default for KmsKeys {
    fn default() -> Self {
        let key: [u8; 32] = rand::random();
        Self {
            master: Aes256Gcm::new_from_slice(&key).expect("32-byte key"),
        }
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn invalid_ciphertext() -> ServiceError {
    ServiceError::client(
        "InvalidCiphertextException",
        "The ciphertext refers to a key that does not exist, or the encryption context does not match.",
    )
}

/// Associated data: the key id and the context, sorted (real KMS ignores the order).
fn associated_data(key_id: &str, context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut data = key_id.as_bytes().to_vec();
    data.push(0);
    data.extend(serde_json::to_vec(context).unwrap_or_default());
    data
}

impl KmsKeys {
    /// A fresh data key and its blob.
    pub fn generate(
        &self,
        key_id: &str,
        length: usize,
        context: &BTreeMap<String, String>,
    ) -> (Vec<u8>, Vec<u8>) {
        let plaintext: Vec<u8> = (0..length).map(|_| rand::random::<u8>()).collect();
        let nonce: [u8; 12] = rand::random();
        let aad = associated_data(key_id, context);
        let sealed = self
            .master
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut blob = BLOB_MAGIC.to_vec();
        blob.extend((key_id.len() as u16).to_be_bytes());
        blob.extend(key_id.as_bytes());
        blob.extend(nonce);
        blob.extend(sealed);
        (plaintext, blob)
    }

    /// The data key in `blob`, if `context` is the one it was made with; and its key id.
    pub fn decrypt(
        &self,
        blob: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<(Vec<u8>, String), ServiceError> {
        let rest = blob
            .strip_prefix(BLOB_MAGIC)
            .ok_or_else(invalid_ciphertext)?;
        let (length, rest) = rest.split_at_checked(2).ok_or_else(invalid_ciphertext)?;
        let length = u16::from_be_bytes([length[0], length[1]]) as usize;
        let (key_id, rest) = rest
            .split_at_checked(length)
            .ok_or_else(invalid_ciphertext)?;
        let key_id = String::from_utf8(key_id.to_vec()).map_err(|_| invalid_ciphertext())?;
        let (nonce, sealed) = rest.split_at_checked(12).ok_or_else(invalid_ciphertext)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| invalid_ciphertext())?;
        let aad = associated_data(&key_id, context);
        let plaintext = self
            .master
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| invalid_ciphertext())?;
        Ok((plaintext, key_id))
    }
}

fn key_arn(key_id: &str, region: &str) -> String {
    if key_id.starts_with("arn:") {
        key_id.to_owned()
    } else {
        format!("arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}")
    }
}

fn context_of(input: &Value) -> Result<BTreeMap<String, String>, ServiceError> {
    match &input["EncryptionContext"] {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ServiceError::framework(
                    "SerializationException",
                    "EncryptionContext values must be strings.",
                )),
            })
            .collect(),
        _ => Err(ServiceError::framework(
            "SerializationException",
            "EncryptionContext must be a map of strings.",
        )),
    }
}

/// `TrentService.GenerateDataKey`: `KeyId`, `NumberOfBytes` (1–1024) or `KeySpec`
/// (`AES_256`, `AES_128`), `EncryptionContext`.
pub fn generate_data_key(
    keys: &KmsKeys,
    region: &str,
    input: &Value,
) -> Result<Value, ServiceError> {
    let key_id = input["KeyId"].as_str().unwrap_or_default();
    if key_id.is_empty() {
        return Err(ServiceError::client(
            "ValidationException",
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
        ));
    }
    let length = match (&input["NumberOfBytes"], input["KeySpec"].as_str()) {
        (Value::Number(n), None) => match n.as_u64() {
            Some(n @ 1..=1024) => n as usize,
            _ => {
                return Err(ServiceError::client(
                    "ValidationException",
                    "NumberOfBytes must be between 1 and 1024.",
                ))
            }
        },
        (Value::Null, Some("AES_256")) => 32,
        (Value::Null, Some("AES_128")) => 16,
        _ => {
            return Err(ServiceError::client(
                "ValidationException",
                "Give either NumberOfBytes or KeySpec (AES_256 or AES_128).",
            ))
        }
    };
    let context = context_of(input)?;
    let (plaintext, blob) = keys.generate(key_id, length, &context);
    Ok(json!({
        "CiphertextBlob": b64().encode(blob),
        "Plaintext": b64().encode(plaintext),
        "KeyId": key_arn(key_id, region),
    }))
}

/// `TrentService.Decrypt`: `CiphertextBlob`, `EncryptionContext`.
pub fn decrypt(keys: &KmsKeys, region: &str, input: &Value) -> Result<Value, ServiceError> {
    let blob = input["CiphertextBlob"]
        .as_str()
        .and_then(|text| b64().decode(text).ok())
        .ok_or_else(|| {
            ServiceError::framework("SerializationException", "CiphertextBlob must be base64.")
        })?;
    let (plaintext, key_id) = keys.decrypt(&blob, &context_of(input)?)?;
    Ok(json!({
        "Plaintext": b64().encode(plaintext),
        "KeyId": key_arn(&key_id, region),
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(session: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("aws:ssm:SessionId".to_owned(), session.to_owned()),
            ("aws:ssm:TargetId".to_owned(), "i-1".to_owned()),
        ])
    }

    #[test]
    fn a_blob_opens_only_with_its_own_context() {
        let keys = KmsKeys::default();
        let (plaintext, blob) = keys.generate("alias/x", 64, &context("s-1"));
        assert_eq!(plaintext.len(), 64);
        let (opened, key_id) = keys.decrypt(&blob, &context("s-1")).unwrap();
        assert_eq!(opened, plaintext);
        assert_eq!(key_id, "alias/x");
        assert_eq!(
            keys.decrypt(&blob, &context("s-2")).unwrap_err().code(),
            "InvalidCiphertextException"
        );
        assert!(keys.decrypt(&blob[..20], &context("s-1")).is_err());
        assert!(KmsKeys::default().decrypt(&blob, &context("s-1")).is_err());
    }
}
