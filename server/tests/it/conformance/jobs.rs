//! [`JobQueue`]: fair order, leases, and claims that carry their attempt.

use std::time::Duration;

use uplink::store::JobQueue;

use super::{account, id};

const LEASE: Duration = Duration::from_secs(600);

pub async fn suite<Q: JobQueue + ?Sized>(queue: &Q) {
    assert_eq!(queue.claim(LEASE).await.unwrap(), None, "an empty queue has nothing");

    // Accounts take turns; each account's jobs keep their order.
    queue.push(&account("ada"), id(1), 1).await.unwrap();
    queue.push(&account("ada"), id(2), 1).await.unwrap();
    queue.push(&account("bob"), id(3), 1).await.unwrap();
    assert_eq!(queue.waiting().await.unwrap(), [id(1), id(3), id(2)]);
    let first = queue.claim(LEASE).await.unwrap().unwrap();
    let second = queue.claim(LEASE).await.unwrap().unwrap();
    assert_eq!((first.upload.clone(), second.upload.clone()), (id(1), id(3)));
    assert_eq!(queue.waiting().await.unwrap(), [id(2)], "claimed jobs no longer wait");

    // A held claim is renewed and never handed out twice; a released one is over.
    assert!(queue.renew(&first, LEASE).await.unwrap());
    let third = queue.claim(LEASE).await.unwrap().unwrap();
    assert_eq!(third.upload, id(2));
    assert_eq!(queue.claim(LEASE).await.unwrap(), None, "every job is held");
    queue.release(&first).await.unwrap();
    assert!(!queue.renew(&first, LEASE).await.unwrap(), "a released claim is not held");
    queue.release(&second).await.unwrap();
    queue.release(&third).await.unwrap();

    // A lease that runs out puts the job back: claimed again, the same attempt under a
    // new claim, and the old holder learns it lost it.
    queue.push(&account("ada"), id(4), 2).await.unwrap();
    let lapsed = queue.claim(Duration::ZERO).await.unwrap().unwrap();
    assert_eq!((lapsed.upload.clone(), lapsed.attempt), (id(4), 2));
    let again = queue.claim(LEASE).await.unwrap().expect("a lapsed job is claimable");
    assert_eq!((again.upload.clone(), again.attempt), (id(4), 2));
    assert_ne!(again.token, lapsed.token, "a new claim");
    assert!(!queue.renew(&lapsed, LEASE).await.unwrap(), "the first holder lost it");
    queue.release(&again).await.unwrap();

    // A waiting job can be taken out, and is never claimed; one not waiting cannot.
    queue.push(&account("ada"), id(5), 1).await.unwrap();
    assert!(queue.remove(&id(5), 1).await.unwrap());
    assert!(!queue.remove(&id(5), 1).await.unwrap(), "already gone");
    queue.push(&account("ada"), id(7), 2).await.unwrap();
    assert!(!queue.remove(&id(7), 1).await.unwrap(), "a retry queued since stays");
    assert!(queue.remove(&id(7), 2).await.unwrap());
    assert_eq!(queue.claim(LEASE).await.unwrap(), None);

    // A claim that lapses after a retry was queued is not queued again: the retry runs,
    // once.
    queue.push(&account("ada"), id(6), 1).await.unwrap();
    let superseded = queue.claim(Duration::ZERO).await.unwrap().unwrap();
    queue.push(&account("ada"), id(6), 2).await.unwrap();
    let retry = queue.claim(LEASE).await.unwrap().unwrap();
    assert_eq!((retry.upload.clone(), retry.attempt), (id(6), 2));
    assert_eq!(queue.claim(LEASE).await.unwrap(), None, "the lapsed attempt does not run again");
    queue.release(&superseded).await.unwrap();
    queue.release(&retry).await.unwrap();

    // The same attempt pushed again (a node starting up pushes every queued upload) is
    // one job, claimed once.
    queue.push(&account("ada"), id(8), 1).await.unwrap();
    queue.push(&account("ada"), id(8), 1).await.unwrap();
    let once = queue.claim(LEASE).await.unwrap().unwrap();
    assert_eq!(queue.claim(LEASE).await.unwrap(), None, "pushed twice, one job");
    queue.release(&once).await.unwrap();

    // A retry queues the next attempt of the same upload, and its claim carries it.
    queue.push(&account("bob"), id(3), 2).await.unwrap();
    let retried = queue.claim(LEASE).await.unwrap().unwrap();
    assert_eq!((retried.upload.clone(), retried.attempt), (id(3), 2));
    queue.release(&retried).await.unwrap();
}
