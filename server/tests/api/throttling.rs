//! Sign-in throttling never locks out the owner (SPEC §2): only failures count; the strict
//! limit is per account and address, the per-account limit spares clean addresses, the
//! per-address limit catches spraying; IPv6 counts per /64; a trusted proxy's
//! `X-Forwarded-For` names the client.

use std::net::IpAddr;

use http::StatusCode;
use serde_json::json;
use time::Duration;

use crate::helpers::{
    post_from, spawn_app, spawn_app_with, TestApp, TestResponse, PASSWORD, USERNAME,
};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

async fn sign_in_from(app: &TestApp, from: &str, password: &str) -> TestResponse {
    sign_in_as(app, from, USERNAME, password, &[]).await
}

async fn sign_in_as(
    app: &TestApp,
    from: &str,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    app.request(post_from(
        ip(from),
        "/api/auth/login",
        json!({"username": username, "password": password}),
        headers,
    ))
    .await
}

#[tokio::test]
async fn guessing_from_one_address_is_slowed_and_tells_how_long_to_wait() {
    let app = spawn_app().await;
    for _ in 0..5 {
        sign_in_from(&app, "198.51.100.66", "guess guess")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    let throttled = sign_in_from(&app, "198.51.100.66", "guess guess").await;
    let problem = throttled.assert_problem(429, "rate_limited");
    let retry_after: u64 = throttled.headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    assert_eq!(problem.retry_after, Some(retry_after));
    // The API endpoint shares the budget for that address.
    app.request(post_from(
        ip("198.51.100.66"),
        "/api/auth/token",
        json!({"username": USERNAME, "password": "guess"}),
        &[],
    ))
    .await
    .assert_problem(429, "rate_limited");
    // Once the wait is over, the address may try again.
    app.advance(Duration::seconds(retry_after as i64));
    sign_in_from(&app, "198.51.100.66", "guess guess")
        .await
        .assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn someone_else_guessing_never_locks_out_the_owner() {
    // Replaces "even the right password waits": that was the lock-out.
    let app = spawn_app_with(&[("VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY", "10")]).await;
    // An attacker on many addresses fills every limit the account has.
    for i in 0..12 {
        let from = format!("198.51.100.{i}");
        for _ in 0..5 {
            let answer = sign_in_from(&app, &from, "guess guess").await;
            assert!(
                matches!(answer.status.as_u16(), 401 | 429),
                "{}",
                answer.body
            );
        }
    }
    sign_in_from(&app, "198.51.100.3", "guess guess")
        .await
        .assert_problem(429, "rate_limited");
    // The owner, from an address that has not been failing, gets in: by cookie and by API.
    let owner = sign_in_from(&app, "203.0.113.5", PASSWORD).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.body);
    let api = app
        .request(post_from(
            ip("203.0.113.5"),
            "/api/auth/token",
            json!({"username": USERNAME, "password": PASSWORD}),
            &[],
        ))
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
}

#[tokio::test]
async fn successful_sign_ins_never_use_up_the_budget() {
    let app = spawn_app().await;
    // Signing in on many devices in one minute, all from one address.
    for _ in 0..12 {
        let answer = sign_in_from(&app, "203.0.113.5", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_slowed() {
    let app = spawn_app_with(&[("VIGIL_SIGNIN_LIMIT_PER_IP", "3")]).await;
    for user in ["u1", "u2", "u3"] {
        sign_in_as(&app, "192.0.2.1", user, "some password", &[])
            .await
            .assert_problem(401, "invalid_credentials");
    }
    sign_in_as(&app, "192.0.2.1", "u4", "some password", &[])
        .await
        .assert_problem(429, "rate_limited");
    sign_in_as(&app, "192.0.2.2", "u4", "some password", &[])
        .await
        .assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64() {
    let app = spawn_app().await;
    for i in 1..=5 {
        sign_in_from(&app, &format!("2001:db8:1:2::{i}"), "guess guess")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // Another address of the same /64 is the same client...
    sign_in_from(&app, "2001:db8:1:2:abcd::9", "guess guess")
        .await
        .assert_problem(429, "rate_limited");
    // ...the next /64 is not.
    sign_in_from(&app, "2001:db8:1:3::1", "guess guess")
        .await
        .assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = spawn_app_with(&[("VIGIL_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    /// A sign-in through the trusted proxy, which names `client` as the sender.
    async fn via_proxy(app: &TestApp, client: &str, password: &str) -> TestResponse {
        let forwarded = [("x-forwarded-for", client)];
        sign_in_as(app, "10.0.0.2", USERNAME, password, &forwarded).await
    }
    for _ in 0..5 {
        via_proxy(&app, "198.51.100.66", "guess")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    via_proxy(&app, "198.51.100.66", "guess")
        .await
        .assert_problem(429, "rate_limited");
    // The same proxy forwarding someone else: not one global bucket.
    let other = via_proxy(&app, "203.0.113.5", PASSWORD).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    // An untrusted peer cannot pick its address by forging the header.
    let forged = [("x-forwarded-for", "203.0.113.5")];
    for _ in 0..5 {
        sign_in_as(&app, "198.51.100.99", USERNAME, "guess", &forged)
            .await
            .assert_problem(401, "invalid_credentials");
    }
    sign_in_as(&app, "198.51.100.99", USERNAME, "guess", &forged)
        .await
        .assert_problem(429, "rate_limited");
}
