//! Running non-interactive commands, by handle: started by one call, their output taken by
//! later ones (as it arrives), stopped and released by the last. Handles are numbers, never
//! pointers: a stale or made-up handle is an error, not a crash.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use once_cell::sync::Lazy;
use serde::Deserialize;
use serde_json::{json, Value};
use ssmsession_core::{ClientCache, CommandCall, CommandRun};

use crate::envelope::ErrorBody;

/// Commands running at once, at most: each holds a WebSocket.
const MAX_COMMANDS: usize = 256;
/// Longest single wait for output; callers loop for longer waits.
const MAX_WAIT_MS: u64 = 60_000;
/// How long a stop may take: the TerminateSession flag (3 s) and then the API.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of a multi-byte UTF-8 character cut at the end of a chunk wait here for the rest.
#[derive(Default)]
struct Carry {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

struct Entry {
    run: Arc<CommandRun>,
    session_id: String,
    carry: Arc<Mutex<Carry>>,
}

static COMMANDS: Lazy<Mutex<HashMap<u64, Entry>>> = Lazy::new(Default::default);
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

fn commands() -> MutexGuard<'static, HashMap<u64, Entry>> {
    // Entries are inserted and removed whole: a poisoned lock still holds a valid map.
    COMMANDS.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CommandHandleRequest {
    handle: u64,
    #[serde(default)]
    wait_ms: u64,
}

type Found = (Arc<CommandRun>, String, Arc<Mutex<Carry>>);

fn entry(handle: u64) -> Result<Found, ErrorBody> {
    commands()
        .get(&handle)
        .map(|e| (e.run.clone(), e.session_id.clone(), e.carry.clone()))
        .ok_or_else(|| {
            ErrorBody::invalid_request(
                "UnknownCommand",
                format!("No command has handle {handle}; it was stopped and collected, or never existed."),
            )
        })
}

/// The text in `carry` + `fresh`, keeping back an incomplete character at the end unless
/// no more output will come. Invalid bytes become U+FFFD.
fn text(carry: &mut Vec<u8>, fresh: Vec<u8>, at_end: bool) -> String {
    carry.extend_from_slice(&fresh);
    let keep = match std::str::from_utf8(carry) {
        Err(e) if e.error_len().is_none() && !at_end => carry.len() - e.valid_up_to(),
        _ => 0,
    };
    let rest = carry.split_off(carry.len() - keep);
    let text = String::from_utf8_lossy(carry).into_owned();
    *carry = rest;
    text
}

/// Takes the output that arrived and describes the command's state.
fn status(handle: u64, session_id: &str, run: &CommandRun, carry: &Mutex<Carry>) -> Value {
    let end = run.end();
    let output = run.take();
    let at_end = end.is_some() && !run.has_output();
    let mut carry = carry.lock().unwrap_or_else(|e| e.into_inner());
    let stdout = text(&mut carry.stdout, output.stdout, at_end);
    let stderr = text(&mut carry.stderr, output.stderr, at_end);
    let cut = if end.is_some() {
        run.undelivered()
    } else {
        None
    };
    let (state, message) = crate::session_state::state_of(end);
    json!({
        "Handle": handle,
        "SessionId": session_id,
        "State": state,
        "Message": message,
        "Stdout": stdout,
        "Stderr": stderr,
        "ExitCode": output.exit_code,
        // Output may still be waiting when the state is no longer Running: ask again.
        "MoreOutput": run.has_output(),
        // Output that had arrived but never reached the buffers taken from: cut off by a
        // stop ("Stopped"), or behind sequence numbers the agent skipped ("Gap").
        "UndeliveredBytes": cut.map_or(0, |c| c.bytes),
        "UndeliveredCause": cut.map(|c| c.cause),
    })
}

/// Opens the data channel; the data is the session's description and its `Handle`.
pub async fn start(cache: &ClientCache, call: CommandCall) -> Result<Value, ErrorBody> {
    if commands().len() >= MAX_COMMANDS {
        return Err(ErrorBody::internal(
            "TooManyCommands",
            format!("{MAX_COMMANDS} commands are running; stop some first."),
        ));
    }
    let (run, output) = ssmsession_core::start_command(cache, call).await?;
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    let mut data = serde_json::to_value(&output)
        .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))?;
    data["Handle"] = json!(handle);
    commands().insert(
        handle,
        Entry {
            run: Arc::new(run),
            session_id: output.session_id,
            carry: Arc::default(),
        },
    );
    Ok(data)
}

/// `{"Handle":n,"WaitMs":t}`: waits up to `t` ms for output or the end, then takes what
/// arrived.
pub async fn output(request: CommandHandleRequest) -> Result<Value, ErrorBody> {
    let (run, session_id, carry) = entry(request.handle)?;
    let wait = Duration::from_millis(request.wait_ms.min(MAX_WAIT_MS));
    if !wait.is_zero() {
        run.wait_for_output(wait).await;
    }
    Ok(status(request.handle, &session_id, &run, &carry))
}

/// `{"Handle":n}`: stops the command's session (unless it already ended), waits for the
/// end, releases the handle and returns the last output and state.
pub async fn stop(request: CommandHandleRequest) -> Result<Value, ErrorBody> {
    let (run, session_id, carry) = entry(request.handle)?;
    if run.end().is_none() {
        run.stop();
    }
    let stopped = tokio::time::timeout(STOP_TIMEOUT, run.wait()).await;
    let mut final_status = status(request.handle, &session_id, &run, &carry);
    if stopped.is_err() {
        crate::session_state::mark_stop_timed_out(&mut final_status, STOP_TIMEOUT);
    }
    commands().remove(&request.handle);
    Ok(final_status)
}

/// Stops every command (module removal, process exit); returns how many were running.
pub async fn stop_all() -> Result<Value, ErrorBody> {
    let handles: Vec<u64> = commands().keys().copied().collect();
    let tasks: Vec<_> = handles
        .into_iter()
        .map(|handle| tokio::spawn(stop(CommandHandleRequest { handle, wait_ms: 0 })))
        .collect();
    let mut stopped = 0;
    for task in tasks {
        if matches!(task.await, Ok(Ok(_))) {
            stopped += 1;
        }
    }
    Ok(json!({ "Stopped": stopped }))
}

/// Whether any command is running (the shutdown path touches no runtime otherwise).
pub fn any() -> bool {
    !commands().is_empty()
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn a_character_cut_between_chunks_is_kept_whole() {
        let euro = "€".as_bytes();
        let mut carry = Vec::new();
        assert_eq!(
            text(&mut carry, [b"a".as_slice(), &euro[..2]].concat(), false),
            "a"
        );
        assert_eq!(
            text(&mut carry, [&euro[2..], b"b".as_slice()].concat(), false),
            "€b"
        );
        assert!(carry.is_empty());
    }

    #[test]
    fn an_incomplete_character_at_the_end_of_output_becomes_a_replacement() {
        let mut carry = Vec::new();
        assert_eq!(text(&mut carry, vec![b'x', 0xE2, 0x82], true), "x\u{FFFD}");
        assert_eq!(text(&mut carry, vec![0xFF, b'y'], false), "\u{FFFD}y");
    }
}
