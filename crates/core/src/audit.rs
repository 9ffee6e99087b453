//! Field-by-field differences between two versions of a record, for the setup audit trail.

use byoc_proto::setup::{AuditEntry, FieldChange};
use serde::Serialize;
use serde_json::Value;

/// Fields never written to the audit trail, or written masked.
const SKIPPED: &[&str] = &["updatedAt", "createdAt"];
const MASKED: &[&str] = &["consumerSecret"];

/// The changed fields between `old` and `new`, as dotted paths (`policies.permittedUsers`).
/// Certificates are compared by fingerprint, not by their PEM.
pub fn diff<T: Serialize>(old: &T, new: &T) -> Vec<FieldChange> {
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk("", &old, &new, &mut out);
    out
}

/// Every field of a new record, as changes from nothing.
pub fn created<T: Serialize>(new: &T) -> Vec<FieldChange> {
    let Ok(new) = serde_json::to_value(new) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk("", &Value::Null, &new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    let last = path.rsplit('.').next().unwrap_or(path);
    if SKIPPED.contains(&last) || last == "pem" {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    &child,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Null, Value::Object(b)) => {
            for (k, v) in b {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&child, &Value::Null, v, out);
            }
        }
        (Value::Object(a), Value::Null) => {
            for (k, v) in a {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&child, v, &Value::Null, out);
            }
        }
        (a, b) if a != b => {
            let masked = MASKED.contains(&last);
            out.push(FieldChange {
                field: path.to_string(),
                old_value: render(a, masked),
                new_value: render(b, masked),
            });
        }
        _ => {}
    }
}

fn render(v: &Value, masked: bool) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Array(items) if items.is_empty() => None,
        _ if masked => Some("********".into()),
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}

/// An audit entry for a change, or none when nothing changed (Setup records no-op saves nowhere).
pub fn changed(
    now: i64,
    actor: &str,
    section: &str,
    action: impl Into<String>,
    changes: Vec<FieldChange>,
) -> Vec<AuditEntry> {
    if changes.is_empty() {
        Vec::new()
    } else {
        vec![entry(now, actor, section, action, changes)]
    }
}

/// An audit entry.
pub fn entry(
    now: i64,
    actor: &str,
    section: &str,
    action: impl Into<String>,
    changes: Vec<FieldChange>,
) -> AuditEntry {
    AuditEntry {
        created_date: now,
        created_by: actor.to_string(),
        section: section.to_string(),
        action: action.into(),
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_leaves_only() {
        let a = json!({"name": "A", "policies": {"permittedUsers": "AllSelfAuthorized", "profiles": []}, "updatedAt": 1});
        let b = json!({"name": "A", "policies": {"permittedUsers": "AdminApprovedPreAuthorized", "profiles": ["System Administrator"]}, "updatedAt": 2});
        let d = diff(&a, &b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].field, "policies.permittedUsers");
        assert_eq!(d[0].old_value.as_deref(), Some("AllSelfAuthorized"));
        assert_eq!(d[1].new_value.as_deref(), Some("System Administrator"));
    }

    #[test]
    fn secrets_are_masked() {
        let a = json!({"oauth": {"consumerSecret": "ABC"}});
        let d = created(&a);
        assert_eq!(d[0].new_value.as_deref(), Some("********"));
    }
}
