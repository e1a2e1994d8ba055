//! Attachments: content-addressed per order, capped per order in the adding transaction, read
//! back byte for byte; another order's bytes are its own.

use crate::support::*;
use whistle_store::Added;

conformance!(attachments_are_stored_once_per_order_and_capped,);

fn new(
    name: &str,
    content_type: &str,
    data: Vec<u8>,
    by: &str,
    at: whistle_core::time::Timestamp,
) -> whistle_store::NewAttachment {
    whistle_store::NewAttachment {
        name: name.into(),
        content_type: content_type.into(),
        data,
        added_by: by.into(),
        at,
    }
}

async fn attachments_are_stored_once_per_order_and_capped(db: TestDb) {
    let store = &db.store;
    let first = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "附件测试"),
    )
    .await;
    let second = take(
        &**store,
        "2025-10-09 09:05",
        complaint("110105010", "11.04.01", "另一件"),
    )
    .await;
    let photo: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let added = store
        .add_attachment(
            first.order_id,
            new(
                "现场.jpg",
                "image/jpeg",
                photo.clone(),
                "operator",
                at("2025-10-09 09:01"),
            ),
            2,
        )
        .await
        .unwrap();
    let Added::New(meta) = added else {
        panic!("{added:?}")
    };
    assert_eq!(meta.sha256, whistle_store::attachments::digest(&photo));
    assert_eq!(meta.size, 70_000);
    // The same bytes again: the same attachment, whatever the name.
    let again = store
        .add_attachment(
            first.order_id,
            new(
                "again.jpg",
                "image/jpeg",
                photo.clone(),
                "citizen-web",
                at("2025-10-09 09:02"),
            ),
            2,
        )
        .await
        .unwrap();
    assert_eq!(again, Added::Existing(meta.clone()));
    store
        .add_attachment(
            first.order_id,
            new(
                "二.png",
                "image/png",
                vec![1, 2, 3],
                "operator",
                at("2025-10-09 09:03"),
            ),
            2,
        )
        .await
        .unwrap();
    let full = store
        .add_attachment(
            first.order_id,
            new(
                "三.png",
                "image/png",
                vec![4, 5, 6],
                "operator",
                at("2025-10-09 09:04"),
            ),
            2,
        )
        .await
        .unwrap();
    assert_eq!(full, Added::Full { max: 2 });
    let listed = store.attachments(first.order_id).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["现场.jpg", "二.png"]
    );
    let (read, bytes) = store
        .attachment(first.order_id, &meta.sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, meta);
    assert_eq!(bytes, photo);
    assert!(store
        .attachment(second.order_id, &meta.sha256)
        .await
        .unwrap()
        .is_none());
    assert!(store.attachments(second.order_id).await.unwrap().is_empty());
}
