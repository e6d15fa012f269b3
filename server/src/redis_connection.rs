//! One connection to Redis (or Valkey), standalone or Cluster, shared by the session store
//! and the sign-in limits.
//!
//! Nothing is connected at start: an instance can come up while Redis is down, answer
//! `503 store_unavailable`, and recover by itself once Redis answers again. Every call is
//! bounded by the store timeout, so a Redis that stops answering makes requests fail, not
//! hang.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{AsyncPushSender, ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, ProtocolVersion, RedisError, RedisFuture, Value};
use thiserror::Error;
use tokio::sync::OnceCell;

/// Redis did not answer (or answered with an error) within the timeout.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct Unavailable(String);

#[derive(Debug, Error)]
pub enum RedisSetupError {
    #[error("VIGIL_SESSION_STORE is not a usable Redis URL: {0}")]
    Url(#[source] RedisError),
}

/// Where to connect: one server, or the seed nodes of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    Single(String),
    Cluster(Vec<String>),
}

#[derive(Clone)]
enum Link {
    /// One multiplexed connection that reconnects by itself.
    Single(ConnectionManager),
    /// Made on first use (the cluster client connects eagerly), then kept.
    Cluster(Arc<(ClusterClient, OnceCell<ClusterConnection>)>),
}

/// A connection ready for one call.
pub enum Ready {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Ready {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[derive(Clone)]
pub struct RedisConnection {
    link: Link,
    target: RedisTarget,
    timeout: Duration,
}

/// A connection that only listens to channels (a subscribed connection can do nothing else),
/// its messages handed to the push sender it was made with. It reconnects, and subscribes
/// again, by itself; a [`PushKind::Disconnection`](redis::PushKind) tells the listener that
/// messages may have been lost meanwhile.
pub enum Listener {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Listener {
    /// Listens to `channel` (a sharded channel on a cluster: the node of its slot).
    pub async fn listen(&mut self, channel: &str) -> Result<(), RedisError> {
        match self {
            Self::Single(c) => c.subscribe(channel).await,
            Self::Cluster(c) => c.ssubscribe(channel).await,
        }
    }

    pub async fn stop_listening(&mut self, channel: &str) -> Result<(), RedisError> {
        match self {
            Self::Single(c) => c.unsubscribe(channel).await,
            Self::Cluster(c) => c.sunsubscribe(channel).await,
        }
    }
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.link {
            Link::Single(_) => "single",
            Link::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisConnection")
            .field("kind", &kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConnection {
    /// Checks the URLs; connects on first use.
    pub fn new(target: &RedisTarget, timeout: Duration) -> Result<Self, RedisSetupError> {
        let link = match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(RedisSetupError::Url)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(timeout);
                let manager = ConnectionManager::new_lazy_with_config(client, config)
                    .map_err(RedisSetupError::Url)?;
                Link::Single(manager)
            }
            RedisTarget::Cluster(urls) => {
                let client = ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(1)
                    .build()
                    .map_err(RedisSetupError::Url)?;
                Link::Cluster(Arc::new((client, OnceCell::new())))
            }
        };
        Ok(Self {
            link,
            target: target.clone(),
            timeout,
        })
    }

    /// A [`Listener`] to the same Redis, speaking RESP3 (whose pushes carry the messages).
    pub async fn listener(&self, push: impl AsyncPushSender) -> Result<Listener, Unavailable> {
        let unavailable = |err: RedisError| Unavailable(format!("redis listener: {err}"));
        let made = async {
            match &self.target {
                RedisTarget::Single(url) => {
                    let client = redis::Client::open(url.as_str())?;
                    let info = client.get_connection_info().clone();
                    let settings = info
                        .redis_settings()
                        .clone()
                        .set_protocol(ProtocolVersion::RESP3);
                    let client = redis::Client::open(info.set_redis_settings(settings))?;
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(self.timeout))
                        .set_response_timeout(Some(self.timeout))
                        .set_push_sender(push)
                        .set_automatic_resubscription();
                    Ok(Listener::Single(
                        ConnectionManager::new_with_config(client, config).await?,
                    ))
                }
                RedisTarget::Cluster(urls) => {
                    let client = ClusterClient::builder(urls.iter().map(String::as_str))
                        .connection_timeout(self.timeout)
                        .response_timeout(self.timeout)
                        .use_protocol(ProtocolVersion::RESP3)
                        .push_sender(push)
                        .build()?;
                    Ok(Listener::Cluster(client.get_async_connection().await?))
                }
            }
        };
        match tokio::time::timeout(self.timeout, made).await {
            Ok(made) => made.map_err(unavailable),
            Err(_) => Err(Unavailable(format!(
                "redis listener: no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// Publishes `message` on `channel` (sharded on a cluster, to the node of its slot).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), Unavailable> {
        let command = match self.target {
            RedisTarget::Single(_) => "PUBLISH",
            RedisTarget::Cluster(_) => "SPUBLISH",
        };
        self.call(command, |mut c| async move {
            redis::cmd(command)
                .arg(channel)
                .arg(message)
                .query_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|_| ())
    }

    async fn ready(&self) -> Result<Ready, RedisError> {
        match &self.link {
            Link::Single(manager) => Ok(Ready::Single(manager.clone())),
            Link::Cluster(cluster) => {
                let (client, cell) = &**cluster;
                let connection = cell
                    .get_or_try_init(|| client.get_async_connection())
                    .await?;
                Ok(Ready::Cluster(connection.clone()))
            }
        }
    }

    /// Runs one call within the timeout; any failure is "unavailable", named by `what`.
    ///
    /// A call that finds its connection broken (Redis restarted, a failover) is tried once
    /// more on the fresh connection the failure started, still within the timeout: the
    /// first request after Redis comes back works, rather than the second.
    pub async fn call<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, Unavailable>
    where
        F: Fn(Ready) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let attempt = async {
            let first = match self.ready().await {
                Ok(connection) => call(connection).await,
                Err(err) => Err(err),
            };
            match first {
                Err(err) if err.is_io_error() || err.is_connection_dropped() => {
                    call(self.ready().await?).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(Unavailable(format!("redis {what}: {err}"))),
            Err(_) => Err(Unavailable(format!(
                "redis {what}: no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// Answers whether Redis answers.
    pub async fn ping(&self) -> Result<(), Unavailable> {
        self.call("PING", |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_redis_is_unavailable() {
        let connection = RedisConnection::new(
            &RedisTarget::Single("redis://127.0.0.1:1".into()),
            Duration::from_millis(100),
        )
        .expect("a valid URL");
        let err = connection
            .ping()
            .await
            .expect_err("nothing listens on port 1");
        assert!(err.to_string().starts_with("redis PING"), "{err}");
    }

    #[test]
    fn a_malformed_url_is_refused_at_start() {
        let made = RedisConnection::new(
            &RedisTarget::Single("redis://[::1".into()),
            Duration::from_millis(100),
        );
        assert!(matches!(made, Err(RedisSetupError::Url(_))));
    }
}
