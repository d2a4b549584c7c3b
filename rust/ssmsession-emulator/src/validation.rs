//! The API model's input constraints, reported the way the service reports them:
//! "2 validation errors detected: Value … at 'target' failed to satisfy constraint: …; …".

use serde_json::{Map, Value};

use crate::service_error::ServiceError;

/// Collects constraint violations for one request.
#[derive(Default)]
pub struct Violations(Vec<String>);

fn shown(value: &str) -> String {
    format!("'{value}'")
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let value = value.map(shown).unwrap_or_else(|| "null".to_owned());
        self.0.push(format!(
            "Value {value} at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member: records "must not be null" when absent.
    pub fn required<'a>(&mut self, value: Option<&'a str>, member: &str) -> Option<&'a str> {
        if value.is_none() {
            self.add(None, member, "Member must not be null");
        }
        value
    }

    /// Length bounds in characters.
    pub fn length(&mut self, value: &str, member: &str, min: usize, max: usize) {
        let len = value.chars().count();
        if len < min {
            self.add(
                Some(value),
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.add(
                Some(value),
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn finish(self) -> Result<(), ServiceError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ServiceError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(ServiceError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// The body must be a JSON object; anything else fails deserialisation on the service.
pub fn object(body: &Value) -> Result<&Map<String, Value>, ServiceError> {
    body.as_object().ok_or_else(|| {
        ServiceError::framework(
            "SerializationException",
            "Start of structure or map expected.",
        )
    })
}

/// An optional string member; a value of another JSON type is a serialisation error.
pub fn optional_string<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ServiceError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ServiceError::framework(
            "SerializationException",
            format!("Expected a string value for '{field}'."),
        )),
    }
}

/// `DocumentARN`: `^[a-zA-Z0-9_\-.:/]{3,128}$`.
pub fn is_document_arn(value: &str) -> bool {
    (3..=128).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_service_format() {
        let mut v = Violations::new();
        v.required(None, "target");
        let err = v.finish().unwrap_err();
        assert_eq!(err.code(), "ValidationException");
        assert_eq!(
            err.message,
            "1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null"
        );

        let mut v = Violations::new();
        v.length("", "target", 1, 400);
        v.length(&"r".repeat(257), "reason", 1, 256);
        let err = v.finish().unwrap_err();
        assert!(
            err.message
                .starts_with("2 validation errors detected: Value '' at 'target'"),
            "{}",
            err.message
        );
        assert!(err.message.contains("less than or equal to 256"));
    }

    #[test]
    fn document_arn_pattern() {
        assert!(is_document_arn("AWS-StartPortForwardingSession"));
        assert!(is_document_arn(
            "arn:aws:ssm:eu-west-3:123456789012:document/My_Doc.v2"
        ));
        assert!(!is_document_arn("ab"));
        assert!(!is_document_arn("bad name"));
        assert!(!is_document_arn(&"a".repeat(129)));
    }
}
