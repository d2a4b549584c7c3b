//! Running non-interactive commands, by handle ([`crate::registry`]): started by one call,
//! their output taken by later ones (as it arrives), stopped and released by the last.

use std::sync::Mutex;

use serde_json::{json, Value};
use ssmsession_core::{ClientCache, CommandCall, CommandRun};

use crate::envelope::ErrorBody;
use crate::registry::{HandleRequest, Registry, STOP_TIMEOUT};

/// Bytes of a multi-byte UTF-8 character cut at the end of a chunk wait here for the rest.
#[derive(Default)]
struct Carry {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

pub struct Entry {
    run: CommandRun,
    session_id: String,
    carry: Mutex<Carry>,
}

pub static COMMANDS: Registry<Entry> =
    Registry::new("command", 256, "UnknownCommand", "TooManyCommands");

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
fn status(handle: u64, entry: &Entry) -> Value {
    let run = &entry.run;
    let end = run.end();
    let output = run.take();
    let at_end = end.is_some() && !run.has_output();
    let mut carry = entry.carry.lock().unwrap_or_else(|e| e.into_inner());
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
        "SessionId": entry.session_id,
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
    COMMANDS.check_room()?;
    let (run, output) = ssmsession_core::start_command(cache, call).await?;
    let mut data = serde_json::to_value(&output)
        .map_err(|e| ErrorBody::internal("SerializationFailure", e.to_string()))?;
    let handle = COMMANDS.insert(Entry {
        run,
        session_id: output.session_id,
        carry: Mutex::default(),
    });
    data["Handle"] = json!(handle);
    Ok(data)
}

/// `{"Handle":n,"WaitMs":t}`: waits up to `t` ms for output or the end, then takes what
/// arrived.
pub async fn output(request: HandleRequest) -> Result<Value, ErrorBody> {
    let entry = COMMANDS.get(request.handle)?;
    let wait = request.wait();
    if !wait.is_zero() {
        entry.run.wait_for_output(wait).await;
    }
    Ok(status(request.handle, &entry))
}

/// `{"Handle":n}`: stops the command's session (unless it already ended), waits for the
/// end, releases the handle and returns the last output and state.
pub async fn stop(request: HandleRequest) -> Result<Value, ErrorBody> {
    let entry = COMMANDS.get(request.handle)?;
    if entry.run.end().is_none() {
        entry.run.stop();
    }
    let stopped = tokio::time::timeout(STOP_TIMEOUT, entry.run.wait()).await;
    let mut final_status = status(request.handle, &entry);
    if stopped.is_err() {
        crate::session_state::mark_stop_timed_out(&mut final_status, STOP_TIMEOUT);
    }
    COMMANDS.remove(request.handle);
    Ok(final_status)
}

/// Stops every command (module removal, process exit); returns how many were running.
pub async fn stop_all() -> Result<Value, ErrorBody> {
    let stopped = COMMANDS
        .stop_all(|handle| stop(HandleRequest { handle, wait_ms: 0 }))
        .await;
    Ok(json!({ "Stopped": stopped }))
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
