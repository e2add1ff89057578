//! [`AccountRepo`]: accounts with case-insensitive unique names, sessions that expire,
//! and API tokens found by the hash of their secret until revoked, by their owner alone.

use shared::ApiToken;
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

    let bob = accounts.create_user("bob", "hash-3", before).await.unwrap().unwrap();
    let token = |id: &str, name: &str| ApiToken {
        id: id.into(),
        name: name.into(),
        created_at: before.into(),
    };
    accounts.create_api_token(&ada.id, &token("t1", "laptop"), "secret-1").await.unwrap();
    accounts.create_api_token(&ada.id, &token("t2", "ci"), "secret-2").await.unwrap();
    accounts.create_api_token(&bob.id, &token("t3", "bob's"), "secret-3").await.unwrap();
    let listed = accounts.api_tokens(&ada.id).await.unwrap();
    assert_eq!(listed, [token("t1", "laptop"), token("t2", "ci")], "ada's alone, oldest first");
    assert_eq!(accounts.api_token_user("secret-2").await.unwrap(), Some(ada.clone()));
    assert_eq!(accounts.api_token_user("t2").await.unwrap(), None, "found by the secret's hash");
    let not_hers = accounts.delete_api_token(&ada.id, "t3").await.unwrap();
    assert_eq!(not_hers, None, "only its owner revokes a token");
    assert_eq!(accounts.api_token_user("secret-3").await.unwrap(), Some(bob));
    let revoked = accounts.delete_api_token(&ada.id, "t2").await.unwrap();
    assert_eq!(revoked.as_deref(), Some("secret-2"));
    assert_eq!(accounts.api_token_user("secret-2").await.unwrap(), None, "revoked at once");
    assert_eq!(accounts.api_tokens(&ada.id).await.unwrap(), [token("t1", "laptop")]);
}
