//! An ssh-style escape for leaving a session from the keyboard, even when the remote side
//! is hung: right after Enter (or at the very start), `~.` ends the session, `~?` lists
//! the sequences, and `~~` types one `~`. Any other byte after `~` is sent with the `~`.
//! The plugin has none (aws/aws-cli#3863).

/// What to do with a piece of typed input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filtered {
    /// Bytes for the remote side.
    pub forward: Vec<u8>,
    /// `~.` was typed: end the session (the input after it is dropped).
    pub disconnect: bool,
    /// `~?` was typed: show the sequences.
    pub help: bool,
}

/// Watches typed input for the escape sequences.
#[derive(Clone, Debug)]
pub struct EscapeFilter {
    escape: Option<u8>,
    at_line_start: bool,
    /// The escape character was typed at a line start and is held back.
    pending: bool,
}

/// Shown for `~?` (the terminal is in raw mode: lines end with CR LF).
pub fn help_text(escape: u8) -> String {
    let e = char::from(escape);
    format!(
        "\r\nSupported escape sequences:\r\n {e}.   - end the session\r\n {e}?   - this message\r\n {e}{e}   - send the escape character by typing it twice\r\n(Escapes are only recognized right after Enter.)\r\n"
    )
}

impl EscapeFilter {
    /// `None` turns the escape off: everything is forwarded.
    pub fn new(escape: Option<u8>) -> Self {
        Self {
            escape,
            at_line_start: true,
            pending: false,
        }
    }

    /// The escape character, if escapes are on.
    pub fn escape(&self) -> Option<u8> {
        self.escape
    }

    /// Sorts one read of typed input.
    pub fn feed(&mut self, input: &[u8]) -> Filtered {
        let mut filtered = Filtered::default();
        let Some(escape) = self.escape else {
            filtered.forward.extend_from_slice(input);
            return filtered;
        };
        for &byte in input {
            if self.pending {
                self.pending = false;
                match byte {
                    b'.' => {
                        filtered.disconnect = true;
                        return filtered;
                    }
                    b'?' => {
                        filtered.help = true;
                        continue;
                    }
                    _ if byte == escape => {
                        filtered.forward.push(escape);
                        self.at_line_start = false;
                        continue;
                    }
                    _ => filtered.forward.push(escape),
                }
            } else if self.at_line_start && byte == escape {
                self.pending = true;
                continue;
            }
            filtered.forward.push(byte);
            self.at_line_start = matches!(byte, b'\r' | b'\n');
        }
        filtered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(filter: &mut EscapeFilter, pieces: &[&[u8]]) -> Filtered {
        let mut all = Filtered::default();
        for piece in pieces {
            let f = filter.feed(piece);
            all.forward.extend(f.forward);
            all.help |= f.help;
            if f.disconnect {
                all.disconnect = true;
                break;
            }
        }
        all
    }

    #[test]
    fn tilde_dot_after_enter_disconnects_and_drops_what_follows() {
        let mut filter = EscapeFilter::new(Some(b'~'));
        let f = typed(&mut filter, &[b"ls\r~.rm -rf /\r"]);
        assert_eq!(f.forward, b"ls\r");
        assert!(f.disconnect);
    }

    #[test]
    fn the_sequence_is_recognised_across_reads_and_at_the_start() {
        let mut filter = EscapeFilter::new(Some(b'~'));
        let f = typed(&mut filter, &[b"~", b"."]);
        assert!(f.disconnect);
        assert!(f.forward.is_empty());
    }

    #[test]
    fn a_tilde_inside_a_line_is_just_typed() {
        let mut filter = EscapeFilter::new(Some(b'~'));
        let f = typed(&mut filter, &[b"cd ~.", b"/x\r"]);
        assert_eq!(f.forward, b"cd ~./x\r");
        assert!(!f.disconnect);
    }

    #[test]
    fn a_doubled_escape_types_one_and_other_bytes_keep_the_escape() {
        let mut filter = EscapeFilter::new(Some(b'~'));
        let f = typed(&mut filter, &[b"~~.\r~x\r~?"]);
        assert_eq!(f.forward, b"~.\r~x\r");
        assert!(f.help);
        assert!(!f.disconnect);
    }

    #[test]
    fn no_escape_character_forwards_everything() {
        let mut filter = EscapeFilter::new(None);
        let f = typed(&mut filter, &[b"~.\r~."]);
        assert_eq!(f.forward, b"~.\r~.");
        assert!(!f.disconnect);
    }

    #[test]
    fn another_escape_character_can_be_chosen() {
        let mut filter = EscapeFilter::new(Some(b'%'));
        let f = typed(&mut filter, &[b"~.\r%."]);
        assert_eq!(f.forward, b"~.\r");
        assert!(f.disconnect);
    }
}
