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
    // Bytes past the upload's length, made durable and then refused (their request
    // went past the length): the seal leaves them out.
    second.write(&[0xAB; 1_000]).await.unwrap();
    assert_eq!(second.sync().await.unwrap(), 201_000);
    drop(second);
    assert_eq!(read(store, &partial, 0).await.0.len(), 201_000, "readable while partial");
    assert!(store.stored_ids().await.unwrap().contains(&upload), "the sweep sees it");
    store.seal(&upload, 200_000).await.unwrap();
    assert!(read(store, &BlobKey::Original(upload.clone()), 0).await.0 == bytes, "sealed whole");
    let gone = store.open(&partial).await.err().map(|e| e.kind());
    assert_eq!(gone, Some(ErrorKind::NotFound), "no partial after the seal");
    let short = store.append(&id(4), 10).await.err().map(|e| e.kind());
    assert_eq!(short, Some(ErrorKind::NotFound), "no partial blob to go on with");
    store.delete(&BlobKey::Original(upload)).await.unwrap();
    let resealed = store.seal(&id(3), 200_000).await.err().map(|e| e.kind());
    assert_eq!(resealed, Some(ErrorKind::NotFound), "nothing left to seal");

    large(store).await;
}

/// Blobs of several object-store parts (5 MiB each): written, read from inside a part,
/// and partial ones grown by requests that end anywhere, one cut off past a part.
async fn large<B: BlobStore + ?Sized>(store: &B) {
    const MIB: usize = 1 << 20;
    let bytes: Vec<u8> = (0..13 * MIB as u32).map(|n| (n % 253) as u8 ^ (n >> 16) as u8).collect();
    let key = BlobKey::Original(id(5));
    let mut writer = store.create(&key).await.unwrap();
    for piece in bytes.chunks(MIB / 3) {
        writer.write(piece).await.unwrap();
    }
    writer.commit().await.unwrap();
    let (tail, len) = read(store, &key, 7 * MIB as u64 + 5).await;
    assert_eq!(len, bytes.len() as u64);
    assert!(tail == bytes[7 * MIB + 5..], "a ranged read from the second part");

    let upload = id(6);
    // Requests of 3, 4 and then 6 MiB in odd pieces, each synced mid-way as a long one is.
    let mut at = 0;
    for (end, sync_at) in [(3 * MIB + 1, MIB), (7 * MIB, 5 * MIB), (13 * MIB, 11 * MIB)] {
        let mut appender = store.append(&upload, at as u64).await.unwrap();
        for piece in bytes[at..end].chunks(MIB / 2 + 7) {
            let before = at;
            appender.write(piece).await.unwrap();
            at += piece.len();
            if before < sync_at && at >= sync_at {
                assert_eq!(appender.sync().await.unwrap(), at as u64);
            }
        }
        assert_eq!(appender.sync().await.unwrap(), end as u64);
        if end == 7 * MIB {
            // Cut off with 4 MiB more sent: a part's worth past the last sync, never
            // acknowledged, which the next request writes again.
            appender.write(&vec![0xEE; 4 * MIB]).await.unwrap();
            drop(appender);
        }
    }
    store.seal(&upload, bytes.len() as u64).await.unwrap();
    let (whole, len) = read(store, &BlobKey::Original(upload.clone()), 0).await;
    assert_eq!((whole.len(), len), (bytes.len(), bytes.len() as u64));
    assert!(whole == bytes, "sealed from its parts and its tail, in order");

    // A partial read whole before it is sealed (a tus concatenation's partial), then
    // removed: nothing of it is left.
    let piece = id(7);
    let mut appender = store.append(&piece, 0).await.unwrap();
    appender.write(&bytes[..6 * MIB]).await.unwrap();
    assert_eq!(appender.sync().await.unwrap(), 6 * MIB as u64);
    drop(appender);
    let (read_whole, len) = read(store, &BlobKey::Partial(piece.clone()), 0).await;
    assert_eq!(len, 6 * MIB as u64);
    assert!(read_whole == bytes[..6 * MIB], "a partial of more than a part, read");
    let (again, _) = read(store, &BlobKey::Partial(piece.clone()), MIB as u64).await;
    assert!(again == bytes[MIB..6 * MIB], "and read again, from an offset");
    store.delete(&BlobKey::Partial(piece)).await.unwrap();

    // An abandoned partial blob of several parts goes whole.
    let abandoned = id(8);
    let mut appender = store.append(&abandoned, 0).await.unwrap();
    appender.write(&bytes[..11 * MIB]).await.unwrap();
    appender.sync().await.unwrap();
    drop(appender);
    store.delete(&BlobKey::Partial(abandoned)).await.unwrap();

    for key in [key, BlobKey::Original(upload)] {
        store.delete(&key).await.unwrap();
    }
    assert!(store.stored_ids().await.unwrap().is_empty(), "everything removed");
}
