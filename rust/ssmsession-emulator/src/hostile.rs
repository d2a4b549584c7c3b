//! Misbehaving peers on demand, for the client's robustness tests: a session whose target
//! is named `i-hostile-<mode>[-<n>]` gets an agent (or API answers) that break the client's
//! assumptions in one particular way. Every mode stays on this machine.

/// Bytes per message of the floods, unless the target says otherwise.
const FLOOD_CHUNK: usize = 1024;
/// How many 1 MB messages the far-ahead flood sends, unless the target says otherwise.
const FAR_AHEAD_COUNT: usize = 2000;
/// Size of each far-ahead message (under the client's 1 MiB message limit).
pub const FAR_AHEAD_SIZE: usize = 1_000_000;
/// Size of the oversized message: twice the client's limit.
pub const OVERSIZED_SIZE: usize = 2 * 1024 * 1024;
/// Output of the no-newline command, unless the target says otherwise.
const NO_NEWLINE_BYTES: usize = 72 * 1000 * 1000;
/// How long the late-handshake agent stays silent, unless the target says otherwise:
/// beyond the client's 3 s quiet-shell guess.
const LATE_HANDSHAKE_MS: u64 = 4500;
/// Largest count or size a target may ask for.
const MAX_PARAMETER: usize = 1 << 34;

/// The target prefix that selects a hostile mode.
pub const HOSTILE_TARGET_PREFIX: &str = "i-hostile-";

/// What the session's peer does wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// `i-hostile-flood[-<bytes>]`: command output as fast as the window allows, in
    /// messages of `<bytes>` (default 1024), with at most 300 unacknowledged; the exit code
    /// last.
    Flood { chunk: usize },
    /// `i-hostile-oldest-only[-<µs>]`: the reference agent's sending discipline: 1 KiB
    /// messages `<µs>` apart (default 1000, the reference's 1 ms; 0 sends as fast as the
    /// socket takes them), no window to speak of (100,000 messages), and only the oldest
    /// unacknowledged message is ever sent again, once per retransmission timeout.
    OldestOnly { pace_us: u64 },
    /// `i-hostile-far-ahead[-<count>]`: first `<count>` messages of 1 MB (default 2000)
    /// numbered far beyond anything the session will send, then the session as usual.
    FarAhead { count: usize },
    /// `i-hostile-oversized`: one message of 2 MiB, over the client's 1 MiB limit.
    Oversized,
    /// `i-hostile-no-newline[-<bytes>]`: a command session whose output is `<bytes>` of
    /// `x` (default 72 MB) without a newline, then exit code 0.
    NoNewline { bytes: usize },
    /// `i-hostile-accept-drop`: the first socket works for 500 ms; every later one (each
    /// resume) is accepted and dropped at once.
    AcceptThenDrop,
    /// `i-hostile-ws-resume`: the socket closes after 500 ms, and ResumeSession answers with
    /// a `ws://` stream URL on a host that is not loopback (0.0.0.0, which still reaches
    /// this machine if a client dials it).
    PlainTextResume,
    /// `i-hostile-bad-smux`: a multiplexed port session whose agent answers the first
    /// stream with a malformed smux frame (version 7).
    BadSmux,
    /// `i-hostile-terminate-hang`: the agent ignores the TerminateSession flag (as real
    /// agents do in shell and command sessions) and the TerminateSession API does not
    /// answer for two minutes.
    TerminateHang,
    /// `i-hostile-endless-body`: StartSession answers 200 with a chunked body that does not
    /// end.
    EndlessBody,
    /// `i-hostile-refuse-first[-<n>]`: the first `<n>` WebSocket upgrades of the session
    /// (default 2) are answered 503, as a service that is not ready yet.
    RefuseFirst { count: u32 },
    /// `i-hostile-late-handshake[-<ms>]`: a shell whose agent says nothing for `<ms>`
    /// (default 4500, past the client's quiet-shell guess), then sends a HandshakeRequest
    /// (as a KMS shell or a custom document with a handshake would) and drops all input
    /// that came before the handshake completed, as the real agent does.
    LateHandshake { delay_ms: u64 },
}

impl Hostile {
    /// The mode a target names, if any.
    pub fn of(target: &str) -> Option<Hostile> {
        let rest = target.strip_prefix(HOSTILE_TARGET_PREFIX)?;
        let (name, number) = match rest.rsplit_once('-') {
            Some((name, number)) if number.bytes().all(|b| b.is_ascii_digit()) => (
                name,
                number.parse::<usize>().ok().map(|n| n.min(MAX_PARAMETER)),
            ),
            _ => (rest, None),
        };
        Some(match name {
            "flood" => Hostile::Flood {
                chunk: number.unwrap_or(FLOOD_CHUNK).clamp(1, 256 * 1024),
            },
            "oldest-only" => Hostile::OldestOnly {
                pace_us: number.map_or(1000, |n| n as u64),
            },
            "oversized" => Hostile::Oversized,
            "far-ahead" => Hostile::FarAhead {
                count: number.unwrap_or(FAR_AHEAD_COUNT),
            },
            "no-newline" => Hostile::NoNewline {
                bytes: number.unwrap_or(NO_NEWLINE_BYTES),
            },
            "accept-drop" => Hostile::AcceptThenDrop,
            "ws-resume" => Hostile::PlainTextResume,
            "bad-smux" => Hostile::BadSmux,
            "terminate-hang" => Hostile::TerminateHang,
            "endless-body" => Hostile::EndlessBody,
            "refuse-first" => Hostile::RefuseFirst {
                count: number.map_or(2, |n| n.min(10) as u32),
            },
            "late-handshake" => Hostile::LateHandshake {
                delay_ms: number.map_or(LATE_HANDSHAKE_MS, |n| (n as u64).min(60_000)),
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_modes_and_their_numbers() {
        assert_eq!(
            Hostile::of("i-hostile-flood"),
            Some(Hostile::Flood { chunk: 1024 })
        );
        assert_eq!(
            Hostile::of("i-hostile-flood-32768"),
            Some(Hostile::Flood { chunk: 32768 })
        );
        assert_eq!(
            Hostile::of("i-hostile-oldest-only"),
            Some(Hostile::OldestOnly { pace_us: 1000 })
        );
        assert_eq!(
            Hostile::of("i-hostile-oldest-only-0"),
            Some(Hostile::OldestOnly { pace_us: 0 })
        );
        assert_eq!(
            Hostile::of("i-hostile-far-ahead-300"),
            Some(Hostile::FarAhead { count: 300 })
        );
        assert_eq!(
            Hostile::of("i-hostile-no-newline"),
            Some(Hostile::NoNewline { bytes: 72_000_000 })
        );
        assert_eq!(
            Hostile::of("i-hostile-late-handshake-6000"),
            Some(Hostile::LateHandshake { delay_ms: 6000 })
        );
        assert_eq!(Hostile::of("i-hostile-nonsense"), None);
        assert_eq!(Hostile::of("i-0123456789abcdef0"), None);
    }
}
