//! A parsed query checked against the objects the caller may see: the object, every field and
//! relationship path resolved to canonical names, literals checked against the fields' types,
//! and the filter, sort keys and record shape compiled for [`crate::execute`].

use crate::ast::{CompareOp, Condition, FieldPath, Literal, Query, SelectItem};
use crate::error::{ErrorCode, SoqlError};
use crate::filter::{Filter, Operand, Test};
use crate::schema::{FieldDef, FieldType, ObjectDef, Schema};

/// Salesforce's limit on relationship hops in one field path.
pub const MAX_RELATIONSHIP_LEVELS: usize = 5;

/// A query whose object, fields and relationships all exist.
#[derive(Debug, Clone)]
pub struct Plan {
    pub query: Query,
    /// The object queried (canonical name) and its definition.
    pub object: ObjectDef,
    /// Parent objects reached through relationship paths, canonical names.
    pub parents: Vec<ObjectDef>,
    pub(crate) compiled: Compiled,
}

impl Plan {
    /// Every object whose rows [`crate::execute`] needs, once each: the queried one first, then
    /// parents (a self-relationship such as `Manager.Name` on User needs no other object).
    pub fn objects(&self) -> Vec<&str> {
        let mut out = vec![self.object.name.as_str()];
        for p in &self.parents {
            if !out.contains(&p.name.as_str()) {
                out.push(&p.name);
            }
        }
        out
    }

    /// `SELECT COUNT() FROM …`: the answer is `totalSize` with no records.
    pub fn is_count_only(&self) -> bool {
        matches!(
            self.query.select.as_slice(),
            [crate::ast::SelectItem::CountAll]
        )
    }

    /// The values `field` (of the queried object itself, not through a relationship) must
    /// equal for a row to match: `Some` when the WHERE clause is a conjunction one of whose terms
    /// is `field = 'v'` or `field IN ('v', …)` with string literals. A store may load only the
    /// rows with those values; [`crate::execute`] still applies the whole filter, so the rows
    /// loaded may be a superset but never miss a match.
    pub fn required_values(&self, field: &str) -> Option<Vec<String>> {
        fn of_field(path: &FieldPath, field: &str) -> bool {
            matches!(path.parts.as_slice(), [name] if name.eq_ignore_ascii_case(field))
        }
        fn walk(c: &Condition, field: &str) -> Option<Vec<String>> {
            match c {
                Condition::And(a, b) => walk(a, field).or_else(|| walk(b, field)),
                Condition::Compare {
                    field: path,
                    op: CompareOp::Eq,
                    value: Literal::String(v),
                } if of_field(path, field) => Some(vec![v.clone()]),
                Condition::In {
                    field: path,
                    negated: false,
                    values,
                } if of_field(path, field) => values
                    .iter()
                    .map(|v| match v {
                        Literal::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            }
        }
        walk(self.query.condition.as_ref()?, field)
    }

    /// `SELECT COUNT(field) … FROM …`: one `AggregateResult` record.
    pub fn is_aggregate(&self) -> bool {
        matches!(self.compiled.shape, Shape::Aggregate(_))
    }
}

/// One step of a relationship path: the reference field followed and the object reached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    /// The reference field on the current object (`ConversationVendorInfoId`).
    pub reference_field: String,
    /// Its relationship name, the key of the nested record (`ConversationVendorInfo`).
    pub relationship: String,
    /// The parent object (`ConversationVendorInfo`).
    pub target: String,
}

/// A field path resolved against the schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub hops: Vec<Hop>,
    /// Canonical field name on the last object.
    pub field: String,
    pub field_type: FieldType,
}

/// The shape of the answer.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    CountAll,
    /// `COUNT(field)` items: output name (alias or `exprN`) and the field counted.
    Aggregate(Vec<(String, Resolved)>),
    Records(Vec<Node>),
}

/// A field of an output record: a value, or a nested parent record.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf { field: String },
    Parent { hop: Hop, children: Vec<Node> },
}

#[derive(Debug, Clone)]
pub(crate) struct SortKey {
    pub path: Resolved,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub shape: Shape,
    pub filter: Option<Filter>,
    pub order: Vec<SortKey>,
}

const NO_SUCH_COLUMN_HINT: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";
const NO_SUCH_TYPE_HINT: &str = "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.";
const NO_SUCH_RELATIONSHIP_HINT: &str = "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.";

/// Check `query` against `schema`: `INVALID_TYPE` for an unknown object, `INVALID_FIELD` for an
/// unknown field or relationship, with Salesforce's text and position marker.
pub fn plan(query: &Query, schema: &dyn Schema) -> Result<Plan, SoqlError> {
    let object = schema
        .object(&query.from)
        .filter(|o| o.queryable)
        .cloned()
        .ok_or_else(|| {
            SoqlError::at(
                ErrorCode::InvalidType,
                &query.text,
                query.from_column,
                &format!(
                    "sObject type '{}' is not supported. {NO_SUCH_TYPE_HINT}",
                    query.from
                ),
            )
        })?;
    let mut planner = Planner {
        query,
        schema,
        object: &object,
        parents: vec![],
    };
    let compiled = planner.compile()?;
    let parents = planner.parents;
    Ok(Plan {
        query: query.clone(),
        object,
        parents,
        compiled,
    })
}

struct Planner<'a> {
    query: &'a Query,
    schema: &'a dyn Schema,
    object: &'a ObjectDef,
    parents: Vec<ObjectDef>,
}

impl Planner<'_> {
    fn error(&self, code: ErrorCode, position: usize, message: &str) -> SoqlError {
        SoqlError::at(code, &self.query.text, position, message)
    }

    fn compile(&mut self) -> Result<Compiled, SoqlError> {
        let shape = self.shape()?;
        let filter = match &self.query.condition {
            Some(c) => Some(self.filter(c)?),
            None => None,
        };
        let mut order = vec![];
        for o in &self.query.order_by {
            if !matches!(shape, Shape::Records(_)) {
                return Err(self.error(
                    ErrorCode::MalformedQuery,
                    o.field.column,
                    &format!(
                        "Ordered field must be grouped or aggregated: {}",
                        o.field.parts.join(".")
                    ),
                ));
            }
            let (path, def) = self.resolve(&o.field)?;
            if !def.sortable {
                return Err(self.error(
                    ErrorCode::InvalidField,
                    o.field.column,
                    &format!("field '{}' can not be sorted in a query call", def.name),
                ));
            }
            order.push(SortKey {
                path,
                descending: o.descending,
                // Salesforce: ascending puts nulls first, descending puts them last.
                nulls_last: o.nulls_last.unwrap_or(o.descending),
            });
        }
        Ok(Compiled {
            shape,
            filter,
            order,
        })
    }

    fn shape(&mut self) -> Result<Shape, SoqlError> {
        let items = &self.query.select;
        if matches!(items.as_slice(), [SelectItem::CountAll]) {
            return Ok(Shape::CountAll);
        }
        let has_aggregate = items.iter().any(|i| matches!(i, SelectItem::Count { .. }));
        let mut seen: Vec<String> = vec![];
        if has_aggregate {
            let mut out = vec![];
            let mut expr = 0;
            for item in items {
                match item {
                    SelectItem::Count { field, alias } => {
                        let (path, _) = self.resolve(field)?;
                        let name = match alias {
                            Some(a) => a.clone(),
                            None => {
                                expr += 1;
                                format!("expr{}", expr - 1)
                            }
                        };
                        if seen.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
                            return Err(SoqlError::new(
                                ErrorCode::MalformedQuery,
                                format!("duplicate alias: {name}"),
                            ));
                        }
                        seen.push(name.clone());
                        out.push((name, path));
                    }
                    SelectItem::Field(f) => {
                        self.resolve(f)?;
                        return Err(self.error(
                            ErrorCode::MalformedQuery,
                            f.column,
                            &format!("Field must be grouped or aggregated: {}", f.parts.join(".")),
                        ));
                    }
                    SelectItem::CountAll => {}
                }
            }
            return Ok(Shape::Aggregate(out));
        }
        let mut nodes: Vec<Node> = vec![];
        for item in items {
            let SelectItem::Field(f) = item else {
                continue;
            };
            let (path, _) = self.resolve(f)?;
            let key = path
                .hops
                .iter()
                .map(|h| h.relationship.as_str())
                .chain(std::iter::once(path.field.as_str()))
                .collect::<Vec<_>>()
                .join(".");
            if seen.iter().any(|s| s.eq_ignore_ascii_case(&key)) {
                return Err(SoqlError::new(
                    ErrorCode::InvalidField,
                    format!("duplicate field selected: {}", f.parts.join(".")),
                ));
            }
            seen.push(key);
            insert_node(&mut nodes, &path.hops, &path.field);
        }
        Ok(Shape::Records(nodes))
    }

    /// Resolve a path: relationships hop to parents, the last part is a field.
    fn resolve(&mut self, path: &FieldPath) -> Result<(Resolved, FieldDef), SoqlError> {
        let Some((last, rels)) = path.parts.split_last() else {
            return Err(self.error(
                ErrorCode::MalformedQuery,
                path.column,
                "unexpected token: ''",
            ));
        };
        if rels.len() > MAX_RELATIONSHIP_LEVELS {
            return Err(self.error(
                ErrorCode::MalformedQuery,
                path.column,
                &format!(
                    "A field path can have at most {MAX_RELATIONSHIP_LEVELS} relationships: {}",
                    path.parts.join(".")
                ),
            ));
        }
        let mut object = self.object.clone();
        let mut hops = vec![];
        for rel in rels {
            let target = object.relationship(rel).and_then(|f| {
                let target = self.schema.object(f.reference_to.first()?)?;
                Some((f.clone(), target.clone()))
            });
            let Some((field, target)) = target else {
                return Err(self.error(
                    ErrorCode::InvalidField,
                    path.column,
                    &format!(
                        "Didn't understand relationship '{rel}' in field path. {NO_SUCH_RELATIONSHIP_HINT}"
                    ),
                ));
            };
            hops.push(Hop {
                reference_field: field.name.clone(),
                relationship: field.relationship_name.clone().unwrap_or_default(),
                target: target.name.clone(),
            });
            if !self.parents.iter().any(|p| p.name == target.name) {
                self.parents.push(target.clone());
            }
            object = target;
        }
        let Some(def) = object.field(last).cloned() else {
            return Err(self.error(
                ErrorCode::InvalidField,
                path.column,
                &format!(
                    "No such column '{last}' on entity '{}'. {NO_SUCH_COLUMN_HINT}",
                    object.name
                ),
            ));
        };
        Ok((
            Resolved {
                hops,
                field: def.name.clone(),
                field_type: def.field_type,
            },
            def,
        ))
    }

    fn filter(&mut self, c: &Condition) -> Result<Filter, SoqlError> {
        Ok(match c {
            Condition::And(a, b) => {
                Filter::And(Box::new(self.filter(a)?), Box::new(self.filter(b)?))
            }
            Condition::Or(a, b) => Filter::Or(Box::new(self.filter(a)?), Box::new(self.filter(b)?)),
            Condition::Not(a) => Filter::Not(Box::new(self.filter(a)?)),
            Condition::Compare { field, op, value } => {
                let (path, def) = self.filterable(field)?;
                let test = match (op, value) {
                    (CompareOp::Eq, Literal::Null) => Test::IsNull(true),
                    (CompareOp::Ne, Literal::Null) => Test::IsNull(false),
                    (_, Literal::Null) => {
                        return Err(self.error(
                            ErrorCode::MalformedQuery,
                            field.column,
                            "unexpected token: 'null'",
                        ))
                    }
                    (CompareOp::Like, value) => {
                        if !is_text(def.field_type) {
                            return Err(self.invalid_operator(field, &def));
                        }
                        let Literal::String(s) = value else {
                            return Err(self.wrong_type(field, &def));
                        };
                        Test::Like(crate::filter::LikePattern::new(s))
                    }
                    (op, value) => {
                        if matches!(
                            op,
                            CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge
                        ) && def.field_type == FieldType::Boolean
                        {
                            return Err(self.invalid_operator(field, &def));
                        }
                        Test::Cmp(*op, self.operand(field, &def, value)?)
                    }
                };
                Filter::Test { path, test }
            }
            Condition::In {
                field,
                negated,
                values,
            } => {
                let (path, def) = self.filterable(field)?;
                let mut operands = vec![];
                let mut has_null = false;
                for v in values {
                    match v {
                        Literal::Null => has_null = true,
                        v => operands.push(self.operand(field, &def, v)?),
                    }
                }
                let test = Test::In {
                    values: operands,
                    has_null,
                };
                let f = Filter::Test { path, test };
                if *negated {
                    Filter::Not(Box::new(f))
                } else {
                    f
                }
            }
        })
    }

    fn filterable(&mut self, field: &FieldPath) -> Result<(Resolved, FieldDef), SoqlError> {
        let (path, def) = self.resolve(field)?;
        if !def.filterable {
            return Err(self.error(
                ErrorCode::InvalidField,
                field.column,
                &format!("field '{}' can not be filtered in query call", def.name),
            ));
        }
        Ok((path, def))
    }

    fn invalid_operator(&self, field: &FieldPath, def: &FieldDef) -> SoqlError {
        let type_name = match def.field_type {
            FieldType::Id | FieldType::Reference => "id",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Datetime => "datetime",
            FieldType::Date => "date",
            _ => "string",
        };
        self.error(
            ErrorCode::InvalidQueryFilterOperator,
            field.column,
            &format!("invalid operator on {type_name} field"),
        )
    }

    /// `value of filter criterion for field 'X' must be of type T and should (not) be enclosed
    /// in quotes`.
    fn wrong_type(&self, field: &FieldPath, def: &FieldDef) -> SoqlError {
        let (type_name, quoted) = match def.field_type {
            FieldType::Id | FieldType::Reference => ("id", true),
            FieldType::Boolean => ("boolean", false),
            FieldType::Int => ("int", false),
            FieldType::Double => ("double", false),
            FieldType::Datetime => ("dateTime", false),
            FieldType::Date => ("date", false),
            _ => ("string", true),
        };
        self.error(
            ErrorCode::InvalidField,
            field.column,
            &format!(
                "value of filter criterion for field '{}' must be of type {type_name} and should {}be enclosed in quotes",
                def.name,
                if quoted { "" } else { "not " }
            ),
        )
    }

    fn operand(
        &self,
        field: &FieldPath,
        def: &FieldDef,
        value: &Literal,
    ) -> Result<Operand, SoqlError> {
        let t = def.field_type;
        Ok(match (t, value) {
            (FieldType::Id | FieldType::Reference, Literal::String(s)) => {
                if !is_id(s) {
                    return Err(self.error(
                        ErrorCode::InvalidQueryFilterOperator,
                        field.column,
                        &format!("invalid ID field: {s}"),
                    ));
                }
                Operand::Id(s[..15].to_string())
            }
            (_, Literal::String(s)) if is_text(t) => Operand::Text(s.clone()),
            (FieldType::Boolean, Literal::Bool(b)) => Operand::Bool(*b),
            (FieldType::Int | FieldType::Double, Literal::Int(i)) => Operand::Number(*i as f64),
            (FieldType::Int | FieldType::Double, Literal::Double(d)) => Operand::Number(*d),
            (FieldType::Datetime, Literal::DateTime(ms)) => Operand::DateTime(*ms),
            (FieldType::Date, Literal::Date(d)) => Operand::Date(*d),
            _ => return Err(self.wrong_type(field, def)),
        })
    }
}

/// Text-like field types: compared case-insensitively, `LIKE` allowed.
pub(crate) fn is_text(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::String
            | FieldType::Textarea
            | FieldType::Picklist
            | FieldType::Email
            | FieldType::Url
    )
}

/// A 15- or 18-character Salesforce id.
fn is_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Put `field` reached through `hops` into the output tree, merging paths through the same
/// relationship into one nested record at its first position, as Salesforce does.
fn insert_node(nodes: &mut Vec<Node>, hops: &[Hop], field: &str) {
    let Some((hop, rest)) = hops.split_first() else {
        nodes.push(Node::Leaf {
            field: field.to_string(),
        });
        return;
    };
    for node in nodes.iter_mut() {
        if let Node::Parent { hop: h, children } = node {
            if h.relationship == hop.relationship {
                insert_node(children, rest, field);
                return;
            }
        }
    }
    let mut children = vec![];
    insert_node(&mut children, rest, field);
    nodes.push(Node::Parent {
        hop: hop.clone(),
        children,
    });
}
