//! C ABI of SSMSession: JSON in, JSON envelope out.
//!
//! Contract for every string-returning export:
//! - the input is NULL or a NUL-terminated string valid for the duration of the call;
//! - the result is never NULL: an envelope `{"Ok":true,"Data":…}` or
//!   `{"Ok":false,"Error":{"Kind","Code","Message","RequestId","HttpStatus"}}` (or, from
//!   the call exports, `{"Ok":true,"Pending":true,"Data":{"CallId":n}}`), also for NULL
//!   input, invalid UTF-8, malformed JSON and panics (caught at the boundary);
//! - the result is owned by the caller and released with [`ssm_string_free`] from this
//!   library (never `free()` or a managed allocator); releasing it again, or releasing a
//!   pointer the library never returned, is detected and ignored.
//!
//! The exports are `start_session` (the documented entry point) and `ssm_*` for the rest;
//! [`ssm_abi_version`] says which contract ([`contract`]) they speak. They live in this
//! file only: cbindgen reads it to generate
//! `include/ssmsession.h`, and a test fails when the committed header is stale.

mod boundary;
mod calls;
mod commands;
mod contract;
mod envelope;
mod forwards;
mod logging;
mod operations;
mod registry;
mod runtime;
mod session_state;
mod shells;

#[cfg(test)]
mod abi_tests;

use std::ffi::c_char;

/// `CARGO_PKG_VERSION` with a terminating NUL, returned by [`ssm_version`].
const VERSION_NUL: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version, e.g. "0.1.0". A static string: do not free it.
#[no_mangle]
pub extern "C" fn ssm_version() -> *const c_char {
    // Nothing here can panic; the boundary keeps the rule "every export catches panics"
    // true by construction rather than by inspection.
    std::panic::catch_unwind(|| VERSION_NUL.as_ptr().cast()).unwrap_or(std::ptr::null())
}

/// The version of the JSON contract the exports speak (envelope, requests, results): a
/// caller built for another version must not use this library.
#[no_mangle]
pub extern "C" fn ssm_abi_version() -> u32 {
    std::panic::catch_unwind(|| contract::SSMSESSION_ABI_VERSION).unwrap_or(0)
}

/// Calls SSM `StartSession`.
///
/// `request_json`: `{"Target":…, "DocumentName":…, "Parameters":{name:[values]}, "Reason":…,
/// "Client":{"Region","EndpointUrl","AccessKey","SecretKey","SessionToken","ProfileName",
/// "ProfileLocation","Environment":{…},"MaxAttempts","OperationTimeoutMs"}}`.
/// Success data: `{"SessionId","StreamUrl","TokenValue","RequestId","HttpStatusCode","ContentLength"}`.
/// Release the result with [`ssm_string_free`].
///
/// # Safety
/// `request_json` must be NULL or point to a NUL-terminated string that stays valid and
/// unmodified until this function returns.
#[no_mangle]
pub unsafe extern "C" fn start_session(request_json: *const c_char) -> *mut c_char {
    // SAFETY: the caller upholds this function's contract, which is json_call's contract.
    unsafe { boundary::json_call(request_json, operations::start_session) }
}

/// Starts an operation: `{"Operation":name,"Request":{…},"WaitMs":t}` → after at most
/// `t` ms (default 0), the finished call's envelope, or
/// `{"Ok":true,"Pending":true,"Data":{"CallId":n}}`: then collect the result with [`ssm_call_wait`] or abort it with [`ssm_call_cancel`].
/// Release the result with [`ssm_string_free`].
///
/// Operations: `StartSession` (as [`start_session`]), `ResolveClient` (`{"Client"}` →
/// `{"Region","RegionSource","CredentialSource"}`, no service call; the client is kept for
/// later calls), `TerminateSession` and `ResumeSession` (`{"SessionId","Client"}`); port forwarding: `StartPortForward` (`{"SessionId",
/// "StreamUrl","TokenValue","LocalPortNumber","ChunkSize","PaceMicroseconds",
/// "KeepSession","HandshakeTimeoutMs","StallTimeoutMs","KeepAliveSeconds","Client"}` → the
/// forward with its
/// `Handle` and `LocalPort`; it keeps running after the call), `PortForwardStatus`
/// (`{"Handle","WaitMs"}`, waits for the end at most `WaitMs`), `StopPortForward`
/// (`{"Handle"}`: terminates the session unless kept, releases the handle),
/// `ListPortForwards` and `StopAllPortForwards` (`{}`); non-interactive commands:
/// `StartCommand` (`{"SessionId","StreamUrl","TokenValue","KeepSession",
/// "HandshakeTimeoutMs","StallTimeoutMs","KeepAliveSeconds","Client"}` → `Handle`),
/// `CommandOutput` (`{"Handle","WaitMs"}`: waits at most `WaitMs` for output, then takes
/// it: `Stdout`, `Stderr`, `ExitCode`, `State`, `MoreOutput`, `UndeliveredBytes`,
/// `UndeliveredCause`), `StopCommand` (`{"Handle"}`: ends the
/// session if still running, releases the handle, returns the last output) and
/// `StopAllCommands`; interactive shells: `RunShell` (`{"Session":{"SessionId",
/// "StreamUrl","TokenValue","Target","KeepSession","HandshakeTimeoutMs","StallTimeoutMs",
/// "KeepAliveSeconds","Client"},"EscapeCharacter"}`: attaches the session to this process's terminal until it
/// ends or the escape sequence is typed, then `{"SessionId","State","Message","Escaped",
/// "ExitCode","AgentVersion"}`); diagnostics: `ConfigureLogging` (`{"Level","Path"}`, once per
/// process; this library's events only, never secrets or payloads); `DescribeContract`
/// (`{}` → `{"AbiVersion","LibraryVersion","Operations","ErrorKinds"}`).
///
/// # Safety
/// `request_json` must be NULL or point to a NUL-terminated string that stays valid and
/// unmodified until this function returns.
#[no_mangle]
pub unsafe extern "C" fn ssm_call_start(request_json: *const c_char) -> *mut c_char {
    // SAFETY: the caller upholds this function's contract, which is envelope_call's contract.
    unsafe { boundary::envelope_call(request_json, calls::start) }
}

/// Waits up to `TimeoutMs` (at most 60 000) for a started call: `{"CallId":n,"TimeoutMs":t}`
/// → the call's own envelope once it has finished (the call id is then released), or
/// `{"Ok":true,"Pending":true,"Data":{"CallId":n}}`. Release the result with [`ssm_string_free`].
///
/// # Safety
/// `request_json` must be NULL or point to a NUL-terminated string that stays valid and
/// unmodified until this function returns.
#[no_mangle]
pub unsafe extern "C" fn ssm_call_wait(request_json: *const c_char) -> *mut c_char {
    // SAFETY: the caller upholds this function's contract, which is envelope_call's contract.
    unsafe { boundary::envelope_call(request_json, calls::wait) }
}

/// Cancels a started call and drops its request: `{"CallId":n}` →
/// `{"Ok":true,"Data":{"CallId":n,"Cancelled":bool}}` (false when it had already finished
/// and been collected). Release the result with [`ssm_string_free`].
///
/// # Safety
/// `request_json` must be NULL or point to a NUL-terminated string that stays valid and
/// unmodified until this function returns.
#[no_mangle]
pub unsafe extern "C" fn ssm_call_cancel(request_json: *const c_char) -> *mut c_char {
    // SAFETY: the caller upholds this function's contract, which is json_call's contract.
    unsafe { boundary::json_call(request_json, calls::cancel) }
}

/// Stops every running port forward and terminates its session (unless it was started to
/// keep it), waiting at most `timeout_ms` milliseconds in all. For a host's process-exit
/// path, where nothing else will end the sessions; returns at once when no forward runs.
/// Safe to call from any thread, any number of times.
#[no_mangle]
pub extern "C" fn ssm_shutdown(timeout_ms: u32) {
    let _ = std::panic::catch_unwind(|| {
        registry::shutdown(std::time::Duration::from_millis(timeout_ms.into()))
    });
}

/// Releases a string returned by this library. NULL is ignored, and so is any pointer this
/// library does not currently own: one released already (a double free) or one it never
/// returned. The library keeps the addresses of the strings it has handed out and frees
/// only those, each once.
///
/// # Safety
/// `value` must be NULL or a pointer value; it is compared, never read, unless it is one of
/// the strings this library handed out and has not released yet.
#[no_mangle]
pub unsafe extern "C" fn ssm_string_free(value: *mut c_char) {
    // SAFETY: the caller upholds this function's contract, which is release_string's contract.
    unsafe { boundary::release_string(value) }
}

/// Strings handed out and not released yet. For leak checks in this crate's tests; not
/// part of the C ABI (no `extern "C"`, so not in the header).
#[doc(hidden)]
pub fn live_string_count() -> usize {
    boundary::live_string_count()
}
