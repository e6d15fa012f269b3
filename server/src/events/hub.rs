//! This instance's open event streams, and what each one is told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use vigil::events::ServerEvent;

use super::channel::Heard;
use super::{News, NewsChannel};
use crate::session::{EndReason, SessionId, SessionRecord, SessionService, SessionState};

/// Events a stream may have waiting. A page that reads none of them is stuck (or gone): its
/// stream is closed, and a live page opens another.
const QUEUE: usize = 8;
/// How long opening a stream waits for its user's channel to be listened to (Redis); past
/// it the stream opens anyway, and the listener's catching up covers the difference.
const LISTEN_WAIT: Duration = Duration::from_secs(2);

/// How many streams an instance holds: per user (a browser needs one), and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_user: usize,
    pub per_instance: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_user: 8,
            per_instance: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("this instance holds as many event streams as it may ({0})")]
    Full(usize),
}

/// The open streams, shared by the handlers that open them and the task that tells them.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("limits", &self.0.limits)
            .finish_non_exhaustive()
    }
}

struct Inner {
    streams: Mutex<Streams>,
    limits: Limits,
    channel: NewsChannel,
    sessions: SessionService,
    /// A check of every stream is running.
    checking: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Streams {
    by_user: HashMap<i64, Vec<Entry>>,
    count: usize,
    next_key: u64,
}

struct Entry {
    key: u64,
    session: SessionId,
    events: mpsc::Sender<ServerEvent>,
}

/// One open stream: its events, until the sender closes them. Dropping it closes the
/// stream's place in the hub.
pub struct Subscription {
    pub events: mpsc::Receiver<ServerEvent>,
    _open: Open,
}

struct Open {
    hub: Weak<Inner>,
    user_id: i64,
    key: u64,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(inner) = self.hub.upgrade() {
            inner.close(self.user_id, |entry| entry.key == self.key);
        }
    }
}

impl Hub {
    /// The hub, and its task: it tells the streams what the channel hears, and checks them
    /// against the store on the channel's timer and after every gap in the news.
    pub fn new(sessions: SessionService, channel: NewsChannel, limits: Limits) -> Self {
        let heard = channel.hear();
        let check_every = channel.check_every();
        let inner = Arc::new(Inner {
            streams: Mutex::default(),
            limits,
            channel,
            sessions,
            checking: std::sync::atomic::AtomicBool::new(false),
        });
        tokio::spawn(run(Arc::downgrade(&inner), heard, check_every));
        Self(inner)
    }

    /// Opens a stream for the session `record` (just authenticated). Its first event says
    /// whether the session still lives: `ready` once the stream is sure to hear anything
    /// that ends it, or `session_ended` if something already did.
    pub async fn open(&self, record: &SessionRecord) -> Result<Subscription, Refused> {
        let inner = &self.0;
        let user_id = record.user.id;
        let (sender, events) = mpsc::channel(QUEUE);
        let (key, listening) = {
            let mut streams = inner.lock();
            if streams.count >= inner.limits.per_instance {
                return Err(Refused::Full(inner.limits.per_instance));
            }
            let key = streams.next_key;
            streams.next_key += 1;
            let entries = streams.by_user.entry(user_id).or_default();
            // One browser needs one stream: past the limit the oldest goes, of this session
            // if it has one (a page of it that left without closing it), else of the user.
            let evicted = entries.len() + 1 > inner.limits.per_user.max(1);
            if evicted {
                let oldest = entries
                    .iter()
                    .position(|entry| entry.session == record.id)
                    .unwrap_or(0);
                entries.remove(oldest);
            }
            entries.push(Entry {
                key,
                session: record.id.clone(),
                events: sender.clone(),
            });
            if !evicted {
                streams.count += 1;
            }
            // Ordered under the lock, as a closing stream's stop is: the channel's listener
            // takes them in the order the streams opened and closed.
            (key, inner.channel.listen(user_id))
        };
        let subscription = Subscription {
            events,
            _open: Open {
                hub: Arc::downgrade(inner),
                user_id,
                key,
            },
        };
        // Listened to before the record is read again: an ending after that read is heard,
        // one before it is read.
        if let Some(listening) = listening {
            let _ = tokio::time::timeout(LISTEN_WAIT, listening).await;
        }
        let first = match inner.ended(user_id, &record.id, true).await {
            None => Some(ServerEvent::Ready),
            // Replaced by a new sign-in here: nothing to tell, the page opens another.
            Some(reason) => reason
                .told()
                .map(|reason| ServerEvent::SessionEnded { reason }),
        };
        match first {
            Some(ServerEvent::Ready) => {
                let _ = sender.try_send(ServerEvent::Ready);
            }
            ended => {
                if let Some(ended) = ended {
                    let _ = sender.try_send(ended);
                }
                inner.close(user_id, |entry| entry.key == key);
            }
        }
        Ok(subscription)
    }

    /// Closes every stream (the server is stopping: its pages reconnect to another).
    pub fn close_all(&self) {
        let users: Vec<i64> = self.0.lock().by_user.keys().copied().collect();
        for user in users {
            self.0.close(user, |_| true);
        }
    }

    /// How many streams are open here.
    pub fn open_streams(&self) -> usize {
        self.0.lock().count
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the user's streams that `which` picks (their events end after what is
    /// queued); the user's channel is left once none is open.
    fn close(&self, user_id: i64, which: impl Fn(&Entry) -> bool) {
        let mut streams = self.lock();
        let Some(entries) = streams.by_user.get_mut(&user_id) else {
            return;
        };
        let before = entries.len();
        entries.retain(|entry| !which(entry));
        let closed = before - entries.len();
        let none_left = entries.is_empty();
        if none_left {
            streams.by_user.remove(&user_id);
        }
        streams.count -= closed;
        if none_left && closed > 0 {
            // Under the lock: ordered with the listen of a stream opening meanwhile.
            self.channel.stop(user_id);
        }
    }

    /// Tells the user's streams: the ended session's its reason (and closes it), the others
    /// that the list of sessions changed. A stream that cannot take its ending is closed as
    /// stuck. `sessions_changed` says only "read the list again", so one already waiting
    /// is enough: it is queued only while that leaves room for `ready` (a stream still
    /// opening) and the stream's ending. Without that, a
    /// burst (signing out everywhere else ends many sessions at once, each news to every
    /// stream) filled a stream's queue before its own ending came, and closed it untold
    /// (found by `make bench`'s endings run).
    fn deliver(&self, news: &News) {
        let mut stuck = Vec::new();
        let mut ended = Vec::new();
        {
            let streams = self.lock();
            let Some(entries) = streams.by_user.get(&news.user_id) else {
                return;
            };
            for entry in entries {
                let event = match &news.ended {
                    Some((session, reason)) if entry.session.public_id() == session => {
                        ended.push(entry.key);
                        match reason.told() {
                            Some(reason) => ServerEvent::SessionEnded { reason },
                            None => continue,
                        }
                    }
                    _ if entry.events.capacity() <= 2 => continue,
                    _ => ServerEvent::SessionsChanged,
                };
                if entry.events.try_send(event).is_err() {
                    stuck.push(entry.key);
                }
            }
        }
        if !stuck.is_empty() || !ended.is_empty() {
            self.close(news.user_id, |entry| {
                stuck.contains(&entry.key) || ended.contains(&entry.key)
            });
        }
    }

    /// Why session `id` is over, if it is, as the store has it now (`None` also when the
    /// store cannot answer: the next check asks again). Unless `fresh`, from a copy the
    /// store can prove current if it keeps one (the embedded database's, checked against
    /// the write marks every process shares).
    async fn ended(&self, user_id: i64, id: &SessionId, fresh: bool) -> Option<EndReason> {
        let now = self.sessions.now();
        let store = self.sessions.store();
        let loaded = match fresh {
            true => store.load_fresh(user_id, id).await,
            false => store.load(user_id, id).await,
        };
        match loaded {
            Ok(Some(record)) => match record.state_at(now) {
                SessionState::Alive => None,
                SessionState::Ended(tombstone) => Some(tombstone.reason),
                SessionState::Expired(reason) => Some(reason.into()),
            },
            // Past its retention and swept.
            Ok(None) => Some(EndReason::Idle),
            Err(err) => {
                tracing::debug!(error = %err, "an event stream's session could not be checked");
                None
            }
        }
    }

    /// Checks every stream's session against the store; after a gap in the news, also
    /// tells every user's streams that their list may have changed.
    async fn check(&self, gap: bool) {
        // Grouped as the hub keeps them: each user once, whatever their number of streams.
        let watched: Vec<(i64, Vec<SessionId>)> = self
            .lock()
            .by_user
            .iter()
            .map(|(user, entries)| (*user, entries.iter().map(|e| e.session.clone()).collect()))
            .collect();
        for (user_id, sessions) in watched {
            for session in sessions {
                if let Some(reason) = self.ended(user_id, &session, false).await {
                    self.deliver(&News {
                        user_id,
                        ended: Some((session.public_id().to_owned(), reason)),
                    });
                }
            }
            if gap {
                self.deliver(&News {
                    user_id,
                    ended: None,
                });
            }
        }
    }
}

/// The hub's task: news as it is heard, a check of every stream on the timer and after a
/// gap. Ends with the hub.
async fn run(hub: Weak<Inner>, mut heard: broadcast::Receiver<Heard>, every: Duration) {
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let gap = tokio::select! {
            heard = heard.recv() => match heard {
                Ok(Heard::News(news)) => {
                    let Some(hub) = hub.upgrade() else { return };
                    hub.deliver(&news);
                    continue;
                }
                Ok(Heard::Gap) | Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            },
            _ = timer.tick() => false,
        };
        let Some(hub) = hub.upgrade() else { return };
        // In a task of its own, one at a time: news keeps being told while the store is read.
        if !hub.checking.swap(true, std::sync::atomic::Ordering::AcqRel) {
            tokio::spawn(async move {
                hub.check(gap).await;
                hub.checking
                    .store(false, std::sync::atomic::Ordering::Release);
            });
        }
    }
}
