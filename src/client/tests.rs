//! The browser machine, natively: each transition on its own, then whole interleavings of
//! typing, autosave, expiry, revocation, offline, reloads, a second tab and conflicts
//! against a simulated account server (the same rules as the real one).

mod simulation;

use time::{Duration, OffsetDateTime};

use super::*;
use crate::session_info::LocalKey;
use crate::work::{Precondition, StoredDraft};
use crate::{ErrorCode, ExpiryReason, PolicyInfo, Problem, SessionInfo, UserSummary};

pub(super) const T0: Millis = 1_780_000_000_000;
pub(super) const IDLE_MS: Millis = 120_000;
pub(super) const WARNING_MS: Millis = 60_000;
pub(super) const HEARTBEAT_MS: Millis = 10_000;

pub(super) fn at(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(super) fn user(id: i64) -> UserSummary {
    let name = if id == 1 { "ada" } else { "grace" };
    UserSummary {
        id,
        username: name.into(),
        display_name: name.into(),
        role: Default::default(),
    }
}

/// The server's answer for a session of `user` last active at `last_activity`.
pub(super) fn info(user_id: i64, now: Millis, last_activity: Millis) -> SessionInfo {
    let idle = at(last_activity) + Duration::milliseconds(IDLE_MS);
    SessionInfo {
        user: user(user_id),
        session_id: "s".into(),
        created_at: at(T0),
        last_activity_at: at(last_activity),
        idle_expires_at: idle,
        absolute_expires_at: at(T0) + Duration::hours(1),
        warn_at: idle - Duration::milliseconds(WARNING_MS),
        server_now: at(now),
        policy: PolicyInfo {
            idle_timeout_secs: IDLE_MS / 1000,
            warning_secs: WARNING_MS / 1000,
            absolute_timeout_secs: 3600,
            heartbeat_secs: HEARTBEAT_MS / 1000,
            remember_absolute_secs: None,
        },
        local_key: Some(LocalKey {
            retired: None,
            version: 1,
            key: format!("key-of-{user_id}"),
        }),
    }
}

fn sends(commands: &[Command]) -> Vec<(RequestId, Request)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Send { id, request } => Some((*id, request.clone())),
            _ => None,
        })
        .collect()
}

fn sent(commands: &[Command], wanted: &Request) -> RequestId {
    sends(commands)
        .into_iter()
        .find(|(_, r)| r == wanted)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("{wanted:?} not sent in {commands:?}"))
}

fn work_sent(commands: &[Command]) -> (RequestId, String, WorkOp) {
    sends(commands)
        .into_iter()
        .find_map(|(id, r)| match r {
            Request::Work { key, op } => Some((id, key, op)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no change sent in {commands:?}"))
}

fn problem(code: ErrorCode) -> Problem {
    Problem::new(code, "test")
}

fn stored(id: &str, title: &str, body: &str, version: u64) -> StoredDraft {
    StoredDraft {
        id: id.into(),
        title: title.into(),
        body: body.into(),
        version,
        updated_at: at(T0),
        submitted_at: None,
    }
}

fn input(title: &str, body: &str) -> DraftInput {
    DraftInput {
        title: title.into(),
        body: body.into(),
    }
}

/// A client signed in as Ada at T0 with her (empty) work loaded and synced.
fn signed_in() -> Client {
    let mut client = Client::new();
    let started = client.handle(Event::Started {
        now: T0,
        cookie: true,
        tab: "tab".into(),
        last_user: None,
    });
    let check = sent(&started, &Request::CheckSession);
    let adopted = answer(&mut client, T0, check, Ok(Answer::Session(info(1, T0, T0))));
    assert!(adopted.contains(&Command::LoadLocal { user: 1 }));
    let get = sent(&adopted, &Request::GetWork);
    client.handle(Event::LocalLoaded {
        now: T0,
        user: 1,
        entries: Vec::new(),
        unreadable: 0,
    });
    answer(
        &mut client,
        T0,
        get,
        Ok(Answer::Snapshot(WorkSnapshot::default())),
    );
    assert!(client.work_ready());
    client
}

/// The server's answer to request `id` arrives.
fn answer(
    client: &mut Client,
    now: Millis,
    id: RequestId,
    answer: Result<Answer, Problem>,
) -> Vec<Command> {
    client.handle(Event::Answered { now, id, answer })
}

/// A timer the page set goes off.
fn fire(client: &mut Client, now: Millis, timer: Timer) -> Vec<Command> {
    client.handle(Event::TimerFired { now, timer })
}

/// At `T0 + 1` the user does `action`; the request it sends does not reach the server
/// (answered at `T0 + 2`).
fn unreachable_after(client: &mut Client, action: UserAction, request: &Request) -> Vec<Command> {
    let commands = user_does(client, T0 + 1, action);
    let id = sent(&commands, request);
    answer(client, T0 + 2, id, Err(problem(ErrorCode::NetworkError)))
}

fn user_does(client: &mut Client, now: Millis, action: UserAction) -> Vec<Command> {
    client.handle(Event::User { now, action })
}

/// A new draft `id` typed with `text` and sent when the pause is over: the request.
/// At `T0 + 1` the user makes draft `id`; at `T0 + 2` they type `text` into it.
fn typed(client: &mut Client, id: &str, text: DraftInput) {
    user_does(client, T0 + 1, UserAction::NewDraft { id: id.into() });
    user_does(
        client,
        T0 + 2,
        UserAction::Edit {
            id: id.into(),
            input: text,
        },
    );
}

fn typed_and_sent(client: &mut Client, id: &str, text: DraftInput) -> (RequestId, String, WorkOp) {
    typed(client, id, text);
    let sent = fire(client, T0 + 2000, Timer::Autosave);
    work_sent(&sent)
}

#[test]
fn without_a_cookie_the_page_is_signed_out_without_asking() {
    let mut client = Client::new();
    let commands = client.handle(Event::Started {
        now: T0,
        cookie: false,
        tab: "t".into(),
        last_user: None,
    });
    assert_eq!(client.phase(), &ClientPhase::SignedOut);
    assert!(sends(&commands).is_empty());
}

#[test]
fn the_phase_follows_the_server_deadlines_with_one_timer() {
    let mut client = signed_in();
    assert_eq!(client.phase(), &ClientPhase::Active);
    let warn_at = T0 + IDLE_MS - WARNING_MS;
    let commands = fire(&mut client, warn_at + 25, Timer::Phase);
    assert!(matches!(
        client.phase(),
        ClientPhase::Warning {
            reason: ExpiryReason::Idle,
            ..
        }
    ));
    assert!(commands.contains(&Command::SetTimer {
        timer: Timer::Countdown,
        at: warn_at + 25 + 1000
    }));
    let commands = fire(&mut client, T0 + IDLE_MS + 25, Timer::Phase);
    assert_eq!(
        client.phase(),
        &ClientPhase::Ended {
            reason: Some(ExpiryReason::Idle),
            told: None
        }
    );
    assert!(commands.contains(&Command::CaptureFocus));
    // The server decides: the check may find that another tab extended the session.
    sent(&commands, &Request::CheckSession);
}

#[test]
fn a_deliberate_key_during_the_warning_extends_and_motion_alone_does_not() {
    let mut client = signed_in();
    let warn_at = T0 + IDLE_MS - WARNING_MS + 25;
    fire(&mut client, warn_at, Timer::Phase);
    let motion = client.handle(Event::Heartbeat {
        now: warn_at + 1,
        motion: warn_at,
    });
    assert!(
        sends(&motion).is_empty(),
        "motion never extends during the warning"
    );
    let key = client.handle(Event::Activity { now: warn_at + 2 });
    sent(&key, &Request::Refresh);
}

#[test]
fn the_heartbeat_reports_activity_once_per_interval_under_the_lock() {
    let mut client = signed_in();
    let idle = client.handle(Event::Heartbeat {
        now: T0 + HEARTBEAT_MS,
        motion: 0,
    });
    assert!(
        !idle.contains(&Command::TryHeartbeatLock),
        "no activity, no report"
    );
    let busy = client.handle(Event::Heartbeat {
        now: T0 + 2 * HEARTBEAT_MS,
        motion: T0 + 15_000,
    });
    assert!(busy.contains(&Command::TryHeartbeatLock));
    // Another tab reported a moment ago: nothing to do, and the lock is let go at once.
    let covered = client.handle(Event::HeartbeatLock {
        now: T0 + 2 * HEARTBEAT_MS,
        last_report: T0 + 2 * HEARTBEAT_MS - 100,
    });
    assert!(sends(&covered).is_empty());
    assert!(covered.contains(&Command::ReleaseHeartbeatLock));

    let busy = client.handle(Event::Heartbeat {
        now: T0 + 3 * HEARTBEAT_MS,
        motion: T0 + 25_000,
    });
    assert!(busy.contains(&Command::TryHeartbeatLock));
    let reported = client.handle(Event::HeartbeatLock {
        now: T0 + 3 * HEARTBEAT_MS,
        last_report: T0,
    });
    let refresh = sent(&reported, &Request::Refresh);
    assert!(reported.contains(&Command::RecordReport {
        at: T0 + 3 * HEARTBEAT_MS
    }));
    assert!(
        !reported.contains(&Command::ReleaseHeartbeatLock),
        "the lock is held while the report is on its way"
    );
    // While it is held this tab does not queue for it a second time.
    let waiting = client.handle(Event::Heartbeat {
        now: T0 + 4 * HEARTBEAT_MS,
        motion: T0 + 35_000,
    });
    assert!(!waiting.contains(&Command::TryHeartbeatLock));
    let answered = client.handle(Event::Answered {
        now: T0 + 4 * HEARTBEAT_MS + 10,
        id: refresh,
        answer: Ok(Answer::Session(info(
            1,
            T0 + 3 * HEARTBEAT_MS,
            T0 + 3 * HEARTBEAT_MS,
        ))),
    });
    assert!(answered.contains(&Command::ReleaseHeartbeatLock));
    let next = client.handle(Event::Heartbeat {
        now: T0 + 5 * HEARTBEAT_MS,
        motion: T0 + 45_000,
    });
    assert!(next.contains(&Command::TryHeartbeatLock));
}

#[test]
fn a_report_that_fails_still_lets_go_of_the_lock() {
    let mut client = signed_in();
    client.handle(Event::Heartbeat {
        now: T0 + HEARTBEAT_MS,
        motion: T0 + 5_000,
    });
    let reported = client.handle(Event::HeartbeatLock {
        now: T0 + HEARTBEAT_MS,
        last_report: 0,
    });
    let refresh = sent(&reported, &Request::Refresh);
    let failed = answer(
        &mut client,
        T0 + HEARTBEAT_MS + 10,
        refresh,
        Err(problem(ErrorCode::NetworkError)),
    );
    assert!(failed.contains(&Command::ReleaseHeartbeatLock));
}

#[test]
fn a_lost_connection_is_retried_with_backoff_and_never_signs_anyone_out() {
    let mut client = signed_in();
    let failed = unreachable_after(&mut client, UserAction::StaySignedIn, &Request::Refresh);
    assert_eq!(client.phase(), &ClientPhase::Active);
    assert!(client.notices().contains(&Notice::Unreachable));
    assert!(failed.contains(&Command::SetTimer {
        timer: Timer::SessionRetry,
        at: T0 + 2 + 1000
    }));
    let again = fire(&mut client, T0 + 1002, Timer::SessionRetry);
    let refresh = sent(&again, &Request::Refresh);
    let second = answer(
        &mut client,
        T0 + 1003,
        refresh,
        Err(problem(ErrorCode::StoreUnavailable)),
    );
    assert!(second.contains(&Command::SetTimer {
        timer: Timer::SessionRetry,
        at: T0 + 1003 + 2000
    }));
}

#[test]
fn a_failed_sign_out_is_never_shown_as_signed_out() {
    let mut client = signed_in();
    let failed = unreachable_after(&mut client, UserAction::SignOut, &Request::Logout);
    assert_eq!(client.phase(), &ClientPhase::Active);
    assert!(client.notices().contains(&Notice::SignOutPending));
    assert!(!failed
        .iter()
        .any(|c| matches!(c, Command::PurgeLocal { .. })));
    let retry = fire(&mut client, T0 + 1002, Timer::SignOutRetry);
    let logout = sent(&retry, &Request::Logout);
    let done = answer(&mut client, T0 + 1003, logout, Ok(Answer::LoggedOut));
    assert_eq!(client.phase(), &ClientPhase::SignedOut);
    assert!(done.contains(&Command::PurgeLocal { user: 1 }));
    assert!(done.contains(&Command::Broadcast(TabMessage::SignedOut)));
}

#[test]
fn a_reload_onto_an_ended_session_withholds_the_work_until_the_same_user_signs_in() {
    let mut client = Client::new();
    let started = client.handle(Event::Started {
        now: T0,
        cookie: true,
        tab: "t".into(),
        last_user: Some(user(1)),
    });
    let check = sent(&started, &Request::CheckSession);
    let mut expired = problem(ErrorCode::SessionExpired);
    expired.reason = Some(ExpiryReason::Idle);
    let answered = answer(&mut client, T0, check, Err(expired));
    assert_eq!(
        client.phase(),
        &ClientPhase::Ended {
            reason: Some(ExpiryReason::Idle),
            told: None
        }
    );
    assert!(client.work_withheld());
    assert!(!answered
        .iter()
        .any(|c| matches!(c, Command::LoadLocal { .. })));
    let signed = client.handle(Event::SignedIn {
        now: T0 + 5,
        info: info(1, T0 + 5, T0 + 5),
    });
    assert!(!client.work_withheld());
    assert!(signed.contains(&Command::LoadLocal { user: 1 }));
    assert!(signed.iter().any(|c| matches!(c, Command::UseKey(Some(_)))));
}

#[test]
fn typing_is_written_here_soon_and_to_the_account_after_a_pause() {
    let mut client = signed_in();
    let now = T0 + 100;
    let made = user_does(&mut client, now, UserAction::NewDraft { id: "d1".into() });
    assert!(made.contains(&Command::SetTimer {
        timer: Timer::LocalSave,
        at: now + 300
    }));
    user_does(
        &mut client,
        now + 10,
        UserAction::Edit {
            id: "d1".into(),
            input: input("T", "Hello"),
        },
    );
    assert_eq!(client.save_status(), SaveStatus::Saving);
    assert_eq!(client.waiting(), 1);
    let written = fire(&mut client, now + 300, Timer::LocalSave);
    assert!(written.iter().any(|c| matches!(c, Command::Store { user: 1, entry: crate::preserved::Entry::Draft(d) } if d.local.body == "Hello")));
    let saved = fire(&mut client, now + 1510, Timer::Autosave);
    let (id, key, op) = work_sent(&saved);
    assert_eq!(
        op,
        WorkOp::PutDraft {
            id: "d1".into(),
            input: input("T", "Hello"),
            precondition: Precondition::Absent
        }
    );
    assert!(key.starts_with("tab-"));
    answer(
        &mut client,
        now + 1600,
        id,
        Ok(Answer::Saved(stored("d1", "T", "Hello", 1))),
    );
    assert_eq!(client.waiting(), 0);
    assert_eq!(client.save_status(), SaveStatus::Saved);
}

#[test]
fn a_change_refused_because_the_session_ended_is_sent_again_with_its_key_after_signing_in() {
    let mut client = signed_in();
    let (id, key, op) = typed_and_sent(&mut client, "d1", input("T", "typed"));
    let mut expired = problem(ErrorCode::SessionExpired);
    expired.reason = Some(ExpiryReason::Idle);
    answer(&mut client, T0 + 2001, id, Err(expired));
    assert!(client.phase().is_ended());
    assert_eq!(client.waiting(), 1);
    assert_eq!(client.save_status(), SaveStatus::WaitingForSignIn);
    // Signing in again: the account is read, then the same change goes with the same key.
    let signed = client.handle(Event::SignedIn {
        now: T0 + 5000,
        info: info(1, T0 + 5000, T0 + 5000),
    });
    let get = sent(&signed, &Request::GetWork);
    let replay = answer(
        &mut client,
        T0 + 5001,
        get,
        Ok(Answer::Snapshot(WorkSnapshot::default())),
    );
    let (_, replay_key, replay_op) = work_sent(&replay);
    assert_eq!((replay_key, replay_op), (key, op));
}

#[test]
fn a_conflict_keeps_both_versions_until_the_user_chooses() {
    let mut client = signed_in();
    let (id, _, _) = typed_and_sent(&mut client, "d1", input("T", "mine"));
    let mut conflict = problem(ErrorCode::EditConflict);
    conflict.current = Some(Box::new(stored("d1", "T", "theirs", 3)));
    answer(&mut client, T0 + 2001, id, Err(conflict));
    assert_eq!(client.save_status(), SaveStatus::Conflict);
    let draft = client.drafts().next().cloned().expect("draft");
    assert_eq!(draft.local.body, "mine");
    assert_eq!(draft.conflict.map(|c| c.body), Some("theirs".into()));
    let both = user_does(
        &mut client,
        T0 + 3000,
        UserAction::Resolve {
            id: "d1".into(),
            resolution: Resolution::KeepBoth {
                new_id: "d2".into(),
            },
        },
    );
    let bodies: Vec<_> = client
        .drafts()
        .map(|d| (d.id.clone(), d.local.body.clone()))
        .collect();
    assert_eq!(
        bodies,
        vec![("d1".into(), "theirs".into()), ("d2".into(), "mine".into())]
    );
    let (_, _, op) = work_sent(&both);
    assert_eq!(
        op,
        WorkOp::PutDraft {
            id: "d2".into(),
            input: input("T", "mine"),
            precondition: Precondition::Absent
        }
    );
}

#[test]
fn a_submit_waits_for_the_text_to_be_saved_and_then_happens_once() {
    let mut client = signed_in();
    typed(&mut client, "d1", input("Report", "final"));
    let pressed = user_does(&mut client, T0 + 3, UserAction::Submit { id: "d1".into() });
    let (id, _, op) = work_sent(&pressed);
    assert!(matches!(op, WorkOp::PutDraft { .. }), "the text first");
    let next = answer(
        &mut client,
        T0 + 4,
        id,
        Ok(Answer::Saved(stored("d1", "Report", "final", 1))),
    );
    let (id, _, op) = work_sent(&next);
    assert_eq!(
        op,
        WorkOp::SubmitDraft {
            id: "d1".into(),
            version: 1
        }
    );
    let mut submitted = stored("d1", "Report", "final", 2);
    submitted.submitted_at = Some(at(T0 + 5));
    let done = answer(&mut client, T0 + 5, id, Ok(Answer::Saved(submitted)));
    assert!(sends(&done).is_empty(), "nothing more to send");
    assert_eq!(client.waiting(), 0);
    // Read-only from now on.
    let edit = user_does(
        &mut client,
        T0 + 6,
        UserAction::Edit {
            id: "d1".into(),
            input: input("x", "y"),
        },
    );
    assert!(edit.is_empty());
}

#[test]
fn nothing_is_sent_for_another_user() {
    let mut client = signed_in();
    typed(&mut client, "d1", input("Ada's", "private"));
    let out = user_does(&mut client, T0 + 3, UserAction::SignOut);
    let logout = sent(&out, &Request::Logout);
    answer(&mut client, T0 + 4, logout, Ok(Answer::LoggedOut));
    let grace = client.handle(Event::SignedIn {
        now: T0 + 5,
        info: info(2, T0 + 5, T0 + 5),
    });
    assert!(grace.contains(&Command::LoadLocal { user: 2 }));
    assert_eq!(client.drafts().count(), 0);
    for (_, request) in sends(&grace) {
        assert!(!matches!(request, Request::Work { .. }));
    }
}

mod account {
    use super::*;
    use crate::sessions::{PasswordChange, PasswordChanged, SessionList, SessionsEnded};

    fn act(client: &mut Client, now: Millis, action: AccountAction) -> Vec<Command> {
        client.handle(Event::User {
            now,
            action: UserAction::Account(action),
        })
    }

    fn answer(client: &mut Client, id: RequestId, answer: Result<Answer, Problem>) -> Vec<Command> {
        client.handle(Event::Answered {
            now: T0 + 1000,
            id,
            answer,
        })
    }

    /// Opens the sessions page: the list is asked for and answered (empty).
    fn load_sessions(client: &mut Client) {
        let load = act(client, T0, AccountAction::LoadSessions);
        let id = sent(&load, &Request::ListSessions);
        answer(
            client,
            id,
            Ok(Answer::Sessions(SessionList {
                sessions: Vec::new(),
            })),
        );
    }

    #[test]
    fn a_sensitive_action_waits_for_a_fresh_sign_in_then_goes_once() {
        let mut client = signed_in();
        let asked = act(&mut client, T0, AccountAction::RevokeOthers);
        let id = sent(&asked, &Request::RevokeOthers);
        assert!(client.account_busy());
        let refused = answer(
            &mut client,
            id,
            Err(problem(ErrorCode::ReauthenticationRequired)),
        );
        assert!(sends(&refused).is_empty(), "nothing is retried by itself");
        assert!(client.step_up_required());
        assert_eq!(*client.phase(), ClientPhase::Active, "the session is fine");

        let replay = client.handle(Event::SignedIn {
            now: T0 + 2000,
            info: info(1, T0 + 2000, T0 + 2000),
        });
        let id = sent(&replay, &Request::RevokeOthers);
        assert!(!client.step_up_required());
        // Refused again even so: said, and not asked a second time.
        answer(
            &mut client,
            id,
            Err(problem(ErrorCode::ReauthenticationRequired)),
        );
        assert!(!client.step_up_required());
        assert!(matches!(
            client.account_message(),
            Some(AccountMessage::Failed { .. })
        ));
    }

    #[test]
    fn dismissing_the_confirmation_changes_nothing() {
        let mut client = signed_in();
        let asked = act(&mut client, T0, AccountAction::RevokeOthers);
        let id = sent(&asked, &Request::RevokeOthers);
        answer(
            &mut client,
            id,
            Err(problem(ErrorCode::ReauthenticationRequired)),
        );
        act(&mut client, T0, AccountAction::CancelStepUp);
        assert!(!client.step_up_required());
        let later = client.handle(Event::SignedIn {
            now: T0 + 2000,
            info: info(1, T0 + 2000, T0 + 2000),
        });
        assert!(!sends(&later).contains(&(id, Request::RevokeOthers)));
        assert!(sends(&later)
            .iter()
            .all(|(_, r)| *r != Request::RevokeOthers));
    }

    #[test]
    fn ending_sessions_reports_and_reloads_the_list() {
        let mut client = signed_in();
        load_sessions(&mut client);
        assert_eq!(client.sessions().map(<[_]>::len), Some(0));
        let asked = act(&mut client, T0, AccountAction::RevokeOthers);
        let id = sent(&asked, &Request::RevokeOthers);
        let done = answer(
            &mut client,
            id,
            Ok(Answer::SessionsEnded(SessionsEnded { ended: 2 })),
        );
        sent(&done, &Request::ListSessions);
        assert_eq!(
            client.account_message(),
            Some(&AccountMessage::Done("Signed out 2 other sessions.".into()))
        );
    }

    fn accounts(names: &[&str]) -> Answer {
        Answer::Accounts(crate::admin::AdminUserList {
            users: names
                .iter()
                .map(|name| crate::admin::AdminUser {
                    username: (*name).into(),
                    display_name: (*name).into(),
                    role: crate::Role::User,
                    disabled: false,
                    sessions: Vec::new(),
                })
                .collect(),
            more: false,
        })
    }

    #[test]
    fn an_administrators_change_waits_for_step_up_then_goes_once_and_reloads_the_same_search() {
        let mut client = signed_in();
        let asked = act(
            &mut client,
            T0,
            AccountAction::LoadAccounts {
                query: " gra ".into(),
            },
        );
        let search = Request::ListAccounts {
            query: "gra".into(),
        };
        let id = sent(&asked, &search);
        answer(&mut client, id, Ok(accounts(&["grace"])));
        assert_eq!(client.accounts().map(|l| l.users.len()), Some(1));

        let disable = Request::SetAccess {
            username: "grace".into(),
            disable: true,
        };
        let asked = act(
            &mut client,
            T0,
            AccountAction::SetAccess {
                username: "grace".into(),
                disable: true,
            },
        );
        let id = sent(&asked, &disable);
        answer(
            &mut client,
            id,
            Err(problem(ErrorCode::ReauthenticationRequired)),
        );
        assert!(client.step_up_required());
        let replay = client.handle(Event::SignedIn {
            now: T0 + 2000,
            info: info(1, T0 + 2000, T0 + 2000),
        });
        let id = sent(&replay, &disable);
        let done = answer(
            &mut client,
            id,
            Ok(Answer::AccessChanged(crate::admin::AccessChanged {
                username: "grace".into(),
                disabled: true,
                sessions_ended: 2,
            })),
        );
        sent(&done, &search);
        assert_eq!(
            client.account_message(),
            Some(&AccountMessage::Done(
                "grace is disabled; its 2 sessions ended.".into()
            ))
        );
    }

    #[test]
    fn ending_an_accounts_sessions_reports_them_and_a_gone_one_reloads_the_list() {
        let mut client = signed_in();
        let asked = act(
            &mut client,
            T0,
            AccountAction::LoadAccounts {
                query: String::new(),
            },
        );
        let all = Request::ListAccounts {
            query: String::new(),
        };
        let id = sent(&asked, &all);
        answer(&mut client, id, Ok(accounts(&["ada", "grace"])));

        let asked = act(
            &mut client,
            T0,
            AccountAction::EndAccountSessions {
                username: "ada".into(),
            },
        );
        let id = sent(
            &asked,
            &Request::EndAccountSessions {
                username: "ada".into(),
            },
        );
        let done = answer(
            &mut client,
            id,
            Ok(Answer::SessionsEnded(SessionsEnded { ended: 3 })),
        );
        let reload = sent(&done, &all);
        assert_eq!(
            client.account_message(),
            Some(&AccountMessage::Done("Ended 3 sessions.".into()))
        );
        answer(&mut client, reload, Ok(accounts(&["ada", "grace"])));

        let asked = act(
            &mut client,
            T0,
            AccountAction::EndAccountSession {
                username: "ada".into(),
                id: "s1".into(),
            },
        );
        let id = sent(
            &asked,
            &Request::EndAccountSession {
                username: "ada".into(),
                id: "s1".into(),
            },
        );
        let gone = answer(&mut client, id, Err(problem(ErrorCode::NotFound)));
        sent(&gone, &all);
        assert!(matches!(
            client.account_message(),
            Some(AccountMessage::Failed { text, .. }) if text.contains("gone")
        ));
    }

    #[test]
    fn another_user_signing_in_in_another_tab_takes_the_accounts_and_a_waiting_change_away() {
        let mut client = signed_in();
        let asked = act(
            &mut client,
            T0,
            AccountAction::LoadAccounts {
                query: String::new(),
            },
        );
        let id = sent(
            &asked,
            &Request::ListAccounts {
                query: String::new(),
            },
        );
        answer(&mut client, id, Ok(accounts(&["ada", "grace"])));
        let disable = AccountAction::SetAccess {
            username: "grace".into(),
            disable: true,
        };
        let asked = act(&mut client, T0, disable);
        let id = sent(
            &asked,
            &Request::SetAccess {
                username: "grace".into(),
                disable: true,
            },
        );
        answer(
            &mut client,
            id,
            Err(problem(ErrorCode::ReauthenticationRequired)),
        );
        assert!(client.step_up_required());

        client.handle(Event::Tab {
            now: T0 + 1000,
            message: TabMessage::Session(Box::new(info(2, T0 + 1000, T0 + 1000))),
        });
        assert!(client.accounts().is_none(), "the list was the other user's");
        assert!(
            !client.step_up_required(),
            "their change is not this user's to confirm"
        );
        let signed = client.handle(Event::SignedIn {
            now: T0 + 2000,
            info: info(2, T0 + 2000, T0 + 2000),
        });
        assert!(sends(&signed)
            .iter()
            .all(|(_, r)| !matches!(r, Request::SetAccess { .. })));
    }

    #[test]
    fn anyone_but_an_administrator_is_told_the_page_is_not_for_them() {
        let mut client = signed_in();
        let asked = act(
            &mut client,
            T0,
            AccountAction::LoadAccounts {
                query: String::new(),
            },
        );
        let id = sent(
            &asked,
            &Request::ListAccounts {
                query: String::new(),
            },
        );
        let refused = answer(&mut client, id, Err(problem(ErrorCode::NotFound)));
        assert!(sends(&refused).is_empty());
        assert!(client.accounts().is_none());
        assert_eq!(
            client.account_message(),
            Some(&AccountMessage::Failed {
                text: "Only administrators can see this page.".into(),
                field: None
            })
        );
    }

    #[test]
    fn a_revoked_session_ends_here_whatever_request_learned_it() {
        let mut client = signed_in();
        let load = act(&mut client, T0, AccountAction::LoadSessions);
        let id = sent(&load, &Request::ListSessions);
        answer(&mut client, id, Err(problem(ErrorCode::SessionRevoked)));
        assert_eq!(
            *client.phase(),
            ClientPhase::Ended {
                reason: None,
                told: None
            }
        );
    }

    #[test]
    fn a_password_the_server_would_refuse_is_refused_before_sending() {
        let mut client = signed_in();
        let change = |current: &str, new: &str| PasswordChange {
            current_password: current.into(),
            new_password: new.into(),
        };
        for (current, new, field) in [
            ("", "a long new password", "current_password"),
            ("old password", "short", "new_password"),
            ("same password", "same password", "new_password"),
        ] {
            let commands = act(
                &mut client,
                T0,
                AccountAction::ChangePassword(change(current, new)),
            );
            assert!(sends(&commands).is_empty());
            assert!(matches!(
                client.account_message(),
                Some(AccountMessage::Failed { field: Some(f), .. }) if f == field
            ));
        }
        let commands = act(
            &mut client,
            T0,
            AccountAction::ChangePassword(change("old password", "a long new password")),
        );
        let id = sent(
            &commands,
            &Request::ChangePassword(change("old password", "a long new password")),
        );
        answer(
            &mut client,
            id,
            Ok(Answer::PasswordChanged(PasswordChanged {
                sessions_ended: 1,
            })),
        );
        assert_eq!(client.password_changes(), 1);
        assert!(matches!(
            client.account_message(),
            Some(AccountMessage::Done(text)) if text.contains("1 other session")
        ));
    }

    #[test]
    fn nothing_of_the_account_outlives_a_sign_out() {
        let mut client = signed_in();
        load_sessions(&mut client);
        let out = client.handle(Event::User {
            now: T0,
            action: UserAction::SignOut,
        });
        let logout = sent(&out, &Request::Logout);
        answer(&mut client, logout, Ok(Answer::LoggedOut));
        assert_eq!(client.sessions(), None);
        // Signed out, nothing is asked.
        assert!(sends(&act(&mut client, T0, AccountAction::LoadSessions)).is_empty());
    }

    #[test]
    fn deleting_all_drafts_reads_the_account_again_and_drops_what_went() {
        let mut client = signed_in();
        let created = client.handle(Event::User {
            now: T0,
            action: UserAction::NewDraft { id: "d1".into() },
        });
        let _ = created;
        client.handle(Event::User {
            now: T0,
            action: UserAction::Edit {
                id: "d1".into(),
                input: input("Old", "notes"),
            },
        });
        let saved = fire(&mut client, T0 + 2_000, Timer::Autosave);
        let (id, _, _) = work_sent(&saved);
        super::answer(
            &mut client,
            T0 + 2_100,
            id,
            Ok(Answer::Saved(stored("d1", "Old", "notes", 1))),
        );
        assert_eq!(client.drafts().count(), 1);

        let asked = act(&mut client, T0 + 3_000, AccountAction::DeleteAllDrafts);
        let id = sent(&asked, &Request::DeleteAllDrafts);
        let done = answer(
            &mut client,
            id,
            Ok(Answer::DraftsDeleted(crate::work::DraftsDeleted {
                deleted: 1,
            })),
        );
        let get = sent(&done, &Request::GetWork);
        assert_eq!(
            client.account_message(),
            Some(&AccountMessage::Done("Deleted 1 draft.".into()))
        );
        super::answer(
            &mut client,
            T0 + 4_000,
            get,
            Ok(Answer::Snapshot(WorkSnapshot::default())),
        );
        assert_eq!(client.drafts().count(), 0);
    }

    mod passkeys {
        use super::*;
        use crate::client::passkey::AuthenticatorFailure;
        use crate::passkeys::{PasskeyChallenge, PasskeyList, PasskeyRegistration, PasskeyView};

        fn challenge(ceremony: &str) -> PasskeyChallenge {
            PasskeyChallenge {
                ceremony: ceremony.into(),
                options: serde_json::json!({"publicKey": {"challenge": ceremony}}),
            }
        }

        fn view(name: &str) -> PasskeyView {
            PasskeyView {
                id: "k1".into(),
                name: name.into(),
                created_at: at(T0),
                last_used_at: None,
                backed_up: false,
            }
        }

        /// Asks to add `name`; the options arrive: the authenticator's attempt number.
        fn options_arrive(client: &mut Client, name: &str, ceremony: &str) -> u32 {
            let asked = act(client, T0, AccountAction::AddPasskey { name: name.into() });
            let id = sent(&asked, &Request::PasskeyOptions);
            let create = answer(
                client,
                id,
                Ok(Answer::PasskeyChallenge(challenge(ceremony))),
            );
            assert!(sends(&create).is_empty());
            create
                .iter()
                .find_map(|c| match c {
                    Command::CreatePasskey { attempt, options } => {
                        assert_eq!(options["publicKey"]["challenge"], ceremony);
                        Some(*attempt)
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("the authenticator is asked: {create:?}"))
        }

        #[test]
        fn adding_a_passkey_registers_the_authenticators_answer_once_and_reloads() {
            let mut client = signed_in();
            let attempt = options_arrive(&mut client, "Laptop", "c1");
            assert!(
                client.account_busy(),
                "busy while the authenticator is asked"
            );
            let credential = serde_json::json!({"id": "k1"});
            let answered = client.handle(Event::Authenticator {
                now: T0,
                attempt,
                answer: Ok(credential.clone()),
            });
            let registration = Request::RegisterPasskey(PasskeyRegistration {
                ceremony: "c1".into(),
                name: "Laptop".into(),
                credential: credential.clone(),
            });
            let id = sent(&answered, &registration);
            // The same answer again registers nothing more.
            let again = client.handle(Event::Authenticator {
                now: T0,
                attempt,
                answer: Ok(credential),
            });
            assert!(sends(&again).is_empty());
            let added = answer(&mut client, id, Ok(Answer::PasskeyAdded(view("Laptop"))));
            let reload = sent(&added, &Request::ListPasskeys);
            assert!(matches!(
                client.account_message(),
                Some(AccountMessage::Done(text)) if text.contains("Laptop")
            ));
            answer(
                &mut client,
                reload,
                Ok(Answer::Passkeys(PasskeyList {
                    passkeys: vec![view("Laptop")],
                })),
            );
            assert_eq!(client.passkeys().map(<[_]>::len), Some(1));
            assert!(!client.account_busy());
        }

        #[test]
        fn a_passkey_needs_a_name_and_a_fresh_sign_in_first() {
            let mut client = signed_in();
            let nothing = act(
                &mut client,
                T0,
                AccountAction::AddPasskey { name: " ".into() },
            );
            assert!(sends(&nothing).is_empty());
            assert!(matches!(
                client.account_message(),
                Some(AccountMessage::Failed { field: Some(f), .. }) if f == "passkey_name"
            ));

            let asked = act(
                &mut client,
                T0,
                AccountAction::AddPasskey { name: "Key".into() },
            );
            let id = sent(&asked, &Request::PasskeyOptions);
            answer(
                &mut client,
                id,
                Err(problem(ErrorCode::ReauthenticationRequired)),
            );
            assert!(client.step_up_required());
            let replay = client.handle(Event::SignedIn {
                now: T0 + 2000,
                info: info(1, T0 + 2000, T0 + 2000),
            });
            sent(&replay, &Request::PasskeyOptions);
        }

        #[test]
        fn a_cancelled_prompt_says_so_and_a_late_answer_is_ignored() {
            let mut client = signed_in();
            let attempt = options_arrive(&mut client, "Key", "c1");
            client.handle(Event::Authenticator {
                now: T0,
                attempt,
                answer: Err(AuthenticatorFailure::Cancelled),
            });
            assert!(!client.account_busy());
            assert!(matches!(
                client.account_message(),
                Some(AccountMessage::Failed { text, .. }) if text.contains("not used")
            ));
            // The next attempt; an answer of the first arrives late.
            let next = options_arrive(&mut client, "Key", "c2");
            assert_ne!(next, attempt);
            let late = client.handle(Event::Authenticator {
                now: T0,
                attempt,
                answer: Ok(serde_json::json!({"id": "old"})),
            });
            assert!(sends(&late).is_empty());
            assert!(client.account_busy(), "still waiting for the live prompt");
        }

        #[test]
        fn removing_a_passkey_goes_through_step_up_and_reloads() {
            let mut client = signed_in();
            let remove = AccountAction::RemovePasskey { id: "k1".into() };
            let asked = act(&mut client, T0, remove);
            let id = sent(&asked, &Request::RemovePasskey { id: "k1".into() });
            let gone = answer(&mut client, id, Err(problem(ErrorCode::NotFound)));
            sent(&gone, &Request::ListPasskeys);
            assert!(matches!(
                client.account_message(),
                Some(AccountMessage::Failed { text, .. }) if text.contains("already been removed")
            ));
        }
    }
}

#[test]
fn tab_messages_read_back_from_either_channel_and_nothing_else() {
    let message = TabMessage::Session(Box::new(info(1, T0, T0)));
    let raw = message.encode();
    assert_eq!(TabMessage::decode(&raw), Some(message.clone()));
    // The storage-event fallback stamps a second line so repeats still fire.
    assert_eq!(
        TabMessage::decode(&format!("{raw}\n1780000000000")),
        Some(message)
    );
    assert_eq!(
        TabMessage::decode("\"signed_out\""),
        Some(TabMessage::SignedOut)
    );
    for foreign in [
        "",
        "{}",
        "null",
        "\"signed_in\"",
        "{\"session\":1}",
        "\n\"signed_out\"",
    ] {
        assert_eq!(TabMessage::decode(foreign), None, "{foreign}");
    }
}

/// The fuzz target starts from these; they must stay readable as the types change.
#[test]
fn the_fuzz_seeds_are_tab_messages() {
    let session = include_str!("../../fuzz/seeds/tab_messages/session");
    assert!(matches!(
        TabMessage::decode(session),
        Some(TabMessage::Session(_))
    ));
    let mixed = include_str!("../../fuzz/seeds/tab_messages/mixed");
    assert_eq!(mixed.split('\0').filter_map(TabMessage::decode).count(), 3);
}

/// Another tab reports that a *different* user signed in: nothing of the previous user
/// (key, work) stays, and the new user's work waits for the new user's key.
#[test]
fn a_tab_message_for_another_user_drops_the_previous_users_key_and_work() {
    let mut client = signed_in();
    let mut grace = info(2, T0 + 1_000, T0 + 1_000);
    // Tab messages carry no key: another tab never hands one over.
    grace.local_key = None;
    let adopted = client.handle(Event::Tab {
        now: T0 + 1_000,
        message: TabMessage::Session(Box::new(grace)),
    });
    assert!(
        adopted.contains(&Command::UseKey(None)),
        "Ada's key is dropped: {adopted:?}"
    );
    assert!(
        !adopted.contains(&Command::LoadLocal { user: 2 }),
        "nothing is read or written under the old key: {adopted:?}"
    );
    assert!(!client.work_ready());
    let check = sent(&adopted, &Request::CheckSession);
    let keyed = answer(
        &mut client,
        T0 + 1_100,
        check,
        Ok(Answer::Session(info(2, T0 + 1_100, T0 + 1_000))),
    );
    let key_at = keyed
        .iter()
        .position(|c| matches!(c, Command::UseKey(Some(k)) if k.key == "key-of-2"))
        .unwrap_or_else(|| panic!("Grace's key is taken: {keyed:?}"));
    let load_at = keyed
        .iter()
        .position(|c| *c == Command::LoadLocal { user: 2 })
        .unwrap_or_else(|| panic!("Grace's copy is read: {keyed:?}"));
    assert!(key_at < load_at, "the key before the copy: {keyed:?}");
}

/// The event stream (SPEC §9.3): asked for while a session lives here, its news checked
/// with the server, the verdict told to the other tabs.
mod events {
    use super::*;
    use crate::events::{EndedBecause, ServerEvent};

    fn pushed(client: &mut Client, now: Millis, event: ServerEvent) -> Vec<Command> {
        client.handle(Event::Pushed { now, event })
    }

    /// At `now` the user opens the sessions list; the server answers `with`.
    fn list_sessions(client: &mut Client, now: Millis, with: Result<Answer, Problem>) {
        let load = user_does(
            client,
            now,
            UserAction::Account(AccountAction::LoadSessions),
        );
        let id = sent(&load, &Request::ListSessions);
        answer(client, now + 10, id, with);
    }

    fn ended_elsewhere() -> ServerEvent {
        ServerEvent::SessionEnded {
            reason: EndedBecause::SignedOutElsewhere,
        }
    }

    #[test]
    fn a_live_session_asks_for_the_stream_once_and_an_ending_closes_it() {
        let mut client = Client::new();
        let started = client.handle(Event::Started {
            now: T0,
            cookie: true,
            tab: "tab".into(),
            last_user: None,
        });
        assert!(
            !started.contains(&Command::OpenEvents),
            "not before the session is known"
        );
        let check = sent(&started, &Request::CheckSession);
        let adopted = answer(&mut client, T0, check, Ok(Answer::Session(info(1, T0, T0))));
        assert_eq!(
            adopted
                .iter()
                .filter(|c| **c == Command::OpenEvents)
                .count(),
            1
        );
        let again = client.handle(Event::Activity { now: T0 + 1 });
        assert!(!again.contains(&Command::OpenEvents));
        let expired = fire(&mut client, T0 + IDLE_MS + 25, Timer::Phase);
        assert!(expired.contains(&Command::CloseEvents));
    }

    #[test]
    fn another_session_taking_over_the_browser_reopens_the_stream_under_its_cookie() {
        let mut client = signed_in();
        let same = client.handle(Event::Tab {
            now: T0 + 500,
            message: TabMessage::Session(Box::new(info(1, T0 + 500, T0 + 500))),
        });
        assert!(
            !same.contains(&Command::CloseEvents),
            "the same session, refreshed: the stream stays"
        );
        let mut grace = info(2, T0 + 1000, T0 + 1000);
        grace.session_id = "s2".into();
        let other = client.handle(Event::Tab {
            now: T0 + 1000,
            message: TabMessage::Session(Box::new(grace)),
        });
        let close = other.iter().position(|c| *c == Command::CloseEvents);
        let open = other.iter().position(|c| *c == Command::OpenEvents);
        assert!(
            matches!((close, open), (Some(close), Some(open)) if close < open),
            "the previous user's stream is closed, then one opened for this session: {other:?}"
        );
    }

    #[test]
    fn a_page_back_from_the_back_forward_cache_stays_hidden_until_the_server_answers() {
        // Alive: shown again once the server says so.
        let mut client = signed_in();
        let restored = client.handle(Event::Restored { now: T0 + 5000 });
        let check = sent(&restored, &Request::CheckSession);
        assert!(client.restoring());
        answer(
            &mut client,
            T0 + 5010,
            check,
            Ok(Answer::Session(info(1, T0, T0))),
        );
        assert!(!client.restoring());
        assert!(client.phase().is_signed_in());

        // Ended meanwhile: locked first, then no longer hidden (the lock hides the work).
        let mut client = signed_in();
        let restored = client.handle(Event::Restored { now: T0 + 5000 });
        let check = sent(&restored, &Request::CheckSession);
        answer(
            &mut client,
            T0 + 5010,
            check,
            Err(problem(ErrorCode::SessionRevoked)),
        );
        assert!(client.phase().is_ended());
        assert!(!client.restoring());

        // Unreachable: the server cannot say, and the work stays usable here as offline.
        let mut client = signed_in();
        let restored = client.handle(Event::Restored { now: T0 + 5000 });
        let check = sent(&restored, &Request::CheckSession);
        answer(
            &mut client,
            T0 + 5010,
            check,
            Err(problem(ErrorCode::NetworkError)),
        );
        assert!(!client.restoring());

        // Past the idle deadline while frozen: ended on the local clock, already locked.
        let mut client = signed_in();
        client.handle(Event::Restored {
            now: T0 + 3 * 3_600_000,
        });
        assert!(client.phase().is_ended());
        assert!(!client.restoring());
    }

    #[test]
    fn news_of_an_ending_is_checked_then_shown_with_its_reason_and_told_to_the_other_tabs() {
        let mut client = signed_in();
        let (change, key, op) = typed_and_sent(&mut client, "d1", input("T", "typed"));
        let news = pushed(&mut client, T0 + 3000, ended_elsewhere());
        assert!(client.phase().is_signed_in(), "news alone decides nothing");
        let check = sent(&news, &Request::CheckSession);
        let verdict = answer(
            &mut client,
            T0 + 3010,
            check,
            Err(problem(ErrorCode::SessionRevoked)),
        );
        assert_eq!(
            *client.phase(),
            ClientPhase::Ended {
                reason: None,
                told: Some(EndedBecause::SignedOutElsewhere)
            }
        );
        assert!(verdict.contains(&Command::Broadcast(TabMessage::Ended {
            session: "s".into(),
            because: EndedBecause::SignedOutElsewhere
        })));
        assert!(verdict.contains(&Command::CloseEvents));
        // The change on its way, refused as the session ended, is kept for after signing
        // in again.
        answer(
            &mut client,
            T0 + 3020,
            change,
            Err(problem(ErrorCode::SessionRevoked)),
        );
        assert_eq!(client.waiting(), 1);
        let signed = client.handle(Event::SignedIn {
            now: T0 + 9000,
            info: info(1, T0 + 9000, T0 + 9000),
        });
        assert!(signed.contains(&Command::OpenEvents));
        let get = sent(&signed, &Request::GetWork);
        let replay = answer(
            &mut client,
            T0 + 9001,
            get,
            Ok(Answer::Snapshot(WorkSnapshot::default())),
        );
        assert_eq!(work_sent(&replay).1, key);
        assert_eq!(work_sent(&replay).2, op);
    }

    #[test]
    fn news_the_server_does_not_bear_out_changes_nothing() {
        let mut client = signed_in();
        let news = pushed(&mut client, T0 + 1000, ended_elsewhere());
        let check = sent(&news, &Request::CheckSession);
        answer(
            &mut client,
            T0 + 1010,
            check,
            Ok(Answer::Session(info(1, T0 + 1010, T0))),
        );
        assert_eq!(*client.phase(), ClientPhase::Active);
        // A later ending found by a request carries no stale reason.
        list_sessions(
            &mut client,
            T0 + 2000,
            Err(problem(ErrorCode::SessionRevoked)),
        );
        assert_eq!(
            *client.phase(),
            ClientPhase::Ended {
                reason: None,
                told: None
            }
        );
    }

    #[test]
    fn another_tabs_verdict_ends_the_session_here_without_asking() {
        let mut client = signed_in();
        let told = client.handle(Event::Tab {
            now: T0 + 1000,
            message: TabMessage::Ended {
                session: "s".into(),
                because: EndedBecause::PasswordChanged,
            },
        });
        assert!(sends(&told).is_empty());
        assert_eq!(
            *client.phase(),
            ClientPhase::Ended {
                reason: None,
                told: Some(EndedBecause::PasswordChanged)
            }
        );
        assert!(told.contains(&Command::CloseEvents));
    }

    #[test]
    fn another_tabs_verdict_on_an_older_session_is_ignored() {
        let mut client = signed_in();
        let told = client.handle(Event::Tab {
            now: T0 + 1000,
            message: TabMessage::Ended {
                session: "an earlier one".into(),
                because: EndedBecause::Operator,
            },
        });
        assert!(told.is_empty(), "{told:?}");
        assert_eq!(*client.phase(), ClientPhase::Active);
    }

    #[test]
    fn a_lost_stream_is_opened_again_with_backoff() {
        let mut client = signed_in();
        let lost = client.handle(Event::EventsLost { now: T0 + 100 });
        assert!(lost.contains(&Command::SetTimer {
            timer: Timer::EventsRetry,
            at: T0 + 1100
        }));
        assert!(sends(&lost).is_empty());
        let reopened = fire(&mut client, T0 + 1100, Timer::EventsRetry);
        assert!(reopened.contains(&Command::OpenEvents));
        // A stream refused may mean the session is over: the server is asked.
        let check = sent(&reopened, &Request::CheckSession);
        answer(
            &mut client,
            T0 + 1110,
            check,
            Ok(Answer::Session(info(1, T0 + 1110, T0))),
        );
        let lost = client.handle(Event::EventsLost { now: T0 + 1200 });
        assert!(lost.contains(&Command::SetTimer {
            timer: Timer::EventsRetry,
            at: T0 + 3200
        }));
        fire(&mut client, T0 + 3200, Timer::EventsRetry);
        pushed(&mut client, T0 + 3300, ServerEvent::Ready);
        let lost = client.handle(Event::EventsLost { now: T0 + 4000 });
        assert!(
            lost.contains(&Command::SetTimer {
                timer: Timer::EventsRetry,
                at: T0 + 8000
            }),
            "a stream closed at once (a busy server, a limit) keeps backing off"
        );
        fire(&mut client, T0 + 8000, Timer::EventsRetry);
        pushed(&mut client, T0 + 8100, ServerEvent::Ready);
        let lost = client.handle(Event::EventsLost { now: T0 + 38_100 });
        assert!(
            lost.contains(&Command::SetTimer {
                timer: Timer::EventsRetry,
                at: T0 + 39_100
            }),
            "a stream that lasted starts the backoff again"
        );
    }

    #[test]
    fn signing_out_here_is_no_news() {
        let mut client = signed_in();
        let out = user_does(&mut client, T0 + 100, UserAction::SignOut);
        sent(&out, &Request::Logout);
        let news = pushed(
            &mut client,
            T0 + 110,
            ServerEvent::SessionEnded {
                reason: EndedBecause::SignedOut,
            },
        );
        assert!(sends(&news).is_empty(), "{news:?}");
    }

    #[test]
    fn a_request_refused_with_the_servers_reason_shows_it() {
        let mut client = signed_in();
        list_sessions(
            &mut client,
            T0 + 100,
            Err(Problem::session_revoked(Some(EndedBecause::Operator))),
        );
        assert_eq!(
            *client.phase(),
            ClientPhase::Ended {
                reason: None,
                told: Some(EndedBecause::Operator)
            }
        );
    }

    #[test]
    fn a_change_to_the_sessions_reloads_a_list_on_screen_only() {
        let mut client = signed_in();
        let nothing = pushed(&mut client, T0 + 100, ServerEvent::SessionsChanged);
        assert!(sends(&nothing).is_empty());
        list_sessions(
            &mut client,
            T0 + 200,
            Ok(Answer::Sessions(crate::sessions::SessionList {
                sessions: Vec::new(),
            })),
        );
        let reload = pushed(&mut client, T0 + 300, ServerEvent::SessionsChanged);
        assert!(reload.contains(&Command::Broadcast(TabMessage::SessionsChanged)));
        let id = sent(&reload, &Request::ListSessions);
        answer(
            &mut client,
            T0 + 310,
            id,
            Ok(Answer::Sessions(crate::sessions::SessionList {
                sessions: Vec::new(),
            })),
        );
        // Another tab heard it: the list here is read again too.
        let told = client.handle(Event::Tab {
            now: T0 + 400,
            message: TabMessage::SessionsChanged,
        });
        sent(&told, &Request::ListSessions);
    }
}
