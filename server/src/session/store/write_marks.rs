//! Marks beside the SQLite file that tell every process sharing it which copies of
//! sessions another one wrote since.

use std::path::PathBuf;

use super::StoreError;
use crate::session::SessionId;

/// A small file beside the database holding one mark per slot of session ids (the slot is
/// a prefix of the id, which is random): every write of a session changes its slot's mark
/// to a fresh random value, before and after the write. Every process that shares the
/// database maps the file; reading a mark is one atomic load from memory the operating
/// system keeps coherent between processes on one machine (no system call), cheap enough to
/// check on every request. A copy of a record taken under a mark is trusted only while the
/// mark is unchanged, so a rotation, an extension or an ending by any process (or the
/// command line) reaches every other process's next read of that session. Whatever cannot
/// be read counts as "changed".
#[derive(Debug)]
pub struct WriteMarks {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// The file's marks, shared with every other process that maps them.
    map: Option<memmap2::MmapRaw>,
}

/// Slots of session ids: a write invalidates the copies of about one in this many sessions.
const MARK_SLOTS: usize = 4096;
/// The hex digits of a session id that choose its slot (16^3 = `MARK_SLOTS`).
const SLOT_DIGITS: usize = 3;
/// The marks' size: one `u64` a slot, at the start of a page-aligned mapping.
const MARKS_LEN: usize = MARK_SLOTS * std::mem::size_of::<u64>();

impl WriteMarks {
    pub(super) fn beside(database: &std::path::Path) -> Self {
        let mut name = database.file_name().unwrap_or_default().to_os_string();
        name.push(".session-writes");
        let path = database.with_file_name(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| {
                tracing::warn!(path = %path.display(), error = %err, "no session write marks: records are not cached");
            })
            .ok();
        let mut marks = Self {
            path,
            file,
            map: None,
        };
        if marks.file_len() < MARKS_LEN as u64 {
            // Only ever grown, never truncated (another process may have it mapped).
            if let Some(file) = &marks.file {
                if let Err(err) = file.set_len(MARKS_LEN as u64) {
                    tracing::warn!(path = %marks.path.display(), error = %err, "the session write marks cannot be sized: records are not cached");
                }
            }
        }
        marks.map = marks.file.as_ref().and_then(|file| {
            (marks.file_len() >= MARKS_LEN as u64)
                .then(|| memmap2::MmapOptions::new().len(MARKS_LEN).map_raw(file))
                .and_then(|mapped| {
                    mapped
                        .map_err(|err| {
                            tracing::warn!(path = %marks.path.display(), error = %err, "the session write marks cannot be mapped: records are not cached");
                        })
                        .ok()
                })
        });
        marks
    }

    fn file_len(&self) -> u64 {
        self.file
            .as_ref()
            .and_then(|file| file.metadata().ok())
            .map_or(0, |meta| meta.len())
    }

    fn slot(id: &SessionId) -> usize {
        id.as_str()
            .get(..SLOT_DIGITS)
            .and_then(|digits| usize::from_str_radix(digits, 16).ok())
            .unwrap_or(0)
            % MARK_SLOTS
    }

    // The workspace denies `unsafe`; this is its one reviewed use (see SAFETY below).
    #[allow(unsafe_code)]
    fn shared(&self, slot: usize) -> Option<&std::sync::atomic::AtomicU64> {
        let map = self.map.as_ref()?;
        if map.len() < MARKS_LEN || slot >= MARK_SLOTS {
            return None;
        }
        // In bounds: checked above.
        let at = map.as_ptr().wrapping_add(slot * std::mem::size_of::<u64>());
        if !at.cast::<u64>().is_aligned() {
            return None;
        }
        // SAFETY: the mapping is `MARKS_LEN` bytes long and the slot's eight bytes lie inside
        // it, aligned (checked above); it lives as long as `self`, and it is only ever
        // accessed atomically here; other processes write it with aligned eight-byte stores
        // (this code, or `pwrite`), which the page cache makes visible to every mapping. The
        // file is never truncated by Vigil (an outsider truncating it would end the process
        // with SIGBUS, as it would any program that maps files).
        Some(unsafe { std::sync::atomic::AtomicU64::from_ptr(at.cast::<u64>().cast_mut()) })
    }

    /// The current mark of `id`'s slot; `None` when it cannot be read (then no copy of the
    /// session is trusted).
    pub fn read(&self, id: &SessionId) -> Option<u64> {
        self.shared(Self::slot(id))
            .map(|mark| u64::from_le(mark.load(std::sync::atomic::Ordering::Acquire)))
    }

    /// Says "session `id` is being written": a value no reader has seen, in its slot.
    pub fn touch(&self, id: &SessionId) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let value: u64 = rand::random();
        let slot = Self::slot(id);
        if let Some(mark) = self.shared(slot) {
            mark.store(value.to_le(), std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        let offset = (slot * std::mem::size_of::<u64>()) as u64;
        match &self.file {
            Some(file) => file
                .write_all_at(&value.to_le_bytes(), offset)
                .map_err(|err| {
                    tracing::error!(path = %self.path.display(), error = %err, "could not write a session write mark");
                    StoreError::Unavailable(format!("the session write marks cannot be written: {err}"))
                }),
            // Without marks nothing is cached, so there is nothing to invalidate.
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(hex: &str) -> SessionId {
        SessionId::parse(hex).expect("a session id")
    }

    #[test]
    fn a_write_marked_by_one_process_is_seen_by_every_other() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = dir.path().join("vigil.db");
        // Two sets of marks on one file: what two processes sharing the database each map.
        let (one, other) = (WriteMarks::beside(&database), WriteMarks::beside(&database));
        let session = id("abc00000000000000000000000000001");
        let neighbour = id("abc00000000000000000000000000002");
        let elsewhere = id("00100000000000000000000000000003");
        let before = one.read(&session).expect("a fresh mark is readable");
        let far = other.read(&elsewhere).expect("readable");
        assert_eq!(other.read(&session), Some(before));
        one.touch(&session).expect("touch");
        let after = other.read(&session).expect("readable");
        assert_ne!(after, before, "the other mapping sees the change at once");
        assert_eq!(one.read(&session), Some(after));
        assert_eq!(other.read(&neighbour), Some(after), "one slot, one mark");
        assert_eq!(other.read(&elsewhere), Some(far), "other slots keep theirs");
        // A write through the file (a process that could not map it) is seen as well.
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("vigil.db.session-writes"))
            .expect("open");
        let offset = (WriteMarks::slot(&session) * 8) as u64;
        file.write_all_at(&7u64.to_le_bytes(), offset)
            .expect("write");
        assert_eq!(one.read(&session), Some(7));
    }

    #[test]
    fn marks_that_cannot_be_kept_trust_nothing() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let marks = WriteMarks::beside(&dir.path().join("missing").join("vigil.db"));
        let session = id("abc00000000000000000000000000001");
        assert_eq!(marks.read(&session), None);
        assert!(
            marks.touch(&session).is_ok(),
            "nothing cached, nothing to invalidate"
        );
    }
}
