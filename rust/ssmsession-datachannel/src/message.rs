//! The binary message every data-channel frame carries (the plugin's ClientMessage, the
//! agent's AgentMessage): a 120-byte big-endian header and a payload.
//!
//! | Offset | Len | Field |
//! |---:|---:|---|
//! | 0 | 4 | HeaderLength, always written as 116 |
//! | 4 | 32 | MessageType, ASCII, right-padded with spaces |
//! | 36 | 4 | SchemaVersion (1) |
//! | 40 | 8 | CreatedDate, Unix epoch milliseconds |
//! | 48 | 8 | SequenceNumber (signed) |
//! | 56 | 8 | Flags |
//! | 64 | 16 | MessageId, UUID with its two 8-byte halves swapped |
//! | 80 | 32 | PayloadDigest, SHA-256 of the payload |
//! | 112 | 4 | PayloadType |
//! | 116 | 4 | PayloadLength |
//! | 120 | n | Payload |
//!
//! Decoding follows the reference plugin where peers are lenient (fields at fixed offsets,
//! NUL and space trimming of the type, the payload running from HeaderLength + 4 to the end
//! of the frame) and is strict where the plugin would read out of bounds.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The HeaderLength value peers write: the offset of PayloadLength.
pub const HEADER_LENGTH: u32 = 116;
/// Where the payload starts in a frame written by a conforming peer.
pub const PAYLOAD_OFFSET: usize = 120;
/// Width of the MessageType field.
pub const MESSAGE_TYPE_WIDTH: usize = 32;
/// The only schema version peers use.
pub const SCHEMA_VERSION: u32 = 1;

/// Flags bit 0.
pub const FLAG_SYN: u64 = 1;
/// Flags bit 1.
pub const FLAG_FIN: u64 = 2;

/// The message types the protocol names; unknown ones are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    InputStreamData,
    OutputStreamData,
    Acknowledge,
    ChannelClosed,
    StartPublication,
    PausePublication,
    AgentSessionState,
    Other(String),
}

impl MessageType {
    pub fn as_str(&self) -> &str {
        match self {
            MessageType::InputStreamData => "input_stream_data",
            MessageType::OutputStreamData => "output_stream_data",
            MessageType::Acknowledge => "acknowledge",
            MessageType::ChannelClosed => "channel_closed",
            MessageType::StartPublication => "start_publication",
            MessageType::PausePublication => "pause_publication",
            MessageType::AgentSessionState => "agent_session_state",
            MessageType::Other(name) => name,
        }
    }

    pub fn parse(name: &str) -> Self {
        match name {
            "input_stream_data" => MessageType::InputStreamData,
            "output_stream_data" => MessageType::OutputStreamData,
            "acknowledge" => MessageType::Acknowledge,
            "channel_closed" => MessageType::ChannelClosed,
            "start_publication" => MessageType::StartPublication,
            "pause_publication" => MessageType::PausePublication,
            "agent_session_state" => MessageType::AgentSessionState,
            other => MessageType::Other(other.to_owned()),
        }
    }
}

/// What the payload holds. A plain number, because peers may send values this version
/// does not know (e.g. 261 on `channel_closed`, reported by a community client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PayloadType(pub u32);

impl PayloadType {
    /// Acknowledgements carry no payload type.
    pub const UNSET: Self = Self(0);
    /// Keystrokes and port bytes to the agent; terminal output and port bytes from it.
    pub const OUTPUT: Self = Self(1);
    pub const ERROR: Self = Self(2);
    /// Terminal size, `{"cols":u32,"rows":u32}`.
    pub const SIZE: Self = Self(3);
    pub const PARAMETER: Self = Self(4);
    pub const HANDSHAKE_REQUEST: Self = Self(5);
    pub const HANDSHAKE_RESPONSE: Self = Self(6);
    pub const HANDSHAKE_COMPLETE: Self = Self(7);
    pub const ENC_CHALLENGE_REQUEST: Self = Self(8);
    pub const ENC_CHALLENGE_RESPONSE: Self = Self(9);
    /// A 4-byte big-endian flag (see [`crate::payload::Flag`]).
    pub const FLAG: Self = Self(10);
    pub const STDERR: Self = Self(11);
    /// `EXIT_CODE: <n>`.
    pub const EXIT_CODE: Self = Self(12);
}

/// One data-channel message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMessage {
    pub message_type: MessageType,
    pub schema_version: u32,
    /// Unix epoch milliseconds.
    pub created_date: u64,
    pub sequence_number: i64,
    pub flags: u64,
    /// The logical UUID (the wire order swaps its halves).
    pub message_id: Uuid,
    pub payload_type: PayloadType,
    pub payload: Vec<u8>,
}

/// A decoded frame: the message and the header values that only matter for validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedFrame {
    pub message: ClientMessage,
    pub header_length: u32,
    /// The PayloadLength field as sent; the payload itself runs to the end of the frame.
    pub declared_payload_length: u32,
    pub payload_digest: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("message type '{0}' is longer than {MESSAGE_TYPE_WIDTH} bytes")]
    MessageTypeTooLong(String),
    #[error("message type '{0}' is not printable ASCII")]
    MessageTypeNotAscii(String),
    #[error("payload of {0} bytes does not fit the 32-bit length field")]
    PayloadTooLarge(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame of {0} bytes is shorter than the {PAYLOAD_OFFSET}-byte header")]
    TooShort(usize),
    #[error("HeaderLength {header_length} does not fit a frame of {frame_length} bytes")]
    HeaderLengthOutOfRange {
        header_length: u32,
        frame_length: usize,
    },
    #[error("message type is not ASCII text")]
    MessageTypeNotText,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    #[error("HeaderLength is 0")]
    NoHeaderLength,
    #[error("MessageType is empty")]
    NoMessageType,
    #[error("CreatedDate is 0")]
    NoCreatedDate,
    #[error("the payload's SHA-256 does not match PayloadDigest")]
    DigestMismatch,
}

/// Now as Unix epoch milliseconds, the CreatedDate unit. Never 0 (receivers reject a zero
/// date), even on a clock set before 1970.
pub fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .max(1)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn be_u32(frame: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(frame[at..at + 4].try_into().expect("4 bytes"))
}

fn be_u64(frame: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(frame[at..at + 8].try_into().expect("8 bytes"))
}

impl ClientMessage {
    /// The frame a conforming peer writes: HeaderLength 116, the type right-padded with
    /// spaces, the UUID halves swapped, the payload's SHA-256 as digest.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let name = self.message_type.as_str();
        if !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(EncodeError::MessageTypeNotAscii(name.to_owned()));
        }
        if name.len() > MESSAGE_TYPE_WIDTH {
            return Err(EncodeError::MessageTypeTooLong(name.to_owned()));
        }
        let payload_length = u32::try_from(self.payload.len())
            .map_err(|_| EncodeError::PayloadTooLarge(self.payload.len()))?;

        let mut frame = Vec::with_capacity(PAYLOAD_OFFSET + self.payload.len());
        frame.extend_from_slice(&HEADER_LENGTH.to_be_bytes());
        frame.extend_from_slice(name.as_bytes());
        frame.resize(4 + MESSAGE_TYPE_WIDTH, b' ');
        frame.extend_from_slice(&self.schema_version.to_be_bytes());
        frame.extend_from_slice(&self.created_date.to_be_bytes());
        frame.extend_from_slice(&self.sequence_number.to_be_bytes());
        frame.extend_from_slice(&self.flags.to_be_bytes());
        let id = self.message_id.as_bytes();
        frame.extend_from_slice(&id[8..16]);
        frame.extend_from_slice(&id[0..8]);
        frame.extend_from_slice(&sha256(&self.payload));
        frame.extend_from_slice(&self.payload_type.0.to_be_bytes());
        frame.extend_from_slice(&payload_length.to_be_bytes());
        frame.extend_from_slice(&self.payload);
        Ok(frame)
    }

    /// Reads a frame. Never panics: short frames and a HeaderLength beyond the frame are
    /// errors; everything else is read as the reference plugin reads it.
    pub fn decode(frame: &[u8]) -> Result<DecodedFrame, DecodeError> {
        if frame.len() < PAYLOAD_OFFSET {
            return Err(DecodeError::TooShort(frame.len()));
        }
        let header_length = be_u32(frame, 0);
        let payload_start = (header_length as usize)
            .checked_add(4)
            .filter(|start| *start >= PAYLOAD_OFFSET && *start <= frame.len())
            .ok_or(DecodeError::HeaderLengthOutOfRange {
                header_length,
                frame_length: frame.len(),
            })?;
        let raw_type = &frame[4..4 + MESSAGE_TYPE_WIDTH];
        let name = std::str::from_utf8(raw_type)
            .map_err(|_| DecodeError::MessageTypeNotText)?
            .trim_matches('\0')
            .trim();
        let mut wire_id = [0u8; 16];
        wire_id[0..8].copy_from_slice(&frame[72..80]);
        wire_id[8..16].copy_from_slice(&frame[64..72]);
        let mut payload_digest = [0u8; 32];
        payload_digest.copy_from_slice(&frame[80..112]);
        Ok(DecodedFrame {
            message: ClientMessage {
                message_type: MessageType::parse(name),
                schema_version: be_u32(frame, 36),
                created_date: be_u64(frame, 40),
                sequence_number: be_u64(frame, 48) as i64,
                flags: be_u64(frame, 56),
                message_id: Uuid::from_bytes(wire_id),
                payload_type: PayloadType(be_u32(frame, 112)),
                payload: frame[payload_start..].to_vec(),
            },
            header_length,
            declared_payload_length: be_u32(frame, 116),
            payload_digest,
        })
    }
}

impl DecodedFrame {
    /// The reference plugin's checks: none for start/pause_publication (peers send them
    /// with odd lengths and digests); otherwise a HeaderLength, a type, a date, and — only
    /// when the PayloadLength field is not 0 — a matching digest. Invalid messages are
    /// dropped unacknowledged by the caller.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if matches!(
            self.message.message_type,
            MessageType::StartPublication | MessageType::PausePublication
        ) {
            return Ok(());
        }
        self.validate_as_agent()?;
        if self.declared_payload_length != 0 && sha256(&self.message.payload) != self.payload_digest
        {
            return Err(ValidationError::DigestMismatch);
        }
        Ok(())
    }

    /// AWS's agent's checks of an inbound frame, for every message type: a HeaderLength, a
    /// type and a date. It never checks PayloadLength or PayloadDigest
    /// (amazon-ssm-agent agent/session/contracts/agentmessage.go, `Validate`), so a message
    /// the plugin would drop for its digest reaches the agent's session.
    pub fn validate_as_agent(&self) -> Result<(), ValidationError> {
        if self.header_length == 0 {
            return Err(ValidationError::NoHeaderLength);
        }
        if self.message.message_type.as_str().is_empty() {
            return Err(ValidationError::NoMessageType);
        }
        if self.message.created_date == 0 {
            return Err(ValidationError::NoCreatedDate);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(payload: &[u8]) -> ClientMessage {
        ClientMessage {
            message_type: MessageType::InputStreamData,
            schema_version: SCHEMA_VERSION,
            created_date: 1_795_839_972_270,
            sequence_number: 7,
            flags: 0,
            message_id: Uuid::parse_str("812ef34f-87bd-449e-a3de-282f478ba6e6").unwrap(),
            payload_type: PayloadType::OUTPUT,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn layout_matches_the_reference() {
        let frame = sample(b"hi").encode().unwrap();
        assert_eq!(frame.len(), 122);
        assert_eq!(&frame[0..4], &116u32.to_be_bytes());
        assert_eq!(&frame[4..21], b"input_stream_data");
        assert!(
            frame[21..36].iter().all(|b| *b == b' '),
            "type padded with spaces"
        );
        assert_eq!(&frame[36..40], &1u32.to_be_bytes());
        assert_eq!(&frame[48..56], &7i64.to_be_bytes());
        // The halves of 812ef34f-87bd-449e-a3de-282f478ba6e6 are swapped on the wire.
        let wire = Uuid::from_slice(&frame[64..80]).unwrap();
        assert_eq!(wire.to_string(), "a3de282f-478b-a6e6-812e-f34f87bd449e");
        assert_eq!(&frame[80..112], &sha256(b"hi"));
        assert_eq!(&frame[112..116], &1u32.to_be_bytes());
        assert_eq!(&frame[116..120], &2u32.to_be_bytes());
        assert_eq!(&frame[120..], b"hi");
    }

    #[test]
    fn empty_payloads_carry_the_digest_of_nothing() {
        let frame = sample(b"").encode().unwrap();
        assert_eq!(frame.len(), PAYLOAD_OFFSET);
        assert_eq!(&frame[80..112], &sha256(b""));
    }

    #[test]
    fn reads_types_padded_with_nul_on_either_side() {
        let mut frame = sample(b"x").encode().unwrap();
        frame[4..36].fill(0);
        frame[4 + 10..4 + 10 + 11].copy_from_slice(b"acknowledge");
        let decoded = ClientMessage::decode(&frame).unwrap();
        assert_eq!(decoded.message.message_type, MessageType::Acknowledge);
    }

    #[test]
    fn the_payload_runs_to_the_end_of_the_frame_whatever_payload_length_says() {
        let mut frame = sample(b"abc").encode().unwrap();
        frame[116..120].copy_from_slice(&1u32.to_be_bytes());
        let decoded = ClientMessage::decode(&frame).unwrap();
        assert_eq!(decoded.message.payload, b"abc");
        assert_eq!(decoded.declared_payload_length, 1);
    }

    #[test]
    fn rejects_frames_the_plugin_would_read_out_of_bounds() {
        assert_eq!(
            ClientMessage::decode(&[0u8; 119]),
            Err(DecodeError::TooShort(119))
        );
        let mut frame = sample(b"").encode().unwrap();
        frame[0..4].copy_from_slice(&500u32.to_be_bytes());
        assert!(matches!(
            ClientMessage::decode(&frame),
            Err(DecodeError::HeaderLengthOutOfRange { .. })
        ));
        frame[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            ClientMessage::decode(&frame),
            Err(DecodeError::HeaderLengthOutOfRange { .. })
        ));
    }

    #[test]
    fn validation_follows_the_plugin() {
        let good = ClientMessage::decode(&sample(b"data").encode().unwrap()).unwrap();
        assert_eq!(good.validate(), Ok(()));

        let mut tampered = good.clone();
        tampered.message.payload = b"DATA".to_vec();
        assert_eq!(tampered.validate(), Err(ValidationError::DigestMismatch));

        // A zero PayloadLength field skips the digest check.
        let mut unchecked = tampered.clone();
        unchecked.declared_payload_length = 0;
        assert_eq!(unchecked.validate(), Ok(()));

        // start/pause_publication are never rejected.
        let mut publication = tampered;
        publication.message.message_type = MessageType::StartPublication;
        publication.message.created_date = 0;
        assert_eq!(publication.validate(), Ok(()));

        let mut undated = good;
        undated.message.created_date = 0;
        assert_eq!(undated.validate(), Err(ValidationError::NoCreatedDate));
    }

    #[test]
    fn refuses_to_encode_what_peers_cannot_read() {
        let mut long = sample(b"");
        long.message_type = MessageType::Other("x".repeat(33));
        assert!(matches!(
            long.encode(),
            Err(EncodeError::MessageTypeTooLong(_))
        ));
        let mut spaced = sample(b"");
        spaced.message_type = MessageType::Other("two words".into());
        assert!(matches!(
            spaced.encode(),
            Err(EncodeError::MessageTypeNotAscii(_))
        ));
    }

    fn any_message() -> impl Strategy<Value = ClientMessage> {
        (
            "[a-z_]{1,32}",
            any::<u32>(),
            1u64..,
            any::<i64>(),
            any::<u64>(),
            any::<[u8; 16]>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..2048),
        )
            .prop_map(
                |(name, schema, date, seq, flags, id, payload_type, payload)| ClientMessage {
                    message_type: MessageType::parse(&name),
                    schema_version: schema,
                    created_date: date,
                    sequence_number: seq,
                    flags,
                    message_id: Uuid::from_bytes(id),
                    payload_type: PayloadType(payload_type),
                    payload,
                },
            )
    }

    proptest! {
        #[test]
        fn every_message_round_trips_and_validates(message in any_message()) {
            let frame = message.encode().unwrap();
            let decoded = ClientMessage::decode(&frame).unwrap();
            prop_assert_eq!(&decoded.message, &message);
            prop_assert_eq!(decoded.validate(), Ok(()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(decoded) = ClientMessage::decode(&bytes) {
                let _ = decoded.validate();
            }
        }

        #[test]
        fn arbitrary_headers_never_panic(mut frame in proptest::collection::vec(any::<u8>(), 120..400), header_length in any::<u32>()) {
            frame[0..4].copy_from_slice(&header_length.to_be_bytes());
            if let Ok(decoded) = ClientMessage::decode(&frame) {
                prop_assert!(decoded.header_length as usize + 4 <= frame.len());
                let _ = decoded.validate();
            }
        }
    }
}
