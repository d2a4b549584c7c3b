//! The exit-code trailer of a wrapped command.
//!
//! With AWS's own `AWS-StartNonInteractiveCommand` the agent sends no exit code
//! (agent-behaviour §2). A caller can run the command under a wrapper that prints, as the
//! last bytes of standard output, `RS <marker> ':' <code> RS` (RS = 0x1E, the ASCII record
//! separator; the marker random per command). Output cannot forge it by accident: only a
//! trailer at the very end of the stream counts, and the marker is unknown to the command
//! in advance. [`TrailerWatch`] passes output through as it comes and holds back only
//! bytes that may be the start of that trailer — with ordinary output, nothing.

/// The byte around the trailer.
pub const SEPARATOR: u8 = 0x1e;
/// Digits of an exit code at most (a sign and a 32-bit number).
const CODE_DIGITS: usize = 11;

/// Watches standard output for the trailer.
#[derive(Debug)]
pub struct TrailerWatch {
    marker: Vec<u8>,
    /// Bytes that may be the start of the trailer (always from a separator on).
    held: Vec<u8>,
}

impl TrailerWatch {
    pub fn new(marker: &str) -> Self {
        Self {
            marker: marker.as_bytes().to_vec(),
            held: Vec::new(),
        }
    }

    /// Output to pass on now; what may be the start of the trailer stays held.
    pub fn pass(&mut self, data: &[u8]) -> Vec<u8> {
        self.held.extend_from_slice(data);
        let keep_from = self.candidate_start();
        let passed: Vec<u8> = self.held.drain(..keep_from).collect();
        passed
    }

    /// At the end of the output: what was held and is output after all, and the exit code
    /// when the held bytes are a complete trailer.
    pub fn finish(self) -> (Vec<u8>, Option<i32>) {
        match self.complete_code() {
            Some(code) => (Vec::new(), Some(code)),
            None => (self.held, None),
        }
    }

    /// The first position from which the held bytes may still be the trailer; the length
    /// when none. A trailer holds two separators, so only the last two can start one.
    fn candidate_start(&self) -> usize {
        let mut separators = self
            .held
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, b)| **b == SEPARATOR)
            .map(|(i, _)| i)
            .take(2)
            .collect::<Vec<_>>();
        separators.reverse();
        separators
            .into_iter()
            .find(|&at| self.may_be_trailer(&self.held[at..]))
            .unwrap_or(self.held.len())
    }

    /// Whether `bytes` (starting with a separator) is the trailer or the start of it.
    fn may_be_trailer(&self, bytes: &[u8]) -> bool {
        let rest = &bytes[1..];
        if rest.len() <= self.marker.len() {
            return self.marker.starts_with(rest);
        }
        let Some(after) = rest.strip_prefix(self.marker.as_slice()) else {
            return false;
        };
        let Some(code) = after.strip_prefix(b":") else {
            return false;
        };
        match code.split_last() {
            Some((&SEPARATOR, number)) => parse_code(number).is_some(),
            _ => {
                let digits = code.strip_prefix(b"-").unwrap_or(code);
                code.len() <= CODE_DIGITS && digits.iter().all(u8::is_ascii_digit)
            }
        }
    }

    fn complete_code(&self) -> Option<i32> {
        let rest = self.held.strip_prefix(&[SEPARATOR])?;
        let code = rest
            .strip_prefix(self.marker.as_slice())?
            .strip_prefix(b":")?
            .strip_suffix(&[SEPARATOR])?;
        parse_code(code)
    }
}

fn parse_code(text: &[u8]) -> Option<i32> {
    if text.is_empty() || text.len() > CODE_DIGITS || text.contains(&SEPARATOR) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MARKER: &str = "5f0c2a9de4b7431f8a6d9b3c0e1f2a7b";

    fn trailer(code: i32) -> Vec<u8> {
        format!("\u{1e}{MARKER}:{code}\u{1e}").into_bytes()
    }

    /// Feeds `stream` in pieces of `piece` bytes; everything passed and the result.
    fn run(stream: &[u8], piece: usize) -> (Vec<u8>, Option<i32>) {
        let mut watch = TrailerWatch::new(MARKER);
        let mut out = Vec::new();
        for chunk in stream.chunks(piece.max(1)) {
            out.extend(watch.pass(chunk));
        }
        let (rest, code) = watch.finish();
        out.extend(rest);
        (out, code)
    }

    #[test]
    fn the_trailer_is_taken_off_and_read() {
        let mut stream = b"line one\nlast line without newline".to_vec();
        stream.extend(trailer(3));
        for piece in [1, 2, 7, 1024] {
            assert_eq!(
                run(&stream, piece),
                (b"line one\nlast line without newline".to_vec(), Some(3))
            );
        }
        assert_eq!(run(&trailer(-1), 5), (Vec::new(), Some(-1)));
    }

    #[test]
    fn ordinary_output_is_never_held() {
        let mut watch = TrailerWatch::new(MARKER);
        assert_eq!(watch.pass(b"progress 10%\n"), b"progress 10%\n");
        assert_eq!(watch.pass(b"\x1e not ours"), b"\x1e not ours");
    }

    #[test]
    fn a_trailer_that_is_not_last_is_output() {
        let mut stream = trailer(0);
        stream.extend(b"printed later\n");
        assert_eq!(run(&stream, 3), (stream.clone(), None));
        let wrong_marker = b"\x1e0123:0\x1e".to_vec();
        assert_eq!(run(&wrong_marker, 1), (wrong_marker.clone(), None));
        let cut_short = trailer(12)[..20].to_vec();
        assert_eq!(run(&cut_short, 4), (cut_short.clone(), None));
    }

    proptest! {
        #[test]
        fn output_passes_unchanged_and_the_code_is_found(
            output in proptest::collection::vec(any::<u8>(), 0..300),
            code in any::<i32>(),
            piece in 1usize..64,
        ) {
            let mut stream = output.clone();
            stream.extend(trailer(code));
            prop_assert_eq!(run(&stream, piece), (output.clone(), Some(code)));
            // Without a trailer, the output is passed as it is.
            let (passed, found) = run(&output, piece);
            prop_assert_eq!(passed, output);
            prop_assert_eq!(found, None);
        }
    }
}
