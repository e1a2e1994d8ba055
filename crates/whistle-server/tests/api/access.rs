//! Signing in and the public side: sessions and cookies, tracking by the last four digits, rate limits.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use whistle_core::ids::UnitCode;
use whistle_server::{Clock, ServerSettings};

#[tokio::test]
async fn login_sessions_and_cookies() {
    let app = spawn_app().await;
    let hash = whistle_server::auth::hash_password("correct horse battery").unwrap();
    let account = whistle_store::Account {
        login: "xiaowang".into(),
        display_name: "小王".into(),
        role: "operator".into(),
        unit: UnitCode::parse("11.center").unwrap(),
        active: true,
        other_roles: Vec::new(),
    };
    app.state
        .store
        .put_user(&account, &hash, app.clock.now())
        .await
        .unwrap();
    let (status, body) = app
        .post(
            "",
            "/api/v1/login",
            json!({"login": "xiaowang", "password": "wrong"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let response = app
        .client
        .post(format!("{}/api/v1/login", app.base))
        .json(&json!({"login": "xiaowang", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let session = cookie.split(';').next().unwrap().to_string();
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["role"], "operator");
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Sessions expire; logout ends them.
    app.clock.advance(13 * 60);
    let expired = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn citizens_track_with_the_last_four_digits_and_public_endpoints_are_rate_limited() {
    let app = spawn_app_with(ServerSettings {
        track_per_ip_per_minute: 5,
        ..ServerSettings::default()
    })
    .await;
    let no = app.order("110105010", "11.04.01").await;
    let (status, progress) = app
        .get("", &format!("/api/v1/track/{no}?phone_last4=1234"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(progress["stage"], "dispatched");
    assert!(!progress.to_string().contains("1380000") && !progress.to_string().contains("张"));
    assert_eq!(
        app.get("", &format!("/api/v1/track/{no}?phone_last4=9999"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("", "/api/v1/track/20990101-000001?phone_last4=1234")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let mut limited = None;
    for _ in 0..5 {
        let response = app
            .client
            .get(format!("{}/api/v1/track/{no}?phone_last4=1234", app.base))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(
                response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string()),
            );
            break;
        }
    }
    let retry_after = limited
        .expect("the sixth request in a minute is limited")
        .expect("with Retry-After");
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
}
