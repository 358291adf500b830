//! Bounded, printable excerpts of untrusted input, for error texts, log
//! lines and dead-letter headers: a hostile record can make any field as
//! large as Kafka allows, and none of it may be echoed whole.

/// Most characters of an input quoted in an error.
pub const QUOTE_CHARS: usize = 64;

/// Most bytes of an error text (dead-letter `error` header, log line).
pub const ERROR_BYTES: usize = 1024;

/// `value` debug-quoted (control characters escaped), cut to at most
/// [`QUOTE_CHARS`] characters of input, with its size when it was cut.
pub fn quote(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_none() {
        format!("{head:?}")
    } else {
        format!("{head:?}… ({} bytes in all)", value.len())
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked when
/// cut.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    const MARK: &str = "… (cut)";
    let mut end = max.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_short_whatever_the_input() {
        let hostile: String = "\u{1}".repeat(200_000);
        let quoted = quote(&hostile);
        assert!(quoted.len() < 64 * 6 + 40, "{}", quoted.len());
        assert!(quoted.ends_with("(200000 bytes in all)"), "{quoted}");
        assert_eq!(quote("abc"), "\"abc\"");
    }

    #[test]
    fn bounded_text_fits_and_cuts_on_a_character_boundary() {
        let text = "é".repeat(2000);
        let cut = bounded(&text, ERROR_BYTES);
        assert!(cut.len() <= ERROR_BYTES);
        assert!(cut.ends_with("… (cut)"));
        assert_eq!(bounded("short", ERROR_BYTES), "short");
    }
}
