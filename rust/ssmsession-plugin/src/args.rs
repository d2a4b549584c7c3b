//! The argv contract of `session-manager-plugin` (protocol notes §7), as the AWS CLI and
//! ECS Exec call it:
//!
//! | argv | content |
//! |---|---|
//! | 1 | StartSession response JSON, or the name of the environment variable holding it (`AWS_SSM_START_SESSION_RESPONSE…`) |
//! | 2 | region |
//! | 3 | operation: `StartSession` |
//! | 4 | profile (may be empty) |
//! | 5 | StartSession request JSON (`Target`, `DocumentName`, `Parameters`) |
//! | 6 | the endpoint of the client that made the call |
//!
//! No arguments: the installation check's message; exactly `--version`: the version.

use serde_json::{Map, Value};

/// What ECS Exec's installation check expects on standard output.
pub const INSTALLED_MESSAGE: &str =
    "The Session Manager plugin was installed successfully. Use the AWS CLI to start a session.";
/// argv[1] values starting with this name the environment variable holding the response.
pub const RESPONSE_VARIABLE_PREFIX: &str = "AWS_SSM_START_SESSION_RESPONSE";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// No arguments.
    InstallCheck,
    /// `--version`.
    Version,
    /// Run a started session.
    Run(Box<PluginRun>),
}

/// A started session and how to reach the service about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginRun {
    pub session_id: String,
    pub stream_url: String,
    pub token_value: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// The session's target, for the KMS encryption context.
    pub target: Option<String>,
    /// The session's document, when the request names one.
    pub document_name: Option<String>,
    /// The SSM endpoint for ResumeSession/TerminateSession, when the caller's client was
    /// an SSM client (ECS Exec passes the ECS endpoint, which is no use for those).
    pub endpoint: Option<String>,
    /// The environment variable the response came from (to be unset, as the plugin does).
    pub response_variable: Option<String>,
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A member by name, ignoring case (Go's decoder does; ECS Exec sends camelCase).
fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn required_text(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    match member(object, name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
        Some(_) => Err(format!(
            "The StartSession response's {name} is not a non-empty string."
        )),
        None => Err(format!("The StartSession response has no {name}.")),
    }
}

/// Whether an endpoint belongs to an SSM client (not ECS's, which ECS Exec passes).
fn is_ssm_endpoint(endpoint: &str) -> bool {
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let first_label = host.split('.').next().unwrap_or_default();
    !matches!(first_label, "ecs" | "ecs-fips")
}

impl PluginRun {
    /// Whether the document starts a shell: none (the account's shell preferences), or one
    /// that is not a known port or command document.
    pub fn likely_shell(&self) -> bool {
        !matches!(
            self.document_name.as_deref(),
            Some(
                "AWS-StartPortForwardingSession"
                    | "AWS-StartPortForwardingSessionToRemoteHost"
                    | "AWS-StartSSHSession"
                    | "AWS-StartNonInteractiveCommand"
            )
        )
    }
}

/// Reads argv (with argv[0]); `environment` looks variables up.
pub fn parse(
    args: &[String],
    environment: impl Fn(&str) -> Option<String>,
) -> Result<Invocation, String> {
    match args.len() {
        0 | 1 => return Ok(Invocation::InstallCheck),
        2 if args[1] == "--version" => return Ok(Invocation::Version),
        2 | 3 => {
            return Err(format!(
                "Unknown operation {}. Use the AWS CLI to start a session (aws ssm start-session).",
                args[1]
            ))
        }
        _ => {}
    }
    let operation = args[3].as_str();
    if operation != "StartSession" {
        return Err(format!(
            "Unknown operation {operation}: only StartSession is supported."
        ));
    }
    let (response_text, response_variable) = if args[1].starts_with(RESPONSE_VARIABLE_PREFIX) {
        let value = environment(&args[1]).ok_or_else(|| {
            format!(
                "The environment variable {} holding the StartSession response is not set.",
                args[1]
            )
        })?;
        (value, Some(args[1].clone()))
    } else {
        (args[1].clone(), None)
    };
    // Never echo the response: it carries the session's token.
    let response: Value = serde_json::from_str(&response_text)
        .map_err(|e| format!("The StartSession response is not valid JSON ({e})."))?;
    let Value::Object(response) = response else {
        return Err("The StartSession response is not a JSON object.".into());
    };
    let mut run = PluginRun {
        session_id: required_text(&response, "SessionId")?,
        stream_url: required_text(&response, "StreamUrl")?,
        token_value: required_text(&response, "TokenValue")?,
        region: non_empty(args.get(2)),
        profile: non_empty(args.get(4)),
        response_variable,
        ..Default::default()
    };
    if let Some(request) = non_empty(args.get(5)) {
        let request: Value = serde_json::from_str(&request).map_err(|e| {
            format!("The StartSession request parameters are not valid JSON ({e}).")
        })?;
        match request.as_object().and_then(|r| member(r, "Target")) {
            None | Some(Value::Null) => {}
            Some(Value::String(target)) => run.target = Some(target.clone()),
            Some(_) => return Err("The StartSession request's Target is not a string.".into()),
        }
        if let Some(Value::String(document)) =
            request.as_object().and_then(|r| member(r, "DocumentName"))
        {
            run.document_name = Some(document.clone());
        }
    }
    run.endpoint = non_empty(args.get(6)).filter(|e| is_ssm_endpoint(e));
    Ok(Invocation::Run(Box::new(run)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const RESPONSE: &str = r#"{"SessionId":"s-1","TokenValue":"tok","StreamUrl":"wss://x/s-1"}"#;

    #[test]
    fn no_arguments_is_the_installation_check_and_version_is_its_own_form() {
        assert_eq!(parse(&argv(&["p"]), |_| None), Ok(Invocation::InstallCheck));
        assert_eq!(
            parse(&argv(&["p", "--version"]), |_| None),
            Ok(Invocation::Version)
        );
        assert!(parse(&argv(&["p", "x", "y"]), |_| None)
            .unwrap_err()
            .starts_with("Unknown operation x"));
    }

    #[test]
    fn the_full_cli_form_is_read() {
        let args = argv(&[
            "p",
            RESPONSE,
            "eu-west-3",
            "StartSession",
            "",
            r#"{"Target":"i-1","DocumentName":"AWS-StartPortForwardingSession"}"#,
            "https://ssm.eu-west-3.amazonaws.com",
        ]);
        let Ok(Invocation::Run(run)) = parse(&args, |_| None) else {
            panic!("not a run")
        };
        assert_eq!(run.session_id, "s-1");
        assert_eq!(run.token_value, "tok");
        assert_eq!(run.stream_url, "wss://x/s-1");
        assert_eq!(run.region.as_deref(), Some("eu-west-3"));
        assert_eq!(run.profile, None);
        assert_eq!(run.target.as_deref(), Some("i-1"));
        assert_eq!(
            run.document_name.as_deref(),
            Some("AWS-StartPortForwardingSession")
        );
        assert_eq!(
            run.endpoint.as_deref(),
            Some("https://ssm.eu-west-3.amazonaws.com")
        );
        assert_eq!(run.response_variable, None);
    }

    #[test]
    fn the_response_can_come_from_the_environment_variable_named_on_argv() {
        let args = argv(&[
            "p",
            "AWS_SSM_START_SESSION_RESPONSE",
            "us-east-1",
            "StartSession",
            "dev",
        ]);
        let Ok(Invocation::Run(run)) = parse(&args, |name| {
            (name == "AWS_SSM_START_SESSION_RESPONSE").then(|| RESPONSE.to_owned())
        }) else {
            panic!("not a run")
        };
        assert_eq!(run.session_id, "s-1");
        assert_eq!(run.profile.as_deref(), Some("dev"));
        assert_eq!(
            run.response_variable.as_deref(),
            Some("AWS_SSM_START_SESSION_RESPONSE")
        );
        let missing = parse(&args, |_| None).unwrap_err();
        assert!(missing.contains("is not set"), "{missing}");
    }

    #[test]
    fn ecs_exec_camel_case_keys_are_accepted_and_its_ecs_endpoint_is_not_used_for_ssm() {
        let args = argv(&[
            "p",
            r#"{"sessionId":"ecs-execute-command-1","streamUrl":"wss://y","tokenValue":"t"}"#,
            "eu-west-1",
            "StartSession",
            "",
            r#"{"Target":"ecs:cluster_task_container"}"#,
            "https://ecs.eu-west-1.amazonaws.com",
        ]);
        let Ok(Invocation::Run(run)) = parse(&args, |_| None) else {
            panic!("not a run")
        };
        assert_eq!(run.session_id, "ecs-execute-command-1");
        assert_eq!(run.endpoint, None);
        assert_eq!(run.target.as_deref(), Some("ecs:cluster_task_container"));
    }

    #[test]
    fn bad_input_is_refused_with_a_clear_reason_and_never_echoes_the_token() {
        let with = |response: &str, request: &str| {
            parse(
                &argv(&["p", response, "r", "StartSession", "", request]),
                |_| None,
            )
            .unwrap_err()
        };
        assert!(with("{", "").contains("not valid JSON"));
        assert!(with(r#"{"SessionId":"s","StreamUrl":"u"}"#, "").contains("no TokenValue"));
        let secret = r#"{"SessionId":"s","StreamUrl":"u","TokenValue":"SECRET-TOKEN","x":}"#;
        assert!(!with(secret, "").contains("SECRET-TOKEN"));
        assert!(with(RESPONSE, r#"{"Target":5}"#).contains("Target is not a string"));
        assert!(
            parse(&argv(&["p", RESPONSE, "r", "TerminateSession"]), |_| None)
                .unwrap_err()
                .contains("only StartSession")
        );
    }
}
