//! How the real agent cuts program output into messages (agent-behaviour §6): every read
//! is decoded character by character; an undecodable byte within the last three bytes of
//! what it has is held back and put in front of the next read (it may be the start of a
//! character cut by the read), an undecodable byte further in is passed on alone. What is
//! still held when the program's output ends is never sent. Port sessions pass bytes
//! through untouched and do not use this.
//!
//! Read from the agent's code (shell.go, processStdoutData) and reproduced with its
//! quirk: the agent tests the decoded character against the replacement character, so a
//! correctly encoded U+FFFD counts as undecodable and only its first byte goes out.

/// The longest UTF-8 encoding; fewer bytes than this left may be a cut character.
const UTF8_MAX: usize = 4;

/// The bytes of U+FFFD, which the agent cannot tell from an undecodable byte.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// One output stream's bytes held back between reads.
#[derive(Debug, Default)]
pub struct Utf8Holdback {
    held: Vec<u8>,
}

/// The length of the character at the start of `bytes`, None when it does not decode.
fn decoded_length(bytes: &[u8]) -> Option<usize> {
    let width = match bytes[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let candidate = bytes.get(..width)?;
    std::str::from_utf8(candidate).ok()?;
    Some(width)
}

impl Utf8Holdback {
    /// What the agent sends for one read (possibly nothing: empty payloads are never sent).
    pub fn pass(&mut self, read: &[u8]) -> Vec<u8> {
        let mut bytes = std::mem::take(&mut self.held);
        bytes.extend_from_slice(read);
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            match decoded_length(rest) {
                Some(width) if !rest.starts_with(REPLACEMENT) => {
                    out.extend_from_slice(&rest[..width]);
                    at += width;
                }
                undecodable => {
                    if rest.len() < UTF8_MAX {
                        break;
                    }
                    out.push(rest[0]);
                    at += undecodable.unwrap_or(1);
                }
            }
        }
        self.held = bytes.split_off(at);
        out
    }

    /// Bytes held back so far (when the stream ends the agent drops them).
    #[cfg(test)]
    pub fn held(&self) -> &[u8] {
        &self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_by_a_read_goes_out_whole_with_the_next_read() {
        let text = "prix: 10 €".as_bytes();
        let cut = text.len() - 1;
        let mut holdback = Utf8Holdback::default();
        let first = holdback.pass(&text[..cut]);
        assert_eq!(first, b"prix: 10 ");
        assert_eq!(holdback.held(), &text[text.len() - 3..cut]);
        let second = holdback.pass(&text[cut..]);
        assert_eq!(second, "€".as_bytes());
        assert!(holdback.held().is_empty());
    }

    #[test]
    fn an_undecodable_byte_before_the_last_three_is_passed_on_alone() {
        let mut holdback = Utf8Holdback::default();
        assert_eq!(holdback.pass(b"a\xffbcdef"), b"a\xffbcdef");
        assert!(holdback.held().is_empty());
    }

    #[test]
    fn an_undecodable_byte_near_the_end_waits_and_is_dropped_if_the_stream_ends() {
        let mut holdback = Utf8Holdback::default();
        assert_eq!(holdback.pass(b"abc\xff"), b"abc");
        assert_eq!(holdback.held(), b"\xff");
        // More output puts it in front, where it is passed on.
        assert_eq!(holdback.pass(b"defg"), b"\xffdefg");
        // A binary tail at the end of the output is never sent.
        assert_eq!(holdback.pass(b"xyz\xfe\xfd"), b"xyz");
        assert_eq!(holdback.held(), b"\xfe\xfd");
    }

    #[test]
    fn a_complete_replacement_character_loses_its_last_two_bytes_as_with_the_agent() {
        let mut holdback = Utf8Holdback::default();
        assert_eq!(holdback.pass("\u{FFFD}abcd".as_bytes()), b"\xefabcd");
    }

    #[test]
    fn nothing_to_send_when_a_read_is_only_a_cut_character() {
        let mut holdback = Utf8Holdback::default();
        assert!(holdback.pass(&"é".as_bytes()[..1]).is_empty());
        assert_eq!(holdback.pass(&"é".as_bytes()[1..]), "é".as_bytes());
    }
}
