//! The environment the real agent gives session processes (agent-behaviour §1): its own,
//! plus `TERM=xterm-256color`, `LANG=C.UTF-8` when it has no `LANG`, and `HOME` of the
//! user the session runs as.
//!
//! The emulator cannot switch users, so the session runs as the emulator's user; `HOME`
//! is still the one the agent would set: `/root` (`/var/root` on macOS) with
//! `runAsElevated`, else the home of `ssm-user` when the emulator runs as root (the agent
//! switches to that user) or of the emulator's own user — `/home/<user>` (`/Users/<user>`
//! on macOS), whether or not that directory exists, as the agent does.

/// The user a root agent runs sessions as.
const SESSION_USER: &str = "ssm-user";

/// Variables to add to (or replace in) the agent's environment for one session process.
pub fn session_variables(run_as_elevated: bool) -> Vec<(&'static str, String)> {
    let mut variables = vec![("TERM", "xterm-256color".to_owned())];
    if std::env::var_os("LANG").is_none() {
        variables.push(("LANG", "C.UTF-8".to_owned()));
    }
    variables.push(("HOME", home(run_as_elevated, &session_user())));
    variables
}

fn home(run_as_elevated: bool, user: &str) -> String {
    let macos = cfg!(target_os = "macos");
    match (run_as_elevated, macos) {
        (true, true) => "/var/root".to_owned(),
        (true, false) => "/root".to_owned(),
        (false, true) => format!("/Users/{user}"),
        (false, false) => format!("/home/{user}"),
    }
}

/// Who the session would run as without `runAsElevated`: `ssm-user` for a root agent, the
/// agent's own user otherwise.
fn session_user() -> String {
    #[cfg(unix)]
    if rustix::process::getuid().is_root() {
        return SESSION_USER.to_owned();
    }
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|user| !user.is_empty()))
        .unwrap_or_else(|| SESSION_USER.to_owned())
}

/// `runAsElevated` of an interactive or non-interactive command document, as the agent
/// reads it: a JSON boolean; any other value makes the properties unreadable and fails the
/// session (agent-behaviour §2). Shells (`Standard_Stream`) never read it.
pub fn run_as_elevated(properties: &serde_json::Value) -> Result<bool, String> {
    match &properties["runAsElevated"] {
        serde_json::Value::Null => Ok(false),
        serde_json::Value::Bool(elevated) => Ok(*elevated),
        other => Err(format!(
            "Invalid format in session properties: runAsElevated must be true or false, not {other}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_get_the_agents_terminal_type_and_a_home_for_their_user() {
        let variables = session_variables(false);
        assert!(variables.contains(&("TERM", "xterm-256color".to_owned())));
        let home = variables.iter().find(|(name, _)| *name == "HOME").unwrap();
        assert!(
            home.1.ends_with(&format!("/{}", session_user())),
            "{home:?}"
        );
        let elevated = session_variables(true);
        assert!(elevated
            .iter()
            .any(|(name, value)| *name == "HOME" && (value == "/root" || value == "/var/root")));
    }

    #[test]
    fn run_as_elevated_must_be_a_boolean() {
        use serde_json::json;
        assert_eq!(run_as_elevated(&json!({})), Ok(false));
        assert_eq!(run_as_elevated(&json!({ "runAsElevated": true })), Ok(true));
        assert!(run_as_elevated(&json!({ "runAsElevated": "true" })).is_err());
    }

    #[test]
    fn homes_follow_the_platform_layout() {
        assert_eq!(
            home(true, "x"),
            if cfg!(target_os = "macos") {
                "/var/root"
            } else {
                "/root"
            }
        );
        assert!(home(false, "ssm-user").ends_with("/ssm-user"));
    }
}
