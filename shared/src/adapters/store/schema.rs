//! The release table's layout: one DynamoDB table, every item kind shiftback keeps in it.
//!
//! | item            | pk                  | sk            | kept by      | notes                        |
//! |-----------------|---------------------|---------------|--------------|------------------------------|
//! | release         | `REL#<id>`          | `REL`         | releases.rs  | `doc` JSON, `revision`, GSI1 |
//! | log entry       | `REL#<id>`          | `EV#<seq:05>` | releases.rs  | `doc` JSON, written once     |
//! | outbox mark     | `REL#<id>`          | `NOTIFIED`    | outbox.rs    | entries announced, claim     |
//! | alias lock      | `LOCK#<fn>#<alias>` | `LOCK`        | locks.rs     | holder, expiry               |
//! | alarm guard     | `ALARM#<alarm>`     | `REL#<id>`    | guards.rs    | what to revert, until when   |
//!
//! GSI1 (`gsi1pk` = `FN#<function>`, `gsi1sk` = `<created_at>#<id>`) lists a function's
//! releases newest first (history.rs). Guards carry `expires_at`, the table's TTL attribute.
//! Every state change is conditional on the state it expects.

use super::*;
use crate::error::Result;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

pub const HISTORY_INDEX: &str = "gsi1";

pub(super) fn release_pk(id: &str) -> String {
    format!("REL#{id}")
}

pub(super) fn lock_pk(function: &str, alias: &str) -> String {
    format!("LOCK#{function}#{alias}")
}

pub(super) fn alarm_pk(alarm: &str) -> String {
    format!("ALARM#{alarm}")
}

impl ReleaseStore {
    /// Creates the table with the schema `template.yaml` declares (for tests and the demo).
    pub async fn create_table(&self) -> Result<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(built(attr("pk"))?)
            .attribute_definitions(built(attr("sk"))?)
            .attribute_definitions(built(attr("gsi1pk"))?)
            .attribute_definitions(built(attr("gsi1sk"))?)
            .key_schema(built(key("pk", KeyType::Hash))?)
            .key_schema(built(key("sk", KeyType::Range))?)
            .global_secondary_indexes(built(
                GlobalSecondaryIndex::builder()
                    .index_name(HISTORY_INDEX)
                    .key_schema(built(key("gsi1pk", KeyType::Hash))?)
                    .key_schema(built(key("gsi1sk", KeyType::Range))?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build(),
            )?)
            .send()
            .await
            .map_err(aws("CreateTable"))?;
        Ok(())
    }
}
