//! Traffic hooks: a Lambda function a release calls before any traffic moves (pre-traffic)
//! and at 100% before it succeeds (post-traffic). Unlike CodeDeploy's, a hook needs no name
//! convention and no call-back API: it is told everything in its payload and answers in its
//! return value. This module is the contract and the decisions; invoking is an adapter's.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a hook may keep answering "not yet", unless the release says otherwise.
pub const DEFAULT_HOOK_DEADLINE_SECS: u64 = 900;
/// The longest "not yet" honoured at once: the release looks again at least this often.
pub const MAX_RETRY_AFTER_SECS: u64 = 300;
/// The shortest: every answer is a log entry, so a hook asking every second would flood the
/// release's history (at most 90 entries in the default 15 minutes).
pub const MIN_RETRY_AFTER_SECS: u64 = 10;
/// The longest deadline a release may give its hooks: half its lock's grace, so that a hook
/// still running never outlives the lock the release holds (the workflow renews it).
pub const MAX_HOOK_DEADLINE_SECS: u64 = crate::domain::limits::LOCK_GRACE_SECS as u64 / 2;

/// The hooks a release names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_traffic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_traffic: Option<String>,
    /// Seconds from a hook's first call within which it must pass.
    #[serde(default = "default_deadline")]
    pub deadline_secs: u64,
}

fn default_deadline() -> u64 {
    DEFAULT_HOOK_DEADLINE_SECS
}

impl Default for Hooks {
    fn default() -> Hooks {
        Hooks {
            pre_traffic: None,
            post_traffic: None,
            deadline_secs: DEFAULT_HOOK_DEADLINE_SECS,
        }
    }
}

impl Hooks {
    /// Whether the release names any hook.
    pub fn any(&self) -> bool {
        self.pre_traffic.is_some() || self.post_traffic.is_some()
    }

    /// The hook that runs in `phase`, if the release names one.
    pub fn for_phase(&self, phase: HookPhase) -> Option<&str> {
        match phase {
            HookPhase::PreTraffic => self.pre_traffic.as_deref(),
            HookPhase::PostTraffic => self.post_traffic.as_deref(),
        }
    }

    /// Refuses hooks outside `allowed` (the stack's pattern, `*` and `?` wildcards) and
    /// deadlines beyond `max_secs`, naming which.
    pub fn check(&self, allowed: Option<&str>, max_secs: u64) -> Result<(), String> {
        self.check_allowed(allowed)?;
        self.check_deadline(max_secs)
    }

    /// Refuses hooks outside `allowed`, naming which (checked by whoever may invoke them).
    pub fn check_allowed(&self, allowed: Option<&str>) -> Result<(), String> {
        for (which, hook) in self.named() {
            let permitted = allowed.is_some_and(|p| wildmatch::WildMatch::new(p).matches(hook));
            if !permitted {
                return Err(match allowed {
                    Some(p) => format!(
                        "{which} hook {hook} is not one the stack may invoke (HookFunctionNames is {p})"
                    ),
                    None => format!(
                        "{which} hook {hook}: this stack allows no hooks (set HookFunctionNames)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Refuses a deadline of zero or beyond `max_secs`, and a hook name that is blank.
    pub fn check_deadline(&self, max_secs: u64) -> Result<(), String> {
        if let Some((which, _)) = self.named().find(|(_, h)| h.trim().is_empty()) {
            return Err(format!("the {which} hook is named by an empty string"));
        }
        if self.deadline_secs == 0 || self.deadline_secs > max_secs {
            return Err(format!(
                "hook deadline of {}s must be between 1s and {max_secs}s",
                self.deadline_secs
            ));
        }
        Ok(())
    }

    fn named(&self) -> impl Iterator<Item = (&'static str, &String)> {
        let pre = self.pre_traffic.iter().map(|h| ("pre-traffic", h));
        pre.chain(self.post_traffic.iter().map(|h| ("post-traffic", h)))
    }
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "kebab-case")]
pub enum HookPhase {
    PreTraffic,
    PostTraffic,
}

/// What a hook's answer means for the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HookVerdict {
    Passed,
    Failed {
        reason: String,
    },
    /// Call it again after this many seconds.
    NotYet {
        retry_after_secs: u64,
    },
}

/// Reads a hook's answer: `{"ok": true}`, `{"ok": false, "reason": "..."}` or
/// `{"ok": null, "retry_after_secs": N}`. Anything else fails, saying what came back.
pub fn read_answer(answer: &Value) -> HookVerdict {
    let shown = || answer.to_string().chars().take(200).collect::<String>();
    match answer.get("ok") {
        Some(Value::Bool(true)) => HookVerdict::Passed,
        Some(Value::Bool(false)) => HookVerdict::Failed {
            reason: answer.get("reason").and_then(Value::as_str).map_or_else(
                || "the hook said no, without a reason".into(),
                str::to_string,
            ),
        },
        Some(Value::Null) => match answer.get("retry_after_secs").and_then(Value::as_u64) {
            Some(secs) => HookVerdict::NotYet {
                retry_after_secs: secs.clamp(MIN_RETRY_AFTER_SECS, MAX_RETRY_AFTER_SECS),
            },
            None => HookVerdict::Failed {
                reason: format!(
                    "the hook answered not yet without retry_after_secs: {}",
                    shown()
                ),
            },
        },
        _ => HookVerdict::Failed {
            reason: format!(
                "the hook's answer is not {{\"ok\": true|false|null, ...}}: {}",
                shown()
            ),
        },
    }
}

/// "Not yet" past the deadline is a failure; before it, the wait is cut to the deadline.
pub fn within_deadline(
    verdict: HookVerdict,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> HookVerdict {
    match verdict {
        HookVerdict::NotYet { retry_after_secs } => {
            let left = (deadline - now).num_seconds();
            if left <= 0 {
                HookVerdict::Failed {
                    reason: format!(
                        "the hook was still not done at its deadline ({})",
                        deadline.to_rfc3339()
                    ),
                }
            } else {
                HookVerdict::NotYet {
                    retry_after_secs: retry_after_secs.min(left as u64),
                }
            }
        }
        other => other,
    }
}

/// The deadline of a hook first called at `first_call`.
pub fn deadline(first_call: DateTime<Utc>, hooks: &Hooks) -> DateTime<Utc> {
    first_call + Duration::seconds(hooks.deadline_secs as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn answers_are_read_and_anything_else_fails_saying_what_came_back() {
        let cases = [
            (json!({"ok": true}), HookVerdict::Passed),
            (
                json!({"ok": false, "reason": "p99 480 ms"}),
                HookVerdict::Failed {
                    reason: "p99 480 ms".into(),
                },
            ),
            (
                json!({"ok": null, "retry_after_secs": 30}),
                HookVerdict::NotYet {
                    retry_after_secs: 30,
                },
            ),
            (
                json!({"ok": null, "retry_after_secs": 1}),
                HookVerdict::NotYet {
                    retry_after_secs: MIN_RETRY_AFTER_SECS,
                },
            ),
            (
                json!({"ok": null, "retry_after_secs": 86400}),
                HookVerdict::NotYet {
                    retry_after_secs: MAX_RETRY_AFTER_SECS,
                },
            ),
        ];
        for (answer, expected) in cases {
            assert_eq!(read_answer(&answer), expected, "{answer}");
        }
        for garbage in [
            json!("OK"),
            json!({"status": "passed"}),
            json!({"ok": "yes"}),
            json!({"ok": null}),
            json!(null),
        ] {
            let verdict = read_answer(&garbage);
            assert!(
                matches!(&verdict, HookVerdict::Failed { reason } if reason.contains(&garbage.to_string())),
                "{garbage}: {verdict:?}"
            );
        }
        assert_eq!(
            read_answer(&json!({"ok": false})),
            HookVerdict::Failed {
                reason: "the hook said no, without a reason".into()
            }
        );
    }

    #[test]
    fn not_yet_is_cut_to_the_deadline_and_fails_past_it() {
        let not_yet = HookVerdict::NotYet {
            retry_after_secs: 120,
        };
        assert_eq!(within_deadline(not_yet.clone(), t(900), t(0)), not_yet);
        assert_eq!(
            within_deadline(not_yet.clone(), t(900), t(850)),
            HookVerdict::NotYet {
                retry_after_secs: 50
            }
        );
        assert!(matches!(
            within_deadline(not_yet, t(900), t(900)),
            HookVerdict::Failed { reason } if reason.contains("deadline")
        ));
        assert_eq!(
            within_deadline(HookVerdict::Passed, t(900), t(1000)),
            HookVerdict::Passed,
            "an answer, not a wait, is taken whenever it comes"
        );
    }

    #[test]
    fn only_hooks_the_stack_allows_and_sane_deadlines_are_accepted() {
        let hooks = Hooks {
            pre_traffic: Some("orders-smoke".into()),
            post_traffic: Some("orders-e2e".into()),
            deadline_secs: 900,
        };
        assert_eq!(hooks.check(Some("orders-*"), 3600), Ok(()));
        let err = hooks.check(Some("payments-*"), 3600).unwrap_err();
        assert!(err.contains("pre-traffic hook orders-smoke"), "{err}");
        let err = hooks.check(None, 3600).unwrap_err();
        assert!(err.contains("allows no hooks"), "{err}");
        let late = Hooks {
            deadline_secs: 7200,
            ..hooks.clone()
        };
        assert!(late
            .check(Some("orders-*"), 3600)
            .unwrap_err()
            .contains("7200s"));
        assert_eq!(
            Hooks::default().check(None, 3600),
            Ok(()),
            "no hooks, nothing to allow"
        );
        let parsed: Hooks = serde_json::from_value(json!({"pre_traffic": "orders-smoke"})).unwrap();
        assert_eq!(parsed.deadline_secs, DEFAULT_HOOK_DEADLINE_SECS);
        assert!(serde_json::from_value::<Hooks>(json!({"pre": "x"})).is_err());
        let blank = Hooks {
            post_traffic: Some(" ".into()),
            ..Hooks::default()
        };
        assert!(blank
            .check_deadline(3600)
            .unwrap_err()
            .contains("post-traffic hook is named by an empty string"));
    }

    #[test]
    fn the_payload_says_everything_a_hook_needs() {
        let payload = crate::hooks::HookPayload {
            members: Vec::new(),
            release_id: "r-1".into(),
            phase: HookPhase::PreTraffic,
            function: "orders".into(),
            alias: "live".into(),
            stable_version: "6".into(),
            target_version: "7".into(),
            target_arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders:7".into(),
            deadline: t(900),
        };
        let value = serde_json::to_value(&payload).unwrap();
        assert_eq!(value["phase"], "pre_traffic");
        assert_eq!(value["target_version"], "7");
        assert_eq!(value["deadline"], "2027-01-15T08:15:00Z");
    }
}
