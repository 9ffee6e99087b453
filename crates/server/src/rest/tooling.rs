//! The Tooling API's `ConversationChannelDefinition`:
//! `POST/GET/PATCH/DELETE /services/data/vXX.X/tooling/sobjects/ConversationChannelDefinition[/{Id}]`,
//! and the `ConversationChannelDefinition` / `ConversationVendorInfo` objects as SOQL and describe
//! see them (on both `/query` and `/tooling/query`).
//!
//! (Skeleton: the tooling helper fills it. [`ccd_object`], [`vendor_info_object`] and
//! [`ccd_rows`] are the contract the query and describe code uses; their field lists grow.)

use axum::Router;
use byoc_soql::{Dataset, FieldDef, FieldType, ObjectDef, Row, Value};

use super::RestState;
use crate::setup_service::CcdRecord;

pub fn router(_state: RestState) -> Router {
    Router::new()
}

fn object(name: &str, label: &str, plural: &str, prefix: &str, fields: Vec<FieldDef>) -> ObjectDef {
    ObjectDef {
        name: name.into(),
        label: label.into(),
        label_plural: plural.into(),
        key_prefix: Some(prefix.into()),
        custom: false,
        queryable: true,
        createable: false,
        updateable: false,
        deletable: false,
        fields,
    }
}

/// `ConversationChannelDefinition`'s describe.
pub fn ccd_object() -> ObjectDef {
    object(
        "ConversationChannelDefinition",
        "Conversation Channel Definition",
        "Conversation Channel Definitions",
        crate::setup_service::CCD_KEY_PREFIX,
        vec![
            FieldDef::new("Id", "Conversation Channel Definition ID", FieldType::Id),
            FieldDef::new("DeveloperName", "Name", FieldType::String),
            FieldDef::new("MasterLabel", "Master Label", FieldType::String),
            FieldDef::new(
                "CustomPlatformEvent",
                "Custom Platform Event",
                FieldType::String,
            ),
            FieldDef::reference(
                "ConversationVendorInfoId",
                "Conversation Vendor Info ID",
                "ConversationVendorInfo",
                "ConversationVendorInfo",
            ),
        ],
    )
}

/// `ConversationVendorInfo`'s describe.
pub fn vendor_info_object() -> ObjectDef {
    object(
        "ConversationVendorInfo",
        "Conversation Vendor Info",
        "Conversation Vendor Info",
        "0mS",
        vec![
            FieldDef::new("Id", "Conversation Vendor Info ID", FieldType::Id),
            FieldDef::new("DeveloperName", "Name", FieldType::String),
            FieldDef::new("VendorType", "Vendor Type", FieldType::Picklist),
        ],
    )
}

/// The rows of both objects from the CCD records, into `data` under their object names.
pub fn ccd_rows(records: &[CcdRecord], data: &mut Dataset) {
    let mut ccds = Vec::new();
    let mut vendors = Vec::new();
    for r in records {
        let vendor_id = format!("0mS{}", &r.id[3..]);
        ccds.push(Row {
            id: r.id.clone(),
            values: [
                ("Id", Value::String(r.id.clone())),
                ("DeveloperName", Value::String(r.ccd.developer_name.clone())),
                ("MasterLabel", Value::String(r.ccd.master_label.clone())),
                (
                    "CustomPlatformEvent",
                    Value::String(r.ccd.custom_platform_event.clone()),
                ),
                ("ConversationVendorInfoId", Value::String(vendor_id.clone())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        });
        vendors.push(Row {
            id: vendor_id.clone(),
            values: [
                ("Id", Value::String(vendor_id)),
                ("DeveloperName", Value::String(r.ccd.developer_name.clone())),
                ("VendorType", Value::String("BringYourOwnChannel".into())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        });
    }
    data.rows
        .insert("ConversationChannelDefinition".into(), ccds);
    data.rows.insert("ConversationVendorInfo".into(), vendors);
}
