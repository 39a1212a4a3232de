//! Rotating the key line messages are signed with, as README's Security
//! section says to, while changes flow: both services as real processes,
//! every step a rolling restart, and not one message lost or refused.
//!
//! 1. bet-maker trusts the old and the new public key;
//! 2. line-provider's replicas, one at a time, sign with the new key;
//! 3. once bet-maker has applied everything published before step 2 ended,
//!    it trusts only the new key.

use std::sync::{Arc, Mutex};

use shared_kernel::testing::{PATIENCE, count, eventually, rotated_test_keys, test_keys};
use system_tests::cluster::Cluster;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Creates events through both line-provider replicas in turn until
/// `stop`; a replica that is restarting just misses its turn.
async fn create_events(
    cluster: Arc<tokio::sync::RwLock<Cluster>>,
    created: Arc<Mutex<Vec<Uuid>>>,
    stop: CancellationToken,
) {
    let mut turn = 0;
    while !stop.is_cancelled() {
        let replica = turn % 2;
        turn += 1;
        let id = cluster.read().await.create_event(replica, "1.75").await;
        if let Some(id) = id {
            created.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

fn so_far(created: &Mutex<Vec<Uuid>>) -> Vec<Uuid> {
    created.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Waits until bet-maker's copy holds every one of `ids`.
async fn until_known(cluster: &Cluster, ids: &[Uuid], step: &str) {
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!("SELECT count(*) FROM events WHERE id IN ({list})");
    let expected = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    eventually(
        &format!("{step}: bet-maker to hold all {expected} events created so far"),
        PATIENCE,
        || async {
            (count(&cluster.bet_maker_db.connection, &sql).await == expected).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn the_signing_key_is_rotated_while_messages_flow_and_none_is_lost() {
    let (old, new) = (test_keys(), rotated_test_keys());
    let path = |file: &std::path::PathBuf| file.display().to_string();
    let cluster = Arc::new(tokio::sync::RwLock::new(Cluster::start(2, 1).await));
    let created = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let writer = tokio::spawn(create_events(
        cluster.clone(),
        created.clone(),
        stop.clone(),
    ));
    let flowing = |at_least: usize| {
        let created = created.clone();
        async move {
            eventually("events to be created", PATIENCE, || async {
                (so_far(&created).len() >= at_least).then_some(())
            })
            .await;
        }
    };
    flowing(20).await;

    // 1. bet-maker trusts both keys.
    {
        let mut cluster = cluster.write().await;
        let both = format!(
            "{},{}",
            path(&old.verify_key_file),
            path(&new.verify_key_file)
        );
        cluster.bet_makers[0].set_env("LINE_EVENTS_VERIFY_KEY_FILES", &both);
        cluster.bet_makers[0].restart().await;
    }
    flowing(so_far(&created).len() + 20).await;

    // 2. line-provider signs with the new key, one replica at a time.
    for replica in 0..2 {
        {
            let mut cluster = cluster.write().await;
            cluster.line_providers[replica]
                .set_env("LINE_EVENTS_SIGNING_KEY_FILE", &path(&new.signing_key_file));
            cluster.line_providers[replica].restart().await;
        }
        flowing(so_far(&created).len() + 20).await;
    }

    // 3. Nothing signed with the old key is left once bet-maker holds
    //    everything created until now: then it drops the old key.
    {
        let before = so_far(&created);
        until_known(
            &*cluster.read().await,
            &before,
            "before dropping the old key",
        )
        .await;
        let mut cluster = cluster.write().await;
        cluster.bet_makers[0].set_env("LINE_EVENTS_VERIFY_KEY_FILES", &path(&new.verify_key_file));
        cluster.bet_makers[0].restart().await;
    }
    flowing(so_far(&created).len() + 20).await;

    stop.cancel();
    writer.await.unwrap_or_else(|e| panic!("the writer: {e}"));
    let cluster = Arc::try_unwrap(cluster)
        .unwrap_or_else(|_| panic!("the writer still holds the cluster"))
        .into_inner();
    let all = so_far(&created);
    until_known(&cluster, &all, "at the end").await;
    assert_eq!(
        cluster.depth(&cluster.dead_letter_queue).await,
        0,
        "nothing refused"
    );
    let log = std::fs::read_to_string(cluster.line_providers[0].log()).unwrap_or_default();
    assert!(
        log.contains(new.signer.key_id().as_str()),
        "replica 0 signs with the new key:\n{log}"
    );
    cluster.stop().await;
}
