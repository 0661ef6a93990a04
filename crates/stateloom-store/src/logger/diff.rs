//! Compact diffs of two states, for the logger: by `Debug` lines, or by JSON paths.

use std::fmt::Debug;

/// What a diff says when nothing changed.
const UNCHANGED: &str = "(no change)";

/// Diffs the pretty `Debug` output of two values: the changed lines between the common
/// first and last lines, paired as `field: old → new` where both sides name the same field.
pub(crate) fn debug_diff<S: Debug>(old: &S, new: &S) -> String {
    let old = format!("{old:#?}");
    let new = format!("{new:#?}");
    if old == new {
        return UNCHANGED.to_owned();
    }
    let old: Vec<&str> = old.lines().map(clean).collect();
    let new: Vec<&str> = new.lines().map(clean).collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let old = &old[prefix..old.len() - suffix];
    let new = &new[prefix..new.len() - suffix];
    if old.len() == new.len() {
        let pairs: Vec<String> = old.iter().zip(new).map(|(a, b)| pair(a, b)).collect();
        pairs.join(", ")
    } else {
        let mut parts = Vec::new();
        if !old.is_empty() {
            parts.push(format!("- {}", old.join(" ")));
        }
        if !new.is_empty() {
            parts.push(format!("+ {}", new.join(" ")));
        }
        parts.join(" ")
    }
}

/// One line of pretty `Debug` output without indentation or a trailing comma.
fn clean(line: &str) -> &str {
    let line = line.trim();
    line.strip_suffix(',').unwrap_or(line)
}

/// `field: old → new` when both lines are `field: value`, else `old → new`.
fn pair(old: &str, new: &str) -> String {
    match (old.split_once(": "), new.split_once(": ")) {
        (Some((field, a)), Some((same, b))) if field == same => format!("{field}: {a} → {b}"),
        _ => format!("{old} → {new}"),
    }
}

/// Diffs the JSON forms of two values: every changed leaf as `path: old → new`, with
/// `(none)` for a missing side; `(root)` names the whole value.
#[cfg(feature = "serde")]
pub(crate) fn json_diff<S: serde::Serialize>(old: &S, new: &S) -> String {
    let (old, new) = match (serde_json::to_value(old), serde_json::to_value(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => return format!("(not serializable: {e})"),
    };
    let mut out = Vec::new();
    walk(Some(&old), Some(&new), &mut String::new(), &mut out);
    if out.is_empty() {
        UNCHANGED.to_owned()
    } else {
        out.join(", ")
    }
}

#[cfg(feature = "serde")]
fn walk(
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
    path: &mut String,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    use std::fmt::Write as _;
    let len = path.len();
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(a.get(key), b.get(key), path, out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                let _ = write!(path, "[{i}]");
                walk(a.get(i), b.get(i), path, out);
                path.truncate(len);
            }
        }
        (a, b) if a != b => {
            let show = |v: Option<&Value>| v.map_or("(none)".to_owned(), Value::to_string);
            let at = if path.is_empty() { "(root)" } else { path };
            out.push(format!("{at}: {} → {}", show(a), show(b)));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)] // Read through `Debug` only.
    struct Todo {
        title: &'static str,
        done: bool,
    }

    #[test]
    fn debug_diff_names_changed_fields() {
        let old = Todo {
            title: "milk",
            done: false,
        };
        let new = Todo {
            title: "milk",
            done: true,
        };
        assert_eq!(debug_diff(&old, &new), "done: false → true");
        assert_eq!(debug_diff(&old, &old), "(no change)");
        assert_eq!(debug_diff(&1, &2), "1 → 2");
    }

    #[test]
    fn debug_diff_shows_added_lines() {
        assert_eq!(debug_diff(&vec![1], &vec![1, 2]), "+ 2");
        assert_eq!(debug_diff(&vec![1, 2, 3], &vec![1]), "- 2 3");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_diff_lists_paths() {
        use serde_json::json;
        let old = json!({"todos": [{"done": false}], "filter": "all"});
        let new = json!({"todos": [{"done": true}, {"done": false}], "filter": "all"});
        assert_eq!(
            json_diff(&old, &new),
            r#"todos[0].done: false → true, todos[1]: (none) → {"done":false}"#
        );
        assert_eq!(json_diff(&1, &2), "(root): 1 → 2");
        assert_eq!(json_diff(&old, &old), "(no change)");
    }
}
