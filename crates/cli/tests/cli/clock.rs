//! Filled in by issue 14's work (docs/org-as-code.md).
