//! A running session's state as the status documents name it, for forwards and commands
//! alike.

use std::time::Duration;

use serde_json::{json, Value};
use ssmsession_core::SessionEnd;

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
