//! Interactive shells: one call opens the session's channel and attaches it to this
//! process's terminal (`ssmsession-terminal`) until the session ends or the escape sequence is
//! typed. It blocks for the session's life; the caller waits for it in slices like any
//! call, and cancelling the call detaches, restores the terminal and ends the session.

use std::io::Write;

use serde::Deserialize;
use serde_json::{json, Value};
use ssmsession_core::{ChannelCall, ClientCache};
use ssmsession_terminal::{attach, exit_lines, starting_line, AttachOptions, DEFAULT_ESCAPE};

use crate::envelope::ErrorBody;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RunShellRequest {
    /// The started session's channel, target and client settings.
    session: ChannelCall,
    /// One printable ASCII character; "none" (or empty) turns the escape off; absent: `~`.
    escape_character: Option<String>,
}

/// The escape byte from the request's text.
pub fn escape_from(text: Option<&str>) -> Result<Option<u8>, ErrorBody> {
    match text {
        None => Ok(Some(DEFAULT_ESCAPE)),
        Some(t) if t.is_empty() || t.eq_ignore_ascii_case("none") => Ok(None),
        Some(t) if t.len() == 1 && t.as_bytes()[0].is_ascii_graphic() => Ok(Some(t.as_bytes()[0])),
        Some(t) => Err(ErrorBody::invalid_request(
            "InvalidEscapeCharacter",
            format!(
                "The escape character must be one printable ASCII character, or 'none'; got '{t}'."
            ),
        )),
    }
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Runs the shell session on the terminal; the data says how it ended.
pub async fn run(cache: &ClientCache, request: RunShellRequest) -> Result<Value, ErrorBody> {
    let escape = escape_from(request.escape_character.as_deref())?;
    let session_id = request.session.session_id.clone();
    let (session, started) = ssmsession_core::start_shell(cache, request.session).await?;
    print(&starting_line(&session_id));
    if !started.customer_message.is_empty() {
        print(&format!("\n{}\n", started.customer_message));
    }
    let attached = attach(session, AttachOptions { escape })
        .await
        .map_err(|e| ErrorBody::internal("TerminalUnavailable", e.to_string()))?;
    print(&exit_lines(&session_id, &attached.end));
    let (state, message) = crate::session_state::state_of(Some(attached.end.clone()));
    Ok(json!({
        "SessionId": session_id,
        "AgentVersion": started.agent_version,
        "State": state,
        "Message": message.unwrap_or_default(),
        "Escaped": attached.escaped,
        "ExitCode": attached.exit_code,
    }))
}

#[cfg(test)]
mod tests {
    use super::escape_from;

    #[test]
    fn escape_characters_are_one_printable_character_or_none() {
        assert_eq!(escape_from(None).unwrap(), Some(b'~'));
        assert_eq!(escape_from(Some("%")).unwrap(), Some(b'%'));
        assert_eq!(escape_from(Some("none")).unwrap(), None);
        assert_eq!(escape_from(Some("")).unwrap(), None);
        assert!(escape_from(Some("ab")).is_err());
        assert!(escape_from(Some(" ")).is_err());
        assert!(escape_from(Some("é")).is_err());
    }
}
