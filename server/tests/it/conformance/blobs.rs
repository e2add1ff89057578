//! [`BlobStore`]: streamed writes invisible until committed, whole and ranged reads,
//! deletes, the listing the start-up sweep reads, and partial blobs that grow over
//! several appends, drop what was never made durable, and are sealed into originals.

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

    // A partial blob: appended in two requests, then sealed into the original.
    let upload = id(3);
    let partial = BlobKey::Partial(upload.clone());
    let mut first = store.append(&upload, 0).await.unwrap();
    first.write(&bytes[..70_000]).await.unwrap();
    assert_eq!(first.sync().await.unwrap(), 70_000, "durable so far");
    // Written after the last sync, then the connection broke: never acknowledged, so
    // the next request goes on from the durable length and those bytes are dropped.
    first.write(&[0xFF; 300_000]).await.unwrap();
    drop(first);
    let mut second = store.append(&upload, 70_000).await.unwrap();
    second.write(&bytes[70_000..]).await.unwrap();
    assert_eq!(second.sync().await.unwrap(), 200_000);
    drop(second);
    assert_eq!(read(store, &partial, 0).await.0.len(), 200_000, "readable while partial");
    assert!(store.stored_ids().await.unwrap().contains(&upload), "the sweep sees it");
    store.seal(&upload).await.unwrap();
    assert!(read(store, &BlobKey::Original(upload.clone()), 0).await.0 == bytes, "sealed whole");
    let gone = store.open(&partial).await.err().map(|e| e.kind());
    assert_eq!(gone, Some(ErrorKind::NotFound), "no partial after the seal");
    let short = store.append(&id(4), 10).await.err().map(|e| e.kind());
    assert_eq!(short, Some(ErrorKind::NotFound), "no partial blob to go on with");
    store.delete(&BlobKey::Original(upload)).await.unwrap();
}
