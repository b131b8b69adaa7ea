//! How a release event is shown: the domain says what happened and how loudly
//! ([`Release::describe`]); this module composes the messages, and the notifier only sends
//! them.
//!
//! One message per event serves both audiences: the body is an AWS Chatbot custom
//! notification (rendered in Slack or Teams as is), and the structured facts ride in its
//! `metadata.additionalContext` and in SNS message attributes for filter policies. Rollbacks
//! and failures also produce an incident in the CloudWatch-alarm shape PagerDuty accepts; a
//! later success on the same alias produces the matching `OK`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::domain::release::{LogEntry, Phase, Release, ReleaseEvent, Severity};

pub const SCHEMA_VERSION: &str = "1";
/// SNS subjects: at most 100 printable ASCII characters, no line breaks.
const SUBJECT_MAX: usize = 100;
/// Generous for people, far inside SNS's 256 KB for any number of alarms.
pub(super) const TEXT_MAX: usize = 2_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// `<release>#<log index>`: the same for every retry of the same event.
    pub dedup_id: String,
    pub event_type: &'static str,
    pub subject: String,
    pub body: Value,
    pub attributes: BTreeMap<&'static str, String>,
    /// For the incident topic: `ALARM` on rollback or failure, `OK` on success.
    pub incident: Option<Incident>,
    /// The same for people reading mail: plain text (SNS sends each protocol its own message;
    /// Chatbot and PagerDuty's HTTPS endpoints keep the JSON body).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub subject: String,
    pub body: Value,
}

pub(super) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
        clipped.push('…');
        clipped
    }
}

/// The message attribute that lists every member's function, as a JSON array.
pub(super) const FUNCTIONS_ATTRIBUTE: &str = "functions";

fn functions_attribute(members: &[crate::domain::Member]) -> String {
    let mut functions: Vec<&str> = members.iter().map(|m| m.function.as_str()).collect();
    functions.dedup();
    serde_json::to_string(&functions).expect("strings serialise")
}

fn subject(text: &str) -> String {
    let ascii: String = text
        .replace('→', "->")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '-'
            }
        })
        .collect();
    clip(&ascii, SUBJECT_MAX).replace('…', "")
}

/// The incident name PagerDuty groups by: one per function alias, so a success resolves it.
pub fn incident_name(release: &Release) -> String {
    clip(
        &format!("shiftback {}:{}", release.function, release.alias),
        255,
    )
}

/// The notification for log entry `index` of `release`, or None for events not announced.
pub fn notification(
    release: &Release,
    index: usize,
    account: &str,
    region: &str,
) -> Option<Notification> {
    let entry: &LogEntry = release.log.get(index)?;
    // Whether and how loudly, by the whole record: a declined release's `Started` is never
    // announced, and how a rollback ended (aborted, superseded) is its outcome's. Asked first,
    // so the entries nobody is told about cost no copy of the release.
    let described = release.describe(index)?;
    let severity = described.severity?;
    let (event_type, outcome, emoji) = (described.kind, described.outcome, described.emoji);
    // What it says, as the log stood at the entry: a late publish describes its event, not
    // what followed.
    let as_at = release.as_at(index);
    let release = &as_at;
    let target = release.subject();
    let versions = release
        .all_members()
        .iter()
        .map(|m| format!("v{} → v{}", m.stable_version, m.target_version))
        .collect::<Vec<_>>()
        .join(", ");
    let reason = release.reason.as_deref().map(|r| clip(r, TEXT_MAX));
    let title = super::headline::headline(release, entry, &target, &versions)?;

    let mut description = format!(
        "*Release* `{}` by {}\n*Versions* {versions}, strategy `{}`\n*Traffic on v{}* {}",
        release.id, release.started_by, release.strategy, release.target_version, release.weight
    );
    if let Some(reason) = &reason {
        description.push_str(&format!("\n*Reason* {reason}"));
    }
    let alarms = clip(&release.alarms.join(", "), TEXT_MAX);
    if !alarms.is_empty() {
        description.push_str(&format!("\n*Alarms* {alarms}"));
    }
    if !release.labels.is_empty() {
        let labels = crate::domain::describe_labels(&release.labels);
        description.push_str(&format!("\n*Labels* {}", clip(&labels, TEXT_MAX)));
    }
    let next_steps = super::next_steps::next_steps(release, entry, outcome, reason.as_deref());
    let (cause, alarm) = match (&release.phase, &entry.event) {
        (Phase::RolledBack | Phase::Aborted | Phase::Failed | Phase::Interrupted, event) => {
            let cause = match (release.phase, event) {
                (Phase::Aborted, _) => "aborted",
                (Phase::Failed, _) => "failed",
                (Phase::Interrupted, _) => "interrupted",
                (_, ReleaseEvent::ManualRollback { .. }) => "manual",
                _ => "unhealthy",
            };
            let alarm = entry.actor.strip_prefix("alarm:").map(str::to_string);
            (Some(cause), alarm)
        }
        _ => (None, None),
    };
    let members = release.all_members();
    let function_arns: Vec<String> = members
        .iter()
        .map(|m| {
            if m.function.starts_with("arn:") {
                m.function.clone()
            } else {
                format!("arn:aws:lambda:{region}:{account}:function:{}", m.function)
            }
        })
        .collect();
    let mut context: BTreeMap<&str, String> = BTreeMap::from([
        ("schema_version", SCHEMA_VERSION.to_string()),
        ("release_id", release.id.clone()),
        ("event_type", event_type.to_string()),
        ("function", release.function.clone()),
        ("alias", release.alias.clone()),
        ("stable_version", release.stable_version.clone()),
        ("target_version", release.target_version.clone()),
        ("weight_percent", release.weight.percent_text()),
        ("phase", release.phase.name().to_string()),
        ("strategy", release.strategy.to_string()),
        ("started_by", release.started_by.clone()),
        ("actor", entry.actor.clone()),
        ("event_time", entry.at.to_rfc3339()),
        ("release_started", release.created_at.to_rfc3339()),
    ]);
    if !release.labels.is_empty() {
        context.insert("labels", crate::domain::describe_labels(&release.labels));
    }
    if release.is_group() {
        let described: Vec<String> = members
            .iter()
            .map(|m| format!("{} v{}->v{}", m.name(), m.stable_version, m.target_version))
            .collect();
        context.insert("members", described.join(", "));
    }
    if let Some(reason) = &reason {
        context.insert("reason", reason.clone());
    }
    if let Some(alarm) = &alarm {
        context.insert("alarm", alarm.clone());
    }
    if let Some(cause) = cause {
        context.insert("cause", cause.to_string());
    }
    let dedup_id = format!("{}#{index}", release.id);
    let body = json!({
        "version": "1.0",
        "source": "custom",
        "id": dedup_id,
        "content": {
            "textType": "client-markdown",
            "title": clip(&format!("{emoji} {title}"), 250),
            "description": clip(&description, 8_000),
            "nextSteps": next_steps,
            "keywords": ["shiftback", release.function, release.alias, event_type]
        },
        "metadata": {
            "threadId": release.id,
            "summary": clip(&title, 250),
            "eventType": event_type,
            "relatedResources": function_arns,
            "additionalContext": context
        }
    });
    let attributes = BTreeMap::from([
        ("event_type", event_type.to_string()),
        ("function", release.function.clone()),
        // Every member's function: a team's filter policy on `functions` matches a group
        // through its own function (a String.Array attribute).
        (FUNCTIONS_ATTRIBUTE, functions_attribute(&members)),
        ("alias", release.alias.clone()),
        ("outcome", outcome.to_string()),
        ("severity", severity.to_string()),
    ]);
    let incident = match outcome {
        "rolled_back" | "failed" if severity == Severity::Critical => Some(incident(
            release,
            "ALARM",
            &title,
            reason.as_deref().unwrap_or(&title),
            entry.at,
            account,
            region,
        )),
        "succeeded" => Some(incident(
            release, "OK", &title, &title, entry.at, account, region,
        )),
        _ => None,
    };
    let text = plain_text(&title, &description, &next_steps);
    Some(Notification {
        dedup_id,
        event_type,
        subject: subject(&format!("shiftback: {title}")),
        body,
        attributes,
        incident,
        text,
    })
}

/// The message as mail: the title, the facts one a line without Chatbot's markdown, and the
/// next steps as a list.
fn plain_text(title: &str, description: &str, next_steps: &[String]) -> String {
    let unmarked = |text: &str| text.replace(['*', '`'], "");
    let mut text = format!("{}\n\n{}\n", unmarked(title), unmarked(description));
    if !next_steps.is_empty() {
        text.push_str("\nNext steps:\n");
        for step in next_steps {
            text.push_str(&format!("- {}\n", unmarked(step)));
        }
    }
    text
}

/// The CloudWatch alarm notification shape, as PagerDuty's CloudWatch integration reads it.
fn incident(
    release: &Release,
    state: &str,
    title: &str,
    reason: &str,
    at: DateTime<Utc>,
    account: &str,
    region: &str,
) -> Incident {
    let name = incident_name(release);
    let old = if state == "OK" { "ALARM" } else { "OK" };
    Incident {
        subject: subject(&format!("{state}: \"{name}\" in {region}")),
        body: json!({
            "AlarmName": name,
            "AlarmDescription": clip(title, 1024),
            "AWSAccountId": account,
            "NewStateValue": state,
            "NewStateReason": clip(reason, TEXT_MAX),
            "StateChangeTime": at.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
            "Region": region,
            "AlarmArn": format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}"),
            "OldStateValue": old,
            "Trigger": {
                "MetricName": "ReleaseHealth", "Namespace": "shiftback",
                "Dimensions": [
                    {"name": "Function", "value": release.function},
                    {"name": "Alias", "value": release.alias}
                ]
            },
            "shiftback": {"release_id": release.id, "stable_version": release.stable_version, "target_version": release.target_version}
        }),
    }
}

#[cfg(test)]
mod tests;
