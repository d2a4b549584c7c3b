//! Local stand-ins for the services that hand out credentials, so every source of the AWS
//! SDK's default chain can be exercised offline: container credentials
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), instance metadata (IMDSv2, via
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`), SSO `GetRoleCredentials` and STS `AssumeRole` /
//! `AssumeRoleWithWebIdentity` (via `AWS_ENDPOINT_URL`). Each answer issues temporary
//! credentials that the emulator's SigV4 check accepts.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::issued::Issued;
use crate::server::AppState;

/// The instance profile role the metadata stand-in reports.
pub const INSTANCE_ROLE: &str = "emulator-instance-role";
/// The IMDSv2 session token the metadata stand-in hands out and requires.
const IMDS_TOKEN: &str = "emulator-imds-session-token";

fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn log(state: &AppState, what: &str, status: StatusCode) {
    if state.config.log_requests {
        eprintln!("credentials {what} {}", status.as_u16());
    }
}

/// `GET /credentials/container`: the ECS/EKS container credentials document.
pub async fn container(State(state): State<Arc<AppState>>) -> Response {
    let issued = state.issued.issue("emulator-container-role");
    log(&state, "container", StatusCode::OK);
    axum::Json(json!({
        "AccessKeyId": issued.credential.access_key,
        "SecretAccessKey": issued.credential.secret_key,
        "Token": issued.session_token,
        "Expiration": rfc3339(issued.expires),
        "RoleArn": format!("arn:aws:iam::{}:role/emulator-container-role", state.config.account_id),
    }))
    .into_response()
}

/// `PUT /latest/api/token`: an IMDSv2 session token, with its TTL echoed as IMDS does
/// (the SDK's IMDS client requires it).
pub async fn imds_token(headers: HeaderMap) -> Response {
    const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
    match headers.get(TTL_HEADER).cloned() {
        Some(ttl) => ([(TTL_HEADER, ttl)], IMDS_TOKEN).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            "missing x-aws-ec2-metadata-token-ttl-seconds",
        )
            .into_response(),
    }
}

fn imds_authorized(headers: &HeaderMap) -> bool {
    headers
        .get("x-aws-ec2-metadata-token")
        .is_some_and(|v| v.as_bytes() == IMDS_TOKEN.as_bytes())
}

/// `GET /latest/meta-data/iam/security-credentials/`: the instance role's name.
pub async fn imds_role(headers: HeaderMap) -> Response {
    if !imds_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    INSTANCE_ROLE.into_response()
}

/// `GET /latest/meta-data/iam/security-credentials/<role>`: the role's credentials.
pub async fn imds_credentials(
    State(state): State<Arc<AppState>>,
    Path(role): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !imds_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if role != INSTANCE_ROLE {
        return StatusCode::NOT_FOUND.into_response();
    }
    let issued = state.issued.issue(INSTANCE_ROLE);
    log(&state, "instance-metadata", StatusCode::OK);
    axum::Json(json!({
        "Code": "Success",
        "LastUpdated": rfc3339(SystemTime::now()),
        "Type": "AWS-HMAC",
        "AccessKeyId": issued.credential.access_key,
        "SecretAccessKey": issued.credential.secret_key,
        "Token": issued.session_token,
        "Expiration": rfc3339(issued.expires),
    }))
    .into_response()
}

/// `GET /latest/meta-data/placement/region`.
pub async fn imds_region(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !imds_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    state
        .config
        .region
        .clone()
        .unwrap_or_else(|| "eu-west-3".to_owned())
        .into_response()
}

/// `GET /federation/credentials?role_name=…&account_id=…`: SSO GetRoleCredentials with
/// any bearer token from the SSO cache.
pub async fn sso_role_credentials(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let has_token = headers
        .get("x-amz-sso_bearer_token")
        .is_some_and(|v| !v.is_empty());
    if !has_token {
        log(&state, "sso", StatusCode::UNAUTHORIZED);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "__type": "UnauthorizedException", "message": "Session token not found or invalid" })),
        )
            .into_response();
    }
    let role = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "role_name")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "emulator-sso-role".to_owned());
    let issued = state.issued.issue(&role);
    log(&state, "sso", StatusCode::OK);
    let expiration_ms = issued
        .expires
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    axum::Json(json!({
        "roleCredentials": {
            "accessKeyId": issued.credential.access_key,
            "secretAccessKey": issued.credential.secret_key,
            "sessionToken": issued.session_token,
            "expiration": expiration_ms,
        }
    }))
    .into_response()
}

fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        uuid::Uuid::new_v4()
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn sts_credentials(action: &str, issued: &Issued, role_arn: &str, session: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>\
<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>\
<AssumedRoleUser><Arn>{}/{session}</Arn><AssumedRoleId>AROAEMULATOR:{session}</AssumedRoleId></AssumedRoleUser>\
</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        issued.credential.access_key,
        issued.credential.secret_key,
        issued.session_token,
        rfc3339(issued.expires),
        role_arn.replace(":role/", ":assumed-role/").replace(":iam:", ":sts:"),
        uuid::Uuid::new_v4()
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// `POST /` with a form body: STS. `AssumeRoleWithWebIdentity` is unsigned (any token is
/// accepted); `AssumeRole` must be SigV4-signed for `sts` by a known key pair.
pub fn sts(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let action = field("Action");
    let role_arn = field("RoleArn");
    let session = field("RoleSessionName");
    let response = match action {
        "AssumeRoleWithWebIdentity" if field("WebIdentityToken").is_empty() => sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidIdentityToken",
            "The web identity token is empty.",
        ),
        "AssumeRoleWithWebIdentity" => {
            sts_credentials(action, &state.issued.issue(session), role_arn, session)
        }
        "AssumeRole" => match crate::auth::verify(
            &state.config,
            &state.issued,
            "sts",
            method,
            uri,
            headers,
            body,
            SystemTime::now(),
        ) {
            Ok(_) => sts_credentials(action, &state.issued.issue(session), role_arn, session),
            Err(e) => sts_error(e.status, e.code(), &e.message),
        },
        _ => sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Could not find operation.",
        ),
    };
    log(state, &format!("sts {action}"), response.status());
    response
}
