//! Conformance with AWS's peers: the values their own unit tests and sources fix (as
//! listed in `data-channel-protocol.md` and `agent-behaviour.md`), checked against this
//! crate's codec, timer and cipher. These are facts about the wire, not about our engine:
//! if one of them fails, we no longer speak the real agent's protocol.

use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};
use ssmsession_datachannel::crypto::SessionCipher;
use ssmsession_datachannel::handshake::{AgentFeatures, Version};
use ssmsession_datachannel::message::{ClientMessage, MessageType, PayloadType, ValidationError};
use ssmsession_datachannel::payload::{acknowledge, AcknowledgeContent, Flag};
use ssmsession_datachannel::reliability::{
    RetransmissionTimer, INITIAL_RTO, INITIAL_SRTT, MAX_RTO,
};
use uuid::Uuid;

/// The plugin's message-parser tests use this id and date.
const PLUGIN_TEST_MESSAGE_ID: &str = "dd01e56b-ff48-483e-a508-b5f073f31b16";
const PLUGIN_TEST_CREATED_DATE: u64 = 1_503_434_274_948;

fn message(sequence_number: i64, payload: &[u8]) -> ClientMessage {
    ClientMessage {
        message_type: MessageType::InputStreamData,
        schema_version: 1,
        created_date: PLUGIN_TEST_CREATED_DATE,
        sequence_number,
        flags: 0,
        message_id: Uuid::parse_str(PLUGIN_TEST_MESSAGE_ID).unwrap(),
        payload_type: PayloadType::OUTPUT,
        payload: payload.to_vec(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn header_fields_sit_at_the_reference_offsets() {
    let frame = message(5_747_283, b"payload").encode().unwrap();
    assert_eq!(frame.len(), 120 + 7);
    // HeaderLength is always written as 116: the offset of PayloadLength.
    assert_eq!(&frame[0..4], &[0, 0, 0, 116]);
    // MessageType, right-padded with spaces to 32 bytes.
    assert_eq!(
        &frame[4..36],
        format!("{:<32}", "input_stream_data").as_bytes()
    );
    assert_eq!(&frame[36..40], &[0, 0, 0, 1], "SchemaVersion");
    assert_eq!(
        &frame[40..48],
        &PLUGIN_TEST_CREATED_DATE.to_be_bytes(),
        "CreatedDate in epoch milliseconds"
    );
    // The plugin's TestLongToBytes/TestPutLong: 5747283 → 00 00 00 00 00 57 b2 53.
    assert_eq!(&frame[48..56], &[0, 0, 0, 0, 0, 0x57, 0xb2, 0x53]);
    assert_eq!(&frame[56..64], &[0; 8], "input_stream_data carries flags 0");
    assert_eq!(&frame[80..112], Sha256::digest(b"payload").as_slice());
    assert_eq!(&frame[112..116], &[0, 0, 0, 1], "PayloadType Output");
    assert_eq!(&frame[116..120], &[0, 0, 0, 7], "PayloadLength");
    assert_eq!(&frame[120..], b"payload");
}

#[test]
fn integers_are_big_endian_as_in_the_plugin_tests() {
    // TestPutLong "Basic offset": 92837273 → 00 00 00 00 05 88 95 99.
    let frame = message(92_837_273, b"").encode().unwrap();
    assert_eq!(&frame[48..56], &[0, 0, 0, 0, 0x05, 0x88, 0x95, 0x99]);
    // TestPutInteger: 324 → 00 00 01 44 and 520392 → 00 07 f0 c8, here as PayloadLength.
    for (length, expected) in [
        (324usize, [0, 0, 0x01, 0x44]),
        (520_392, [0, 0x07, 0xf0, 0xc8]),
    ] {
        let frame = message(0, &vec![b'x'; length]).encode().unwrap();
        assert_eq!(&frame[116..120], &expected);
    }
    // TestGetLong: 00 00 00 00 00 5a 05 66 → 5899622, read back from a frame.
    let mut frame = message(0, b"x").encode().unwrap();
    frame[48..56].copy_from_slice(&[0, 0, 0, 0, 0, 0x5a, 0x05, 0x66]);
    let decoded = ClientMessage::decode(&frame).unwrap();
    assert_eq!(decoded.message.sequence_number, 5_899_622);
}

#[test]
fn message_id_halves_are_swapped_on_the_wire() {
    // The wire order a3de282f-478b-a6e6-812e-f34f87bd449e is the logical id
    // 812ef34f-87bd-449e-a3de-282f478ba6e6 (protocol notes §2.3).
    let mut sample = message(0, b"");
    sample.message_id = Uuid::parse_str("812ef34f-87bd-449e-a3de-282f478ba6e6").unwrap();
    let frame = sample.encode().unwrap();
    assert_eq!(hex(&frame[64..80]), "a3de282f478ba6e6812ef34f87bd449e");
    let decoded = ClientMessage::decode(&frame).unwrap();
    assert_eq!(
        decoded.message.message_id.hyphenated().to_string(),
        "812ef34f-87bd-449e-a3de-282f478ba6e6",
        "ids are shown lowercase and hyphenated"
    );
}

#[test]
fn validation_follows_the_plugin_order_and_exempts_publication_messages() {
    let frame = message(1, b"payload").encode().unwrap();
    let valid = ClientMessage::decode(&frame).unwrap();
    assert_eq!(valid.validate(), Ok(()));

    let mut no_header = valid.clone();
    no_header.header_length = 0;
    assert_eq!(no_header.validate(), Err(ValidationError::NoHeaderLength));
    let mut no_date = valid.clone();
    no_date.message.created_date = 0;
    assert_eq!(no_date.validate(), Err(ValidationError::NoCreatedDate));
    let mut bad_digest = valid.clone();
    bad_digest.payload_digest = [0; 32];
    assert_eq!(bad_digest.validate(), Err(ValidationError::DigestMismatch));
    // The digest is only checked when the PayloadLength field is not 0.
    bad_digest.declared_payload_length = 0;
    assert_eq!(bad_digest.validate(), Ok(()));
    // start_publication skips every check (TestClientMessage_ValidateStartPublicationMessage).
    let mut publication = no_header;
    publication.message.message_type = MessageType::StartPublication;
    publication.payload_digest = [0; 32];
    assert_eq!(publication.validate(), Ok(()));
}

#[test]
fn the_agent_checks_header_length_type_and_date_but_never_the_digest() {
    // amazon-ssm-agent agent/session/contracts/agentmessage.go, Validate.
    let frame = message(1, b"payload").encode().unwrap();
    let valid = ClientMessage::decode(&frame).unwrap();
    assert_eq!(valid.validate_as_agent(), Ok(()));
    let mut bad_digest = valid.clone();
    bad_digest.payload_digest = [0; 32];
    assert_eq!(bad_digest.validate_as_agent(), Ok(()));
    let mut no_header = valid.clone();
    no_header.header_length = 0;
    assert_eq!(
        no_header.validate_as_agent(),
        Err(ValidationError::NoHeaderLength)
    );
    let mut no_date = valid.clone();
    no_date.message.created_date = 0;
    assert_eq!(
        no_date.validate_as_agent(),
        Err(ValidationError::NoCreatedDate)
    );
    // No exemption for publication messages: the agent checks every frame alike.
    let mut publication = no_date;
    publication.message.message_type = MessageType::StartPublication;
    assert_eq!(
        publication.validate_as_agent(),
        Err(ValidationError::NoCreatedDate)
    );
}

#[test]
fn acknowledgements_carry_sequence_zero_flags_three_and_the_acknowledged_number() {
    let received = message(42, b"x");
    let ack = acknowledge(&received, PLUGIN_TEST_CREATED_DATE);
    let frame = ack.encode().unwrap();
    assert_eq!(&frame[4..36], format!("{:<32}", "acknowledge").as_bytes());
    assert_eq!(&frame[48..56], &[0; 8], "sequence number 0");
    assert_eq!(&frame[56..64], &[0, 0, 0, 0, 0, 0, 0, 3], "SYN|FIN");
    assert_eq!(&frame[112..116], &[0; 4], "PayloadType 0");
    let content: AcknowledgeContent = serde_json::from_slice(&ack.payload).unwrap();
    assert_eq!(content.acknowledged_message_type, "input_stream_data");
    assert_eq!(content.acknowledged_message_id, PLUGIN_TEST_MESSAGE_ID);
    assert_eq!(content.acknowledged_message_sequence_number, 42);
    assert!(content.is_sequential_message);
    let json: serde_json::Value = serde_json::from_slice(&ack.payload).unwrap();
    for key in [
        "AcknowledgedMessageType",
        "AcknowledgedMessageId",
        "AcknowledgedMessageSequenceNumber",
        "IsSequentialMessage",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
}

#[test]
fn flags_are_four_byte_big_endian_codes() {
    assert_eq!(Flag::DisconnectToPort.to_payload(), [0, 0, 0, 1]);
    assert_eq!(Flag::TerminateSession.to_payload(), [0, 0, 0, 2]);
    assert_eq!(Flag::ConnectToPortError.to_payload(), [0, 0, 0, 3]);
    assert_eq!(
        Flag::from_payload(&[0, 0, 0, 2]),
        Some(Flag::TerminateSession)
    );
    assert_eq!(Flag::from_payload(&[2, 0, 0, 0]), None, "not little-endian");
}

#[test]
fn retransmission_timeout_matches_the_plugin_example() {
    let mut timer = RetransmissionTimer::default();
    assert_eq!(timer.rto(), INITIAL_RTO);
    assert_eq!(INITIAL_RTO, Duration::from_millis(200));
    assert_eq!(timer.srtt(), INITIAL_SRTT);
    assert_eq!(INITIAL_SRTT, Duration::from_millis(100));
    // TestCalculateRetransmissionTimeout: one 140 ms sample gives SRTT 105 ms,
    // RTTVAR 10 ms and RTO 145 ms.
    timer.sample(Duration::from_millis(140));
    assert_eq!(timer.srtt().as_millis(), 105);
    assert_eq!(timer.rttvar().as_millis(), 10);
    assert_eq!(timer.rto().as_millis(), 145);
    // The timeout never exceeds 1 s, however slow the peer.
    for _ in 0..20 {
        timer.sample(Duration::from_secs(5));
    }
    assert_eq!(timer.rto(), MAX_RTO);
    assert_eq!(MAX_RTO, Duration::from_secs(1));
}

fn raw_seal(key: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap();
    let nonce = [7u8; 12];
    let mut sealed = nonce.to_vec();
    sealed.extend(cipher.encrypt(&Nonce::from(nonce), plain).unwrap());
    sealed
}

fn raw_open(key: &[u8], sealed: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap();
    let nonce: [u8; 12] = sealed[..12].try_into().unwrap();
    cipher.decrypt(&Nonce::from(nonce), &sealed[12..]).unwrap()
}

#[test]
fn kms_data_key_halves_are_swapped_between_client_and_agent() {
    // GenerateDataKey's 64 bytes: 0..32 is the client's decryption key (the agent's
    // encryption key), 32..64 the client's encryption key (the agent's decryption key).
    let data_key: Vec<u8> = (0u8..64).collect();
    let client = SessionCipher::for_client(&data_key).unwrap();
    let agent = SessionCipher::for_agent(&data_key).unwrap();

    let from_client = client.encrypt(b"keystrokes");
    assert_eq!(raw_open(&data_key[32..], &from_client), b"keystrokes");
    assert_eq!(agent.decrypt(&from_client).unwrap(), b"keystrokes");

    let from_agent = raw_seal(&data_key[..32], b"output");
    assert_eq!(client.decrypt(&from_agent).unwrap(), b"output");
    assert_eq!(
        raw_open(&data_key[..32], &agent.encrypt(b"output")),
        b"output"
    );
    // Wire form: nonce (12) ‖ ciphertext ‖ tag (16).
    assert_eq!(from_client.len(), 12 + b"keystrokes".len() + 16);
    assert!(
        client.decrypt(&client.encrypt(b"x")).is_err(),
        "a client cannot read its own"
    );
}

#[test]
fn agent_version_thresholds_decide_port_features_as_the_plugin_does() {
    let features = |v: &str| AgentFeatures::of(&Version::parse(v));
    assert!(!features("3.0.196.0").multiplexed_port_forwarding);
    assert!(features("3.0.197.0").multiplexed_port_forwarding);
    assert!(!features("3.1.1511.0").smux_keepalive_off);
    assert!(features("3.1.1512.0").smux_keepalive_off);
    // The plugin's versionutil tests.
    assert_eq!(Version::parse("2.3.617.9"), Version::parse("2.3.617.9"));
    assert!(Version::parse("2.3.617.9") > Version::parse("2.3.56.9"));
    assert!(Version::parse("2.3.617.9") < Version::parse("2.10.763.9"));
    assert!(!Version::parse("").is_known());
    assert!(Version::parse("") < Version::parse("0.0.0.1"));
}
