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
        other_roles: Vec::new(),
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
    let session = |acting: Option<whistle_store::Grant>| whistle_store::SessionRecord {
        login: "handler-110105010".into(),
        expires_at: at("2025-10-10 09:00"),
        acting,
    };
    assert_eq!(store.session("hash1").await.unwrap(), Some(session(None)));
    // A further role, kept with the account; the session switched to it and back.
    let official = whistle_store::Grant {
        role: "street_official".into(),
        unit: code("110105010"),
    };
    let (mut account, hash) = store.user("handler-110105010").await.unwrap().unwrap();
    account.other_roles = vec![official.clone()];
    store
        .put_user(&account, &hash, at("2025-10-09 11:00"))
        .await
        .unwrap();
    let (loaded, _) = store.user("handler-110105010").await.unwrap().unwrap();
    assert_eq!(loaded.other_roles, vec![official.clone()]);
    assert!(loaded.holds(&official));
    assert_eq!(loaded.grants().len(), 2);
    assert!(store
        .set_session_role("hash1", Some(&official))
        .await
        .unwrap());
    assert_eq!(
        store.session("hash1").await.unwrap(),
        Some(session(Some(official)))
    );
    assert!(store.set_session_role("hash1", None).await.unwrap());
    assert_eq!(store.session("hash1").await.unwrap(), Some(session(None)));
    assert!(!store.set_session_role("nosuch", None).await.unwrap());
    store.delete_session("hash1").await.unwrap();
    // A unit's people: the active accounts holding a role there, first or further.
    let person = |login: &str, unit: &str, active: bool, other_roles: Vec<whistle_store::Grant>| {
        whistle_store::Account {
            login: login.into(),
            display_name: login.into(),
            role: "handler".into(),
            unit: code(unit),
            active,
            other_roles,
        }
    };
    for account in [
        person("xiaoli", "110105010", true, Vec::new()),
        person("gone", "110105010", false, Vec::new()),
        person("elsewhere", "110105011", true, Vec::new()),
        person(
            "both",
            "110105011",
            true,
            vec![whistle_store::Grant {
                role: "street_official".into(),
                unit: code("110105010"),
            }],
        ),
    ] {
        store
            .put_user(&account, "$argon2id$fake", at("2025-10-09 12:00"))
            .await
            .unwrap();
    }
    let logins = |accounts: Vec<whistle_store::Account>| {
        accounts.into_iter().map(|a| a.login).collect::<Vec<_>>()
    };
    assert_eq!(
        logins(store.colleagues(&code("110105010")).await.unwrap()),
        ["both", "xiaoli"],
        "the disabled one and the other street's are not"
    );
    assert_eq!(
        logins(store.colleagues(&code("110105011")).await.unwrap()),
        ["both", "elsewhere"]
    );
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
