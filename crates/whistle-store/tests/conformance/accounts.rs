//! Accounts, tokens and sessions.

use crate::support::*;
use whistle_core::order::Command;

conformance!(accounts_tokens_and_sessions_round_trip,);

async fn accounts_tokens_and_sessions_round_trip(db: TestDb) {
    let store = &db.store;
    let account = whistle_store::Account {
        login: "handler-110105010".into(),
        display_name: "小关街道承办人".into(),
        role: "handler".into(),
        unit: code("110105010"),
        active: true,
    };
    store
        .put_user(&account, "$argon2id$fake", at("2025-10-09 09:00"))
        .await
        .unwrap();
    let (loaded, hash) = store.user("handler-110105010").await.unwrap().unwrap();
    assert_eq!((loaded, hash.as_str()), (account.clone(), "$argon2id$fake"));
    store
        .put_user(
            &whistle_store::Account {
                active: false,
                ..account
            },
            "$argon2id$other",
            at("2025-10-09 10:00"),
        )
        .await
        .unwrap();
    assert!(
        !store
            .user("handler-110105010")
            .await
            .unwrap()
            .unwrap()
            .0
            .active
    );
    assert!(store.user("nobody").await.unwrap().is_none());
    assert_eq!(store.users().await.unwrap().len(), 1);
    let token = whistle_store::TokenRecord {
        id: "abc123".into(),
        secret_hash: "deadbeef".into(),
        name: "311 app".into(),
        scope: "open311".into(),
        login: None,
        unit: code("11.center"),
        revoked: false,
    };
    store
        .put_token(&token, at("2025-10-09 09:00"))
        .await
        .unwrap();
    assert_eq!(store.token("abc123").await.unwrap(), Some(token.clone()));
    store
        .put_token(
            &whistle_store::TokenRecord {
                revoked: true,
                ..token
            },
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
    assert!(store.token("abc123").await.unwrap().unwrap().revoked);
    store
        .put_session(
            "hash1",
            "handler-110105010",
            at("2025-10-10 09:00"),
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.session("hash1").await.unwrap(),
        Some(("handler-110105010".into(), at("2025-10-10 09:00")))
    );
    store.delete_session("hash1").await.unwrap();
    assert!(store.session("hash1").await.unwrap().is_none());
    // A reveal of personal data is an event in the order's history.
    let order = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    let reveal = Command::RevealRequester {
        reason: "回访需核实电话".into(),
    };
    act(&**store, center(), "2025-10-09 09:30", &order, reveal).await;
    let history = store.history(order.order_id).await.unwrap();
    assert_eq!(history.last().unwrap().payload.name(), "requester_revealed");
    assert_eq!(history.last().unwrap().actor.unit.as_str(), "11.center");
}
