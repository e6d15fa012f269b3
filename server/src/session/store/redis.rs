//! The session store for several instances: Redis (or Valkey), standalone or Cluster.
//!
//! One user's keys share a cluster hash tag, `<prefix>:{u:<id>}:…`, so that a session's
//! record and the user's index of sessions always live on one node and one script can
//! touch both:
//! - `<prefix>:{u:<id>}:s:<sid>`: a hash, `v` (the version), `r` (the record as JSON) and
//!   `l` (until when it is live, unix seconds; 0 once ended), expiring at the record's
//!   retention;
//! - `<prefix>:{u:<id>}:sessions`: a sorted set of the user's session ids, scored by their
//!   retention, expiring with the last of them.
//!
//! - `<prefix>:live`: a sorted set of every live session (`<user>:<public id>`) scored by
//!   until when it is live, kept best-effort beside the writes, for the active-sessions
//!   metric only: nothing decides on it.
//!
//! The conditional write is one Lua script (sent by hash, loaded again when the server
//! answers NOSCRIPT), never WATCH/MULTI, which would need a connection of its own per
//! writer. Nothing is cached in the process: every verdict reads the store, so a sign-out
//! on one instance is refused on every other at the next request (what is kept is only the
//! decoding of the text last read for each record, used when the same text comes back).
//! Every call is bounded by the configured timeout; whatever does not answer in time is
//! "unavailable", which the service answers with `503 store_unavailable`.
//!
//! Retention is Redis' own expiry, on Redis' clock: sweeping deletes nothing here.

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use redis::Script;
use time::OffsetDateTime;

use super::{decode, encode, Created, NewSession, Replaced, SessionStore, StoreError};
use crate::redis_connection::{Ready, RedisConnection};
use crate::session::{SessionId, SessionRecord};

/// Stores the record as version 0, unless a record with this id exists (0) or, with a
/// limit above 0, the user has that many sessions live at `now` (-1). The records are read
/// through the index; they share its hash tag, so they live on the same node. With a third
/// key, the session this sign-in replaces is ended in the same step, only if it is still at
/// the version it was read at (else -2, nothing written), and it does not count.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local replacing = #KEYS >= 3
if replacing then
  local stored = redis.call('HGET', KEYS[3], 'v')
  if not stored or stored ~= ARGV[7] then return -2 end
end
local limit = tonumber(ARGV[5])
if limit > 0 then
  local now = tonumber(ARGV[6])
  local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[3])
  local live = 0
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if not (replacing and id == ARGV[10]) then
      local fields = redis.call('HMGET', prefix .. id, 'v', 'l')
      if fields[1] and ((not fields[2]) or tonumber(fields[2]) > now) then
        live = live + 1
      end
    end
  end
  if live >= limit then return -1 end
end
if replacing then
  local next = tonumber(ARGV[7]) + 1
  redis.call('HSET', KEYS[3], 'v', next, 'r', ARGV[8], 'l', 0)
  redis.call('EXPIREAT', KEYS[3], ARGV[9])
  redis.call('ZADD', KEYS[2], ARGV[9], ARGV[10])
end
redis.call('HSET', KEYS[1], 'v', 0, 'r', ARGV[1], 'l', ARGV[4])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[2], last[2])
return 1
";

/// Stores the record with its version advanced by one, only if the stored version is
/// still the one it was read at; answers the new version, or -1.
const REPLACE: &str = r"
local stored = redis.call('HGET', KEYS[1], 'v')
if not stored or stored ~= ARGV[1] then return -1 end
local next = tonumber(stored) + 1
redis.call('HSET', KEYS[1], 'v', next, 'r', ARGV[2], 'l', ARGV[5])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[2], last[2])
return next
";

/// The names of one deployment's keys (see the module documentation).
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// `prefix` must not hold braces (configuration refuses them): the first `{…}` in a key
    /// decides its cluster slot, and that must be the user's tag.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The hash tag that keeps one user's keys on one node.
    fn user_tag(&self, user_id: i64) -> String {
        format!("{}:{{u:{user_id}}}", self.prefix)
    }

    pub fn record(&self, user_id: i64, id: &str) -> String {
        format!("{}:s:{id}", self.user_tag(user_id))
    }

    pub fn index(&self, user_id: i64) -> String {
        format!("{}:sessions", self.user_tag(user_id))
    }

    /// The pub/sub channel of the user's news (`crate::events`), in the slot of their keys.
    pub fn news(&self, user_id: i64) -> String {
        format!("{}:news", self.user_tag(user_id))
    }

    pub fn live(&self) -> String {
        format!("{}:live", self.prefix)
    }
}

/// Sessions in Redis; see the module documentation for the keys.
#[derive(Clone)]
pub struct RedisSessionStore {
    connection: RedisConnection,
    keys: Keys,
    create: Script,
    replace: Script,
    /// Shared by the clones of one store.
    decoded: Arc<Decoded>,
}

/// Above this many remembered decodings the memory starts over.
const DECODED_CAPACITY: usize = 100_000;

/// The record last decoded from each session's stored text, with that text and version:
/// decoding the record's JSON (five timestamps, a handful of strings) was a large part of
/// reading a session, and most reads find exactly the text of the read before. Only a
/// byte-for-byte equal text at the same version is answered from here, so this can never
/// differ from decoding what Redis just returned.
#[derive(Default)]
struct Decoded {
    records: RwLock<foldhash::HashMap<SessionId, Remembered>>,
}

/// The version and the text a record was decoded from, and the record.
type Remembered = (i64, Box<str>, SessionRecord);

impl Decoded {
    fn get(&self, id: &SessionId, version: i64, json: &str) -> Option<SessionRecord> {
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        match records.get(id) {
            Some((v, text, record)) if *v == version && **text == *json => Some(record.clone()),
            _ => None,
        }
    }

    fn remember(&self, version: i64, json: String, record: &SessionRecord) {
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= DECODED_CAPACITY {
            records.clear();
        }
        records.insert(
            record.id.clone(),
            (version, json.into_boxed_str(), record.copy_to_keep()),
        );
    }
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("connection", &self.connection)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// A store on `connection` whose keys start with `prefix`.
    pub fn new(connection: RedisConnection, prefix: &str) -> Self {
        Self {
            connection,
            keys: Keys::new(prefix),
            create: Script::new(CREATE),
            replace: Script::new(REPLACE),
            decoded: Arc::default(),
        }
    }

    fn record_key(&self, user_id: i64, id: &str) -> String {
        self.keys.record(user_id, id)
    }

    fn index_key(&self, user_id: i64) -> String {
        self.keys.index(user_id)
    }

    async fn call<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, StoreError>
    where
        F: Fn(Ready) -> Fut,
        Fut: std::future::Future<Output = Result<T, redis::RedisError>>,
    {
        Ok(self.connection.call(what, call).await?)
    }
}

impl RedisSessionStore {
    /// Keeps the metric's set of live sessions up to date; a failure only makes the metric
    /// lag.
    async fn track_live(&self, record: &SessionRecord) {
        let key = &self.keys.live();
        let member = &format!("{}:{}", record.user.id, record.id.public_id());
        let live = record.live_until();
        let tracked = self
            .call("track", |mut c| async move {
                if live > 0 {
                    redis::cmd("ZADD")
                        .arg(key)
                        .arg(live)
                        .arg(member)
                        .query_async::<i64>(&mut c)
                        .await
                } else {
                    redis::cmd("ZREM")
                        .arg(key)
                        .arg(member)
                        .query_async::<i64>(&mut c)
                        .await
                }
            })
            .await;
        if let Err(err) = tracked {
            tracing::debug!(error = %err, "the live-session metric could not be updated");
        }
    }
}

fn version_arg(record: &SessionRecord) -> String {
    record.version.to_string()
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError> {
        let (record, limit, replacing) = (new.record, new.limit, new.replacing);
        let json = &encode(record)?;
        let record_key = &self.record_key(record.user.id, record.id.as_str());
        let index_key = &self.index_key(record.user.id);
        let retain = record.retain_until().unix_timestamp();
        let replaced = &replacing
            .map(|old| {
                Ok::<_, StoreError>((
                    self.record_key(old.user.id, old.id.as_str()),
                    version_arg(old),
                    encode(old)?,
                    old.retain_until().unix_timestamp(),
                    old.id.as_str(),
                ))
            })
            .transpose()?;
        let created: i64 = self
            .call("create", |mut c| async move {
                let mut invocation = self.create.key(record_key);
                invocation
                    .key(index_key)
                    .arg(json)
                    .arg(retain)
                    .arg(record.id.as_str())
                    .arg(record.live_until())
                    .arg(limit.unwrap_or(0))
                    .arg(record.created_at.unix_timestamp());
                if let Some((key, version, old_json, old_retain, old_id)) = replaced {
                    invocation
                        .key(key)
                        .arg(version)
                        .arg(old_json)
                        .arg(*old_retain)
                        .arg(*old_id);
                }
                invocation.invoke_async(&mut c).await
            })
            .await?;
        match created {
            1 => {
                self.track_live(record).await;
                if let Some(old) = replacing {
                    self.track_live(old).await;
                }
                Ok(Created::Stored)
            }
            -1 => Ok(Created::LimitReached),
            -2 => Ok(Created::Conflict),
            _ => Err(StoreError::Corrupt("a session with this id exists".into())),
        }
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let key = &self.record_key(user_id, id.as_str());
        let (version, json): (Option<i64>, Option<String>) = self
            .call("load", |mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("v")
                    .arg("r")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        match (version, json) {
            (Some(version), Some(json)) => {
                if let Some(record) = self.decoded.get(id, version, &json) {
                    return Ok(Some(record));
                }
                let record = decode(id.as_str(), version, &json)?;
                self.decoded.remember(version, json, &record);
                Ok(Some(record))
            }
            (None, None) => Ok(None),
            _ => Err(StoreError::Corrupt(format!(
                "the record of session {} is incomplete",
                id.public_id()
            ))),
        }
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let json = &encode(record)?;
        let record_key = &self.record_key(record.user.id, record.id.as_str());
        let index_key = &self.index_key(record.user.id);
        let retain = record.retain_until().unix_timestamp();
        let expected = &version_arg(record);
        let written: i64 = self
            .call("replace", |mut c| async move {
                self.replace
                    .key(record_key)
                    .key(index_key)
                    .arg(expected)
                    .arg(json)
                    .arg(retain)
                    .arg(record.id.as_str())
                    .arg(record.live_until())
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match u64::try_from(written) {
            Ok(version) => {
                self.track_live(record).await;
                Replaced::Written(version)
            }
            Err(_) => Replaced::Conflict,
        })
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let index_key = &self.index_key(user_id);
        let ids: Vec<String> = self
            .call("list", |mut c| async move {
                redis::cmd("ZRANGE")
                    .arg(index_key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipeline = redis::pipe();
        for id in &ids {
            pipeline
                .cmd("HMGET")
                .arg(self.record_key(user_id, id))
                .arg("v")
                .arg("r");
        }
        let pipeline = &pipeline;
        let rows: Vec<(Option<i64>, Option<String>)> = self
            .call(
                "read",
                |mut c| async move { pipeline.query_async(&mut c).await },
            )
            .await?;
        let mut records = Vec::with_capacity(ids.len());
        let mut gone = Vec::new();
        for (id, row) in ids.iter().zip(rows) {
            match row {
                (Some(version), Some(json)) => records.push(decode(id, version, &json)?),
                _ => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            // Records Redis expired: their index entries go too (best effort; the next
            // listing tries again).
            let gone = &gone;
            let _ = self
                .call("trim", |mut c| async move {
                    redis::cmd("ZREM")
                        .arg(index_key)
                        .arg(gone)
                        .query_async::<i64>(&mut c)
                        .await
                })
                .await;
        }
        Ok(records)
    }

    async fn delete_expired(&self, _now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn check(&self) -> Result<(), StoreError> {
        Ok(self.connection.ping().await?)
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let key = &self.keys.live();
        let now = now.unix_timestamp();
        let (_, live): (i64, u64) = self
            .call("count", |mut c| async move {
                redis::pipe()
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(key)
                    .arg("-inf")
                    .arg(now)
                    .cmd("ZCOUNT")
                    .arg(key)
                    .arg(format!("({now}"))
                    .arg("+inf")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(Some(live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, modulo 16384.
    fn slot(key: &str) -> u16 {
        let tag = match (
            key.find('{'),
            key.find('{').and_then(|s| key[s + 1..].find('}')),
        ) {
            (Some(start), Some(len)) if len > 0 => &key[start + 1..start + 1 + len],
            _ => key,
        };
        let mut crc: u16 = 0;
        for byte in tag.bytes() {
            crc ^= u16::from(byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc % 16384
    }

    #[test]
    fn the_crc_is_the_one_redis_cluster_uses() {
        // The reference value from the Redis Cluster specification.
        assert_eq!(slot("123456789"), 0x31C3);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
    }

    #[test]
    fn one_users_keys_share_a_slot_and_users_spread() {
        let keys = Keys::new("vigil");
        let mut slots = std::collections::HashSet::new();
        for user in 1..200 {
            let index = slot(&keys.index(user));
            for id in [
                "0123456789abcdef0123456789abcdef",
                "ffffffffffffffffffffffffffffffff",
            ] {
                assert_eq!(slot(&keys.record(user, id)), index, "user {user}");
            }
            slots.insert(index);
        }
        assert!(slots.len() > 150, "users land on {} slots", slots.len());
    }

    #[test]
    fn the_slot_is_decided_by_the_user_alone_whatever_the_prefix() {
        // Configuration refuses braces in the prefix, so the user's tag is the first `{…}`.
        for prefix in ["vigil", "staging:vigil", "a.b-c_d"] {
            let keys = Keys::new(prefix);
            assert_eq!(slot(&keys.index(7)), slot("u:7"), "{prefix}");
            assert_eq!(slot(&keys.record(7, "ab")), slot("u:7"), "{prefix}");
        }
    }

    #[test]
    fn a_remembered_decoding_answers_only_the_same_text_at_the_same_version() {
        let user = vigil::UserSummary {
            id: 1,
            username: "ada".into(),
            display_name: "Ada".into(),
            role: Default::default(),
        };
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let record = SessionRecord::start(
            &user,
            now,
            &vigil::TimeoutPolicy::default(),
            None,
            Default::default(),
            false,
            1,
        );
        let text = encode(&record).unwrap();
        let decoded = Decoded::default();
        assert!(decoded.get(&record.id, 3, &text).is_none());
        decoded.remember(3, text.clone(), &record);
        assert_eq!(
            decoded.get(&record.id, 3, &text).map(|r| r.id),
            Some(record.id.clone())
        );
        // Another version, or any other byte, is decoded again.
        assert!(decoded.get(&record.id, 4, &text).is_none());
        let touched = text.replacen("\"generation\":1", "\"generation\":2", 1);
        assert_ne!(touched, text);
        assert!(decoded.get(&record.id, 3, &touched).is_none());
        assert!(decoded.get(&SessionId::generate(), 3, &text).is_none());
    }
}
