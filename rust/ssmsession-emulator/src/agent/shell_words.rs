//! Splitting a NonInteractiveCommands `commands` text into argv the way the real agent does
//! (Go's `google/shlex` rules, agent-behaviour §1): words split on space, tab, CR and LF;
//! single quotes keep everything literally; double quotes keep everything but a backslash,
//! which takes the next character literally (whatever it is); a backslash outside quotes
//! does the same; `#` at the start of a word starts a comment up to the end of the line.
//! There is no expansion of any kind: `;`, `|`, `$x` are ordinary characters.

/// Why the text cannot be split.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("EOF found when expecting closing quote")]
    UnclosedQuote,
    #[error("EOF found after escape character")]
    TrailingEscape,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between words.
    Start,
    InWord,
    Escaping,
    InDoubleQuotes,
    EscapingInDoubleQuotes,
    InSingleQuotes,
    Comment,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The words of `text`.
pub fn split(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Start;
    for c in text.chars() {
        state = match state {
            State::Start => match c {
                c if is_space(c) => State::Start,
                '#' => State::Comment,
                _ => {
                    word.clear();
                    start_of_word(c, &mut word)
                }
            },
            State::InWord => match c {
                c if is_space(c) => {
                    words.push(std::mem::take(&mut word));
                    State::Start
                }
                _ => start_of_word(c, &mut word),
            },
            State::Escaping => {
                word.push(c);
                State::InWord
            }
            State::InDoubleQuotes => match c {
                '"' => State::InWord,
                '\\' => State::EscapingInDoubleQuotes,
                _ => {
                    word.push(c);
                    State::InDoubleQuotes
                }
            },
            State::EscapingInDoubleQuotes => {
                word.push(c);
                State::InDoubleQuotes
            }
            State::InSingleQuotes => match c {
                '\'' => State::InWord,
                _ => {
                    word.push(c);
                    State::InSingleQuotes
                }
            },
            State::Comment => match c {
                '\n' => State::Start,
                _ => State::Comment,
            },
        };
    }
    match state {
        State::InWord => words.push(word),
        State::Escaping | State::EscapingInDoubleQuotes => return Err(SplitError::TrailingEscape),
        State::InDoubleQuotes | State::InSingleQuotes => return Err(SplitError::UnclosedQuote),
        State::Start | State::Comment => {}
    }
    Ok(words)
}

/// A character inside a word (or starting one): quotes and escapes change state.
fn start_of_word(c: char, word: &mut String) -> State {
    match c {
        '"' => State::InDoubleQuotes,
        '\'' => State::InSingleQuotes,
        '\\' => State::Escaping,
        _ => {
            word.push(c);
            State::InWord
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        split(text).unwrap()
    }

    #[test]
    fn shell_text_is_not_interpreted() {
        assert_eq!(
            words("df -h /; test -w /var/log"),
            ["df", "-h", "/;", "test", "-w", "/var/log"]
        );
        assert_eq!(words("echo $HOME | wc"), ["echo", "$HOME", "|", "wc"]);
    }

    #[test]
    fn quotes_and_escapes_follow_go_shlex() {
        assert_eq!(
            words(r#"one "two three" four"#),
            ["one", "two three", "four"]
        );
        assert_eq!(words(r"sh -c 'it'\''s'"), ["sh", "-c", "it's"]);
        // In double quotes a backslash escapes any character (POSIX would keep it).
        assert_eq!(words(r#""a\b""#), ["ab"]);
        assert_eq!(words("''"), [""]);
        assert_eq!(words("'multi\nline'"), ["multi\nline"]);
        assert_eq!(words("a#b # comment\nc"), ["a#b", "c"]);
        assert_eq!(split("'open"), Err(SplitError::UnclosedQuote));
        assert_eq!(split("end\\"), Err(SplitError::TrailingEscape));
        assert!(words("  \t\r\n").is_empty());
    }
}
