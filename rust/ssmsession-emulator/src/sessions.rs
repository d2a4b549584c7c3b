//! Session state: what StartSession created, what TerminateSession ended, what
//! ResumeSession and DescribeSessions read.

use std::sync::Mutex;
use std::time::SystemTime;

use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    Connected,
    Terminated,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Connected => "Connected",
            SessionStatus::Terminated => "Terminated",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub target: String,
    pub document_name: Option<String>,
    pub owner: String,
    pub reason: Option<String>,
    /// The StartSession `Parameters` (name → list of values).
    pub parameters: serde_json::Value,
    /// What the agent runs: the document resolved with the parameters.
    pub plan: crate::documents::SessionPlan,
    pub status: SessionStatus,
    pub started: SystemTime,
    pub ended: Option<SystemTime>,
    pub token: String,
}

/// `<user>-<17 hex digits>`, the shape of real session ids.
pub fn new_session_id(user: &str) -> String {
    let suffix: u128 = rand::rng().random::<u128>() & ((1u128 << 68) - 1);
    format!("{user}-{suffix:017x}")
}

/// An opaque bearer token for the data channel (192 characters; the API allows 0–300).
pub fn new_token() -> String {
    let mut bytes = [0u8; 96];
    rand::rng().fill(&mut bytes[..]);
    hex::encode(bytes)
}

#[derive(Default)]
pub struct SessionStore {
    sessions: Mutex<Vec<Session>>,
}

impl SessionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        // Every mutation is a single push or field update: a poisoned lock holds valid data.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, session: Session) {
        self.lock().push(session);
    }

    /// Ends an active session; false if none by that id was active.
    pub fn terminate(&self, id: &str) -> bool {
        let mut sessions = self.lock();
        match sessions
            .iter_mut()
            .find(|s| s.id == id && s.status == SessionStatus::Connected)
        {
            Some(session) => {
                session.status = SessionStatus::Terminated;
                session.ended = Some(SystemTime::now());
                true
            }
            None => false,
        }
    }

    /// Gives an active session a new token; None if it does not exist or has ended.
    pub fn resume(&self, id: &str) -> Option<Session> {
        let mut sessions = self.lock();
        let session = sessions
            .iter_mut()
            .find(|s| s.id == id && s.status == SessionStatus::Connected)?;
        session.token = new_token();
        Some(session.clone())
    }

    /// The target of a session, active or ended.
    pub fn target_of(&self, id: &str) -> Option<String> {
        self.lock()
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.target.clone())
    }

    /// An active session by id.
    pub fn active(&self, id: &str) -> Option<Session> {
        self.lock()
            .iter()
            .find(|s| s.id == id && s.status == SessionStatus::Connected)
            .cloned()
    }

    /// Active (`true`) or ended sessions, newest first.
    pub fn list(&self, active: bool) -> Vec<Session> {
        let mut found: Vec<Session> = self
            .lock()
            .iter()
            .filter(|s| (s.status == SessionStatus::Connected) == active)
            .cloned()
            .collect();
        found.sort_by_key(|s| std::cmp::Reverse(s.started));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> Session {
        Session {
            id: id.into(),
            target: "i-1".into(),
            document_name: None,
            owner: "arn:aws:iam::123456789012:user/u".into(),
            reason: None,
            parameters: serde_json::Value::Null,
            plan: Default::default(),
            status: SessionStatus::Connected,
            started: SystemTime::now(),
            ended: None,
            token: new_token(),
        }
    }

    #[test]
    fn ids_and_tokens_have_the_service_shape() {
        let id = new_session_id("alice");
        let (user, suffix) = id.rsplit_once('-').unwrap();
        assert_eq!(user, "alice");
        assert_eq!(suffix.len(), 17);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(new_token().len(), 192);
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn lifecycle() {
        let store = SessionStore::default();
        store.insert(session("a"));
        let old_token = store.list(true)[0].token.clone();
        assert_ne!(store.resume("a").unwrap().token, old_token);
        assert!(store.terminate("a"));
        assert!(!store.terminate("a"));
        assert!(store.resume("a").is_none());
        assert_eq!(store.list(true).len(), 0);
        assert_eq!(store.list(false)[0].status, SessionStatus::Terminated);
    }
}
