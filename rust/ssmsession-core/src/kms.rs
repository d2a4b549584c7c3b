//! KMS GenerateDataKey for sessions the agent encrypts (protocol notes §4.3), through the
//! client's own credentials and region.

use ssmsession_datachannel::crypto::{DataKey, DataKeyFuture, KeyProvider, DATA_KEY_LENGTH};

use crate::error::describe_chain;

/// Generates session data keys with an `aws_sdk_kms::Client`.
pub struct KmsKeyProvider {
    client: aws_sdk_kms::Client,
}

impl KmsKeyProvider {
    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Self { client }
    }
}

impl KeyProvider for KmsKeyProvider {
    fn generate_data_key(&self, key_id: &str, context: Vec<(String, String)>) -> DataKeyFuture {
        let request = self
            .client
            .generate_data_key()
            .key_id(key_id)
            .number_of_bytes(DATA_KEY_LENGTH as i32)
            .set_encryption_context(Some(context.into_iter().collect()));
        let key_id = key_id.to_owned();
        Box::pin(async move {
            let output = request.send().await.map_err(|e| {
                let code = e
                    .as_service_error()
                    .and_then(|s| aws_smithy_types::error::metadata::ProvideErrorMetadata::code(s))
                    .map(str::to_owned);
                match code {
                    Some(code) => format!("{code} for key {key_id}: {}", describe_chain(&e)),
                    None => format!("for key {key_id}: {}", describe_chain(&e)),
                }
            })?;
            match (output.plaintext, output.ciphertext_blob) {
                (Some(plaintext), Some(blob)) => Ok(DataKey {
                    plaintext: plaintext.into_inner(),
                    ciphertext_blob: blob.into_inner(),
                }),
                _ => Err("KMS returned no data key".to_owned()),
            }
        })
    }
}
