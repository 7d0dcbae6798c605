//! What a person types into the portal's forms: one rule per kind of value, shared by every
//! form (and, for phone numbers, by the import), each refusal naming its field.

use schoolplein_kernel::AppError;

/// A phone number: digits, spaces and `+-()`, 6–20 characters, at least six digits.
pub fn is_phone(value: &str) -> bool {
    (6..=20).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        && value.chars().filter(char::is_ascii_digit).count() >= 6
}

/// Optional text, trimmed: at most `max` characters, no control characters (line breaks
/// only when `multiline`). Empty is `None`.
pub fn optional_text(
    field: &str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, AppError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(AppError::bad_request(
            field.to_owned(),
            "portal.details.too_long",
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r')))
    {
        return Err(AppError::bad_request(
            field.to_owned(),
            "portal.details.control_character",
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// An optional phone number (see [`is_phone`]). Empty is `None`.
pub fn optional_phone(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    let value = raw.trim();
    if value.is_empty() {
        Ok(None)
    } else if is_phone(value) {
        Ok(Some(value.to_owned()))
    } else {
        Err(AppError::bad_request(
            field.to_owned(),
            "portal.details.bad_phone",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_texts() {
        assert!(is_phone("06-12345678") && is_phone("+31 (0)20 123 4567"));
        assert!(!is_phone("bel me") && !is_phone("12345") && !is_phone("+-()+-()"));
        assert_eq!(optional_phone("p", " ").unwrap(), None);
        assert!(optional_phone("p", "bel me").is_err());
        assert_eq!(
            optional_text("t", " a ", 5, false).unwrap().as_deref(),
            Some("a")
        );
        assert!(optional_text("t", "abcdef", 5, false).is_err());
        assert!(optional_text("t", "a\nb", 5, false).is_err());
        assert_eq!(
            optional_text("t", "a\nb", 5, true).unwrap().as_deref(),
            Some("a\nb")
        );
    }
}
