//! What operators watch (SPEC §8): Prometheus metrics of sessions, sign-ins and the store,
//! kept per application (tests run many side by side) and served as text at `/metrics`, or
//! on `VIGIL_METRICS_ADDR` when that is set. docs/operations.md lists each metric.

use std::time::Instant;

use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::session::EndReason;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: &'static str,
}

type Latency = Family<Operation, Histogram, fn() -> Histogram>;

/// The session-store calls whose latency is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCall {
    Create,
    Load,
    Replace,
    ForUser,
    DeleteExpired,
}

impl StoreCall {
    const ALL: [Self; 5] = [
        Self::Create,
        Self::Load,
        Self::Replace,
        Self::ForUser,
        Self::DeleteExpired,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Load => "load",
            Self::Replace => "replace",
            Self::ForUser => "for_user",
            Self::DeleteExpired => "delete_expired",
        }
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    started: Counter,
    ended: Family<Reason, Counter>,
    extended: Counter,
    refreshed: Counter,
    reuse: Counter,
    throttled: Counter,
    unavailable: Counter,
    active: Gauge,
    /// One histogram per [`StoreCall`], looked up once here rather than on every call.
    store_latency: [Histogram; 5],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vigil");
        let started = Counter::default();
        let ended = Family::<Reason, Counter>::default();
        let extended = Counter::default();
        let refreshed = Counter::default();
        let reuse = Counter::default();
        let throttled = Counter::default();
        let unavailable = Counter::default();
        let active = Gauge::default();
        let store_latency: Latency = Family::new_with_constructor(latency_histogram);
        registry.register(
            "sessions_started",
            "Sessions started by a sign-in",
            started.clone(),
        );
        registry.register(
            "sessions_ended",
            "Sessions ended, by reason (logout, revoked, idle, absolute, reuse)",
            ended.clone(),
        );
        registry.register(
            "session_extends",
            "Idle deadlines moved by user activity (store writes, coalesced per heartbeat)",
            extended.clone(),
        );
        registry.register(
            "token_refreshes",
            "Tokens rotated by a refresh",
            refreshed.clone(),
        );
        registry.register(
            "token_reuse_detections",
            "Superseded tokens presented after the grace window; each revoked its session",
            reuse.clone(),
        );
        registry.register(
            "sign_ins_throttled",
            "Sign-in attempts refused with 429 by the failure limits",
            throttled.clone(),
        );
        registry.register(
            "unavailable_responses",
            "Responses with status 503 (store unavailable, password checks saturated)",
            unavailable.clone(),
        );
        registry.register(
            "active_sessions",
            "Sessions live at the moment of the scrape, in the whole store",
            active.clone(),
        );
        registry.register(
            "store_latency_seconds",
            "Time each session-store call took, by operation",
            store_latency.clone(),
        );
        let store_latency = StoreCall::ALL.map(|call| {
            store_latency
                .get_or_create(&Operation {
                    operation: call.label(),
                })
                .clone()
        });
        Self {
            registry,
            started,
            ended,
            extended,
            refreshed,
            reuse,
            throttled,
            unavailable,
            active,
            store_latency,
        }
    }

    pub fn session_started(&self) {
        self.started.inc();
    }

    pub fn session_ended(&self, reason: EndReason) {
        // The labels predate the finer reasons: someone else's ending is "revoked".
        let reason = match reason {
            EndReason::Logout | EndReason::Replaced => "logout",
            EndReason::Revoked
            | EndReason::PasswordChanged
            | EndReason::Operator
            | EndReason::SessionLimit
            | EndReason::Disabled => "revoked",
            EndReason::Idle => "idle",
            EndReason::Absolute => "absolute",
            EndReason::Reuse => "reuse",
        };
        self.ended.get_or_create(&Reason { reason }).inc();
    }

    pub fn extended(&self) {
        self.extended.inc();
    }

    pub fn refreshed(&self) {
        self.refreshed.inc();
    }

    pub fn reuse_detected(&self) {
        self.reuse.inc();
    }

    pub fn store_call(&self, call: StoreCall, since: Instant) {
        self.store_latency[call as usize].observe(since.elapsed().as_secs_f64());
    }

    /// The text exposition, with `active` sessions as counted just now (none when the store
    /// could not say).
    pub fn render(&self, active: Option<u64>) -> String {
        if let Some(active) = active {
            self.active.set(i64::try_from(active).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %err, "could not encode the metrics");
        }
        text
    }
}

/// Counts refusals on their way out, in the one step every response crosses: every 503, and
/// every 429 (only the sign-in limits answer it).
pub fn count_refusals<B>(metrics: &Metrics, response: http::Response<B>) -> http::Response<B> {
    match response.status() {
        StatusCode::SERVICE_UNAVAILABLE => {
            metrics.unavailable.inc();
        }
        StatusCode::TOO_MANY_REQUESTS => {
            metrics.throttled.inc();
        }
        _ => {}
    }
    response
}

/// The exposition as an HTTP answer.
pub fn exposition(text: String) -> Response {
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_its_help() {
        let metrics = Metrics::new();
        metrics.session_started();
        metrics.session_ended(EndReason::Idle);
        metrics.store_call(StoreCall::Load, Instant::now());
        let text = metrics.render(Some(3));
        for line in [
            "vigil_sessions_started_total 1",
            "vigil_sessions_ended_total{reason=\"idle\"} 1",
            "vigil_active_sessions 3",
            "# HELP vigil_token_reuse_detections",
            "vigil_store_latency_seconds_count{operation=\"load\"} 1",
        ] {
            assert!(text.contains(line), "missing `{line}` in\n{text}");
        }
    }
}
