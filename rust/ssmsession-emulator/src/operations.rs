//! The session operations and the session-document ones, over validated JSON input.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::config::{EmulatorConfig, ERROR_TARGETS};
use crate::service_error::ServiceError;
use crate::sessions::{new_session_id, new_token, Session, SessionStore};
use crate::validation::{is_document_arn, object, optional_string, Violations};

/// What an operation needs besides its input.
pub struct Context<'a> {
    pub config: &'a EmulatorConfig,
    pub documents: &'a crate::documents::DocumentStore,
    pub sessions: &'a SessionStore,
    pub caller: &'a Caller,
    /// `ws://127.0.0.1:<port>`: stream URLs point back at this emulator.
    pub stream_base: &'a str,
}

impl Context<'_> {
    fn owner_arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user/{}",
            self.config.account_id, self.caller.user
        )
    }

    fn stream_url(&self, session_id: &str) -> String {
        format!(
            "{}/v1/data-channel/{session_id}?role=publish_subscribe&cell-number=AAEAAQ",
            self.stream_base
        )
    }
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

pub fn start_session(ctx: &Context<'_>, body: &Value) -> Result<Value, ServiceError> {
    let body = object(body)?;
    let target = optional_string(body, "Target")?;
    let document = optional_string(body, "DocumentName")?;
    let reason = optional_string(body, "Reason")?;

    let mut violations = Violations::new();
    if let Some(target) = violations.required(target, "target") {
        violations.length(target, "target", 1, 400);
    }
    if let Some(document) = document {
        if !is_document_arn(document) {
            violations.add(
                Some(document),
                "documentName",
                r"Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\-.:/]{3,128}$",
            );
        }
    }
    if let Some(reason) = reason {
        violations.length(reason, "reason", 1, 256);
        if reason.contains(['\n', '\r']) {
            violations.add(
                Some(reason),
                "reason",
                "Member must satisfy regular expression pattern: ^.{1,256}$",
            );
        }
    }
    validate_parameters(body, &mut violations)?;
    violations.finish()?;
    let target = target.unwrap_or_default();

    if let Some((_, code)) = ERROR_TARGETS.iter().find(|(t, _)| *t == target) {
        return Err(error_target(ctx, code, target));
    }
    let parameters = body.get("Parameters").cloned().unwrap_or(Value::Null);
    let plan = match document {
        Some(name) => ctx.documents.find(name).ok_or_else(|| {
            ServiceError::client(
                "InvalidDocument",
                format!("Document {name} does not exist in your account or you do not have permission to use it."),
            )
        })?,
        None => ctx
            .documents
            .find(crate::documents::DEFAULT_DOCUMENT)
            .ok_or_else(|| {
                ServiceError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "The default session document is missing.",
                )
            })?,
    }
    .plan(&parameters)
    .map_err(|message| ServiceError::client("InvalidParameters", message))?;

    let session = Session {
        id: new_session_id(&ctx.caller.user),
        target: target.to_owned(),
        document_name: document.map(str::to_owned),
        owner: ctx.owner_arn(),
        reason: reason.map(str::to_owned),
        parameters,
        plan,
        status: crate::sessions::SessionStatus::Connected,
        started: SystemTime::now(),
        ended: None,
        token: new_token(),
    };
    let response = json!({
        "SessionId": session.id,
        "TokenValue": session.token,
        "StreamUrl": ctx.stream_url(&session.id),
    });
    ctx.sessions.insert(session);
    Ok(response)
}

/// `Parameters`: map of name (1–255) → list of values (each 1–65535).
fn validate_parameters(
    body: &Map<String, Value>,
    violations: &mut Violations,
) -> Result<(), ServiceError> {
    let serialization = |what: &str| {
        ServiceError::framework(
            "SerializationException",
            format!("Parameters: expected {what}."),
        )
    };
    let parameters = match body.get("Parameters") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(serialization("a map of name to list of strings")),
    };
    for (name, values) in parameters {
        violations.length(name, "parameters", 1, 255);
        let Value::Array(values) = values else {
            return Err(serialization("a list of strings for each name"));
        };
        for value in values {
            let Value::String(value) = value else {
                return Err(serialization("string values"));
            };
            violations.length(value, "parameters", 1, 65535);
        }
    }
    Ok(())
}

fn error_target(ctx: &Context<'_>, code: &str, target: &str) -> ServiceError {
    match code {
        "TargetNotConnected" => {
            ServiceError::client(code, format!("{target} is not connected."))
        }
        "AccessDeniedException" => ServiceError::client(
            code,
            format!(
                "User: {} is not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:{}:{}:instance/{target} because no identity-based policy allows the ssm:StartSession action",
                ctx.owner_arn(),
                ctx.caller.region,
                ctx.config.account_id
            ),
        ),
        "ThrottlingException" => ServiceError::client(code, "Rate exceeded"),
        _ => ServiceError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred.",
        ),
    }
}

fn session_id_input(body: &Value) -> Result<String, ServiceError> {
    let body = object(body)?;
    let id = optional_string(body, "SessionId")?;
    let mut violations = Violations::new();
    if let Some(id) = violations.required(id, "sessionId") {
        violations.length(id, "sessionId", 1, 96);
    }
    violations.finish()?;
    Ok(id.unwrap_or_default().to_owned())
}

/// Idempotent like the service: ending an unknown or ended session still answers its id.
pub fn terminate_session(ctx: &Context<'_>, body: &Value) -> Result<Value, ServiceError> {
    let id = session_id_input(body)?;
    ctx.sessions.terminate(&id);
    Ok(json!({ "SessionId": id }))
}

pub fn resume_session(ctx: &Context<'_>, body: &Value) -> Result<Value, ServiceError> {
    let id = session_id_input(body)?;
    let session = ctx.sessions.resume(&id).ok_or_else(|| {
        ServiceError::client(
            "DoesNotExistException",
            format!("Session {id} does not exist or has ended."),
        )
    })?;
    let mut stream_url = ctx.stream_url(&session.id);
    if crate::hostile::Hostile::of(&session.target)
        == Some(crate::hostile::Hostile::PlainTextResume)
    {
        // Not loopback, yet still this machine should a client dial it.
        stream_url = stream_url.replacen("ws://127.0.0.1", "ws://0.0.0.0", 1);
    }
    Ok(json!({
        "SessionId": session.id,
        "TokenValue": session.token,
        "StreamUrl": stream_url,
    }))
}

const FILTER_KEYS: &[&str] = &[
    "InvokedAfter",
    "InvokedBefore",
    "Target",
    "Owner",
    "Status",
    "SessionId",
    "AccessType",
];
const DEFAULT_PAGE_SIZE: usize = 20;

pub fn describe_sessions(ctx: &Context<'_>, body: &Value) -> Result<Value, ServiceError> {
    let body = object(body)?;
    let state = optional_string(body, "State")?;
    let next_token = optional_string(body, "NextToken")?;
    let mut violations = Violations::new();
    if let Some(state) = violations.required(state, "state") {
        if !matches!(state, "Active" | "History") {
            violations.add(
                Some(state),
                "state",
                "Member must satisfy enum value set: [Active, History]",
            );
        }
    }
    let page_size = match body.get("MaxResults") {
        None | Some(Value::Null) => DEFAULT_PAGE_SIZE,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n @ 1..=200) => n as usize,
            _ => {
                violations.add(
                    Some(&n.to_string()),
                    "maxResults",
                    "Member must have value between 1 and 200",
                );
                DEFAULT_PAGE_SIZE
            }
        },
        Some(_) => {
            return Err(ServiceError::framework(
                "SerializationException",
                "MaxResults: expected an integer.",
            ))
        }
    };
    let filters = parse_filters(body, &mut violations)?;
    violations.finish()?;

    let active = state == Some("Active");
    let matching: Vec<Session> = ctx
        .sessions
        .list(active)
        .into_iter()
        .filter(|s| filters.iter().all(|(k, v)| filter_matches(s, k, v)))
        .collect();
    let start = match next_token {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= matching.len())
            .ok_or_else(|| {
                ServiceError::client("InvalidNextToken", "The specified token isn't valid.")
            })?,
    };
    let end = (start + page_size).min(matching.len());
    let sessions: Vec<Value> = matching[start..end].iter().map(session_json).collect();
    let mut response = json!({ "Sessions": sessions });
    if end < matching.len() {
        response["NextToken"] = json!(format!("page-{end}"));
    }
    Ok(response)
}

fn parse_filters(
    body: &Map<String, Value>,
    violations: &mut Violations,
) -> Result<Vec<(String, String)>, ServiceError> {
    let filters = match body.get("Filters") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ServiceError::framework(
                "SerializationException",
                "Filters: expected a list.",
            ))
        }
    };
    if filters.is_empty() || filters.len() > 6 {
        violations.add(None, "filters", "Member must have length between 1 and 6");
    }
    let mut parsed = Vec::new();
    for filter in filters {
        let key = filter.get("key").and_then(Value::as_str);
        let value = filter.get("value").and_then(Value::as_str);
        let (Some(key), Some(value)) = (key, value) else {
            return Err(ServiceError::framework(
                "SerializationException",
                "Filters: each filter needs string 'key' and 'value'.",
            ));
        };
        if !FILTER_KEYS.contains(&key) {
            return Err(ServiceError::client(
                "InvalidFilterKey",
                format!("The filter key {key} is not valid."),
            ));
        }
        violations.length(value, "filters.member.value", 1, 400);
        parsed.push((key.to_owned(), value.to_owned()));
    }
    Ok(parsed)
}

fn filter_matches(session: &Session, key: &str, value: &str) -> bool {
    let time = || {
        chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .map(SystemTime::from)
    };
    match key {
        "Target" => session.target == value,
        "Owner" => session.owner == value,
        "Status" => session.status.as_str() == value,
        "SessionId" => session.id == value,
        "AccessType" => value == "Standard",
        "InvokedAfter" => time().is_some_and(|t| session.started >= t),
        "InvokedBefore" => time().is_some_and(|t| session.started <= t),
        _ => false,
    }
}

fn session_json(session: &Session) -> Value {
    let mut value = json!({
        "SessionId": session.id,
        "Target": session.target,
        "Status": session.status.as_str(),
        "StartDate": epoch_seconds(session.started),
        "Owner": session.owner,
        "AccessType": "Standard",
    });
    if let Some(ended) = session.ended {
        value["EndDate"] = json!(epoch_seconds(ended));
    }
    if let Some(document) = &session.document_name {
        value["DocumentName"] = json!(document);
    }
    if let Some(reason) = &session.reason {
        value["Reason"] = json!(reason);
    }
    value
}

/// CreateDocument for session documents (JSON content, `DocumentType: Session`).
pub fn create_document(ctx: &Context<'_>, body: &Value) -> Result<Value, ServiceError> {
    let body = object(body)?;
    let name = optional_string(body, "Name")?;
    let content = optional_string(body, "Content")?;
    let document_type = optional_string(body, "DocumentType")?;
    let format = optional_string(body, "DocumentFormat")?;
    let mut violations = Violations::new();
    if let Some(name) = violations.required(name, "name") {
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            || name.len() < 3
            || name.len() > 128
        {
            violations.add(
                Some(name),
                "name",
                r"Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\-.]{3,128}$",
            );
        }
    }
    if let Some(content) = violations.required(content, "content") {
        violations.length(content, "content", 1, 65536);
    }
    violations.finish()?;
    let (name, content) = (name.unwrap_or_default(), content.unwrap_or_default());
    if document_type != Some("Session") {
        return Err(ServiceError::client(
            "InvalidDocumentType",
            "The emulator serves session documents only: DocumentType must be Session.",
        ));
    }
    if format.is_some_and(|f| f != "JSON") {
        return Err(ServiceError::client(
            "UnsupportedOperationException",
            "The emulator reads JSON session documents only.",
        ));
    }
    let lowered = name.to_ascii_lowercase();
    if ["aws", "amazon", "amzn"]
        .iter()
        .any(|p| lowered.starts_with(p))
    {
        return Err(ServiceError::validation(format!(
            "Document name {name} uses a prefix reserved for AWS-owned documents."
        )));
    }
    match ctx.documents.create(name, content, &ctx.config.account_id) {
        Ok(document) => Ok(json!({ "DocumentDescription": document.description() })),
        Err(crate::documents::CreateError::AlreadyExists) => Err(ServiceError::client(
            "DocumentAlreadyExists",
            format!("Document with same name {name} already exists"),
        )),
        Err(crate::documents::CreateError::InvalidContent(why)) => {
            Err(ServiceError::client("InvalidDocumentContent", why))
        }
    }
}

/// DescribeDocument: a document's description, by name or ARN.
pub fn describe_document(ctx: &Context<'_>, body: &Value) -> Result<Value, ServiceError> {
    let body = object(body)?;
    let name = optional_string(body, "Name")?;
    let mut violations = Violations::new();
    violations.required(name, "name");
    violations.finish()?;
    let name = name.unwrap_or_default();
    match ctx.documents.find(name) {
        Some(document) => Ok(json!({ "Document": document.description() })),
        None => Err(ServiceError::client(
            "InvalidDocument",
            format!("Document {name} does not exist in your account or you do not have permission to use it."),
        )),
    }
}
