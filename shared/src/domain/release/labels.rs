//! A release's labels: where it came from (a semantic version, the commit, the build), for
//! people reading its history, status and notifications.

use std::collections::BTreeMap;

use super::SpecError;

/// Labels one release may carry: enough for a version, a commit, a build and a note or two.
pub const MAX_LABELS: usize = 10;
const MAX_KEY: usize = 32;
/// Lambda's version description holds 256 characters; a label must fit it alone.
const MAX_VALUE: usize = 200;

/// Checks labels: at most [`MAX_LABELS`], keys of letters, digits, `_` or `-` (up to 32),
/// values of up to 200 printable characters.
pub fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), SpecError> {
    if labels.len() > MAX_LABELS {
        return Err(SpecError::Labels(format!(
            "{} labels given; at most {MAX_LABELS}",
            labels.len()
        )));
    }
    for (key, value) in labels {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_KEY
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok {
            return Err(SpecError::Labels(format!(
                "label key '{}': 1-{MAX_KEY} letters, digits, '_' or '-'",
                key.chars().take(40).collect::<String>()
            )));
        }
        if value.chars().count() > MAX_VALUE || value.chars().any(char::is_control) {
            return Err(SpecError::Labels(format!(
                "label {key}: at most {MAX_VALUE} printable characters"
            )));
        }
    }
    Ok(())
}

/// `key=value`, as the CLI's `--label` takes it.
pub fn parse_label(text: &str) -> Result<(String, String), SpecError> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| SpecError::Labels(format!("'{text}' is not KEY=VALUE")))
}

/// The labels in one line: `commit=3f2a1c version=1.4.0`.
pub fn describe_labels(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_for_count_keys_and_values() {
        let ok = BTreeMap::from([
            ("commit".to_string(), "3f2a1c9".to_string()),
            ("version".to_string(), "1.4.0".to_string()),
            (
                "build_url".to_string(),
                "https://ci.example.com/b/42".to_string(),
            ),
        ]);
        assert!(check_labels(&ok).is_ok());
        assert_eq!(
            describe_labels(&ok),
            "build_url=https://ci.example.com/b/42 commit=3f2a1c9 version=1.4.0"
        );
        let bad_key = BTreeMap::from([("com mit".to_string(), "x".to_string())]);
        assert!(check_labels(&bad_key)
            .unwrap_err()
            .to_string()
            .contains("label key"));
        let long = BTreeMap::from([("note".to_string(), "x".repeat(201))]);
        assert!(check_labels(&long)
            .unwrap_err()
            .to_string()
            .contains("at most 200"));
        let many: BTreeMap<String, String> =
            (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(check_labels(&many)
            .unwrap_err()
            .to_string()
            .contains("at most 10"));
        assert_eq!(
            parse_label("commit=abc").unwrap(),
            ("commit".into(), "abc".into())
        );
        assert!(parse_label("commit").is_err());
    }
}
