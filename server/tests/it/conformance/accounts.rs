//! [`AccountRepo`]: accounts with case-insensitive unique names, and sessions that
//! expire.

use uplink::store::AccountRepo;

pub async fn suite<A: AccountRepo + ?Sized>(accounts: &A) {
    let ada = accounts.create_user("Ada", "hash-1", "2026-01-01T00:00:00.000Z").await.unwrap();
    let ada = ada.expect("a new name is free");
    assert_eq!(ada.username, "Ada");
    let taken = accounts.create_user("ada", "hash-2", "2026-01-01T00:00:00.000Z").await.unwrap();
    assert_eq!(taken, None, "names are unique in any letter case");
    let (found, hash) = accounts.find_user("ADA").await.unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (ada.clone(), "hash-1"));
    assert_eq!(accounts.find_user("bob").await.unwrap(), None);

    let (before, expiry, after) =
        ("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z");
    accounts.create_session("token-a", &ada.id, before, expiry).await.unwrap();
    accounts.create_session("token-b", &ada.id, before, expiry).await.unwrap();
    assert_eq!(accounts.session_user("token-a", before).await.unwrap(), Some(ada.clone()));
    assert_eq!(accounts.session_user("token-a", after).await.unwrap(), None, "expired");
    assert_eq!(accounts.session_user("nobody", before).await.unwrap(), None);

    accounts.delete_session("token-a").await.unwrap();
    assert_eq!(accounts.session_user("token-a", before).await.unwrap(), None, "logged out");
    assert_eq!(accounts.delete_expired_sessions(after).await.unwrap(), 1, "token-b expired");
    assert_eq!(accounts.session_user("token-b", before).await.unwrap(), None);
}
