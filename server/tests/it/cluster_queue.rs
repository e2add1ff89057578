//! The job queue shared by several nodes, through three handles on one PostgreSQL
//! database as three nodes would hold them: accounts take turns across the cluster, not
//! per node, and no job is claimed twice however the nodes' claims interleave.

use std::{collections::HashSet, sync::Arc, time::Duration};

use shared::{AccountId, UploadId};
use uplink::store::{Claim, JobQueue, PgRepo};

const LEASE: Duration = Duration::from_secs(60);

fn id(n: u32) -> UploadId {
    UploadId::parse(&format!("0191c1d2-6b0e-7a3c-9f00-{n:012}")).unwrap()
}

async fn nodes(count: usize) -> Vec<Arc<PgRepo>> {
    let url = testkit::postgres::fresh_database().await;
    let mut nodes = Vec::new();
    for n in 0..count {
        nodes.push(Arc::new(PgRepo::open(&url, 4, &format!("node-{n}"), LEASE).await.unwrap()));
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_take_turns_across_the_cluster() {
    let nodes = nodes(3).await;
    let (a, b) = (AccountId::new("a"), AccountId::new("b"));
    // A queues 50 jobs through one node; the three nodes' workers (one each) take three.
    for n in 0..50 {
        nodes[0].push(&a, id(n), 1).await.unwrap();
    }
    for node in &nodes {
        let claim = node.claim(LEASE).await.unwrap().unwrap();
        assert!(claim.upload < id(50), "one of A's");
    }
    // Then B queues 2 through another node: both start within the next workers + 1 = 4
    // claims, whichever nodes make them.
    nodes[1].push(&b, id(100), 1).await.unwrap();
    nodes[1].push(&b, id(101), 1).await.unwrap();
    let mut next = Vec::new();
    for node in nodes.iter().cycle().skip(2).take(4) {
        next.push(node.claim(LEASE).await.unwrap().unwrap().upload);
    }
    assert!(next.contains(&id(100)) && next.contains(&id(101)), "{next:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_claiming_at_once_never_take_one_job_twice() {
    let nodes = nodes(3).await;
    for n in 0..60 {
        let owner = AccountId::new(format!("account-{}", n % 4));
        nodes[n as usize % 3].push(&owner, id(n), 1).await.unwrap();
    }
    let claimers: Vec<_> = (0..6)
        .map(|worker| {
            let node = Arc::clone(&nodes[worker % 3]);
            tokio::spawn(async move {
                let mut mine: Vec<Claim> = Vec::new();
                while let Some(claim) = node.claim(LEASE).await.unwrap() {
                    mine.push(claim);
                }
                mine
            })
        })
        .collect();
    let mut claimed = HashSet::new();
    for claimer in claimers {
        for claim in claimer.await.unwrap() {
            assert!(claimed.insert(claim.upload.clone()), "{} claimed twice", claim.upload);
        }
    }
    assert_eq!(claimed.len(), 60, "every job, once");
}
