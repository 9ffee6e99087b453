//! Running a [`Plan`] over rows.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

use std::cmp::Ordering;

use crate::error::SoqlError;
use crate::filter::{cmp_values, id15, Filter, V};
use crate::plan::{Hop, Node, Plan, Resolved, Shape};
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
///
/// Serialize it straight into the answer: going through `serde_json::Value` (a sorted map, as the
/// workspace builds serde_json without `preserve_order`) would lose that order and put
/// `attributes` after the capitalised field names.
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
    let rows = rows_of(data, &plan.object.name);
    let ctx = Ctx::new(plan, data);
    let compiled = &plan.compiled;
    let mut hits: Vec<&Row> = match &compiled.filter {
        Some(f) => rows.iter().filter(|r| ctx.matches(f, r)).collect(),
        None => rows.iter().collect(),
    };
    if !compiled.order.is_empty() {
        // Sort keys once per row, then a stable sort (ties keep the rows' order).
        let mut keyed: Vec<(Vec<V<'_>>, &Row)> = hits
            .iter()
            .map(|r| {
                let keys = compiled.order.iter().map(|k| ctx.get(r, &k.path)).collect();
                (keys, *r)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            for ((x, y), key) in a.iter().zip(b).zip(&compiled.order) {
                let ord = match (*x == V::Null, *y == V::Null) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if key.nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, true) => {
                        if key.nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, false) => {
                        let o = cmp_values(key.path.field_type, *x, *y);
                        if key.descending {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
        hits = keyed.into_iter().map(|(_, r)| r).collect();
    }
    let window = |n: usize| {
        let offset = plan.query.offset.map_or(0, |o| o as usize).min(n);
        let limit = plan.query.limit.map_or(usize::MAX, |l| l as usize);
        (offset, (n - offset).min(limit))
    };
    match &compiled.shape {
        Shape::CountAll => Ok(QueryOutput::Count(window(hits.len()).1)),
        Shape::Aggregate(items) => {
            let fields = items
                .iter()
                .map(|(name, path)| {
                    let n = hits.iter().filter(|r| ctx.get(r, path) != V::Null).count();
                    (name.clone(), OutputValue::Value(Value::Int(n as i64)))
                })
                .collect();
            let record = OutputRecord {
                object: "AggregateResult".into(),
                url: None,
                fields,
            };
            let (offset, take) = window(1);
            Ok(QueryOutput::Records(
                std::iter::once(record).skip(offset).take(take).collect(),
            ))
        }
        Shape::Records(nodes) => {
            let (offset, take) = window(hits.len());
            let records = hits[offset..offset + take]
                .iter()
                .map(|r| ctx.record(&plan.object.name, r, nodes, sobjects_url))
                .collect();
            Ok(QueryOutput::Records(records))
        }
    }
}

/// The rows of `object`, found case-insensitively if the caller keyed them otherwise.
fn rows_of<'d>(data: &'d Dataset, object: &str) -> &'d [Row] {
    data.rows
        .get(object)
        .or_else(|| {
            data.rows
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(object))
                .map(|(_, v)| v)
        })
        .map_or(&[], Vec::as_slice)
}

/// Parent rows by object and 15-character id, for relationship paths.
struct Ctx<'d> {
    parents: HashMap<&'d str, HashMap<&'d str, &'d Row>>,
}

impl<'d> Ctx<'d> {
    fn new(plan: &'d Plan, data: &'d Dataset) -> Ctx<'d> {
        let parents = plan
            .parents
            .iter()
            .map(|p| {
                let by_id = rows_of(data, &p.name)
                    .iter()
                    .map(|r| (id15(&r.id), r))
                    .collect();
                (p.name.as_str(), by_id)
            })
            .collect();
        Ctx { parents }
    }

    /// The parent row reached from `row` through `hop`, if the lookup is set and found.
    fn follow(&self, row: &'d Row, hop: &Hop) -> Option<&'d Row> {
        let Some(Value::String(id)) = row.values.get(&hop.reference_field) else {
            return None;
        };
        self.parents
            .get(hop.target.as_str())?
            .get(id15(id))
            .copied()
    }

    fn get(&self, row: &'d Row, path: &Resolved) -> V<'d> {
        let mut cur = row;
        for hop in &path.hops {
            match self.follow(cur, hop) {
                Some(r) => cur = r,
                None => return V::Null,
            }
        }
        field_value(cur, &path.field)
    }

    fn matches(&self, f: &Filter, row: &'d Row) -> bool {
        match f {
            Filter::And(a, b) => self.matches(a, row) && self.matches(b, row),
            Filter::Or(a, b) => self.matches(a, row) || self.matches(b, row),
            Filter::Not(a) => !self.matches(a, row),
            Filter::Test { path, test } => test.matches(path.field_type, self.get(row, path)),
        }
    }

    fn record(&self, object: &str, row: &'d Row, nodes: &[Node], base: &str) -> OutputRecord {
        let fields = nodes
            .iter()
            .map(|node| match node {
                Node::Leaf { field } => (field.clone(), OutputValue::Value(owned(row, field))),
                Node::Parent { hop, children } => {
                    let value = match self.follow(row, hop) {
                        Some(parent) => OutputValue::Record(Box::new(self.record(
                            &hop.target,
                            parent,
                            children,
                            base,
                        ))),
                        None => OutputValue::Value(Value::Null),
                    };
                    (hop.relationship.clone(), value)
                }
            })
            .collect();
        OutputRecord {
            object: object.to_string(),
            url: Some(format!("{base}/{object}/{}", row.id)),
            fields,
        }
    }
}

/// A field's value; `Id` falls back to the row's id.
fn field_value<'d>(row: &'d Row, field: &str) -> V<'d> {
    match row.values.get(field) {
        Some(v) => V::of(v),
        None if field == "Id" => V::Str(&row.id),
        None => V::Null,
    }
}

/// A field's value for the answer; an empty string is null, as Salesforce stores no empty text.
fn owned(row: &Row, field: &str) -> Value {
    match row.values.get(field) {
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(v) => v.clone(),
        None if field == "Id" => Value::String(row.id.clone()),
        None => Value::Null,
    }
}
