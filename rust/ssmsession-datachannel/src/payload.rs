//! What travels inside messages: acknowledgements, flags, terminal sizes, and the
//! OpenDataChannel text frame that opens the channel. JSON follows the peers' Go
//! conventions (PascalCase keys as the reference sends them).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::message::{ClientMessage, MessageType, PayloadType, FLAG_FIN, FLAG_SYN, SCHEMA_VERSION};

/// The payload of an `acknowledge` message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AcknowledgeContent {
    pub acknowledged_message_type: String,
    /// The acknowledged message's logical UUID, lowercase and hyphenated.
    pub acknowledged_message_id: String,
    pub acknowledged_message_sequence_number: i64,
    pub is_sequential_message: bool,
}

/// The acknowledgement for `received`, as the reference plugin writes it: sequence number
/// 0, flags SYN|FIN, payload type 0, a fresh message id, the acknowledged sequence number
/// in the JSON (receivers match acknowledgements by that number only).
pub fn acknowledge(received: &ClientMessage, created_date: u64) -> ClientMessage {
    let content = AcknowledgeContent {
        acknowledged_message_type: received.message_type.as_str().to_owned(),
        acknowledged_message_id: received.message_id.hyphenated().to_string(),
        acknowledged_message_sequence_number: received.sequence_number,
        is_sequential_message: true,
    };
    ClientMessage {
        message_type: MessageType::Acknowledge,
        schema_version: SCHEMA_VERSION,
        created_date,
        sequence_number: 0,
        flags: FLAG_SYN | FLAG_FIN,
        message_id: Uuid::new_v4(),
        payload_type: PayloadType::UNSET,
        // Serialising this struct cannot fail: strings, a number and a bool.
        payload: serde_json::to_vec(&content).unwrap_or_default(),
    }
}

/// The 4-byte big-endian payload of a [`PayloadType::FLAG`] message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Client → agent: the local connection closed (basic port forwarding).
    DisconnectToPort,
    /// Client → agent: end the session.
    TerminateSession,
    /// Agent → client: the agent could not connect to the target port.
    ConnectToPortError,
}

impl Flag {
    pub fn code(self) -> u32 {
        match self {
            Flag::DisconnectToPort => 1,
            Flag::TerminateSession => 2,
            Flag::ConnectToPortError => 3,
        }
    }

    pub fn to_payload(self) -> Vec<u8> {
        self.code().to_be_bytes().to_vec()
    }

    /// The flag in a payload; None for a payload that is not 4 bytes or an unknown code.
    pub fn from_payload(payload: &[u8]) -> Option<Self> {
        let code = u32::from_be_bytes(payload.try_into().ok()?);
        match code {
            1 => Some(Flag::DisconnectToPort),
            2 => Some(Flag::TerminateSession),
            3 => Some(Flag::ConnectToPortError),
            _ => None,
        }
    }
}

/// A [`PayloadType::SIZE`] payload: the terminal's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    pub cols: u32,
    pub rows: u32,
}

/// The first frame on a new WebSocket (a text frame), in the reference's key order.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenDataChannel {
    pub message_schema_version: String,
    /// New for every open, including reconnects.
    pub request_id: String,
    /// From StartSession, or from ResumeSession after a reconnect.
    pub token_value: String,
    /// One per process, the same on reconnects.
    pub client_id: String,
    pub client_version: String,
}

impl OpenDataChannel {
    pub fn new(
        token_value: impl Into<String>,
        client_id: Uuid,
        client_version: impl Into<String>,
    ) -> Self {
        Self {
            message_schema_version: "1.0".to_owned(),
            request_id: Uuid::new_v4().hyphenated().to_string(),
            token_value: token_value.into(),
            client_id: client_id.hyphenated().to_string(),
            client_version: client_version.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // Five strings: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The token is a bearer credential: it never appears in debug output or logs.
impl fmt::Debug for OpenDataChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenDataChannel")
            .field("message_schema_version", &self.message_schema_version)
            .field("request_id", &self.request_id)
            .field("token_value", &"** redacted **")
            .field("client_id", &self.client_id)
            .field("client_version", &self.client_version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_have_the_reference_shape() {
        let received = ClientMessage {
            message_type: MessageType::OutputStreamData,
            schema_version: 1,
            created_date: 1,
            sequence_number: 42,
            flags: 0,
            message_id: Uuid::parse_str("812ef34f-87bd-449e-a3de-282f478ba6e6").unwrap(),
            payload_type: PayloadType::OUTPUT,
            payload: b"x".to_vec(),
        };
        let ack = acknowledge(&received, 99);
        assert_eq!(ack.message_type, MessageType::Acknowledge);
        assert_eq!(
            (ack.sequence_number, ack.flags, ack.payload_type),
            (0, 3, PayloadType::UNSET)
        );
        let json: serde_json::Value = serde_json::from_slice(&ack.payload).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "AcknowledgedMessageType": "output_stream_data",
                "AcknowledgedMessageId": "812ef34f-87bd-449e-a3de-282f478ba6e6",
                "AcknowledgedMessageSequenceNumber": 42,
                "IsSequentialMessage": true
            })
        );
        // And it survives the codec.
        let decoded = ClientMessage::decode(&ack.encode().unwrap()).unwrap();
        assert_eq!(decoded.validate(), Ok(()));
    }

    #[test]
    fn flags_are_four_big_endian_bytes() {
        assert_eq!(Flag::TerminateSession.to_payload(), vec![0, 0, 0, 2]);
        assert_eq!(
            Flag::from_payload(&[0, 0, 0, 3]),
            Some(Flag::ConnectToPortError)
        );
        assert_eq!(Flag::from_payload(&[0, 0, 3]), None);
        assert_eq!(Flag::from_payload(&[0, 0, 0, 9]), None);
    }

    #[test]
    fn terminal_size_json() {
        let json = serde_json::to_string(&TerminalSize {
            cols: 120,
            rows: 40,
        })
        .unwrap();
        assert_eq!(json, r#"{"cols":120,"rows":40}"#);
    }

    #[test]
    fn open_data_channel_keeps_the_reference_key_order_and_hides_the_token() {
        let client_id = Uuid::new_v4();
        let open = OpenDataChannel::new("secret-token", client_id, "1.2.764.0");
        let json = open.to_json();
        let keys: Vec<&str> = [
            "MessageSchemaVersion",
            "RequestId",
            "TokenValue",
            "ClientId",
            "ClientVersion",
        ]
        .to_vec();
        let positions: Vec<usize> = keys.iter().map(|k| json.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
        assert!(json.contains(r#""MessageSchemaVersion":"1.0""#));
        assert!(json.contains(&client_id.to_string()));
        assert!(!format!("{open:?}").contains("secret-token"));
        // A new request id for every open.
        assert_ne!(
            open.request_id,
            OpenDataChannel::new("t", client_id, "1").request_id
        );
    }
}
