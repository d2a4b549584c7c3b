//! A running session's state as the status documents name it, for forwards and commands
//! alike.

use std::time::Duration;

use serde_json::{json, Value};
use ssmsession_core::{Cut, CutCause, SessionEnd};

/// `State` and `Message` of a status document: Running while the session lives.
pub fn state_of(end: Option<SessionEnd>) -> (&'static str, Option<String>) {
    match end {
        None => ("Running", None),
        Some(SessionEnd::Closed(message)) => ("Closed", Some(message)),
        Some(SessionEnd::Stopped) => ("Stopped", None),
        Some(SessionEnd::Failed(message)) => ("Failed", Some(message)),
    }
}

/// A stop that did not finish within its limit: the final status must not say Running,
/// and must say that the session may outlive it.
pub fn mark_stop_timed_out(status: &mut Value, limit: Duration) {
    if status["State"] == "Running" {
        status["State"] = json!("Failed");
        status["Message"] = json!(format!(
            "The session did not stop within {} s; it may still be open on the service until its idle timeout.",
            limit.as_secs()
        ));
    }
}

/// What was lost, in a sentence: `destination` is where it should have gone.
pub fn describe_cut(cut: &Cut, destination: &str) -> String {
    match cut.cause {
        CutCause::Stopped => format!(
            "{} bytes from the agent had arrived but were not written to {destination}: the session was stopped first.",
            cut.bytes
        ),
        CutCause::Gap => format!(
            "{} bytes from the agent could not be written to {destination}: the channel closed while the messages before them were still missing.",
            cut.bytes
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_that_timed_out_is_failed_not_running() {
        let mut running = json!({ "State": "Running", "Message": null });
        mark_stop_timed_out(&mut running, Duration::from_secs(30));
        assert_eq!(running["State"], "Failed");
        assert!(running["Message"].as_str().unwrap().contains("30 s"));
        let mut stopped = json!({ "State": "Stopped", "Message": null });
        mark_stop_timed_out(&mut stopped, Duration::from_secs(30));
        assert_eq!(stopped["State"], "Stopped");
    }
}
