//! Hostile input for every export of the C ABI: arbitrary bytes (interior NULs and invalid
//! UTF-8 included), JSON of every shape with the real field names and wrong types, huge and
//! deeply nested documents, NULL pointers, double and foreign frees, and many threads at
//! once. Every call must give a well-formed envelope (or succeed), never crash, abort or
//! panic across the boundary, and every returned string must be released exactly once.
//!
//! Cases per property: `SSMSESSION_FUZZ_CASES` (default 400 here; `build.ps1 -Soak` runs
//! 100,000). Nothing leaves loopback: every request that could reach the network carries
//! client settings for a closed loopback port with explicit keys, a region, instance
//! metadata off and no home folder, and stream URLs are loopback or not URLs at all.

use std::ffi::{c_char, CStr};
use std::sync::Mutex;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use ssmsession::{
    live_string_count, ssm_abi_version, ssm_call_cancel, ssm_call_start, ssm_call_wait,
    ssm_shutdown, ssm_string_free, ssm_version, start_session,
};

type Export = unsafe extern "C" fn(*const c_char) -> *mut c_char;

const EXPORTS: &[(&str, Export)] = &[
    ("start_session", start_session),
    ("ssm_call_start", ssm_call_start),
    ("ssm_call_wait", ssm_call_wait),
    ("ssm_call_cancel", ssm_call_cancel),
];

/// Leak checks compare the count of live strings before and after; tests that hand out
/// strings run one at a time so the counts are their own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn cases() -> u32 {
    std::env::var("SSMSESSION_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Client settings that cannot reach anything: a closed loopback port, one attempt.
fn safe_client() -> Value {
    json!({
        "Region": "eu-west-3",
        "EndpointUrl": "http://127.0.0.1:9",
        "AccessKey": "AKIDSSMFUZZ",
        "SecretKey": "fuzz-secret",
        "Environment": { "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent-ssmsession-fuzz" },
        "MaxAttempts": 1,
        "AttemptTimeoutMs": 2000
    })
}

/// Calls an export with `bytes` followed by a NUL (the C string ends at the first NUL, so
/// interior NULs cut it short, as they would for a C caller), checks the envelope, frees
/// it, and frees it again (the second free must be ignored).
fn call_raw(export: Export, bytes: &[u8]) -> Value {
    let mut buffer = bytes.to_vec();
    buffer.push(0);
    // SAFETY: `buffer` is NUL-terminated and outlives the call.
    let result = unsafe { export(buffer.as_ptr().cast()) };
    take_twice(result)
}

fn take_twice(result: *mut c_char) -> Value {
    assert!(!result.is_null(), "an export returned NULL");
    // SAFETY: a non-NULL export result is a NUL-terminated string until released.
    let text = unsafe { CStr::from_ptr(result) }
        .to_str()
        .expect("the envelope is UTF-8")
        .to_owned();
    // SAFETY: released once, as the contract says.
    unsafe { ssm_string_free(result) };
    // SAFETY: a second release is guarded: the library compares the address with the
    // strings it still owns, finds none, and ignores it.
    unsafe { ssm_string_free(result) };
    let envelope: Value = serde_json::from_str(&text).expect("the envelope is JSON");
    check_envelope(&envelope);
    envelope
}

fn check_envelope(envelope: &Value) {
    if envelope.get("Pending") == Some(&json!(true)) {
        assert_eq!(envelope["Ok"], json!(true), "{envelope}");
        assert!(envelope["Data"]["CallId"].is_u64(), "{envelope}");
        return;
    }
    match envelope["Ok"].as_bool() {
        Some(true) => assert!(envelope.get("Data").is_some(), "{envelope}"),
        Some(false) => {
            let error = &envelope["Error"];
            for field in ["Kind", "Code", "Message"] {
                assert!(
                    error[field].is_string(),
                    "error.{field} missing: {envelope}"
                );
            }
            assert_ne!(
                error["Code"], "Panic",
                "a panic reached the boundary: {envelope}"
            );
            assert!(
                described_error_kinds().contains(&error["Kind"]),
                "a kind the contract does not list: {envelope}"
            );
        }
        None => panic!("no Ok member: {envelope}"),
    }
}

/// The error kinds `DescribeContract` lists (asked once).
fn described_error_kinds() -> &'static Vec<Value> {
    static KINDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        let request = json!({ "Operation": "DescribeContract", "Request": {}, "WaitMs": 10_000 });
        let mut buffer = request.to_string().into_bytes();
        buffer.push(0);
        // SAFETY: `buffer` is NUL-terminated and outlives the call.
        let result = unsafe { ssm_call_start(buffer.as_ptr().cast()) };
        // SAFETY: a non-NULL export result is a NUL-terminated string until released.
        let text = unsafe { CStr::from_ptr(result) }
            .to_str()
            .unwrap()
            .to_owned();
        // SAFETY: released once.
        unsafe { ssm_string_free(result) };
        let envelope: Value = serde_json::from_str(&text).unwrap();
        envelope["Data"]["ErrorKinds"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    })
}

/// Puts safe client settings wherever a request may carry them, and keeps stream URLs on
/// loopback: whatever else the generator made, no call can leave the machine.
fn make_safe(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert("Client".into(), safe_client());
        if let Some(url) = map.get_mut("StreamUrl") {
            if !url
                .as_str()
                .is_some_and(|u| u.starts_with("ws://127.0.0.1:9/"))
            {
                *url = json!("ws://127.0.0.1:9/v1/data-channel/fuzz?role=publish_subscribe");
            }
        }
        if map.get("Operation").and_then(Value::as_str) == Some("ConfigureLogging") {
            // It writes a log file where told: not something to fuzz with random paths.
            map.insert("Operation".into(), json!("ListPortForwards"));
        }
        if let Some(request) = map.remove("Request") {
            map.insert("Request".into(), make_safe(request));
        }
    }
    value
}

const FIELDS: &[&str] = &[
    "Target",
    "DocumentName",
    "Parameters",
    "Reason",
    "SessionId",
    "StreamUrl",
    "TokenValue",
    "Operation",
    "Request",
    "WaitMs",
    "CallId",
    "TimeoutMs",
    "Handle",
    "LocalPortNumber",
    "ChunkSize",
    "PaceMicroseconds",
    "KeepSession",
    "HandshakeTimeoutMs",
    "StallTimeoutMs",
    "KeepAliveSeconds",
    "Level",
    "Path",
    "Session",
    "EscapeCharacter",
];
/// Every operation the library describes, and one it does not know.
fn operation_names() -> Vec<String> {
    let described = call_raw(
        ssm_call_start,
        json!({ "Operation": "DescribeContract", "Request": {}, "WaitMs": 10_000 })
            .to_string()
            .as_bytes(),
    );
    let mut names: Vec<String> = described["Data"]["Operations"]
        .as_array()
        .expect("DescribeContract lists the operations")
        .iter()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    names.push("NoSuchOperation".to_owned());
    names
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(operation_names()).prop_map(Value::from),
        (0u64..50).prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(FIELDS).prop_map(String::from),
                        ".{0,12}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Objects shaped like real requests, with every member's type and value up for grabs.
fn request_like() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((prop::sample::select(FIELDS), json_value()), 0..8),
        prop::sample::select(operation_names()),
        json_value(),
    )
        .prop_map(|(fields, operation, request)| {
            let mut map: Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            map.insert("Operation".into(), json!(operation));
            map.insert("Request".into(), request);
            map.insert("WaitMs".into(), json!(50));
            Value::Object(map)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_give_an_envelope(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _serial = serial();
        for (_, export) in EXPORTS {
            call_raw(*export, &bytes);
        }
    }

    #[test]
    fn arbitrary_json_gives_an_envelope(value in json_value()) {
        let _serial = serial();
        let text = make_safe(value).to_string();
        for (_, export) in EXPORTS {
            call_raw(*export, text.as_bytes());
        }
    }

    #[test]
    fn request_shaped_json_with_wrong_types_gives_an_envelope(value in request_like()) {
        let _serial = serial();
        let text = make_safe(value).to_string();
        for (_, export) in EXPORTS {
            let envelope = call_raw(*export, text.as_bytes());
            // A started call is collected or cancelled, so nothing stays behind.
            if let Some(id) = envelope.get("CallId").and_then(Value::as_u64) {
                call_raw(ssm_call_cancel, json!({ "CallId": id }).to_string().as_bytes());
            }
        }
    }
}

#[test]
fn null_pointers_give_an_envelope() {
    let _serial = serial();
    for (name, export) in EXPORTS {
        // SAFETY: NULL is allowed by every export's contract.
        let envelope = take_twice(unsafe { export(std::ptr::null()) });
        assert_eq!(envelope["Error"]["Code"], "NullPointer", "{name}");
    }
    // SAFETY: NULL is ignored by the free function.
    unsafe { ssm_string_free(std::ptr::null_mut()) };
}

#[test]
fn invalid_utf8_and_interior_nuls_give_an_envelope() {
    let _serial = serial();
    for (_, export) in EXPORTS {
        let envelope = call_raw(*export, b"{\"Target\":\"\xff\xfe\"}");
        assert_eq!(envelope["Error"]["Code"], "InvalidUtf8");
        // The string ends at the NUL: what follows is never read.
        let envelope = call_raw(*export, b"{\"Target\0\":\"i-1\"}");
        assert_eq!(envelope["Ok"], false);
    }
}

#[test]
fn huge_and_deeply_nested_documents_give_an_envelope() {
    let _serial = serial();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge =
        json!({ "Target": "x".repeat(10 * 1024 * 1024), "Client": safe_client() }).to_string();
    let long_object = format!(
        "{{{}\"Client\":{}}}",
        (0..50_000)
            .map(|i| format!("\"f{i}\":{i},"))
            .collect::<String>(),
        safe_client()
    );
    for (_, export) in EXPORTS {
        let envelope = call_raw(*export, nested.as_bytes());
        assert_eq!(envelope["Ok"], false);
        call_raw(*export, huge.as_bytes());
        call_raw(*export, long_object.as_bytes());
    }
}

#[test]
fn foreign_and_repeated_frees_are_ignored() {
    let _serial = serial();
    let before = live_string_count();
    let mut foreign = *b"not from the library\0";
    // SAFETY: the free function compares the address with the strings it handed out and
    // ignores this one; it never reads or frees it.
    unsafe { ssm_string_free(foreign.as_mut_ptr().cast()) };
    assert_eq!(&foreign[..3], b"not");
    let envelope = call_raw(start_session, b"not json");
    assert_eq!(envelope["Ok"], false);
    assert_eq!(
        live_string_count(),
        before,
        "every string was released once"
    );
}

#[test]
fn shutdown_without_forwards_returns_at_once_whatever_the_limit() {
    let started = std::time::Instant::now();
    for limit in [0, 1, u32::MAX] {
        ssm_shutdown(limit);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn the_abi_version_is_the_one_describe_contract_reports() {
    let described = call_raw(
        ssm_call_start,
        json!({ "Operation": "DescribeContract", "Request": {}, "WaitMs": 10_000 })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(described["Data"]["AbiVersion"], json!(ssm_abi_version()));
    assert!(ssm_abi_version() >= 2);
    let operations = described["Data"]["Operations"].as_array().unwrap();
    assert!(operations.contains(&json!("DescribeContract")));
    assert!(described_error_kinds().contains(&json!("invalidRequest")));
}

#[test]
fn version_is_a_static_string() {
    // SAFETY: ssm_version returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(ssm_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    // Not handed out: freeing it by mistake is ignored too.
    // SAFETY: see foreign_and_repeated_frees_are_ignored.
    unsafe { ssm_string_free(ssm_version().cast_mut()) };
}

#[test]
fn many_threads_at_once_each_get_their_own_envelopes() {
    let _serial = serial();
    let before = live_string_count();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                // Each thread its own region: every answer must name the asker's.
                let region = format!("eu-fuzz-{t}");
                let mut client = safe_client();
                client["Region"] = json!(region);
                for i in 0..50 {
                    let request = json!({ "Operation": "ResolveClient", "Request": { "Client": client }, "WaitMs": 30_000 });
                    let envelope = call_raw(ssm_call_start, request.to_string().as_bytes());
                    assert_eq!(envelope["Data"]["Region"], json!(region), "{envelope}");
                    call_raw(start_session, format!("garbage {t} {i}").as_bytes());
                    let wait = json!({ "CallId": 1_000_000 + t * 100 + i, "TimeoutMs": 0 });
                    call_raw(ssm_call_wait, wait.to_string().as_bytes());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread panicked");
    }
    assert_eq!(
        live_string_count(),
        before,
        "every string was released once"
    );
}
