//! Alarm guards: what each alarm reverts, readable in one query on the revert's critical path.

use chrono::DateTime;

use super::schema::{from_item, to_item, GuardItem};
use super::*;
use crate::domain::Release;
use crate::error::Result;

impl DynamoStore {
    pub(super) fn guard_item(&self, release: &Release, alarm: &str) -> Result<Item> {
        let until = release.guard_until().map(|until| until.timestamp());
        to_item(&GuardItem {
            pk: alarm_pk(alarm),
            sk: release_pk(&release.id),
            release_id: release.id.clone(),
            function: release.function.clone(),
            alias: release.alias.clone(),
            stable_version: release.stable_version.clone(),
            target_version: release.target_version.clone(),
            members: release.members.clone(),
            started_at_ms: Some(release.created_at.timestamp_millis()),
            guard_until: until,
            ignored_until: release.ignore_of(alarm).map(|t| t.timestamp()),
            // DynamoDB's TTL removes guards whose window closed (a day later, to be safe).
            expires_at: until.map(|until| until + 86_400),
        })
    }

    /// Every release an alarm guards: the one read on the revert's critical path.
    pub async fn guards_for_alarm(&self, alarm: &str) -> Result<Vec<Guard>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", string(alarm_pk(alarm)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("Query"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let item: GuardItem = from_item(item, "guard")?;
                Ok(Guard {
                    alarm: alarm.to_string(),
                    release_id: item.release_id,
                    function: item.function,
                    alias: item.alias,
                    stable_version: item.stable_version,
                    target_version: item.target_version,
                    members: item.members,
                    until: item.guard_until.map(time),
                    started_at: item.started_at_ms.and_then(DateTime::from_timestamp_millis),
                    ignored_until: item.ignored_until.map(time),
                })
            })
            .collect()
    }
}
