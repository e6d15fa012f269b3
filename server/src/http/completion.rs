//! A change a client sent is carried out whole, even when the client goes away.
//!
//! When a client disconnects (a closed tab, a dropped network, a load generator stopping),
//! hyper drops the request's future wherever it is. Dropped inside a database transaction
//! that had already taken SQLite's write lock, the connection went back to the pool still
//! holding it, and every other write waited out the busy timeout and failed: the next
//! sign-ins answered `503 store_unavailable` until that connection happened to be used
//! again (found by `make bench`, which stops its load generator mid-request). A change cut
//! off halfway is wrong anyway: whether an autosave is applied must not depend on when the
//! client hung up. So a state-changing request runs on a task of its own, which the
//! connection merely waits for; reads stay on the connection's task.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use vigil::{ErrorCode, Problem};

use crate::http::problem::{is_state_changing, problem_response, ProblemContext};

pub async fn run_to_completion(request: Request, next: Next) -> Response {
    if !is_state_changing(request.method()) {
        return next.run(request).await;
    }
    let context = ProblemContext::of(&request);
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(error = %err, path = %context.uri.path(), "a request failed");
            problem_response(
                Problem::new(
                    ErrorCode::InternalError,
                    "The request could not be completed.",
                ),
                &context,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::Body;
    use axum::middleware::from_fn;
    use axum::routing::put;
    use axum::Router;
    use http::StatusCode;
    use tokio::sync::Notify;
    use tower::ServiceExt;

    use super::*;

    /// A handler that writes only after `go` is notified: the client gives up before that.
    fn app(go: Arc<Notify>, written: Arc<AtomicBool>) -> Router {
        Router::new()
            .route(
                "/change",
                put(move || async move {
                    go.notified().await;
                    written.store(true, Ordering::SeqCst);
                    StatusCode::NO_CONTENT
                }),
            )
            .layer(from_fn(run_to_completion))
    }

    #[tokio::test]
    async fn a_change_is_carried_out_after_its_client_went_away() {
        let (go, written) = (Arc::new(Notify::new()), Arc::new(AtomicBool::new(false)));
        let request = Request::put("/change")
            .body(Body::empty())
            .expect("request");
        // The client stops waiting (its future is dropped) while the change is under way.
        let answer = tokio::time::timeout(
            Duration::from_millis(20),
            app(go.clone(), written.clone()).oneshot(request),
        )
        .await;
        assert!(answer.is_err(), "the client gave up first");
        go.notify_one();
        for _ in 0..200 {
            if written.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the change was abandoned with its client");
    }

    #[tokio::test]
    async fn a_panicking_change_is_an_internal_error_problem() {
        let app = Router::new()
            .route(
                "/change",
                put(|| async {
                    if true {
                        panic!("a bug");
                    }
                    StatusCode::NO_CONTENT
                }),
            )
            .layer(from_fn(run_to_completion));
        let request = Request::put("/change")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"application/problem+json"[..])
        );
    }
}
