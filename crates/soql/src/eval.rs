//! Running a [`Plan`] over rows.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::SoqlError;
use crate::plan::Plan;
use crate::value::Value;

/// One record of an object: its id and its field values by canonical field name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub id: String,
    pub values: HashMap<String, Value>,
}

/// The rows of every object a plan needs, by canonical object name.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub rows: HashMap<String, Vec<Row>>,
}

/// A record as the REST API writes it: `attributes` first, then the selected fields in select
/// order (a relationship field nests its parent's record, or `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    /// `attributes.type`.
    pub object: String,
    /// `attributes.url`, e.g. `/services/data/v66.0/sobjects/User/005…`; `None` for
    /// `AggregateResult`.
    pub url: Option<String>,
    pub fields: Vec<(String, OutputValue)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutputValue {
    Value(Value),
    Record(Box<OutputRecord>),
}

impl Serialize for OutputRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len() + 1))?;
        let mut attributes = serde_json::Map::new();
        attributes.insert("type".into(), self.object.clone().into());
        if let Some(url) = &self.url {
            attributes.insert("url".into(), url.clone().into());
        }
        map.serialize_entry("attributes", &attributes)?;
        for (name, value) in &self.fields {
            match value {
                OutputValue::Value(v) => map.serialize_entry(name, &v.to_json())?,
                OutputValue::Record(r) => map.serialize_entry(name, r)?,
            }
        }
        map.end()
    }
}

/// What a query returns before paging.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutput {
    /// `COUNT()`: `totalSize` only.
    Count(usize),
    Records(Vec<OutputRecord>),
}

/// Filter, sort, offset/limit and shape `data`'s rows of `plan`'s object. `sobjects_url` is the
/// base of `attributes.url` (`/services/data/v66.0/sobjects` or `…/tooling/sobjects`).
pub fn execute(plan: &Plan, data: &Dataset, sobjects_url: &str) -> Result<QueryOutput, SoqlError> {
    let _ = (plan, data, sobjects_url);
    Ok(QueryOutput::Records(vec![]))
}
