//! Alarm guards: what each alarm reverts, readable in one query on the revert's critical path.

use std::collections::HashMap;

use chrono::DateTime;

use super::*;
use crate::domain::Release;
use crate::error::Result;

impl ReleaseStore {
    pub(super) fn guard_item(&self, release: &Release, alarm: &str) -> Item {
        let mut item = HashMap::from([
            ("pk".to_string(), string(alarm_pk(alarm))),
            ("sk".to_string(), string(release_pk(&release.id))),
            ("release_id".to_string(), string(&release.id)),
            ("function".to_string(), string(&release.function)),
            ("alias".to_string(), string(&release.alias)),
            (
                "stable_version".to_string(),
                string(&release.stable_version),
            ),
            (
                "target_version".to_string(),
                string(&release.target_version),
            ),
            (
                "started_at_ms".to_string(),
                number(release.created_at.timestamp_millis()),
            ),
        ]);
        if let Some(until) = release.guard_until() {
            item.insert("guard_until".to_string(), number(until.timestamp()));
            // DynamoDB's TTL removes guards whose window closed (a day later, to be safe).
            item.insert("expires_at".to_string(), number(until.timestamp() + 86_400));
        }
        item
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
        out.items()
            .iter()
            .map(|item| {
                Ok(Guard {
                    alarm: alarm.to_string(),
                    release_id: get_s(item, "release_id")?.to_string(),
                    function: get_s(item, "function")?.to_string(),
                    alias: get_s(item, "alias")?.to_string(),
                    stable_version: get_s(item, "stable_version")?.to_string(),
                    target_version: get_s(item, "target_version")?.to_string(),
                    until: get_n(item, "guard_until").ok().map(time),
                    started_at: get_n(item, "started_at_ms")
                        .ok()
                        .and_then(DateTime::from_timestamp_millis),
                })
            })
            .collect()
    }
}
