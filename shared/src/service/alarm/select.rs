//! Which guards an alarm's state change acts on: a pure decision from the signal and the
//! guards the store holds for the alarm, made before anything is reverted.

use chrono::{DateTime, Utc};

use crate::store::Guard;

/// What an alarm's change into ALARM does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// It guards no release in progress or in its bake window.
    Unguarded,
    /// Every release it guards started after the change: an old event (redelivered, or an
    /// alarm overridden at the start).
    Stale(Vec<Guard>),
    /// Its actions were suppressed (a composite alarm's suppressor, named): recorded on each
    /// release it guards, nothing reverted.
    Suppressed { by: String, guards: Vec<Guard> },
    /// `revert`: one guard per alias (a group's members each), the newest release on each;
    /// `ignored`: releases whose operator ignores this alarm until after the change, recorded
    /// and not reverted.
    Act {
        revert: Vec<Guard>,
        ignored: Vec<Guard>,
    },
}

/// The selection for a change into ALARM at `changed_at` (suppressed by `suppressed_by`, if
/// so) among `guards`, the alarm's guards as stored.
pub fn select(
    changed_at: DateTime<Utc>,
    suppressed_by: Option<&str>,
    guards: Vec<Guard>,
) -> Selection {
    // A succeeded release is guarded through its bake window, not after.
    let guards: Vec<Guard> = guards
        .into_iter()
        .filter(|g| g.until.is_none_or(|until| changed_at <= until))
        .collect();
    if guards.is_empty() {
        return Selection::Unguarded;
    }
    let (stale, guards): (Vec<Guard>, Vec<Guard>) = guards
        .into_iter()
        .partition(|g| g.started_at.is_some_and(|s| changed_at < s));
    if guards.is_empty() {
        return Selection::Stale(stale);
    }
    if let Some(by) = suppressed_by {
        return Selection::Suppressed {
            by: by.to_string(),
            guards,
        };
    }
    let (ignored, guards): (Vec<Guard>, Vec<Guard>) = guards
        .into_iter()
        .partition(|g| g.ignored_until.is_some_and(|u| changed_at < u));
    // A group's guard reverts every member, each alias as its own.
    let revert = newest_per_alias(guards.into_iter().flat_map(Guard::per_member).collect());
    Selection::Act { revert, ignored }
}

/// Of several releases an alarm guards on one alias (one in its bake window, the next one in
/// progress), only the newest decides: the alias ends on its stable version, whatever order
/// the reverts would have landed in. An older release's guard is left as it is; its target is
/// where the newer release started from.
fn newest_per_alias(mut guards: Vec<Guard>) -> Vec<Guard> {
    guards.sort_by_key(|g| std::cmp::Reverse(g.started_at));
    let mut seen = std::collections::HashSet::new();
    guards.retain(|g| {
        let first = seen.insert((g.function.clone(), g.alias.clone()));
        if !first {
            tracing::info!(release = %g.release_id, "a newer release on the same alias decides; this guard is left alone");
        }
        first
    });
    guards
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(id: &str, alias: &str, started: Option<i64>) -> Guard {
        Guard {
            members: Vec::new(),
            alarm: "errors".into(),
            release_id: id.into(),
            function: "orders".into(),
            alias: alias.into(),
            stable_version: "1".into(),
            target_version: "2".into(),
            until: None,
            started_at: started.and_then(|s| DateTime::from_timestamp(s, 0)),
            ignored_until: None,
        }
    }

    #[test]
    fn the_newest_release_on_an_alias_decides_in_any_order() {
        let guards = vec![
            guard("r-old", "live", Some(100)),
            guard("r-legacy", "live", None),
            guard("r-new", "live", Some(200)),
            guard("r-other", "beta", Some(50)),
        ];
        for rotation in 0..guards.len() {
            let mut input = guards.clone();
            input.rotate_left(rotation);
            let mut kept: Vec<String> = newest_per_alias(input)
                .into_iter()
                .map(|g| g.release_id)
                .collect();
            kept.sort();
            assert_eq!(kept, ["r-new", "r-other"], "rotation {rotation}");
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn each_guard_is_reverted_stale_ignored_or_past_its_window_by_the_change_time() {
        // Past its bake window (until 50): guards nothing at 100.
        let baked = Guard {
            until: Some(at(50)),
            ..guard("r-baked", "live", Some(10))
        };
        assert_eq!(select(at(100), None, vec![baked]), Selection::Unguarded);
        // Started after the change: an old event.
        let later = guard("r-later", "live", Some(150));
        assert_eq!(
            select(at(100), None, vec![later.clone()]),
            Selection::Stale(vec![later.clone()])
        );
        // Suppressed: every live guard recorded, none reverted.
        let live = guard("r-live", "live", Some(50));
        assert_eq!(
            select(at(100), Some("maintenance (Alarm)"), vec![live.clone()]),
            Selection::Suppressed {
                by: "maintenance (Alarm)".into(),
                guards: vec![live.clone()]
            }
        );
        // Ignored by an operator until after the change: recorded; the other reverted.
        let ignoring = Guard {
            ignored_until: Some(at(200)),
            ..guard("r-ignoring", "beta", Some(50))
        };
        assert_eq!(
            select(at(100), None, vec![ignoring.clone(), live.clone(), later]),
            Selection::Act {
                revert: vec![live],
                ignored: vec![ignoring]
            }
        );
    }

    #[test]
    fn a_groups_guard_reverts_each_member_alias() {
        let group = Guard {
            members: vec![crate::domain::Member {
                function: "orders-worker".into(),
                alias: "live".into(),
                stable_version: "7".into(),
                target_version: "8".into(),
            }],
            ..guard("r-group", "live", Some(50))
        };
        let Selection::Act { revert, ignored } = select(at(100), None, vec![group]) else {
            panic!("a live group guard acts");
        };
        assert!(ignored.is_empty());
        let aliases: Vec<(String, String)> = revert
            .iter()
            .map(|g| (g.function.clone(), g.stable_version.clone()))
            .collect();
        assert_eq!(
            aliases,
            [
                ("orders".to_string(), "1".to_string()),
                ("orders-worker".to_string(), "7".to_string())
            ]
        );
    }
}
