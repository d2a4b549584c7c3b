//! Session documents: the AWS-owned ones, those given with `--document`, and those made
//! with CreateDocument. StartSession resolves a session's document into the plan its agent
//! follows: the session type, and the properties with the parameters filled in — for
//! shell-type documents the properties of this machine's platform (`linux`, `macos`,
//! `windows`), as the real agent reads them (agent-behaviour §2).

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::managed_documents::MANAGED_DOCUMENTS;

/// The session plugins the agent knows (agent-behaviour §0).
pub const SESSION_TYPES: &[&str] = &[
    "Standard_Stream",
    "InteractiveCommands",
    "NonInteractiveCommands",
    "Port",
];

/// The document a session without `DocumentName` uses.
pub const DEFAULT_DOCUMENT: &str = "SSM-SessionManagerRunShell";

/// The platform key the agent reads shell properties from.
pub fn platform_key() -> &'static str {
    match std::env::consts::OS {
        "macos" => "macos",
        "windows" => "windows",
        _ => "linux",
    }
}

/// What the agent runs for one session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionPlan {
    pub session_type: String,
    /// Port: the document's properties. Shell types: this platform's properties.
    pub properties: Value,
    /// The document's session `inputs` (shell profile, run-as, logging), `{}` when none.
    pub inputs: Value,
}

impl Default for SessionPlan {
    fn default() -> Self {
        Self {
            session_type: "Standard_Stream".into(),
            properties: json!({}),
            inputs: json!({}),
        }
    }
}

impl SessionPlan {
    /// The shell profile the agent types into a shell: `inputs.shellProfile.linux` on
    /// Linux and macOS (the agent has no macOS profile), `windows` on Windows.
    pub fn shell_profile(&self) -> String {
        let key = if cfg!(windows) { "windows" } else { "linux" };
        self.inputs["shellProfile"][key]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A property as text (`commands`, `portNumber`…), empty when absent.
    pub fn text(&self, name: &str) -> String {
        match &self.properties[name] {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

/// A document the emulator serves.
#[derive(Clone, Debug)]
pub struct SessionDocument {
    pub name: String,
    pub session_type: String,
    /// Declared parameters: name → `{type, description, default}`.
    parameters: Map<String, Value>,
    properties: Value,
    inputs: Value,
    pub content: String,
    /// `Amazon` for the AWS-owned documents, else the account id.
    pub owner: String,
    pub created: SystemTime,
}

impl SessionDocument {
    /// Reads a session document (JSON, schema 1.0, a known session type).
    pub fn parse(name: &str, content: &str, owner: &str) -> Result<Self, String> {
        let document: Value = serde_json::from_str(content)
            .map_err(|e| format!("The document is not valid JSON: {e}."))?;
        let Some(document) = document.as_object() else {
            return Err("The document must be a JSON object.".into());
        };
        if document.get("schemaVersion").and_then(Value::as_str) != Some("1.0") {
            return Err("Session documents must have schemaVersion \"1.0\".".into());
        }
        let session_type = document
            .get("sessionType")
            .and_then(Value::as_str)
            .filter(|t| SESSION_TYPES.contains(t))
            .ok_or_else(|| format!("sessionType must be one of {}.", SESSION_TYPES.join(", ")))?;
        let parameters = match document.get("parameters") {
            None => Map::new(),
            Some(Value::Object(parameters)) => parameters.clone(),
            Some(_) => return Err("parameters must be an object.".into()),
        };
        for (parameter, declaration) in &parameters {
            if !declaration.is_object() {
                return Err(format!(
                    "Parameter {parameter} must be declared as an object."
                ));
            }
        }
        let properties = document.get("properties").cloned().unwrap_or(json!({}));
        if !properties.is_object() {
            return Err("properties must be an object.".into());
        }
        let inputs = document.get("inputs").cloned().unwrap_or(json!({}));
        if !inputs.is_object() {
            return Err("inputs must be an object.".into());
        }
        Ok(Self {
            name: name.to_owned(),
            session_type: session_type.to_owned(),
            parameters,
            properties,
            inputs,
            content: content.to_owned(),
            owner: owner.to_owned(),
            created: SystemTime::now(),
        })
    }

    /// The plan for StartSession's `Parameters` (name → list of values): every given
    /// parameter must be declared, every declared one without a default given.
    pub fn plan(&self, given: &Value) -> Result<SessionPlan, String> {
        let mut values = BTreeMap::new();
        if let Some(given) = given.as_object() {
            for (name, list) in given {
                if !self.parameters.contains_key(name) {
                    return Err(format!(
                        "Parameter \"{name}\" is not defined in document {}.",
                        self.name
                    ));
                }
                let first = list[0].as_str().unwrap_or_default().to_owned();
                values.insert(name.clone(), first);
            }
        }
        for (name, declaration) in &self.parameters {
            if values.contains_key(name) {
                continue;
            }
            match declaration.get("default") {
                Some(Value::String(default)) => {
                    values.insert(name.clone(), default.clone());
                }
                Some(other) if !other.is_null() => {
                    values.insert(name.clone(), other.to_string());
                }
                _ => {
                    return Err(format!(
                        "Parameter \"{name}\" of document {} is required.",
                        self.name
                    ))
                }
            }
        }
        let properties = if self.session_type == "Port" {
            self.properties.clone()
        } else {
            self.properties
                .get(platform_key())
                .cloned()
                .unwrap_or(json!({}))
        };
        Ok(SessionPlan {
            session_type: self.session_type.clone(),
            properties: substitute(&properties, &values),
            inputs: substitute(&self.inputs, &values),
        })
    }

    /// `DocumentDescription` as DescribeDocument and CreateDocument return it.
    pub fn description(&self) -> Value {
        let parameters: Vec<Value> = self
            .parameters
            .iter()
            .map(|(name, declaration)| {
                let mut parameter = json!({
                    "Name": name,
                    "Type": declaration["type"].as_str().unwrap_or("String"),
                    "Description": declaration["description"].as_str().unwrap_or_default(),
                });
                if let Some(default) = declaration["default"].as_str() {
                    parameter["DefaultValue"] = json!(default);
                }
                parameter
            })
            .collect();
        let created = self
            .created
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        json!({
            "Name": self.name,
            "Owner": self.owner,
            "CreatedDate": created,
            "Status": "Active",
            "DocumentVersion": "1",
            "LatestVersion": "1",
            "DefaultVersion": "1",
            "DocumentType": "Session",
            "DocumentFormat": "JSON",
            "SchemaVersion": "1.0",
            "Parameters": parameters,
            "PlatformTypes": ["Windows", "Linux", "MacOS"],
        })
    }
}

/// Fills `{{ name }}` (spaces inside the braces optional) in every string of `value`.
fn substitute(value: &Value, values: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(text) => Value::String(fill(text, values)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let name = rest[open + 2..open + close].trim();
        out.push_str(&rest[..open]);
        match values.get(name) {
            Some(value) => out.push_str(value),
            // Not a parameter: left as written.
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// A document given on the command line: `NAME` (a shell document) or `NAME=FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraDocument {
    pub name: String,
    /// The document's JSON; None for a plain shell document.
    pub content: Option<String>,
}

impl ExtraDocument {
    /// A document accepted by name that runs a shell.
    pub fn shell(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            content: None,
        }
    }

    /// A NonInteractiveCommands document with one `command` parameter and `properties`
    /// (besides `commands`) for every platform, e.g. `separateOutputStream`.
    pub fn command(name: &str, properties: Value) -> Self {
        let mut platform = json!({ "commands": "{{ command }}" });
        if let (Some(platform), Some(extra)) = (platform.as_object_mut(), properties.as_object()) {
            platform.extend(extra.clone());
        }
        let document = json!({
            "schemaVersion": "1.0",
            "sessionType": "NonInteractiveCommands",
            "parameters": { "command": { "type": "String" } },
            "properties": { "linux": platform, "macos": platform, "windows": platform }
        });
        Self {
            name: name.to_owned(),
            content: Some(document.to_string()),
        }
    }

    /// `NAME` or `NAME=FILE` (the file is read now).
    pub fn from_spec(spec: &str) -> Result<Self, String> {
        match spec.split_once('=') {
            None => Ok(Self::shell(spec)),
            Some((name, path)) => {
                let content = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read document {name} from {path}: {e}"))?;
                Ok(Self {
                    name: name.to_owned(),
                    content: Some(content),
                })
            }
        }
    }
}

/// Why CreateDocument refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateError {
    AlreadyExists,
    InvalidContent(String),
}

/// Every document the emulator serves, by name.
pub struct DocumentStore {
    documents: RwLock<BTreeMap<String, SessionDocument>>,
}

impl DocumentStore {
    /// The AWS-owned documents and `extra` (owned by `account`).
    pub fn new(extra: &[ExtraDocument], account: &str) -> Result<Self, String> {
        let mut documents = BTreeMap::new();
        for (name, content) in MANAGED_DOCUMENTS {
            let document = SessionDocument::parse(name, content, "Amazon")
                .map_err(|e| format!("managed document {name}: {e}"))?;
            documents.insert((*name).to_owned(), document);
        }
        for extra in extra {
            let content = extra.content.clone().unwrap_or_else(|| {
                json!({ "schemaVersion": "1.0", "sessionType": "Standard_Stream" }).to_string()
            });
            let document = SessionDocument::parse(&extra.name, &content, account)
                .map_err(|e| format!("document {}: {e}", extra.name))?;
            documents.insert(extra.name.clone(), document);
        }
        Ok(Self {
            documents: RwLock::new(documents),
        })
    }

    /// A document by name or ARN (`arn:…:document/<name>`).
    pub fn find(&self, name: &str) -> Option<SessionDocument> {
        let short = name
            .rsplit_once("document/")
            .map_or(name, |(_, short)| short);
        let documents = self.documents.read().unwrap_or_else(|p| p.into_inner());
        documents.get(short).cloned()
    }

    pub fn create(
        &self,
        name: &str,
        content: &str,
        account: &str,
    ) -> Result<SessionDocument, CreateError> {
        let document =
            SessionDocument::parse(name, content, account).map_err(CreateError::InvalidContent)?;
        let mut documents = self.documents.write().unwrap_or_else(|p| p.into_inner());
        if documents.contains_key(name) {
            return Err(CreateError::AlreadyExists);
        }
        documents.insert(name.to_owned(), document.clone());
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> DocumentStore {
        DocumentStore::new(&[], "123456789012").unwrap()
    }

    #[test]
    fn managed_documents_resolve_with_defaults_and_this_platforms_properties() {
        let store = store();
        let port = store.find("AWS-StartPortForwardingSession").unwrap();
        let plan = port.plan(&json!({ "portNumber": ["8080"] })).unwrap();
        assert_eq!(plan.session_type, "Port");
        assert_eq!(
            plan.properties,
            json!({ "portNumber": "8080", "type": "LocalPortForwarding", "localPortNumber": "0" })
        );
        let command = store
            .find("arn:aws:ssm:eu-west-3::document/AWS-StartNonInteractiveCommand")
            .unwrap();
        let plan = command.plan(&json!({ "command": ["df -h /"] })).unwrap();
        assert_eq!(plan.session_type, "NonInteractiveCommands");
        assert_eq!(plan.text("commands"), "df -h /");
        assert_eq!(plan.properties["separateOutputStream"], Value::Null);
        let shell = store
            .find(DEFAULT_DOCUMENT)
            .unwrap()
            .plan(&Value::Null)
            .unwrap();
        assert_eq!(shell.session_type, "Standard_Stream");
        assert_eq!(shell.properties, json!({}));
        assert_eq!(shell.inputs["runAsEnabled"], false);
        assert_eq!(shell.shell_profile(), "");
    }

    #[test]
    fn a_documents_inputs_carry_its_shell_profile() {
        let document = SessionDocument::parse(
            "Profiled",
            r#"{"schemaVersion":"1.0","sessionType":"Standard_Stream",
                "inputs":{"shellProfile":{"linux":"export GREETING=hello","windows":"$x=1"}}}"#,
            "111122223333",
        )
        .unwrap();
        let plan = document.plan(&Value::Null).unwrap();
        let expected = if cfg!(windows) {
            "$x=1"
        } else {
            "export GREETING=hello"
        };
        assert_eq!(plan.shell_profile(), expected);
        assert!(SessionDocument::parse(
            "Bad",
            r#"{"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":[]}"#,
            "111122223333"
        )
        .is_err());
    }

    #[test]
    fn parameters_must_be_declared_and_required_ones_given() {
        let store = store();
        let command = store.find("AWS-StartNonInteractiveCommand").unwrap();
        let missing = command.plan(&Value::Null).unwrap_err();
        assert!(missing.contains("\"command\""), "{missing}");
        let unknown = command
            .plan(&json!({ "command": ["x"], "nope": ["y"] }))
            .unwrap_err();
        assert!(unknown.contains("\"nope\" is not defined"), "{unknown}");
    }

    #[test]
    fn created_documents_are_checked_and_names_are_unique() {
        let store = store();
        let content = json!({
            "schemaVersion": "1.0",
            "sessionType": "NonInteractiveCommands",
            "parameters": { "command": { "type": "String" } },
            "properties": {
                "linux": { "commands": "{{command}}", "separateOutputStream": true },
                "macos": { "commands": "{{command}}", "separateOutputStream": true },
                "windows": { "commands": "{{command}}", "separateOutputStream": true }
            }
        })
        .to_string();
        let created = store
            .create("Run-Separately", &content, "123456789012")
            .unwrap();
        let plan = created.plan(&json!({ "command": ["id -u"] })).unwrap();
        assert_eq!(plan.properties["separateOutputStream"], true);
        assert_eq!(plan.text("commands"), "id -u");
        assert_eq!(
            store.create("Run-Separately", &content, "1").unwrap_err(),
            CreateError::AlreadyExists
        );
        assert!(matches!(
            store.create(
                "Bad",
                r#"{"schemaVersion":"2.2","sessionType":"Port"}"#,
                "1"
            ),
            Err(CreateError::InvalidContent(_))
        ));
        assert!(matches!(
            store.create("Bad", "{", "1"),
            Err(CreateError::InvalidContent(_))
        ));
    }

    #[test]
    fn placeholders_fill_with_or_without_spaces() {
        let values = BTreeMap::from([("a".to_owned(), "1".to_owned())]);
        assert_eq!(
            fill("x {{a}} {{ a }} {{ b }} {{", &values),
            "x 1 1 {{ b }} {{"
        );
    }
}
