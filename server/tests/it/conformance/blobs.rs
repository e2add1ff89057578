//! [`BlobStore`]: streamed writes invisible until committed, whole and ranged reads,
//! deletes, and the listing the start-up sweep reads.

use std::io::ErrorKind;

use tokio::io::AsyncReadExt;
use uplink::store::{BlobKey, BlobStore};

use super::id;

async fn read(store: &(impl BlobStore + ?Sized), key: &BlobKey, offset: u64) -> (Vec<u8>, u64) {
    let (mut reader, len) = store.open_at(key, offset).await.unwrap();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.unwrap();
    (bytes, len)
}

pub async fn suite<B: BlobStore + ?Sized>(store: &B) {
    let key = BlobKey::Original(id(1));
    let bytes: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();

    // Written in pieces, and nothing under the key until the commit.
    let mut writer = store.create(&key).await.unwrap();
    for piece in bytes.chunks(7_000) {
        writer.write(piece).await.unwrap();
    }
    let unseen = store.open(&key).await.err().map(|e| e.kind());
    assert_eq!(unseen, Some(ErrorKind::NotFound), "invisible until committed");
    writer.commit().await.unwrap();

    let (whole, len) = read(store, &key, 0).await;
    assert_eq!((whole.len() as u64, len), (200_000, 200_000));
    assert!(whole == bytes, "the bytes come back as written");
    let (tail, len) = read(store, &key, 150_000).await;
    assert_eq!(len, 200_000, "a ranged read still says the whole length");
    assert!(tail == bytes[150_000..], "a ranged read starts at its offset");
    assert!(read(store, &key, 300_000).await.0.is_empty(), "past the end is empty");

    // An aborted write leaves nothing behind.
    let text = BlobKey::Text(id(2));
    let mut writer = store.create(&text).await.unwrap();
    writer.write(b"half").await.unwrap();
    writer.abort().await;
    let aborted = store.open(&text).await.err().map(|e| e.kind());
    assert_eq!(aborted, Some(ErrorKind::NotFound));

    assert_eq!(store.stored_ids().await.unwrap(), [id(1)], "what the sweep sees");
    store.delete(&key).await.unwrap();
    store.delete(&key).await.expect("deleting a missing blob is not an error");
    let deleted = store.open(&key).await.err().map(|e| e.kind());
    assert_eq!(deleted, Some(ErrorKind::NotFound));
    assert!(store.stored_ids().await.unwrap().is_empty());
}
