//! The handshake the agent drives before a session starts: HandshakeRequest (agent →
//! client), HandshakeResponse (client → agent), HandshakeComplete (agent → client), and
//! the version comparisons both peers use to switch features.
//!
//! KMS encryption is answered "Unsupported" for now; the agent then ends the session with
//! a clear reason instead of the client hanging.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `ActionStatus` values.
pub const STATUS_SUCCESS: u32 = 1;
pub const STATUS_FAILED: u32 = 2;
pub const STATUS_UNSUPPORTED: u32 = 3;

/// Session plugins a client can run, from the `SessionType` action.
pub const SHELL_SESSION_TYPES: &[&str] = &[
    "Standard_Stream",
    "InteractiveCommands",
    "NonInteractiveCommands",
];
pub const PORT_SESSION_TYPE: &str = "Port";

/// Agent → client, PayloadType 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeRequest {
    pub agent_version: String,
    #[serde(default)]
    pub requested_client_actions: Vec<RequestedClientAction>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestedClientAction {
    pub action_type: String,
    #[serde(default)]
    pub action_parameters: Value,
}

/// Client → agent, PayloadType 6. `Errors` and `ActionResult` are `null` when empty, as
/// Go encodes nil.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeResponse {
    pub client_version: String,
    pub processed_client_actions: Vec<ProcessedClientAction>,
    pub errors: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessedClientAction {
    pub action_type: String,
    pub action_status: u32,
    pub action_result: Option<Value>,
    pub error: String,
}

/// Agent → client, PayloadType 7.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeComplete {
    /// Nanoseconds (a Go `time.Duration`).
    #[serde(default)]
    pub handshake_time_to_complete: i64,
    /// Shown to the user when not empty.
    #[serde(default)]
    pub customer_message: String,
}

/// What the agent asked the client to run.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionKind {
    /// `Standard_Stream`, `InteractiveCommands` or `NonInteractiveCommands`.
    Shell {
        session_type: String,
        properties: Value,
    },
    /// Port forwarding; `properties` carries `type` (e.g. `LocalPortForwarding`), ports, host.
    Port { properties: Value },
}

/// The client's answer to a HandshakeRequest and the session it agreed to run.
#[derive(Clone, Debug, PartialEq)]
pub struct HandshakeOutcome {
    pub response: HandshakeResponse,
    /// None when no acceptable SessionType was requested (the agent will end the session).
    pub session: Option<SessionKind>,
}

fn processed(action_type: &str, status: u32, error: impl Into<String>) -> ProcessedClientAction {
    ProcessedClientAction {
        action_type: action_type.to_owned(),
        action_status: status,
        action_result: None,
        error: error.into(),
    }
}

/// Processes each requested action in order, as the reference plugin does; a
/// KMSEncryption request is answered as unsupported (see [`respond_with_key`]).
pub fn respond(request: &HandshakeRequest, client_version: &str) -> HandshakeOutcome {
    respond_with_key(request, client_version, None)
}

/// The KMSEncryption action of a request: its key id, when it asks for one.
pub fn requested_kms_key(request: &HandshakeRequest) -> Option<String> {
    request
        .requested_client_actions
        .iter()
        .find(|a| a.action_type == "KMSEncryption")
        .map(|a| {
            a.action_parameters["KMSKeyId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
}

/// The anti-replay challenge of a KMSEncryption action (newer agents: base64 of 16 random
/// bytes). A client that acknowledges it puts it in the data key's encryption context as
/// `aws:ssm:RandomChallenge` (protocol notes §4.3).
pub fn requested_kms_challenge(request: &HandshakeRequest) -> Option<String> {
    request
        .requested_client_actions
        .iter()
        .find(|a| a.action_type == "KMSEncryption")
        .and_then(|a| a.action_parameters["Challenge"].as_str())
        .filter(|challenge| !challenge.is_empty())
        .map(str::to_owned)
}

/// [`respond`], with the outcome of the client's KMS GenerateDataKey for a KMSEncryption
/// action: the ciphertext blob goes back as `KMSCipherTextKey`, with
/// `ChallengeAcknowledgement` when the agent sent a challenge (the key was generated with
/// it in the context); an error fails the action.
pub fn respond_with_key(
    request: &HandshakeRequest,
    client_version: &str,
    data_key: Option<&Result<Vec<u8>, String>>,
) -> HandshakeOutcome {
    let mut session = None;
    let mut actions = Vec::new();
    for action in &request.requested_client_actions {
        let outcome = match action.action_type.as_str() {
            "SessionType" => {
                let session_type = action.action_parameters["SessionType"]
                    .as_str()
                    .unwrap_or_default();
                let properties = action.action_parameters["Properties"].clone();
                if SHELL_SESSION_TYPES.contains(&session_type) {
                    session = Some(SessionKind::Shell {
                        session_type: session_type.to_owned(),
                        properties,
                    });
                    processed("SessionType", STATUS_SUCCESS, "")
                } else if session_type == PORT_SESSION_TYPE {
                    session = Some(SessionKind::Port { properties });
                    processed("SessionType", STATUS_SUCCESS, "")
                } else {
                    processed(
                        "SessionType",
                        STATUS_FAILED,
                        format!("Unknown session type {session_type}"),
                    )
                }
            }
            "KMSEncryption" => match data_key {
                Some(Ok(blob)) => {
                    let mut result = serde_json::json!({
                        "KMSCipherTextKey": crate::crypto::to_base64(blob),
                        "KMSCipherTextHash": null,
                    });
                    if requested_kms_challenge(request).is_some() {
                        result["ChallengeAcknowledgement"] = serde_json::Value::Bool(true);
                    }
                    ProcessedClientAction {
                        action_type: "KMSEncryption".to_owned(),
                        action_status: STATUS_SUCCESS,
                        action_result: Some(result),
                        error: String::new(),
                    }
                }
                Some(Err(reason)) => processed("KMSEncryption", STATUS_FAILED, reason.clone()),
                None => processed(
                    "KMSEncryption",
                    STATUS_UNSUPPORTED,
                    "KMS encryption was requested, but this client has no KMS access here.",
                ),
            },
            // The reference plugin leaves ActionStatus 0 here; say Unsupported properly.
            other => processed(
                other,
                STATUS_UNSUPPORTED,
                format!("Unsupported action {other}"),
            ),
        };
        actions.push(outcome);
    }
    let errors: Vec<String> = actions
        .iter()
        .filter(|a| a.action_status != STATUS_SUCCESS)
        .map(|a| a.error.clone())
        .collect();
    HandshakeOutcome {
        response: HandshakeResponse {
            client_version: client_version.to_owned(),
            processed_client_actions: actions,
            errors: (!errors.is_empty()).then_some(errors),
        },
        session,
    }
}

/// A dotted numeric version such as `3.1.1511.0`. Parts compare numerically; missing
/// parts count as 0. An empty or non-numeric version is lower than any real one, as the
/// agent treats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version(Option<Vec<u64>>);

impl Version {
    pub fn parse(text: &str) -> Self {
        let parts: Option<Vec<u64>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        Self(parts.filter(|p| !p.is_empty()))
    }

    pub fn is_known(&self) -> bool {
        self.0.is_some()
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => {
                let width = a.len().max(b.len());
                let part = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
                (0..width)
                    .map(|i| part(a, i).cmp(&part(b, i)))
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(parts) => {
                let text: Vec<String> = parts.iter().map(u64::to_string).collect();
                f.write_str(&text.join("."))
            }
            None => f.write_str("unknown"),
        }
    }
}

/// What the agent's version decides for port sessions (see the protocol notes, §1.4).
pub struct AgentFeatures {
    /// Agents newer than 3.0.196.0 multiplex local port forwarding over smux.
    pub multiplexed_port_forwarding: bool,
    /// Agents newer than 3.1.1511.0 turn their smux keep-alive off; so must the client.
    pub smux_keepalive_off: bool,
}

impl AgentFeatures {
    pub fn of(agent_version: &Version) -> Self {
        Self {
            multiplexed_port_forwarding: *agent_version > Version::parse("3.0.196.0"),
            smux_keepalive_off: *agent_version > Version::parse("3.1.1511.0"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(actions: Value) -> HandshakeRequest {
        serde_json::from_value(
            json!({ "AgentVersion": "3.3.3572.0", "RequestedClientActions": actions }),
        )
        .unwrap()
    }

    #[test]
    fn accepts_a_port_session_and_answers_in_the_reference_shape() {
        let properties = json!({"host":"172.31.25.54","localPortNumber":"7406","portNumber":"3000","type":"LocalPortForwarding"});
        let outcome = respond(
            &request(
                json!([{ "ActionType": "SessionType", "ActionParameters": { "SessionType": "Port", "Properties": properties } }]),
            ),
            "1.2.764.0",
        );
        assert_eq!(outcome.session, Some(SessionKind::Port { properties }));
        assert_eq!(
            serde_json::to_value(&outcome.response).unwrap(),
            json!({
                "ClientVersion": "1.2.764.0",
                "ProcessedClientActions": [{ "ActionType": "SessionType", "ActionStatus": 1, "ActionResult": null, "Error": "" }],
                "Errors": null
            })
        );
    }

    #[test]
    fn accepts_shell_sessions_and_refuses_unknown_ones() {
        let outcome = respond(
            &request(
                json!([{ "ActionType": "SessionType", "ActionParameters": { "SessionType": "NonInteractiveCommands", "Properties": null } }]),
            ),
            "1",
        );
        assert!(
            matches!(outcome.session, Some(SessionKind::Shell { ref session_type, .. }) if session_type == "NonInteractiveCommands")
        );

        let outcome = respond(
            &request(
                json!([{ "ActionType": "SessionType", "ActionParameters": { "SessionType": "Telepathy" } }]),
            ),
            "1",
        );
        assert_eq!(outcome.session, None);
        assert_eq!(
            outcome.response.processed_client_actions[0].action_status,
            STATUS_FAILED
        );
        assert_eq!(
            outcome.response.errors,
            Some(vec!["Unknown session type Telepathy".to_owned()])
        );
    }

    #[test]
    fn reports_kms_and_unknown_actions_as_unsupported() {
        let outcome = respond(
            &request(json!([
                { "ActionType": "SessionType", "ActionParameters": { "SessionType": "Standard_Stream" } },
                { "ActionType": "KMSEncryption", "ActionParameters": { "KMSKeyId": "alias/x", "Challenge": "AAAA" } },
                { "ActionType": "Teleport", "ActionParameters": {} }
            ])),
            "1",
        );
        let statuses: Vec<u32> = outcome
            .response
            .processed_client_actions
            .iter()
            .map(|a| a.action_status)
            .collect();
        assert_eq!(
            statuses,
            vec![STATUS_SUCCESS, STATUS_UNSUPPORTED, STATUS_UNSUPPORTED]
        );
        assert_eq!(outcome.response.errors.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn an_anti_replay_challenge_is_acknowledged_only_when_the_agent_sent_one() {
        let blob = Ok(vec![1u8, 2, 3]);
        let with = request(json!([
            { "ActionType": "SessionType", "ActionParameters": { "SessionType": "Standard_Stream" } },
            { "ActionType": "KMSEncryption", "ActionParameters": { "KMSKeyId": "alias/x", "Challenge": "c2VjcmV0LWNoYWxsZW5nZQ==" } }
        ]));
        assert_eq!(
            requested_kms_challenge(&with).as_deref(),
            Some("c2VjcmV0LWNoYWxsZW5nZQ==")
        );
        let answered = respond_with_key(&with, "1", Some(&blob));
        let result = answered.response.processed_client_actions[1]
            .action_result
            .clone()
            .unwrap();
        assert_eq!(result["ChallengeAcknowledgement"], json!(true));
        assert_eq!(result["KMSCipherTextKey"], json!("AQID"));

        let without = request(json!([
            { "ActionType": "KMSEncryption", "ActionParameters": { "KMSKeyId": "alias/x" } }
        ]));
        assert_eq!(requested_kms_challenge(&without), None);
        let answered = respond_with_key(&without, "1", Some(&blob));
        let result = answered.response.processed_client_actions[0]
            .action_result
            .clone()
            .unwrap();
        assert!(result.get("ChallengeAcknowledgement").is_none(), "{result}");
    }

    #[test]
    fn handshake_complete_reads_the_go_duration() {
        let complete: HandshakeComplete =
            serde_json::from_str(r#"{"HandshakeTimeToComplete":1500000000,"CustomerMessage":"This session is encrypted using AWS KMS."}"#).unwrap();
        assert_eq!(complete.handshake_time_to_complete, 1_500_000_000);
        assert!(complete.customer_message.contains("KMS"));
    }

    #[test]
    fn versions_compare_numerically_and_unknown_is_lowest() {
        assert!(Version::parse("3.1.1511.1") > Version::parse("3.1.1511.0"));
        assert!(
            Version::parse("3.10.0.0") > Version::parse("3.9.9999.0"),
            "numeric, not textual"
        );
        assert_eq!(
            Version::parse("1.2").cmp(&Version::parse("1.2.0.0")),
            Ordering::Equal,
            "missing parts count as 0"
        );
        assert!(Version::parse("") < Version::parse("0.0.0.1"));
        assert!(Version::parse("abc") < Version::parse("1"));
        assert!(!Version::parse("1.x").is_known());
        assert_eq!(Version::parse("3.3.3572.0").to_string(), "3.3.3572.0");
    }

    #[test]
    fn agent_versions_decide_port_features() {
        let old = AgentFeatures::of(&Version::parse("3.0.196.0"));
        assert!(!old.multiplexed_port_forwarding && !old.smux_keepalive_off);
        let middle = AgentFeatures::of(&Version::parse("3.1.1000.0"));
        assert!(middle.multiplexed_port_forwarding && !middle.smux_keepalive_off);
        let new = AgentFeatures::of(&Version::parse("3.3.3572.0"));
        assert!(new.multiplexed_port_forwarding && new.smux_keepalive_off);
    }
}
