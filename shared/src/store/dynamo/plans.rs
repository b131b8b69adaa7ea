//! Wave plans (`PLAN#<id>`, `PLAN`): the home Region's record of a plan across Regions, one
//! item each, written only over the revision read, like a release.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{applied, aws, number, string, DynamoStore};
use crate::domain::wave::WavePlan;
use crate::error::{Error, Result};
use crate::waves::PlanRecords;

pub(super) fn plan_pk(id: &str) -> String {
    format!("PLAN#{id}")
}

const PLAN_SK: &str = "PLAN";

/// The item naming the last plan a stack's resource (`<stack id>/<logical id>`) started.
fn resource_pk(resource: &str) -> String {
    format!("PLANRES#{resource}")
}

/// GSI2's partition of the plans still running (apart from the open releases' `OPEN`).
const OPEN_PLANS: &str = "OPEN_PLAN";

/// A plan's item: its keys, its revision (what saves are conditional on) and the plan as
/// one JSON `doc`. 50 targets of about 600 bytes each stay far inside an item's 400 KB.
/// While it runs it is in GSI2 under [`OPEN_PLANS`], so `list` finds it with one query.
#[derive(Serialize, Deserialize)]
struct PlanItem {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    phase: String,
    revision: u64,
    doc: String,
}

impl PlanItem {
    fn of(plan: &WavePlan, revision: u64) -> Result<PlanItem> {
        let doc = serde_json::to_string(plan).map_err(|e| Error::Corrupt(e.to_string()))?;
        let phase = plan.phase.name().to_string();
        let open = !plan.ended();
        Ok(PlanItem {
            pk: plan_pk(&plan.id),
            sk: PLAN_SK.into(),
            gsi2pk: open.then(|| OPEN_PLANS.to_string()),
            gsi2sk: open.then(|| super::open::open_key(plan.started_at, &plan.id)),
            phase,
            revision,
            doc,
        })
    }

    fn to_item(&self) -> Result<super::Item> {
        serde_dynamo::to_item(self).map_err(|e| Error::Corrupt(e.to_string()))
    }
}

impl DynamoStore {
    /// Records a new plan; [`Error::ReleaseExists`] if a plan has its id. A plan a stack's
    /// resource started is pointed to from the resource first ([`Self::resource_plan`]).
    pub async fn create_plan(&self, plan: &WavePlan) -> Result<()> {
        if let Some(resource) = &plan.resource {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", string(resource_pk(resource)))
                .item("sk", string(PLAN_SK))
                .item("plan_id", string(&plan.id))
                .send()
                .await
                .map_err(aws("PutItem"))?;
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(PlanItem::of(plan, 1)?.to_item()?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match applied("PutItem", put)? {
            true => Ok(()),
            false => Err(Error::ReleaseExists(plan.id.clone())),
        }
    }

    /// The last plan a stack's resource started, read consistently: the open index a stack's
    /// rollback also reads is eventually consistent, and may not show a plan created a moment
    /// before. None if it started none, or the plan was never recorded (a crash between).
    pub async fn resource_plan(&self, resource: &str) -> Result<Option<WavePlan>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(resource_pk(resource)))
            .key("sk", string(PLAN_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("GetItem"))?;
        let Some(id) = out
            .item
            .and_then(|item| item.get("plan_id")?.as_s().ok().cloned())
        else {
            return Ok(None);
        };
        match self.load_plan(&id).await {
            Ok((plan, _)) => Ok(Some(plan)),
            Err(Error::ReleaseNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The plan and its revision; [`Error::ReleaseNotFound`] if there is none.
    pub async fn load_plan(&self, id: &str) -> Result<(WavePlan, u64)> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(plan_pk(id)))
            .key("sk", string(PLAN_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("GetItem"))?;
        let item = out.item.ok_or_else(|| Error::ReleaseNotFound(id.into()))?;
        let stored: PlanItem =
            serde_dynamo::from_item(item).map_err(|e| Error::Corrupt(e.to_string()))?;
        let plan = serde_json::from_str(&stored.doc)
            .map_err(|e| Error::Corrupt(format!("plan {id}: {e}")))?;
        Ok((plan, stored.revision))
    }

    /// Every plan still running, newest first: one query of the open index.
    pub async fn open_plans(&self) -> Result<Vec<WavePlan>> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::OPEN_INDEX)
            .key_condition_expression("gsi2pk = :plans")
            .expression_attribute_values(":plans", string(OPEN_PLANS))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send();
        let mut plans = Vec::new();
        while let Some(item) = pages.try_next().await.map_err(aws("Query"))? {
            let stored: PlanItem =
                serde_dynamo::from_item(item).map_err(|e| Error::Corrupt(e.to_string()))?;
            plans.push(
                serde_json::from_str(&stored.doc)
                    .map_err(|e| Error::Corrupt(format!("plan {}: {e}", stored.pk)))?,
            );
        }
        Ok(plans)
    }

    /// Saves the plan over `revision`; [`Error::StaleRelease`] if another writer saved since.
    pub async fn save_plan(&self, plan: &WavePlan, revision: u64) -> Result<()> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(PlanItem::of(plan, revision + 1)?.to_item()?))
            .condition_expression("revision = :read")
            .expression_attribute_values(":read", number(revision))
            .send()
            .await;
        match applied("PutItem", put)? {
            true => Ok(()),
            false => Err(Error::StaleRelease {
                id: plan.id.clone(),
                expected: revision,
            }),
        }
    }
}

impl PlanRecords for DynamoStore {
    fn create(&self, plan: &WavePlan) -> impl Future<Output = Result<()>> + Send {
        self.create_plan(plan)
    }

    fn load(&self, id: &str) -> impl Future<Output = Result<(WavePlan, u64)>> + Send {
        self.load_plan(id)
    }

    fn save(&self, plan: &WavePlan, revision: u64) -> impl Future<Output = Result<()>> + Send {
        self.save_plan(plan, revision)
    }

    fn running(&self) -> impl Future<Output = Result<Vec<WavePlan>>> + Send {
        self.open_plans()
    }

    fn resource_plan(
        &self,
        resource: &str,
    ) -> impl Future<Output = Result<Option<WavePlan>>> + Send {
        DynamoStore::resource_plan(self, resource)
    }
}
