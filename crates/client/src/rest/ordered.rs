//! A JSON value that keeps its members in the order the server sent them.
//!
//! `serde_json::Value` sorts object members (the workspace does not enable `preserve_order`, and
//! turning it on would change every JSON document byoc writes), but a SOQL record's fields come in
//! select order, and a table of query results shows them that way, as `sf data query` does.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value whose objects keep their members in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderedValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<OrderedValue>),
    /// An object, members in document order.
    Object(Vec<(String, OrderedValue)>),
}

impl OrderedValue {
    /// The member `name` of an object (case-sensitive, as JSON is).
    pub fn get(&self, name: &str) -> Option<&OrderedValue> {
        match self {
            OrderedValue::Object(members) => {
                members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// The value at a dotted column name of [`OrderedValue::columns`]
    /// (`ConversationVendorInfo.VendorType`); `None` when a step is missing or `null`.
    pub fn at(&self, column: &str) -> Option<&OrderedValue> {
        if let Some(value) = self.get(column) {
            return Some(value);
        }
        let (head, rest) = column.split_once('.')?;
        self.get(head)?.at(rest)
    }

    /// A record's columns in order: its fields but `attributes`, a parent relationship's fields
    /// as `Relationship.Field` (recursively). A relationship that is `null` is one column of its
    /// own name; a child relationship (a nested query result) is one column too.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_columns("", &mut out);
        out
    }

    fn collect_columns(&self, prefix: &str, out: &mut Vec<String>) {
        let OrderedValue::Object(members) = self else {
            return;
        };
        for (name, value) in members {
            if name == "attributes" {
                continue;
            }
            let column = format!("{prefix}{name}");
            match value {
                OrderedValue::Object(_) if !value.is_query_result() => {
                    value.collect_columns(&format!("{column}."), out);
                }
                _ => out.push(column),
            }
        }
    }

    /// Whether this is a nested query result (`{"totalSize","done","records"}`).
    fn is_query_result(&self) -> bool {
        self.get("records").is_some() && self.get("totalSize").is_some()
    }

    /// The value as a table or CSV cell: strings as they are, `null` empty, numbers and booleans
    /// as JSON writes them, arrays and objects as compact JSON.
    pub fn cell(&self) -> String {
        match self {
            OrderedValue::Null => String::new(),
            OrderedValue::Bool(b) => b.to_string(),
            OrderedValue::Number(n) => n.to_string(),
            OrderedValue::String(s) => s.clone(),
            OrderedValue::Array(_) | OrderedValue::Object(_) => {
                serde_json::to_string(self).unwrap_or_default()
            }
        }
    }
}

/// Merge the columns of one record into `all`, keeping first-seen order. A bare relationship
/// column (`Rel`, from a record where it was `null`) gives way to its dotted columns (`Rel.X`)
/// when another record has them.
pub fn merge_columns(all: &mut Vec<String>, record: &[String]) {
    for column in record {
        if !all.contains(column) {
            all.push(column.clone());
        }
    }
    let dotted_parents: Vec<String> = all
        .iter()
        .filter_map(|c| c.rsplit_once('.').map(|(parent, _)| parent.to_string()))
        .collect();
    all.retain(|c| {
        !dotted_parents
            .iter()
            .any(|p| p == c || p.starts_with(&format!("{c}.")))
    });
}

impl Serialize for OrderedValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OrderedValue::Null => serializer.serialize_unit(),
            OrderedValue::Bool(b) => serializer.serialize_bool(*b),
            OrderedValue::Number(n) => n.serialize(serializer),
            OrderedValue::String(s) => serializer.serialize_str(s),
            OrderedValue::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            OrderedValue::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for OrderedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OrderedValue, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = OrderedValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<OrderedValue, E> {
        Ok(OrderedValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<OrderedValue, E> {
        Ok(OrderedValue::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<OrderedValue, E> {
        Ok(OrderedValue::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<OrderedValue, E> {
        Ok(serde_json::Number::from_f64(v).map_or(OrderedValue::Null, OrderedValue::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<OrderedValue, E> {
        Ok(OrderedValue::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<OrderedValue, E> {
        Ok(OrderedValue::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<OrderedValue, E> {
        Ok(OrderedValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<OrderedValue, E> {
        Ok(OrderedValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<OrderedValue, D::Error> {
        OrderedValue::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OrderedValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(OrderedValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedValue, A::Error> {
        let mut members: Vec<(String, OrderedValue)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, OrderedValue>()? {
            // A repeated key: the last one wins, as serde_json::Value has it.
            members.retain(|(k, _)| *k != key);
            members.push((key, value));
        }
        Ok(OrderedValue::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> OrderedValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn members_keep_document_order_through_a_round_trip() {
        let text = r#"{"attributes":{"type":"X","url":"/u"},"Zeta":1,"Alpha":"a","Mid":null,"B":[true,2.5]}"#;
        let value = parse(text);
        assert_eq!(serde_json::to_string(&value).unwrap(), text);
        assert_eq!(value.columns(), ["Zeta", "Alpha", "Mid", "B"]);
        assert_eq!(value.at("B").unwrap().cell(), "[true,2.5]");
        assert_eq!(value.at("Mid").unwrap().cell(), "");
    }

    #[test]
    fn relationship_fields_become_dotted_columns() {
        let record = parse(
            r#"{"attributes":{"type":"ConversationChannelDefinition"},"DeveloperName":"d",
                "ConversationVendorInfo":{"attributes":{"type":"ConversationVendorInfo"},"VendorType":"BYOC",
                  "Owner":{"Name":"n"}}}"#,
        );
        assert_eq!(
            record.columns(),
            [
                "DeveloperName",
                "ConversationVendorInfo.VendorType",
                "ConversationVendorInfo.Owner.Name"
            ]
        );
        assert_eq!(
            record
                .at("ConversationVendorInfo.VendorType")
                .unwrap()
                .cell(),
            "BYOC"
        );
        assert_eq!(
            record
                .at("ConversationVendorInfo.Owner.Name")
                .unwrap()
                .cell(),
            "n"
        );
        assert!(record.at("ConversationVendorInfo.Nope").is_none());
    }

    #[test]
    fn a_null_relationship_gives_way_to_its_fields_from_other_records() {
        let null_first = parse(r#"{"A":1,"Rel":null}"#).columns();
        let filled = parse(r#"{"A":2,"Rel":{"X":1,"Y":2}}"#).columns();
        let mut all = Vec::new();
        merge_columns(&mut all, &null_first);
        assert_eq!(all, ["A", "Rel"]);
        merge_columns(&mut all, &filled);
        assert_eq!(all, ["A", "Rel.X", "Rel.Y"]);
        merge_columns(&mut all, &null_first);
        assert_eq!(all, ["A", "Rel.X", "Rel.Y"]);
    }

    #[test]
    fn a_nested_query_result_is_one_column() {
        let record =
            parse(r#"{"Name":"n","Children":{"totalSize":1,"done":true,"records":[{"A":1}]}}"#);
        assert_eq!(record.columns(), ["Name", "Children"]);
    }
}
