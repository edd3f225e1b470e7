//! The rule for user metadata (`docs/FORMAT.md` §7): a UTF-8 JSON object. Writers refuse
//! anything else, and readers refuse an archive whose metadata breaks it.

/// Why `json` is not valid metadata, if it is not.
pub(crate) fn check(json: &[u8]) -> Result<(), String> {
    // Strings are checked as UTF-8 by the parser, and bytes outside strings must be JSON syntax.
    match serde_json::from_slice::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err("metadata must be a JSON object".into()),
        Err(e) => Err(format!("metadata is not valid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn only_a_utf8_json_object_is_metadata() {
        assert!(check(br#"{"a": [1, "\u00e9"], "b": {}}"#).is_ok());
        assert!(check(b"{}").is_ok());
        for bad in [
            &b"[1]"[..],
            b"\"s\"",
            b"1",
            b"",
            b"{",
            b"{\"a\": \"\xff\"}",
            b"{} {}",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }
}
