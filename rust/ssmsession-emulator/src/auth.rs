//! SigV4 verification: parse the Authorization header, look up the secret, re-sign the
//! request with aws-sigv4 over exactly the headers the client signed, and compare.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SessionTokenMode, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::config::{Credential, EmulatorConfig};
use crate::issued::IssuedCredentials;
use crate::service_error::ServiceError;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service rejects signatures more than 15 minutes off its clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Who signed a verified request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub access_key: String,
    pub user: String,
    pub region: String,
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq, Eq)]
struct AuthorizationHeader<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> ServiceError {
    ServiceError::framework("IncompleteSignatureException", message)
}

fn invalid_signature(message: impl Into<String>) -> ServiceError {
    ServiceError::framework("InvalidSignatureException", message)
}

fn parse_authorization(value: &str) -> Result<AuthorizationHeader<'_>, ServiceError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            incomplete(format!(
                "Authorization header requires the {ALGORITHM} algorithm."
            ))
        })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let missing = |name: &str| {
        incomplete(format!(
            "Authorization header requires '{name}' parameter. Authorization={value_prefix}",
            value_prefix = ALGORITHM
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(format!(
            "Credential should have 5 parts separated by '/': {credential}"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(invalid_signature(
            "Credential should be scoped with a valid terminator: 'aws4_request'.",
        ));
    }
    Ok(AuthorizationHeader {
        access_key,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

fn parse_amz_date(value: &str) -> Option<SystemTime> {
    NaiveDateTime::parse_from_str(value, AMZ_DATE_FORMAT)
        .ok()
        .map(|t| SystemTime::from(t.and_utc()))
}

fn format_amz_date(time: SystemTime) -> String {
    DateTime::<Utc>::from(time)
        .format(AMZ_DATE_FORMAT)
        .to_string()
}

/// All values of a header joined as SigV4 canonicalisation expects, or None if absent.
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Verifies the request's SigV4 signature for `service` at time `now`, against the
/// configured key pairs and the temporary credentials the emulator has issued (whose
/// session token must come with them).
#[allow(clippy::too_many_arguments)]
pub fn verify(
    config: &EmulatorConfig,
    issued: &IssuedCredentials,
    service: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Caller, ServiceError> {
    let authorization = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap_or_default())
        .ok_or_else(|| {
            ServiceError::framework(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            )
        })?;
    let auth = parse_authorization(authorization)?;

    let amz_date = header_value(headers, "x-amz-date").ok_or_else(|| {
        incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let signed_at = parse_amz_date(&amz_date).ok_or_else(|| {
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        ))
    })?;
    if !amz_date.starts_with(auth.date) {
        return Err(invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8.min(amz_date.len())]
        )));
    }
    if auth.service != service {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    if let Some(expected) = &config.region {
        if auth.region != expected {
            return Err(invalid_signature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            )));
        }
    }
    if now > signed_at + MAX_SKEW {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now - MAX_SKEW),
            format_amz_date(now)
        )));
    }
    if signed_at > now + MAX_SKEW {
        return Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now + MAX_SKEW),
            format_amz_date(now)
        )));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(invalid_signature("'Host' must be a signed header."));
    }

    let unrecognized = || {
        ServiceError::framework(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    };
    let credential: Credential = match config.credential(auth.access_key) {
        Some(configured) => configured.clone(),
        None => {
            let temporary = issued.get(auth.access_key).ok_or_else(unrecognized)?;
            let token = header_value(headers, "x-amz-security-token");
            if token.as_deref() != Some(temporary.session_token.as_str()) {
                return Err(unrecognized());
            }
            if now > temporary.expires {
                return Err(ServiceError::new(
                    StatusCode::FORBIDDEN,
                    "com.amazon.coral.service#ExpiredTokenException",
                    "The security token included in the request is expired",
                ));
            }
            temporary.credential
        }
    };

    let expected = expected_signature(method, uri, headers, body, &auth, signed_at, &credential)?;
    if constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(Caller {
            access_key: credential.access_key.clone(),
            user: credential.user.clone(),
            region: auth.region.to_owned(),
        })
    } else {
        // 403, as current AWS endpoints answer (older documentation says 400).
        Err(ServiceError::new(
            StatusCode::FORBIDDEN,
            "com.amazon.coral.service#InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        ))
    }
}

/// Signs the request again with the stored secret over the headers the client listed.
fn expected_signature(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    auth: &AuthorizationHeader<'_>,
    signed_at: SystemTime,
    credential: &crate::config::Credential,
) -> Result<String, ServiceError> {
    let host = header_value(headers, "host").ok_or_else(|| incomplete("Missing 'Host' header."))?;
    let session_token = header_value(headers, "x-amz-security-token");

    // The signer adds host, x-amz-date and x-amz-security-token itself; every other signed
    // header is passed through with the value the client sent.
    let mut signable_headers: Vec<(&str, String)> = Vec::new();
    for name in &auth.signed_headers {
        if matches!(*name, "host" | "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        let value = header_value(headers, name).ok_or_else(|| {
            invalid_signature(format!(
                "Signed header '{name}' is missing from the request."
            ))
        })?;
        signable_headers.push((name, value));
    }

    let mut settings = SigningSettings::default();
    // Nothing is excluded: the client's SignedHeaders list alone decides what was signed.
    settings.excluded_headers = None;
    if session_token.is_some() && !auth.signed_headers.contains(&"x-amz-security-token") {
        settings.session_token_mode = SessionTokenMode::Exclude;
    }
    let identity: Identity = Credentials::new(
        &credential.access_key,
        &credential.secret_key,
        session_token,
        None,
        "ssm-emulator",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|e| incomplete(format!("Cannot verify the signature: {e}")))?
        .into();
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = SignableRequest::new(
        method.as_str(),
        format!("http://{host}{path_and_query}"),
        signable_headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| incomplete(format!("Cannot verify the signature: {e}")))?;
    let output = sign(request, &params)
        .map_err(|e| incomplete(format!("Cannot verify the signature: {e}")))?;
    Ok(output.signature().to_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::SigningSettings;

    const BODY: &[u8] = br#"{"Target":"i-0123"}"#;

    /// Signs like an SDK client would and returns the headers to send.
    fn signed_headers(secret: &str, body: &[u8], time: SystemTime, region: &str) -> HeaderMap {
        let credentials = Credentials::new("AKIDTEST", secret, None, None, "test");
        signed_headers_as(credentials, body, time, region)
    }

    fn signed_headers_as(
        credentials: Credentials,
        body: &[u8],
        time: SystemTime,
        region: &str,
    ) -> HeaderMap {
        let identity: Identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("ssm")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let base = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AmazonSSM.StartSession"),
            ("host", "127.0.0.1:5061"),
        ];
        let request = SignableRequest::new(
            "POST",
            "http://127.0.0.1:5061/",
            base.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        for (k, v) in base {
            headers.insert(k, v.parse().unwrap());
        }
        for (k, v) in instructions.headers() {
            let name: axum::http::HeaderName = k.parse().unwrap();
            headers.insert(name, v.parse().unwrap());
        }
        headers
    }

    fn config() -> EmulatorConfig {
        EmulatorConfig {
            credentials: vec![crate::Credential::parse("AKIDTEST:right-secret:alice").unwrap()],
            ..Default::default()
        }
    }

    fn check_with(
        config: &EmulatorConfig,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Caller, ServiceError> {
        verify(
            config,
            &IssuedCredentials::default(),
            "ssm",
            &Method::POST,
            &"/".parse().unwrap(),
            headers,
            body,
            now,
        )
    }

    #[test]
    fn issued_credentials_are_accepted_only_with_their_session_token() {
        let issued = IssuedCredentials::default();
        let temporary = issued.issue("role-session");
        let now = SystemTime::now();
        let credentials = Credentials::new(
            &temporary.credential.access_key,
            &temporary.credential.secret_key,
            Some(temporary.session_token.clone()),
            None,
            "test",
        );
        let mut headers = signed_headers_as(credentials, BODY, now, "eu-west-3");
        let verify_with = |headers: &HeaderMap| {
            verify(
                &config(),
                &issued,
                "ssm",
                &Method::POST,
                &"/".parse().unwrap(),
                headers,
                BODY,
                now,
            )
        };
        assert_eq!(verify_with(&headers).unwrap().user, "role-session");

        headers.insert("x-amz-security-token", "forged".parse().unwrap());
        assert_eq!(
            verify_with(&headers).unwrap_err().code(),
            "UnrecognizedClientException"
        );
    }

    fn check(headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Caller, ServiceError> {
        check_with(&config(), headers, body, now)
    }

    #[test]
    fn accepts_a_correct_signature() {
        let now = SystemTime::now();
        let caller = check(
            &signed_headers("right-secret", BODY, now, "eu-west-3"),
            BODY,
            now,
        )
        .unwrap();
        assert_eq!(caller.user, "alice");
        assert_eq!(caller.region, "eu-west-3");
    }

    #[test]
    fn rejects_a_wrong_secret() {
        let now = SystemTime::now();
        let err = check(
            &signed_headers("wrong-secret", BODY, now, "eu-west-3"),
            BODY,
            now,
        )
        .unwrap_err();
        assert_eq!(err.code(), "InvalidSignatureException");
        assert!(err
            .message
            .starts_with("The request signature we calculated does not match"));
    }

    #[test]
    fn rejects_a_tampered_body() {
        let now = SystemTime::now();
        let headers = signed_headers("right-secret", BODY, now, "eu-west-3");
        let err = check(&headers, br#"{"Target":"i-9999"}"#, now).unwrap_err();
        assert_eq!(err.code(), "InvalidSignatureException");
    }

    #[test]
    fn rejects_a_tampered_signed_header() {
        let now = SystemTime::now();
        let mut headers = signed_headers("right-secret", BODY, now, "eu-west-3");
        headers.insert(
            "x-amz-target",
            "AmazonSSM.TerminateSession".parse().unwrap(),
        );
        assert_eq!(
            check(&headers, BODY, now).unwrap_err().code(),
            "InvalidSignatureException"
        );
    }

    #[test]
    fn rejects_unknown_keys_and_missing_auth() {
        let now = SystemTime::now();
        let mut cfg = config();
        cfg.credentials[0].access_key = "AKIDOTHER".into();
        let headers = signed_headers("right-secret", BODY, now, "eu-west-3");
        let err = check_with(&cfg, &headers, BODY, now).unwrap_err();
        assert_eq!(err.code(), "UnrecognizedClientException");

        let err = check(&HeaderMap::new(), BODY, now).unwrap_err();
        assert_eq!(err.code(), "MissingAuthenticationTokenException");
    }

    #[test]
    fn rejects_old_signatures_and_wrong_regions() {
        let now = SystemTime::now();
        let old = now - Duration::from_secs(16 * 60);
        let err = check(
            &signed_headers("right-secret", BODY, old, "eu-west-3"),
            BODY,
            now,
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("Signature expired"),
            "{}",
            err.message
        );

        let mut cfg = config();
        cfg.region = Some("us-east-1".into());
        let headers = signed_headers("right-secret", BODY, now, "eu-west-3");
        let err = check_with(&cfg, &headers, BODY, now).unwrap_err();
        assert!(err.message.contains("valid region"), "{}", err.message);
    }

    #[test]
    fn parses_the_authorization_header() {
        let parsed = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20261128/eu-west-3/ssm/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(parsed.access_key, "AK");
        assert_eq!(parsed.region, "eu-west-3");
        assert_eq!(parsed.signed_headers, vec!["host", "x-amz-date"]);
        assert!(parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/x, SignedHeaders=host, Signature=a"
        )
        .is_err());
        assert!(parse_authorization("Basic abc").is_err());
    }
}
