//! The one transition function: an input, applied to a release, gives the next phase, the
//! log entries that record it, and the action that makes the alias match.

use chrono::{DateTime, Utc};

use super::*;
use crate::domain::weight::Weight;

impl Release {
    /// The one way a release changes. Returns what the caller must do next, or an error for an
    /// input the current phase does not allow (the release is then unchanged).
    pub fn apply(
        &mut self,
        input: Input,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<Action, TransitionError> {
        use Phase::*;
        if let Input::Alarm { alarm, .. } = &input {
            if now < self.created_at {
                return Err(TransitionError::AlarmBeforeStart {
                    id: self.id.clone(),
                    alarm: alarm.clone(),
                    changed_at: now,
                    started_at: self.created_at,
                });
            }
        }
        let action = match (self.phase, &input) {
            (Pending, Input::Begin) => match self.hook_due() {
                Some((phase, _)) => Action::CallHook { phase },
                None => self.first_move(now, actor),
            },
            (
                _,
                Input::HookAnswered {
                    phase,
                    hook,
                    verdict,
                },
            ) => return self.answer_hook(*phase, hook, verdict, now, actor),
            (
                _,
                Input::Ignore {
                    guard,
                    until,
                    reason,
                },
            ) => return self.ignore(guard, *until, reason, now, actor),

            // A workflow that looks at a finished release (rolled back by the alarm handler,
            // say) simply ends.
            (phase, Input::Check(_)) if phase.is_terminal() => Action::Nothing,
            (RollingBack { .. }, Input::Check(_)) => Action::RollBack {
                reason: self.reason.clone().unwrap_or_default(),
            },
            // At 100% waiting on its post-traffic hook, the target carries everything: a
            // guard that fires now rolls it back rather than letting the promotion finish.
            (Promoting, Input::Check(Verdict::Unhealthy { reason }))
                if self.hook_due().is_some() =>
            {
                let verdict = Verdict::Unhealthy {
                    reason: reason.clone(),
                };
                self.record(now, actor, ReleaseEvent::HealthChecked { verdict });
                self.start_rollback(RollbackCause::Unhealthy, reason.clone(), now, actor)
            }
            (Promoting, Input::Check(_)) => Action::Promote,
            (
                Shifting { .. } | Paused { .. } | AtGate { .. },
                Input::Check(Verdict::Unhealthy { reason }),
            ) => {
                let verdict = Verdict::Unhealthy {
                    reason: reason.clone(),
                };
                self.record(now, actor, ReleaseEvent::HealthChecked { verdict });
                self.start_rollback(RollbackCause::Unhealthy, reason.clone(), now, actor)
            }
            // A paused (or held) release waits for a person as a gate does, on a task token (its
            // alarms still guard it): nothing but an unhealthy verdict moves it.
            (Paused { .. }, Input::Check(Verdict::Healthy | Verdict::Inconclusive { .. })) => {
                if self.paused_for(now) > MAX_PAUSE_SECS {
                    self.pause_expired(now, actor)
                } else {
                    Action::AwaitApproval {
                        secs: self.gate_remaining(now),
                    }
                }
            }
            (Paused { .. }, Input::GateExpired) => self.pause_expired(now, actor),
            (Shifting { step }, Input::Check(Verdict::Healthy)) => match self.bake_remaining(now) {
                Some(remaining) => Action::Wait {
                    secs: self.bake_wait(step, remaining),
                },
                None => self.next_step(step, Verdict::Healthy, now, actor),
            },
            (Shifting { step }, Input::Check(Verdict::Inconclusive { reason })) => {
                if let Some(remaining) = self.bake_remaining(now) {
                    return Ok(Action::Wait {
                        secs: self.bake_wait(step, remaining),
                    });
                }
                match self.extension_remaining(now) {
                    // Wait for more traffic, a minute at a time, within the extension.
                    Some(left) => Action::Wait {
                        secs: left.min(INCONCLUSIVE_RETRY_SECS),
                    },
                    None => self.when_inconclusive(step, reason, now, actor),
                }
            }
            // Alarms guard a release at its gate; the workflow waits on the approval.
            (AtGate { .. }, Input::Check(_)) => Action::AwaitApproval {
                secs: self.gate_remaining(now),
            },
            (AtGate { step }, Input::Approve) => self.approve(step, now, actor),
            (AtGate { step }, Input::GateExpired) => self.gate_expired(step, now, actor),
            (Shifting { .. } | Paused { .. } | AtGate { .. }, Input::Analysed(verdict)) => {
                let event = ReleaseEvent::Analysed {
                    weight: self.weight,
                    verdict: verdict.clone(),
                };
                self.record(now, actor, event);
                Action::Nothing
            }

            (Shifting { step }, Input::Pause) => {
                self.phase = Paused { step };
                // The wait to come registers a token of its own.
                self.gate_token = None;
                self.record(now, actor, ReleaseEvent::Paused);
                Action::Nothing
            }
            (Paused { step }, Input::Resume) => {
                // The bake of the current step starts afresh: a pause is usually a person
                // looking at something, and the step deserves a full observation after it.
                self.phase = Shifting { step };
                self.step_started_at = Some(now);
                self.record(now, actor, ReleaseEvent::Resumed);
                Action::Wait {
                    secs: self.bake_wait(step, self.schedule.steps[step].bake_secs),
                }
            }
            (Pending | Shifting { .. } | Paused { .. } | AtGate { .. }, Input::Promote) => {
                self.record(now, actor, ReleaseEvent::PromoteRequested);
                self.start_promotion()
            }
            (
                Pending | Shifting { .. } | Paused { .. } | AtGate { .. } | Promoting,
                Input::Abort { reason },
            ) => self.start_rollback(RollbackCause::Aborted, reason.clone(), now, actor),
            (
                Pending | Shifting { .. } | Paused { .. } | AtGate { .. } | Promoting,
                Input::Supersede { by },
            ) => {
                let reason = format!("superseded by release {by}");
                self.start_rollback(RollbackCause::Superseded, reason, now, actor)
            }
            (Pending, Input::Decline { reason }) => {
                let reason = format!("{DECLINED}: {reason}");
                self.reason = Some(reason.clone());
                self.finish(Refused, now);
                self.record(now, actor, ReleaseEvent::Refused { reason });
                Action::Nothing
            }
            (
                Pending | Shifting { .. } | Paused { .. } | AtGate { .. } | Promoting,
                Input::Fail { error },
            ) => self.start_rollback(RollbackCause::Error, error.clone(), now, actor),
            (
                Pending | Shifting { .. } | Paused { .. } | AtGate { .. } | Promoting,
                Input::Alarm { alarm, reason },
            ) => {
                let reason = format!("alarm {alarm} is in ALARM: {reason}");
                self.start_rollback(RollbackCause::Unhealthy, reason, now, actor)
            }
            (Succeeded, Input::Alarm { alarm, reason }) => {
                let finished_at = self.finished_at.unwrap_or(self.updated_at);
                let closed_at = self.guard_until().unwrap_or(finished_at);
                if now > closed_at {
                    return Err(TransitionError::BakeWindowClosed {
                        id: self.id.clone(),
                        finished_at,
                        closed_at,
                    });
                }
                let reason = format!("alarm {alarm} is in ALARM during the bake window: {reason}");
                self.finished_at = None;
                self.start_rollback(RollbackCause::Unhealthy, reason, now, actor)
            }
            (Succeeded, Input::Pruned(summary)) if !self.pruned() => {
                self.record(
                    now,
                    actor,
                    ReleaseEvent::VersionsPruned {
                        summary: summary.clone(),
                    },
                );
                Action::Nothing
            }
            (Promoting, Input::Promoted) if self.hook_due().is_some() => {
                let (phase, hook) = self.hook_due().unwrap_or((HookPhase::PostTraffic, ""));
                return Err(TransitionError::HookPending {
                    id: self.id.clone(),
                    phase,
                    hook: hook.to_string(),
                });
            }
            (Promoting, Input::Promoted) => {
                self.weight = Weight::FULL;
                self.finish(Succeeded, now);
                self.record(now, actor, ReleaseEvent::Promoted);
                Action::Nothing
            }
            (RollingBack { cause }, Input::RolledBack) => {
                self.weight = Weight::ZERO;
                let phase = match cause {
                    RollbackCause::Aborted => Aborted,
                    RollbackCause::Superseded => Superseded,
                    RollbackCause::Unhealthy | RollbackCause::Error => RolledBack,
                };
                self.finish(phase, now);
                let reason = self.reason.clone().unwrap_or_default();
                self.record(now, actor, ReleaseEvent::RolledBack { reason });
                Action::Nothing
            }
            (RollingBack { .. }, Input::RollbackFailed { error }) => {
                self.reason = Some(format!(
                    "{}; rollback failed: {error}",
                    self.reason.clone().unwrap_or_default()
                ));
                self.finish(Failed, now);
                self.record(
                    now,
                    actor,
                    ReleaseEvent::Failed {
                        error: error.clone(),
                    },
                );
                Action::Nothing
            }
            (phase, Input::LockBroken { by, expired_at }) if !phase.is_terminal() => {
                self.reason = Some(format!(
                    "its alias lock expired at {} and release {by} took the alias over; the alias was left as it was",
                    expired_at.to_rfc3339()
                ));
                self.finish(Failed, now);
                self.record(
                    now,
                    actor,
                    ReleaseEvent::LockBroken {
                        by: by.clone(),
                        expired_at: *expired_at,
                    },
                );
                Action::Nothing
            }
            (
                RolledBack | Aborted | Superseded,
                Input::DurableLeft {
                    function,
                    version,
                    running,
                    more,
                },
            ) if !self.durable_left_recorded(function.as_deref(), version) => {
                let event = ReleaseEvent::DurableExecutionsLeft {
                    function: function.clone(),
                    version: version.clone(),
                    running: *running,
                    more: *more,
                };
                self.record(now, actor, event);
                Action::Nothing
            }
            (
                phase,
                Input::AlarmSuppressed {
                    alarm,
                    by,
                    changed_at,
                },
            ) if (!phase.is_terminal() || self.guard_until().is_some_and(|u| *changed_at <= u))
                && !self.recorded_suppression(alarm, *changed_at) =>
            {
                self.record(
                    now,
                    &format!("alarm:{alarm}"),
                    ReleaseEvent::AlarmSuppressed {
                        alarm: alarm.clone(),
                        suppressed_by: by.clone(),
                        changed_at: *changed_at,
                    },
                );
                Action::Nothing
            }
            (
                phase,
                Input::HandsOff {
                    found,
                    to_stable,
                    member,
                },
            ) if !phase.is_terminal() => {
                let member = member.clone().filter(|_| self.is_group());
                let event = if *to_stable {
                    ReleaseEvent::ManualRollback {
                        found: found.clone(),
                        member: member.clone(),
                    }
                } else {
                    ReleaseEvent::Interrupted {
                        found: found.clone(),
                        member: member.clone(),
                    }
                };
                if let Some(member) = member {
                    // A group comes back together: the changed member is left as found, the
                    // others go back to their stable versions.
                    self.record(now, actor, event);
                    if matches!(phase, RollingBack { .. }) {
                        return Ok(Action::Nothing);
                    }
                    let reason = format!(
                        "the alias {member} was changed outside shiftback to {found}; it is left as found and the group's other members go back to their stable versions"
                    );
                    return Ok(self.start_rollback(RollbackCause::Error, reason, now, actor));
                }
                if *to_stable {
                    self.weight = Weight::ZERO;
                    self.reason = Some(format!(
                        "the alias was put back on version {} outside shiftback (a rollback by hand)",
                        self.stable_version
                    ));
                    self.finish(RolledBack, now);
                } else {
                    self.reason = Some(format!(
                        "the alias was changed outside shiftback to {found}; the release stopped and left it as found"
                    ));
                    self.finish(Interrupted, now);
                }
                self.record(now, actor, event);
                Action::Nothing
            }
            (Pending, Input::TakeOverLock { from, expired_at }) => {
                self.record(
                    now,
                    actor,
                    ReleaseEvent::LockTakenOver {
                        from: from.clone(),
                        expired_at: *expired_at,
                    },
                );
                Action::Nothing
            }
            _ => return Err(self.illegal(&input)),
        };
        Ok(action)
    }
}
