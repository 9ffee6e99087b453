//! Metadata XML in and out, with quick-xml's serde support.
//!
//! - [`write`]: a component struct → the file `sf project retrieve` would write (XML declaration,
//!   root element in the Metadata API namespace, 4-space indentation, every special character
//!   escaped, trailing newline).
//! - [`read`]: a file → the component struct, or the problem with it. The file is first walked
//!   event by event so that malformed XML is reported with its line and column (serde's errors
//!   carry no position), then deserialized. Every scalar is read as text so that a wrong value is
//!   reported by the component's own checks ([`Ctx`]) with the element's name, instead of stopping
//!   at the first serde error.
//! - [`Ctx`]: the problems found in one file, each naming the file, the component type and its
//!   full name, as a Salesforce deploy's `DeployMessage`.

use quick_xml::events::Event;
use quick_xml::se::QuoteLevel;
use quick_xml::Reader;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{DeployProblem, METADATA_NAMESPACE};

/// The XML declaration every retrieved file starts with.
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// `value` as a metadata file whose root element is `root`.
pub(crate) fn write<T: Serialize>(root: &str, value: &T) -> String {
    let mut body = String::new();
    // Root names are this crate's constants and every field is text, so neither step can fail;
    // an error would be a bug in a struct definition, caught by the round-trip tests.
    let mut ser = quick_xml::se::Serializer::with_root(&mut body, Some(root))
        .expect("metadata root element names are valid XML names");
    ser.indent(' ', 4);
    // Salesforce escapes quotes and apostrophes in text too.
    ser.set_quote_level(QuoteLevel::Full);
    value
        .serialize(ser)
        .expect("metadata structs hold only text and lists of text");
    format!("{DECLARATION}{body}\n")
}

/// The namespace attribute every root element carries.
pub(crate) fn ns() -> String {
    METADATA_NAMESPACE.to_string()
}

/// `Some(s)` unless `s` is empty: optional elements are left out rather than written empty.
pub(crate) fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

pub(crate) fn bool_text(b: bool) -> Option<String> {
    Some(b.to_string())
}

/// One file's problems. `full_name` can be corrected once the file says it.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub text: &'a str,
    pub component_type: &'static str,
    pub full_name: String,
    pub problems: Vec<DeployProblem>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        file: &'a str,
        text: &'a str,
        component_type: &'static str,
        full_name: &str,
    ) -> Self {
        Ctx {
            file,
            text,
            component_type,
            full_name: full_name.to_string(),
            problems: Vec::new(),
        }
    }

    /// A problem with no particular place in the file.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.push(problem.into(), None);
    }

    /// A problem with an element: placed at the element's first occurrence, when there is one.
    pub fn at(&mut self, element: &str, problem: impl Into<String>) {
        let pos = element_position(self.text, element);
        self.push(problem.into(), pos);
    }

    fn push(&mut self, problem: String, pos: Option<(u32, u32)>) {
        self.problems.push(DeployProblem {
            file_name: self.file.to_string(),
            component_type: self.component_type.to_string(),
            full_name: self.full_name.clone(),
            problem,
            line_number: pos.map(|p| p.0),
            column_number: pos.map(|p| p.1),
        });
    }

    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The text of a required element, or a problem.
    pub fn required(&mut self, element: &str, value: &Option<String>) -> Option<String> {
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                self.problem(format!("Required field is missing: {element}"));
                None
            }
        }
    }

    /// `true`/`false` (and xsd's `1`/`0`); `None` when the element is absent or wrong.
    pub fn boolean(&mut self, element: &str, value: &Option<String>) -> Option<bool> {
        let v = value.as_deref()?.trim();
        match v {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            "" => None,
            _ => {
                self.at(
                    element,
                    format!("'{v}' is not valid for the type xsd:boolean ({element})"),
                );
                None
            }
        }
    }

    /// A non-negative integer; `None` when absent or wrong.
    pub fn int(&mut self, element: &str, value: &Option<String>) -> Option<u32> {
        let v = value.as_deref()?.trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.at(
                    element,
                    format!("'{v}' is not valid for the type xsd:int ({element})"),
                );
                None
            }
        }
    }

    /// One of an enumeration's values (exact, as Salesforce's are case-sensitive), or a problem
    /// naming the enumeration and its values.
    pub fn enumeration<T: Copy>(
        &mut self,
        element: &str,
        enum_name: &str,
        value: &Option<String>,
        values: &[(&str, T)],
    ) -> Option<T> {
        let v = value.as_deref()?.trim();
        if v.is_empty() {
            return None;
        }
        if let Some((_, t)) = values.iter().find(|(name, _)| *name == v) {
            return Some(*t);
        }
        let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
        self.at(
            element,
            format!(
                "'{v}' is not a valid value for the enum '{enum_name}' ({element}); valid values: {}",
                names.join(", ")
            ),
        );
        None
    }

    /// A `fullName` element, when the file has one, must match the name the file gives.
    pub fn check_full_name(&mut self, element: &str, declared: &Option<String>) {
        if let Some(declared) = declared.as_deref().map(str::trim) {
            if !declared.is_empty() && declared != self.full_name {
                let file_name = self.full_name.clone();
                self.at(
                    element,
                    format!(
                        "The {element} {declared} doesn't match the file name, which names {file_name}"
                    ),
                );
            }
        }
    }
}

/// `text` parsed as the component whose root element is `root`, or the problem (with its place
/// when the XML itself is malformed).
pub(crate) fn read<T: DeserializeOwned>(ctx: &mut Ctx<'_>, root: &str) -> Option<T> {
    let text = ctx.text;
    match check_well_formed(text) {
        Err((problem, pos)) => {
            ctx.push(problem, Some(pos));
            None
        }
        Ok(found) => {
            if found.name != root {
                ctx.push(
                    format!(
                        "The root element is <{}>; a {} file's root element is <{root}>",
                        found.name, ctx.component_type
                    ),
                    Some(found.pos),
                );
                return None;
            }
            if let Some(ns) = found.namespace.as_deref() {
                if ns != METADATA_NAMESPACE {
                    ctx.push(
                        format!(
                            "The root element's namespace is {ns}; metadata files use {METADATA_NAMESPACE}"
                        ),
                        Some(found.pos),
                    );
                    return None;
                }
            }
            match quick_xml::de::from_str::<T>(text) {
                Ok(v) => Some(v),
                Err(e) => {
                    ctx.problem(format!("The file can't be read as a {root}: {e}"));
                    None
                }
            }
        }
    }
}

struct Root {
    name: String,
    namespace: Option<String>,
    pos: (u32, u32),
}

/// Walks the whole document: the root element's name and namespace, or the first well-formedness
/// problem with its line and column.
fn check_well_formed(text: &str) -> Result<Root, (String, (u32, u32))> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut root: Option<Root> = None;
    loop {
        let before = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = position(text, reader.error_position());
                return Err((format!("The XML is malformed: {e}"), at));
            }
        };
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                for attr in s.attributes().with_checks(true) {
                    if let Err(e) = attr {
                        return Err((format!("The XML is malformed: {e}"), position(text, before)));
                    }
                }
                if depth == 0 {
                    if root.is_some() {
                        return Err((
                            "The XML is malformed: more than one root element".to_string(),
                            position(text, before),
                        ));
                    }
                    let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                    let namespace = s
                        .try_get_attribute("xmlns")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                    root = Some(Root {
                        name,
                        namespace,
                        pos: position(text, before),
                    });
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(ref t) if depth == 0 && t.iter().any(|b| !b.is_ascii_whitespace()) => {
                return Err((
                    "The XML is malformed: text outside the root element".to_string(),
                    position(text, before),
                ));
            }
            Event::CData(_) if depth == 0 => {
                return Err((
                    "The XML is malformed: text outside the root element".to_string(),
                    position(text, before),
                ));
            }
            Event::Eof => {
                if depth > 0 {
                    return Err((
                        "The XML is malformed: the file ends before its root element is closed"
                            .to_string(),
                        position(text, text.len() as u64),
                    ));
                }
                return root.ok_or_else(|| {
                    (
                        "The XML is malformed: the file has no root element".to_string(),
                        position(text, text.len() as u64),
                    )
                });
            }
            _ => {}
        }
    }
}

/// 1-based line and column of a byte offset.
fn position(text: &str, offset: u64) -> (u32, u32) {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    // Columns count characters, not bytes.
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Where `<element` first opens, if it does.
fn element_position(text: &str, element: &str) -> Option<(u32, u32)> {
    let needle = format!("<{element}");
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let at = from + i;
        let next = text[at + needle.len()..].chars().next();
        if matches!(next, Some('>' | '/' | ' ' | '\t' | '\r' | '\n')) {
            return Some(position(text, at as u64));
        }
        from = at + needle.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        assert_eq!(position("ab\ncé\nx", 0), (1, 1));
        assert_eq!(position("ab\ncé\nx", 3), (2, 1));
        // "cé" is 3 bytes; the offset after it is column 3.
        assert_eq!(position("ab\ncé\nx", 6), (2, 3));
        assert_eq!(position("ab", 99), (1, 3));
    }

    #[test]
    fn an_unclosed_element_is_reported_with_its_line() {
        let text = "<?xml version=\"1.0\"?>\n<A xmlns=\"x\">\n    <b>1</c>\n</A>\n";
        let (problem, (line, _)) = check_well_formed(text).err().unwrap();
        assert!(problem.contains("malformed"), "{problem}");
        assert_eq!(line, 3);
    }

    #[test]
    fn element_positions_skip_longer_names() {
        let text = "<A>\n<labelX/>\n<label>x</label>\n</A>";
        assert_eq!(element_position(text, "label"), Some((3, 1)));
        assert_eq!(element_position(text, "nothing"), None);
    }
}
