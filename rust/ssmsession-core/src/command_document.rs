//! The session document that makes the agent keep a command's standard error apart, send
//! its output as it is written and report its exit code: a NonInteractiveCommands document
//! with `separateOutputStream` (AWS's own `AWS-StartNonInteractiveCommand` has none, so its
//! agent merges both streams, holds them until the command ends and sends no exit code).

use aws_sdk_ssm::operation::RequestId;
use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde::{Deserialize, Serialize};

use crate::api::{classify, describe_destination};
use crate::client::ClientCache;
use crate::error::CoreError;
use crate::request::ClientSettings;

/// Create the command document under `name` in the caller's account and region.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CommandDocumentCall {
    pub name: Option<String>,
    #[serde(default)]
    pub client: ClientSettings,
}

/// What CreateDocument answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommandDocumentOutput {
    pub name: Option<String>,
    pub document_type: Option<String>,
    pub document_version: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub request_id: Option<String>,
}

/// The document: one `command` parameter, run with separate output streams on every
/// platform.
pub fn command_document_content() -> String {
    let platform = serde_json::json!({
        "commands": "{{ command }}",
        "runAsElevated": false,
        "separateOutputStream": true
    });
    serde_json::json!({
        "schemaVersion": "1.0",
        "description": "Runs one command without a terminal; standard output and standard error are sent apart as they are written, then the exit code (created by SSMSession's New-SSMSessionCommandDocument).",
        "sessionType": "NonInteractiveCommands",
        "parameters": {
            "command": { "type": "String", "description": "The command to run." }
        },
        "properties": { "linux": platform, "macos": platform, "windows": platform }
    })
    .to_string()
}

/// Calls `CreateDocument` with [`command_document_content`].
pub async fn create_command_document(
    cache: &ClientCache,
    call: CommandDocumentCall,
) -> Result<CommandDocumentOutput, CoreError> {
    let client = cache.client(&call.client).await?.ssm;
    let where_to = describe_destination(&client, call.client.endpoint_url.as_deref());
    let output = client
        .create_document()
        .set_name(call.name)
        .content(command_document_content())
        .document_type(DocumentType::Session)
        .document_format(DocumentFormat::Json)
        .send()
        .await
        .map_err(|e| classify(e, &where_to))?;
    let request_id = output.request_id().map(str::to_owned);
    let description = output.document_description;
    Ok(CommandDocumentOutput {
        name: description.as_ref().and_then(|d| d.name.clone()),
        document_type: description
            .as_ref()
            .and_then(|d| d.document_type.as_ref())
            .map(|t| t.as_str().to_owned()),
        document_version: description
            .as_ref()
            .and_then(|d| d.document_version.clone()),
        status: description
            .as_ref()
            .and_then(|d| d.status.as_ref())
            .map(|s| s.as_str().to_owned()),
        owner: description.as_ref().and_then(|d| d.owner.clone()),
        request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_asks_every_platform_for_separate_output() {
        let document: serde_json::Value =
            serde_json::from_str(&command_document_content()).unwrap();
        assert_eq!(document["schemaVersion"], "1.0");
        assert_eq!(document["sessionType"], "NonInteractiveCommands");
        for platform in ["linux", "macos", "windows"] {
            assert_eq!(
                document["properties"][platform]["separateOutputStream"],
                true
            );
            assert_eq!(
                document["properties"][platform]["commands"],
                "{{ command }}"
            );
        }
    }
}
