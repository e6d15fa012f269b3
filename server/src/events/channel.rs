//! How news of sessions travels between the processes that share the sessions.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use redis::{PushInfo, PushKind, Value};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::News;
use crate::redis_connection::{Listener, RedisConnection};
use crate::session::store::Keys;

/// How much news a slow hub may fall behind before it is told it missed some (and catches
/// up from the store).
const BACKLOG: usize = 1024;
/// How long the listening connection waits before trying Redis again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What a hub hears.
#[derive(Debug, Clone)]
pub enum Heard {
    News(News),
    /// News may have been lost (the listening connection was away, or the hub fell behind):
    /// the hub checks its streams against the store.
    Gap,
}

/// Where news is published and heard.
#[derive(Debug, Clone)]
pub enum NewsChannel {
    /// This process only. Another process on the same database (the command line) is not
    /// heard: the hub's timer checks the database instead.
    Local(broadcast::Sender<Heard>),
    /// Redis pub/sub: one channel per user, beside the user's keys (a sharded channel on a
    /// cluster, so each user's news stays on the node of their sessions).
    Redis(Arc<RedisNews>),
}

#[derive(Debug)]
pub struct RedisNews {
    connection: RedisConnection,
    keys: Keys,
    heard: broadcast::Sender<Heard>,
    /// For the listening task, in order: whose channels to listen to.
    orders: mpsc::UnboundedSender<Order>,
}

#[derive(Debug)]
enum Order {
    /// Answered once the channel is listened to (dropped if Redis is away: the news of
    /// the time until it is back is caught up from the store).
    Listen(i64, oneshot::Sender<()>),
    Stop(i64),
}

impl NewsChannel {
    /// Through Redis when sessions are kept there, else in this process.
    pub fn of(redis: Option<&RedisConnection>, prefix: &str) -> Self {
        match redis {
            Some(connection) => Self::redis(connection.clone(), Keys::new(prefix)),
            None => Self::local(),
        }
    }

    pub fn local() -> Self {
        Self::Local(broadcast::channel(BACKLOG).0)
    }

    /// How often a hub checks its streams against the store: what this channel cannot hear
    /// (another process on the database) is found that way.
    pub fn check_every(&self) -> Duration {
        match self {
            Self::Local(_) => super::CHECK_DATABASE_EVERY,
            Self::Redis(_) => super::CHECK_SHARED_EVERY,
        }
    }

    /// News through Redis. Nothing connects until a user's channel is listened to; the
    /// listening task runs while the channel lives.
    pub fn redis(connection: RedisConnection, keys: Keys) -> Self {
        let heard = broadcast::channel(BACKLOG).0;
        let (orders, received) = mpsc::unbounded_channel();
        tokio::spawn(listen(
            connection.clone(),
            keys.clone(),
            heard.clone(),
            received,
        ));
        Self::Redis(Arc::new(RedisNews {
            connection,
            keys,
            heard,
            orders,
        }))
    }

    /// Tells every process. News that cannot be sent is logged: the session's ending is
    /// written, and the hubs' timers find it in the store.
    pub async fn publish(&self, news: &News) {
        match self {
            Self::Local(heard) => {
                // Nobody listening (the command line) is no failure.
                let _ = heard.send(Heard::News(news.clone()));
            }
            Self::Redis(redis) => {
                let message = match serde_json::to_string(news) {
                    Ok(message) => message,
                    Err(err) => {
                        tracing::error!(error = %err, "news of a session could not be written");
                        return;
                    }
                };
                let channel = redis.keys.news(news.user_id);
                if let Err(err) = redis.connection.publish(&channel, &message).await {
                    tracing::warn!(error = %err, "news of a session could not be published");
                }
            }
        }
    }

    /// What this process hears from now on.
    pub fn hear(&self) -> broadcast::Receiver<Heard> {
        match self {
            Self::Local(heard) => heard.subscribe(),
            Self::Redis(redis) => redis.heard.subscribe(),
        }
    }

    /// Starts hearing the news of `user_id` (a stream of theirs opened here). With Redis,
    /// what it returns resolves once the news is heard, or once it is clear it cannot be yet.
    pub fn listen(&self, user_id: i64) -> Option<oneshot::Receiver<()>> {
        let Self::Redis(redis) = self else {
            return None;
        };
        let (done, listening) = oneshot::channel();
        redis.orders.send(Order::Listen(user_id, done)).ok()?;
        Some(listening)
    }

    /// Stops hearing it (the last stream of theirs here closed).
    pub fn stop(&self, user_id: i64) {
        if let Self::Redis(redis) = self {
            let _ = redis.orders.send(Order::Stop(user_id));
        }
    }
}

/// The payload of a message push (`[channel, payload]`).
fn news_of(push: &PushInfo) -> Option<News> {
    match push.data.last()? {
        Value::BulkString(bytes) => serde_json::from_slice(bytes).ok(),
        Value::SimpleString(text) => serde_json::from_str(text).ok(),
        _ => None,
    }
}

/// The listening task: one connection for the channels of every user with a stream here.
/// When it is lost, the connection is made again (every [`RECONNECT_AFTER`]), every channel
/// listened to again, and the hub told of the gap.
async fn listen(
    connection: RedisConnection,
    keys: Keys,
    heard: broadcast::Sender<Heard>,
    mut orders: mpsc::UnboundedReceiver<Order>,
) {
    let mut users: HashSet<i64> = HashSet::new();
    let mut listener: Option<Listener> = None;
    let mut waiting_for_connection: Vec<oneshot::Sender<()>> = Vec::new();
    // Whether news may have been said while streams were open here and nobody listened.
    let mut missed = false;
    let (pushed, mut pushes) = mpsc::unbounded_channel::<PushInfo>();
    loop {
        let waiting = listener.is_none() && !users.is_empty();
        tokio::select! {
            order = orders.recv() => {
                let Some(order) = order else { return };
                let (user, mut answer) = match order {
                    Order::Listen(user, answer) => {
                        users.insert(user);
                        (user, Some(answer))
                    }
                    Order::Stop(user) => {
                        users.remove(&user);
                        (user, None)
                    }
                };
                if let (None, Some(answer)) = (&listener, answer.take()) {
                    waiting_for_connection.push(answer);
                }
                if let Some(connected) = listener.as_mut() {
                    let channel = keys.news(user);
                    let done = match users.contains(&user) {
                        true => connected.listen(&channel).await,
                        false => connected.stop_listening(&channel).await,
                    };
                    match (done, answer) {
                        (Ok(()), Some(answer)) => {
                            // A stream that gave up waiting opened unheard: whatever was
                            // said meanwhile is read from the store.
                            if answer.send(()).is_err() {
                                let _ = heard.send(Heard::Gap);
                            }
                        }
                        (Ok(()), None) => {}
                        (Err(err), _) => {
                            tracing::warn!(error = %err, "the news listener lost Redis");
                            listener = None;
                            missed = true;
                        }
                    }
                }
            }
            Some(push) = pushes.recv() => match push.kind {
                PushKind::Message | PushKind::SMessage => {
                    if let Some(news) = news_of(&push) {
                        let _ = heard.send(Heard::News(news));
                    }
                }
                PushKind::Disconnection => {
                    tracing::warn!("the news listener lost Redis; listening again");
                    listener = None;
                    missed = true;
                }
                _ => {}
            },
            () = tokio::time::sleep(RECONNECT_AFTER), if waiting => {}
        }
        if listener.is_none() && !users.is_empty() {
            listener = connect(&connection, &keys, &users, pushed.clone()).await;
            let answers = std::mem::take(&mut waiting_for_connection);
            if listener.is_none() {
                // Their streams open without waiting longer, unheard until Redis is back.
                missed |= !answers.is_empty();
                continue;
            }
            // A stream that gave up waiting, or one open while the connection was lost, may
            // have missed news: it is read from the store.
            let gave_up = answers.into_iter().any(|answer| answer.send(()).is_err());
            if std::mem::take(&mut missed) || gave_up {
                let _ = heard.send(Heard::Gap);
            }
        }
    }
}

async fn connect(
    connection: &RedisConnection,
    keys: &Keys,
    users: &HashSet<i64>,
    pushed: mpsc::UnboundedSender<PushInfo>,
) -> Option<Listener> {
    let mut listener = match connection.listener(pushed).await {
        Ok(listener) => listener,
        Err(err) => {
            tracing::warn!(error = %err, "the news listener cannot reach Redis yet");
            return None;
        }
    };
    for user in users {
        if let Err(err) = listener.listen(&keys.news(*user)).await {
            tracing::warn!(error = %err, "the news listener cannot listen yet");
            return None;
        }
    }
    Some(listener)
}
