//! The exports called exactly as a C caller would, against the emulator on loopback.

use std::collections::HashSet;
use std::ffi::{c_char, CStr, CString};

use once_cell::sync::Lazy;
use serde_json::{json, Value};
use ssmsession_emulator::{
    BackgroundEmulator, EmulatorConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
};

use crate::operations::FORCE_PANIC;
use crate::{ssm_string_free, ssm_version, start_session};

static EMULATOR: Lazy<BackgroundEmulator> =
    Lazy::new(|| BackgroundEmulator::start(EmulatorConfig::default()).expect("emulator starts"));

/// Client settings that touch nothing but the emulator: explicit endpoint, keys, region,
/// and an environment snapshot with instance metadata disabled.
fn client(secret: &str) -> Value {
    json!({
        "Region": "eu-west-3",
        "EndpointUrl": EMULATOR.url(),
        "AccessKey": DEFAULT_ACCESS_KEY,
        "SecretKey": secret,
        "Environment": { "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent-ssmsession" },
        "MaxAttempts": 1
    })
}

/// Takes ownership of an export's result: reads it, frees it with the library's free.
fn take(result: *mut c_char) -> Value {
    assert!(!result.is_null(), "exports never return NULL");
    // SAFETY: a non-NULL result of an export is a valid NUL-terminated string until freed.
    let text = unsafe { CStr::from_ptr(result) }
        .to_str()
        .expect("UTF-8 envelope")
        .to_owned();
    // SAFETY: released exactly once, by the library that allocated it.
    unsafe { ssm_string_free(result) };
    serde_json::from_str(&text).expect("the envelope is JSON")
}

fn call_bytes(bytes: &[u8]) -> Value {
    let input = CString::new(bytes).expect("no interior NUL");
    // SAFETY: `input` is NUL-terminated and outlives the call.
    take(unsafe { start_session(input.as_ptr()) })
}

fn call(request: &Value) -> Value {
    call_bytes(request.to_string().as_bytes())
}

fn error_of(envelope: &Value) -> &Value {
    assert_eq!(envelope["Ok"], json!(false), "{envelope}");
    &envelope["Error"]
}

#[test]
fn start_session_against_the_emulator_returns_the_session() {
    let envelope = call(&json!({
        "Target": "i-064578e5e7454488f",
        "DocumentName": "AWS-StartPortForwardingSession",
        "Parameters": { "localPortNumber": ["8080"], "portNumber": ["80"] },
        "Reason": "ABI test",
        "Client": client(DEFAULT_SECRET_KEY)
    }));
    assert_eq!(envelope["Ok"], json!(true), "{envelope}");
    let data = &envelope["Data"];
    let session_id = data["SessionId"].as_str().unwrap();
    assert!(session_id.starts_with("emulator-user-"), "{session_id}");
    let stream_url = data["StreamUrl"].as_str().unwrap();
    assert!(
        stream_url.starts_with(&format!(
            "{}/v1/data-channel/{session_id}?",
            EMULATOR.url().replace("http://", "ws://")
        )),
        "{stream_url}"
    );
    assert_eq!(data["TokenValue"].as_str().unwrap().len(), 192);
    assert_eq!(data["HttpStatusCode"], json!(200));
    assert!(data["RequestId"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(data["ContentLength"].as_u64().unwrap() > 0);
}

#[test]
fn service_errors_carry_code_message_status_and_request_id() {
    let error = error_of(&call(
        &json!({ "Target": "i-targetnotconnected", "Client": client(DEFAULT_SECRET_KEY) }),
    ))
    .clone();
    assert_eq!(error["Kind"], "service");
    assert_eq!(error["Code"], "TargetNotConnected");
    assert_eq!(error["Message"], "i-targetnotconnected is not connected.");
    assert_eq!(error["HttpStatus"], 400);
    assert!(error["RequestId"].as_str().is_some());
}

#[test]
fn validation_happens_on_the_service_side() {
    let error = error_of(&call(&json!({ "Client": client(DEFAULT_SECRET_KEY) }))).clone();
    assert_eq!(error["Code"], "ValidationException");
    assert_eq!(
        error["Message"],
        "1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn a_wrong_secret_fails_signature_verification() {
    let error = error_of(&call(
        &json!({ "Target": "i-1", "Client": client("not-the-secret") }),
    ))
    .clone();
    assert_eq!(error["Kind"], "service");
    assert_eq!(error["Code"], "InvalidSignatureException");
}

#[test]
fn malformed_json_gives_an_error_envelope() {
    for bad in [&b"{"[..], b"[]", b"{\"Target\":5}", b"{\"Unknown\":1}", b""] {
        let error = error_of(&call_bytes(bad)).clone();
        assert_eq!(
            error["Kind"],
            "invalidRequest",
            "{}",
            String::from_utf8_lossy(bad)
        );
        assert_eq!(error["Code"], "InvalidRequest");
    }
}

#[test]
fn invalid_utf8_gives_an_error_envelope() {
    let error = error_of(&call_bytes(b"{\"Target\":\"\xff\xfe\"}")).clone();
    assert_eq!(error["Code"], "InvalidUtf8");
    assert!(error["Message"].as_str().unwrap().contains("offset 11"));
}

#[test]
fn null_input_gives_an_error_envelope() {
    // SAFETY: NULL is an allowed input.
    let envelope = take(unsafe { start_session(std::ptr::null()) });
    assert_eq!(error_of(&envelope)["Code"], "NullPointer");
}

#[test]
fn a_panic_is_caught_and_the_library_keeps_working() {
    FORCE_PANIC.with(|f| f.set(true));
    let error = error_of(&call(&json!({ "Target": "i-1" }))).clone();
    assert_eq!(error["Kind"], "panic");
    assert!(
        error["Message"]
            .as_str()
            .unwrap()
            .contains("forced panic for the ABI test"),
        "{error}"
    );
    let envelope = call(&json!({ "Target": "i-1", "Client": client(DEFAULT_SECRET_KEY) }));
    assert_eq!(envelope["Ok"], json!(true), "{envelope}");
}

#[test]
fn freeing_null_is_a_no_op() {
    // SAFETY: NULL is an allowed input.
    unsafe { ssm_string_free(std::ptr::null_mut()) };
}

#[test]
fn version_is_the_crate_version() {
    // SAFETY: ssm_version returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(ssm_version()) }.to_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn an_unreachable_endpoint_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = client(DEFAULT_SECRET_KEY);
    settings["EndpointUrl"] = json!(format!("http://127.0.0.1:{port}"));
    let error = error_of(&call(&json!({ "Target": "i-1", "Client": settings }))).clone();
    assert_eq!(error["Kind"], "transport", "{error}");
    let message = error["Message"].as_str().unwrap();
    assert!(
        message.contains(&format!("endpoint 'http://127.0.0.1:{port}'")),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");
}

#[test]
fn region_can_come_from_the_environment_snapshot() {
    let mut settings = client(DEFAULT_SECRET_KEY);
    settings.as_object_mut().unwrap().remove("Region");
    settings["Environment"]["AWS_REGION"] = json!("ap-south-2");
    let envelope = call(&json!({ "Target": "i-1", "Client": settings }));
    assert_eq!(envelope["Ok"], json!(true), "{envelope}");

    settings["Environment"]
        .as_object_mut()
        .unwrap()
        .remove("AWS_REGION");
    let error = error_of(&call(&json!({ "Target": "i-1", "Client": settings }))).clone();
    assert_eq!(error["Kind"], "region");
    assert_eq!(
        error["Message"],
        "No region specified or obtained from persisted/shell defaults."
    );
}

#[test]
fn concurrent_calls_each_get_their_own_session() {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                (0..5)
                    .map(|_| {
                        let envelope =
                            call(&json!({ "Target": "i-1", "Client": client(DEFAULT_SECRET_KEY) }));
                        envelope["Data"]["SessionId"]
                            .as_str()
                            .expect("success")
                            .to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: HashSet<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(ids.len(), 40);
}

fn call_export(
    export: unsafe extern "C" fn(*const c_char) -> *mut c_char,
    request: &Value,
) -> Value {
    let input = CString::new(request.to_string()).unwrap();
    // SAFETY: `input` is NUL-terminated and outlives the call.
    take(unsafe { export(input.as_ptr()) })
}

fn start_call(operation: &str, request: Value) -> u64 {
    let envelope = call_export(
        crate::ssm_call_start,
        &json!({ "Operation": operation, "Request": request }),
    );
    assert_eq!(envelope["Pending"], json!(true), "{envelope}");
    envelope["Data"]["CallId"]
        .as_u64()
        .unwrap_or_else(|| panic!("{envelope}"))
}

fn wait_call(id: u64, timeout_ms: u64) -> Value {
    call_export(
        crate::ssm_call_wait,
        &json!({ "CallId": id, "TimeoutMs": timeout_ms }),
    )
}

#[test]
fn resolve_client_reports_where_region_and_credentials_came_from() {
    let envelope = run_operation(
        "ResolveClient",
        json!({ "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(envelope["Ok"], json!(true), "{envelope}");
    assert_eq!(envelope["Data"]["Region"], "eu-west-3");
    assert_eq!(envelope["Data"]["RegionSource"], "Parameter");
    assert_eq!(envelope["Data"]["CredentialSource"], "Parameters");
}

#[test]
fn session_calls_resolve_their_client_and_carry_no_warnings_for_loopback() {
    // The module skips ResolveClient when it asks the user nothing first: the call itself
    // resolves the client (explicit keys, region) and adds ClientWarnings only when the
    // client has some (a plain-text endpoint beyond loopback; loopback needs no opt-in).
    let started = run_operation(
        "StartSession",
        json!({ "Target": "i-1", "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(started["Ok"], json!(true), "{started}");
    assert!(started["Data"].get("ClientWarnings").is_none(), "{started}");
    let session_id = started["Data"]["SessionId"].clone();
    for operation in ["ResumeSession", "TerminateSession"] {
        let envelope = run_operation(
            operation,
            json!({ "SessionId": session_id, "Client": client(DEFAULT_SECRET_KEY) }),
        );
        assert_eq!(envelope["Ok"], json!(true), "{operation}: {envelope}");
        assert!(
            envelope["Data"].get("ClientWarnings").is_none(),
            "{operation}"
        );
    }
}

#[test]
fn a_started_call_is_collected_with_wait() {
    let id = start_call(
        "StartSession",
        json!({ "Target": "i-1", "Client": client(DEFAULT_SECRET_KEY) }),
    );
    let envelope = wait_call(id, 10_000);
    assert_eq!(envelope["Ok"], json!(true), "{envelope}");
    assert!(envelope["Data"]["SessionId"].as_str().is_some());
    // Collected calls are forgotten.
    assert_eq!(error_of(&wait_call(id, 0))["Code"], "UnknownCall");
}

#[test]
fn a_slow_call_stays_pending_and_cancel_stops_it_at_once() {
    let id = start_call(
        "StartSession",
        json!({ "Target": "i-delay-10000", "Client": client(DEFAULT_SECRET_KEY) }),
    );
    let started = std::time::Instant::now();
    assert_eq!(
        wait_call(id, 100),
        json!({ "Ok": true, "Pending": true, "Data": { "CallId": id } })
    );
    let cancelled = call_export(crate::ssm_call_cancel, &json!({ "CallId": id }));
    assert_eq!(
        cancelled["Data"],
        json!({ "CallId": id, "Cancelled": true })
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(error_of(&wait_call(id, 0))["Code"], "UnknownCall");
    // Cancelling again, or an unknown id, is not an error.
    let again = call_export(crate::ssm_call_cancel, &json!({ "CallId": id }));
    assert_eq!(again["Data"]["Cancelled"], json!(false));
}

#[test]
fn start_can_wait_and_answer_with_the_result_at_once() {
    let envelope = call_export(
        crate::ssm_call_start,
        &json!({ "Operation": "StartSession", "WaitMs": 10_000,
                 "Request": { "Target": "i-1", "Client": client(DEFAULT_SECRET_KEY) } }),
    );
    assert_eq!(envelope["Ok"], json!(true), "{envelope}");
    assert!(envelope["Data"]["SessionId"].as_str().is_some());
}

#[test]
fn call_errors_arrive_through_wait_and_bad_requests_fail_at_start() {
    let id = start_call(
        "StartSession",
        json!({ "Target": "i-targetnotconnected", "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(
        error_of(&wait_call(id, 10_000))["Code"],
        "TargetNotConnected"
    );

    let envelope = call_export(
        crate::ssm_call_start,
        &json!({ "Operation": "Nope", "Request": {} }),
    );
    assert_eq!(error_of(&envelope)["Code"], "UnknownOperation");
    let envelope = call_export(
        crate::ssm_call_start,
        &json!({ "Operation": "StartSession", "Request": { "Targte": "x" } }),
    );
    assert_eq!(error_of(&envelope)["Code"], "InvalidRequest");
}

/// Runs an operation to its end through ssm_call_start / ssm_call_wait.
fn run_operation(operation: &str, request: Value) -> Value {
    let envelope = call_export(
        crate::ssm_call_start,
        &json!({ "Operation": operation, "Request": request, "WaitMs": 30_000 }),
    );
    assert!(envelope.get("Pending").is_none(), "{envelope}");
    envelope
}

#[test]
fn a_port_forward_runs_behind_a_handle_until_stopped() {
    use std::io::{Read, Write};
    // A loopback echo server as the forwarded target.
    let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_port = echo.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in echo.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let started = run_operation(
        "StartSession",
        json!({ "Target": "i-1", "DocumentName": "AWS-StartPortForwardingSession",
                "Parameters": { "portNumber": [echo_port.to_string()], "localPortNumber": ["0"] },
                "Client": client(DEFAULT_SECRET_KEY) }),
    );
    let session = &started["Data"];
    let forward = run_operation(
        "StartPortForward",
        json!({ "SessionId": session["SessionId"], "StreamUrl": session["StreamUrl"],
                "TokenValue": session["TokenValue"], "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(forward["Ok"], json!(true), "{forward}");
    let handle = forward["Data"]["Handle"].as_u64().unwrap();
    let port = forward["Data"]["LocalPort"].as_u64().unwrap() as u16;
    assert_eq!(forward["Data"]["Mode"], "Multiplexed");

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"hello through the tunnel").unwrap();
    let mut echoed = [0u8; 24];
    stream.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"hello through the tunnel");

    let status = run_operation(
        "PortForwardStatus",
        json!({ "Handle": handle, "WaitMs": 0 }),
    );
    assert_eq!(status["Data"]["State"], "Running", "{status}");
    assert_eq!(status["Data"]["Statistics"]["ConnectionsTotal"], json!(1));
    let listed = run_operation("ListPortForwards", json!({}));
    assert!(listed["Data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["Handle"] == json!(handle)));

    let stopped = run_operation("StopPortForward", json!({ "Handle": handle }));
    assert_eq!(stopped["Data"]["State"], "Stopped", "{stopped}");
    // The handle is released; the session was terminated on the service.
    let gone = run_operation("PortForwardStatus", json!({ "Handle": handle }));
    assert_eq!(error_of(&gone)["Code"], "UnknownPortForward");
    let resumed = run_operation(
        "ResumeSession",
        json!({ "SessionId": session["SessionId"], "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(error_of(&resumed)["Kind"], "service", "{resumed}");
}

#[test]
fn terminate_and_resume_session_return_the_api_shapes() {
    let started = run_operation(
        "StartSession",
        json!({ "Target": "i-1", "Client": client(DEFAULT_SECRET_KEY) }),
    );
    let session_id = started["Data"]["SessionId"].clone();
    let resumed = run_operation(
        "ResumeSession",
        json!({ "SessionId": session_id, "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(resumed["Ok"], json!(true), "{resumed}");
    assert_eq!(resumed["Data"]["SessionId"], session_id);
    assert_ne!(resumed["Data"]["TokenValue"], started["Data"]["TokenValue"]);
    assert_eq!(resumed["Data"]["HttpStatusCode"], json!(200));
    let terminated = run_operation(
        "TerminateSession",
        json!({ "SessionId": session_id, "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(terminated["Data"]["SessionId"], session_id, "{terminated}");
    // Bad handles and missing fields are errors, not crashes.
    let unknown = run_operation("StopPortForward", json!({ "Handle": 987_654 }));
    assert_eq!(error_of(&unknown)["Code"], "UnknownPortForward");
    let missing = run_operation(
        "StartPortForward",
        json!({ "SessionId": "", "StreamUrl": "", "TokenValue": "", "Client": client(DEFAULT_SECRET_KEY) }),
    );
    assert_eq!(error_of(&missing)["Code"], "MissingParameter");
}

#[test]
fn logging_rejects_an_unknown_level_without_configuring_anything() {
    let envelope = run_operation("ConfigureLogging", json!({ "Level": "chatty" }));
    assert_eq!(error_of(&envelope)["Code"], "InvalidLogging");
    assert!(error_of(&envelope)["Message"]
        .as_str()
        .unwrap()
        .contains("error, warn, info, debug or trace"));
}
