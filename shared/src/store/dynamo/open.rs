//! The open releases (running, or in their bake window), from the sparse index GSI2: one
//! query of the releases still open at `now`, never a scan of the table.

use chrono::{DateTime, Utc};

use super::schema::{OPEN_INDEX, OPEN_PARTITION};
use super::*;
use crate::domain::Release;
use crate::error::Result;

/// GSI2's sort key: fixed-width epoch seconds, so the key orders as the time does.
pub(super) fn open_key(until_epoch_secs: i64, id: &str) -> String {
    format!("{until_epoch_secs:012}#{id}")
}

impl DynamoStore {
    /// Every release open at `now`, newest first.
    pub async fn open_releases(&self, now: DateTime<Utc>) -> Result<Vec<Release>> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_INDEX)
            .key_condition_expression("gsi2pk = :open AND gsi2sk > :now")
            .expression_attribute_values(":open", string(OPEN_PARTITION))
            // Past this key: open beyond this second (the id sorts after '#').
            .expression_attribute_values(":now", string(open_key(now.timestamp(), "")))
            .into_paginator()
            .items()
            .send();
        let mut releases = Vec::new();
        while let Some(item) = pages.try_next().await.map_err(aws("Query"))? {
            releases.push(Self::parse_release(item)?);
        }
        releases.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(releases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_sorts_as_the_time_does() {
        let earlier = open_key(999_999_999, "r-b");
        let later = open_key(1_800_000_000, "r-a");
        assert!(earlier < later, "{earlier} {later}");
        assert!(open_key(1_800_000_000, "") < later);
        assert_eq!(open_key(253_402_300_799, "r-1"), "253402300799#r-1");
    }
}
