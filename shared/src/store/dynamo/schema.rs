//! The release table's layout: one DynamoDB table, every item kind shiftback keeps in it.
//!
//! | item            | pk                  | sk            | kept by      | notes                        |
//! |-----------------|---------------------|---------------|--------------|------------------------------|
//! | release         | `REL#<id>`          | `REL`         | releases.rs  | `doc` JSON, `revision`, GSI1 |
//! | log entry       | `REL#<id>`          | `EV#<seq:05>` | releases.rs  | `doc` JSON, written once     |
//! | outbox mark     | `REL#<id>`          | `NOTIFIED`    | outbox.rs    | entries announced, claim     |
//! | alias lock      | `LOCK#<fn>#<alias>` | `LOCK`        | locks.rs     | holder, expiry               |
//! | alarm guard     | `ALARM#<alarm>`     | `REL#<id>`    | guards.rs    | what to revert, until when   |
//! | wave plan       | `PLAN#<id>`         | `PLAN`        | plans.rs     | `doc` JSON, `revision`, GSI2 |
//!
//! GSI1 (`gsi1pk` = `FN#<function>`, `gsi1sk` = `<created_at>#<id>`) lists a function's
//! releases newest first (history.rs). GSI2 is sparse: a release is in it (`gsi2pk` = `OPEN`,
//! `gsi2sk` = `<open until, epoch seconds, 12 digits>#<id>`) while it runs or its bake window
//! is open, so "what is releasing?" is one query of the index, never a scan (open.rs). Guards carry `expires_at`, the table's TTL attribute.
//! Every state change is conditional on the state it expects. Each item kind has its struct
//! below, mapped to and from DynamoDB's attributes by `serde_dynamo`.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::*;
use crate::error::Result;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

pub const HISTORY_INDEX: &str = "gsi1";
pub const OPEN_INDEX: &str = "gsi2";
/// GSI2's one partition: open releases are few (one per alias at most, plus bake windows).
pub(super) const OPEN_PARTITION: &str = "OPEN";

pub(super) fn release_pk(id: &str) -> String {
    format!("REL#{id}")
}

pub(super) fn lock_pk(function: &str, alias: &str) -> String {
    format!("LOCK#{function}#{alias}")
}

pub(super) fn alarm_pk(alarm: &str) -> String {
    format!("ALARM#{alarm}")
}

/// A release's item: the keys, the attributes conditions and the index read, and the release
/// itself (without its log) as one JSON `doc`.
#[derive(Serialize)]
pub(super) struct ReleaseItem {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    /// Only while the release is open: absent, the item leaves GSI2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    pub function: String,
    pub alias: String,
    pub phase: String,
    pub revision: u64,
    pub event_count: usize,
    pub doc: String,
}

/// What reading a release needs of its item (the other attributes serve conditions and the
/// history index).
#[derive(Deserialize)]
pub(super) struct ReleaseDoc {
    pub revision: u64,
    pub doc: String,
}

/// One log entry, written once.
#[derive(Serialize, Deserialize)]
pub(super) struct LogItem {
    pub pk: String,
    pub sk: String,
    pub doc: String,
}

/// An alias lock. Times are epoch seconds.
#[derive(Serialize, Deserialize)]
pub(super) struct LockItem {
    pub pk: String,
    pub sk: String,
    pub release_id: String,
    pub acquired_at: i64,
    pub lock_expires_at: i64,
}

/// What one alarm reverts while its release runs or bakes.
#[derive(Serialize, Deserialize)]
pub(super) struct GuardItem {
    pub pk: String,
    pub sk: String,
    pub release_id: String,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    /// A group's other members: the alarm reverts them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<crate::domain::Member>,
    /// Epoch milliseconds; optional, as guards written before it was kept lack it.
    #[serde(default)]
    pub started_at_ms: Option<i64>,
    /// Epoch seconds; absent while the release runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_until: Option<i64>,
    /// Epoch seconds: an operator's ignore of the alarm for this release ends then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_until: Option<i64>,
    /// The table's TTL attribute (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// The notifier's watermark: entries announced, and a live claim on the next one.
#[derive(Deserialize, Default)]
pub(super) struct OutboxMarkItem {
    #[serde(default)]
    pub upto: usize,
    /// Epoch milliseconds.
    #[serde(default)]
    pub claimed_until: Option<i64>,
}

/// A group's entry in the history of a member's function other than the first's: `history`
/// finds the release through it.
#[derive(Serialize, Deserialize)]
pub(super) struct MemberHistoryItem {
    pub pk: String,
    /// `FN#function`: one entry per function, however many of its aliases the group moves.
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    pub release_id: String,
}

/// Where a page of the history index resumes: a release item's table and index keys.
#[derive(Serialize)]
pub(super) struct HistoryKey<'a> {
    pub pk: &'a str,
    pub sk: &'a str,
    pub gsi1pk: &'a str,
    pub gsi1sk: &'a str,
}

pub(super) fn to_item(value: &impl Serialize) -> Result<Item> {
    serde_dynamo::to_item(value).map_err(|e| Error::Corrupt(format!("item: {e}")))
}

/// `what` names the item kind in the error, for an item that does not have its kind's shape.
pub(super) fn from_item<T: DeserializeOwned>(item: Item, what: &str) -> Result<T> {
    serde_dynamo::from_item(item).map_err(|e| Error::Corrupt(format!("{what} item: {e}")))
}

impl DynamoStore {
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
            .attribute_definitions(built(attr("gsi2pk"))?)
            .attribute_definitions(built(attr("gsi2sk"))?)
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
            .global_secondary_indexes(built(
                GlobalSecondaryIndex::builder()
                    .index_name(OPEN_INDEX)
                    .key_schema(built(key("gsi2pk", KeyType::Hash))?)
                    .key_schema(built(key("gsi2sk", KeyType::Range))?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(item: &Item) -> Vec<String> {
        let mut shape: Vec<String> = item
            .iter()
            .map(|(name, value)| {
                let kind = match value {
                    AttributeValue::S(_) => "S",
                    AttributeValue::N(_) => "N",
                    _ => "other",
                };
                format!("{name}:{kind}")
            })
            .collect();
        shape.sort();
        shape
    }

    /// Deployed tables hold items in this shape, and the revert path's conditions and the TTL
    /// read these names: a renamed field must not change what is stored.
    #[test]
    fn items_keep_their_stored_attribute_names_and_types() {
        let guard = GuardItem {
            members: Vec::new(),
            ignored_until: None,
            pk: "ALARM#a".into(),
            sk: "REL#r".into(),
            release_id: "r".into(),
            function: "f".into(),
            alias: "live".into(),
            stable_version: "1".into(),
            target_version: "2".into(),
            started_at_ms: Some(1),
            guard_until: None,
            expires_at: None,
        };
        assert_eq!(
            shape(&to_item(&guard).unwrap()),
            [
                "alias:S",
                "function:S",
                "pk:S",
                "release_id:S",
                "sk:S",
                "stable_version:S",
                "started_at_ms:N",
                "target_version:S"
            ],
            "a running release's guard has no window end and no TTL"
        );
        let baking = GuardItem {
            guard_until: Some(10),
            expires_at: Some(86_410),
            ..guard
        };
        let item = to_item(&baking).unwrap();
        assert_eq!(item["expires_at"], AttributeValue::N("86410".into()));
        assert_eq!(item["guard_until"], AttributeValue::N("10".into()));

        let lock = LockItem {
            pk: "LOCK#f#live".into(),
            sk: "LOCK".into(),
            release_id: "r".into(),
            acquired_at: 5,
            lock_expires_at: 6,
        };
        assert_eq!(
            shape(&to_item(&lock).unwrap()),
            [
                "acquired_at:N",
                "lock_expires_at:N",
                "pk:S",
                "release_id:S",
                "sk:S"
            ]
        );
    }

    #[test]
    fn an_item_of_the_wrong_shape_is_reported_as_corrupt_with_its_kind() {
        let item = Item::from([("pk".to_string(), AttributeValue::S("LOCK#f#live".into()))]);
        let err = from_item::<LockItem>(item, "lock").err().unwrap();
        assert!(
            matches!(&err, Error::Corrupt(m) if m.starts_with("lock item") && m.contains("sk")),
            "{err}"
        );
    }
}
