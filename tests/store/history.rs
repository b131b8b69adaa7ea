//! History and the open releases: newest first, paginated, imported once, one query.

use super::*;

#[tokio::test]
async fn history_is_newest_first_and_paginates() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    for i in 0..5 {
        let mut s = spec(&function, &format!("r-{i}"));
        s.alias = format!("alias{i}");
        let release = Release::new(s, at(i * 100)).unwrap();
        store.create(&release, at(i * 100), None).await.unwrap();
    }
    // Another function's releases stay out of this history.
    let other = Release::new(spec(&unique("other"), "r-x"), at(1000)).unwrap();
    store.create(&other, at(1000), None).await.unwrap();

    let mut ids = Vec::new();
    let mut page = None;
    loop {
        let result = store.history(&function, 2, page.as_deref()).await.unwrap();
        assert!(result.releases.len() <= 2);
        ids.extend(result.releases.iter().map(|r| r.id.clone()));
        match result.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    assert_eq!(ids, ["r-4", "r-3", "r-2", "r-1", "r-0"]);
}

#[tokio::test]
async fn a_finished_release_imports_into_history_once_and_a_live_one_is_refused() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let mut live = Release::new(spec(&function, "r-m"), at(0)).unwrap();
    live.apply(Input::Promote, at(0), "ci").unwrap();
    assert!(matches!(
        store.import_finished(&live).await,
        Err(Error::BadRequest(_))
    ));
    assert!(matches!(
        store.load("r-m").await,
        Err(Error::ReleaseNotFound(_))
    ));
    live.apply(Input::Promoted, at(30), "ci").unwrap();
    store.import_finished(&live).await.unwrap();
    let loaded = store.load("r-m").await.unwrap();
    assert_eq!(loaded.release.log, live.log);
    assert_eq!(loaded.release.phase, Phase::Succeeded);
    assert_eq!(
        store
            .history(&function, 10, None)
            .await
            .unwrap()
            .releases
            .len(),
        1
    );
    // No lock, no guard: importing touches only history.
    assert_eq!(holder(&store, &function).await, None);
    assert!(guarded(&store, &function).await.is_empty());
    // Importing again changes nothing, even with a different record.
    let mut other = live.clone();
    other.started_by = "someone else".into();
    store.import_finished(&other).await.unwrap();
    assert_eq!(store.load("r-m").await.unwrap().release.started_by, "ci");
}

/// `shiftback list`'s read: the releases running or in their bake window, from the sparse
/// index, newest first; a release leaves it when it closes, and a baked one is past its key.
#[tokio::test]
async fn open_releases_are_those_running_or_in_their_bake_window_newest_first() {
    let env = emulator().await;
    let store = release_store(&env).await;
    assert!(store.open_releases(Utc::now()).await.unwrap().is_empty());
    let now = Utc::now();
    // Each on a function of its own, started a minute apart (the oldest first).
    let mut started = Vec::new();
    for (n, input) in ["run", "pause", "bake", "baked", "abort"]
        .iter()
        .enumerate()
    {
        let function = unique("fn");
        let created = now - Duration::minutes(10 - n as i64);
        let release = Release::new(spec(&function, &unique(input)), created).unwrap();
        let mut tracked = store.create(&release, created, None).await.unwrap();
        tracked.release.apply(Input::Begin, created, "ci").unwrap();
        let steps: Vec<(Input, DateTime<Utc>)> = match *input {
            "pause" => vec![(Input::Pause, created)],
            // spec(): a 300 s bake window; this one's is open, the next one's closed.
            "bake" => vec![(Input::Promote, created), (Input::Promoted, now)],
            "baked" => vec![
                (Input::Promote, created),
                (Input::Promoted, now - Duration::seconds(301)),
            ],
            "abort" => vec![
                (
                    Input::Abort {
                        reason: "no".into(),
                    },
                    created,
                ),
                (Input::RolledBack, created),
            ],
            _ => vec![],
        };
        for (input, at) in steps {
            tracked.release.apply(input, at, "ci").unwrap();
        }
        store.save(&mut tracked).await.unwrap();
        started.push(tracked.release.id.clone());
    }
    let open: Vec<String> = store
        .open_releases(Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        open,
        [started[2].clone(), started[1].clone(), started[0].clone()]
    );
}
