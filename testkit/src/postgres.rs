//! A PostgreSQL database of its own for each test, made in the cluster named by
//! `UPLINK_TEST_DATABASE_URL` (`make test` starts a throwaway one with
//! `scripts/with-services`). A test that needs PostgreSQL never skips: without the
//! variable it fails, saying how to get one.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};

/// The variable naming the cluster tests make their databases in.
pub const URL_VARIABLE: &str = "UPLINK_TEST_DATABASE_URL";

/// The URL of the cluster's maintenance database.
pub fn cluster_url() -> String {
    std::env::var(URL_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{URL_VARIABLE} is not set: run the tests with `make test`, or as \
             `scripts/with-services cargo test …`, which starts a throwaway PostgreSQL"
        )
    })
}

/// Creates an empty database and returns its URL. Its name is unique to this process and
/// call, so tests running at once never share one.
pub async fn fresh_database() -> String {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let name =
        format!("uplink_test_{}_{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
    let cluster = cluster_url();
    let mut conn = PgConnection::connect(&cluster)
        .await
        .unwrap_or_else(|error| panic!("connecting to {cluster}: {error}"));
    // A name cannot be a bound parameter; this one is made of safe characters above.
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    with_database(&cluster, &name)
}

/// `url` signing in as `user` with `password` instead.
pub fn as_user(url: &str, user: &str, password: &str) -> String {
    let authority = url.find("://").map_or(0, |scheme| scheme + 3);
    let host_end = url[authority..].find(['/', '?']).map_or(url.len(), |at| authority + at);
    // The user information ends at the last `@` before the path.
    let host = url[authority..host_end].rfind('@').map_or(authority, |at| authority + at + 1);
    format!("{}{user}:{password}@{}", &url[..authority], &url[host..])
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |scheme| scheme + 3);
    let host_end = base[authority_end..].find('/').map_or(base.len(), |at| authority_end + at);
    let mut made = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        made.push('?');
        made.push_str(query);
    }
    made
}

#[cfg(test)]
mod tests {
    use super::{as_user, with_database};

    #[test]
    fn the_database_name_is_replaced_and_the_options_kept() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5/postgres", "t"),
            "postgres://u@127.0.0.1:5/t"
        );
        assert_eq!(with_database("postgres://u@h:5", "t"), "postgres://u@h:5/t");
        assert_eq!(as_user("postgres://u:p@h:5/d?x=1", "v", "q"), "postgres://v:q@h:5/d?x=1");
        assert_eq!(as_user("postgres://h/d", "v", "q"), "postgres://v:q@h/d");
        assert_eq!(
            with_database("postgres://u@h/x?sslmode=require", "t"),
            "postgres://u@h/t?sslmode=require"
        );
    }
}
