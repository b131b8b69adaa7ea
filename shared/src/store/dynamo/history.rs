//! A function's releases, newest first, and backfilling history from elsewhere.

use std::collections::HashMap;

use super::schema::{from_item, to_item, HistoryKey, MemberHistoryItem};
use super::*;
use crate::domain::Release;
use crate::error::{Error, Result};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use backon::{BackoffBuilder, ExponentialBuilder};

/// Marks a page token that resumes after a group's entry rather than a release item.
const MEMBER_PAGE: &str = "#member";

impl DynamoStore {
    /// A function's releases, newest first, `limit` at a time.
    pub async fn history(
        &self,
        function: &str,
        limit: i32,
        page: Option<&str>,
    ) -> Result<HistoryPage> {
        // A page ending on a group's entry for this function says so: `...#member`.
        let member_sk = format!("FN#{function}");
        let start = match page {
            None => None,
            Some(token) => {
                let (token, sk) = match token.strip_suffix(MEMBER_PAGE) {
                    Some(rest) => (rest, member_sk.as_str()),
                    None => (token, "REL"),
                };
                let (gsi1sk, id) = token
                    .rsplit_once('#')
                    .ok_or_else(|| Error::BadRequest(format!("invalid page token '{token}'")))?;
                Some(to_item(&HistoryKey {
                    pk: &release_pk(id),
                    sk,
                    gsi1pk: &format!("FN#{function}"),
                    gsi1sk: &format!("{gsi1sk}#{id}"),
                })?)
            }
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(HISTORY_INDEX)
            .key_condition_expression("gsi1pk = :fn")
            .expression_attribute_values(":fn", string(format!("FN#{function}")))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 100))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(aws("Query"))?;
        let mut releases = Vec::new();
        for item in out.items.unwrap_or_default() {
            if get_s(&item, "sk")? == "REL" {
                releases.push(Self::parse_release(item)?);
            } else {
                // A group whose first member is another function's: its release item.
                let item: MemberHistoryItem = from_item(item, "group history entry")?;
                releases.push(self.load_summary(&item.release_id).await?);
            }
        }
        let next = match out.last_evaluated_key {
            Some(key) => {
                let resume = get_s(&key, "gsi1sk")?.to_string();
                Some(if get_s(&key, "sk")? == "REL" {
                    resume
                } else {
                    resume + MEMBER_PAGE
                })
            }
            None => None,
        };
        Ok(HistoryPage { releases, next })
    }

    /// Backfills history with a release that already finished elsewhere (say, a CodeDeploy
    /// deployment being migrated): its item and log, written as they would have been, with no
    /// lock or alarm guard involved. An id already stored is left as it is.
    pub async fn import_finished(&self, release: &Release) -> Result<()> {
        if !release.phase.is_terminal() {
            return Err(Error::BadRequest(format!(
                "release {} is {}: only finished releases can be imported",
                release.id,
                release.phase.name()
            )));
        }
        let mut puts = vec![self.release_item(release, 1)?];
        for write in self.event_puts(release, 0)? {
            if let Some(put) = write.put {
                puts.push(put.item);
            }
        }
        let mut puts = puts.into_iter().peekable();
        let release_item = puts.next().expect("the release item is first");
        // The release item first and conditionally, so an existing release is never touched.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(release_item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        if !applied("PutItem", put)? {
            return Ok(());
        }
        while puts.peek().is_some() {
            let batch: Vec<_> = puts
                .by_ref()
                .take(25)
                .map(|item| {
                    let put = built(PutRequest::builder().set_item(Some(item)).build())?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_>>()?;
            let mut pending = Some(HashMap::from([(self.table.clone(), batch)]));
            // What DynamoDB could not take now (throttled), it takes after an exponentially
            // longer pause, as AWS advises for UnprocessedItems; past the last, the import fails
            // as retryable instead of looping for ever.
            let mut pauses = ExponentialBuilder::default()
                .with_min_delay(std::time::Duration::from_millis(50))
                .with_max_delay(std::time::Duration::from_secs(5))
                .with_max_times(8)
                .with_jitter()
                .build();
            while let Some(requests) = pending.filter(|r| !r.is_empty()) {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(requests))
                    .send()
                    .await
                    .map_err(aws("BatchWriteItem"))?;
                pending = out.unprocessed_items;
                if pending.as_ref().is_some_and(|r| !r.is_empty()) {
                    let Some(pause) = pauses.next() else {
                        return Err(Error::Aws(AwsError {
                            operation: "BatchWriteItem",
                            kind: AwsErrorKind::Throttled,
                            code: None,
                            message: format!("items of release {} still unprocessed", release.id),
                        }));
                    };
                    tokio::time::sleep(pause).await;
                }
            }
        }
        Ok(())
    }
}
