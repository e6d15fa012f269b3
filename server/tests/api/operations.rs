//! The operator's view from outside, as processes: `server check` passing on good settings
//! and naming what fails otherwise, and a release's binary finding its site by itself
//! (SPEC §9.4).

use std::path::{Path, PathBuf};

use http::{Method, StatusCode};

use crate::processes::{command, environment, run_binary, run_command, ServerProcess};

/// A site with the three files an unhashed build names, in `dir/site`.
fn site_in(dir: &Path) -> String {
    let pkg = dir.join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for ext in ["js", "wasm", "css"] {
        std::fs::write(pkg.join(format!("vigil.{ext}")), "").unwrap();
    }
    dir.join("site").display().to_string()
}

/// `server check` with the test's environment and `settings`: exit code, stdout, stderr.
fn check(dir: &Path, settings: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let site = site_in(dir);
    let mut all = vec![
        ("LEPTOS_SITE_ROOT", site.as_str()),
        ("LEPTOS_HASH_FILES", "false"),
    ];
    all.extend_from_slice(settings);
    let output = run_command(&environment(dir, &all), &["check"], "");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_passes_when_every_part_answers_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    for part in [
        "settings",
        "signing secret",
        "database",
        "session store",
        "site",
    ] {
        assert!(out.contains(&format!("ok      {part}: ")), "{part}: {out}");
    }
    assert!(out.contains("3 files named by this build"), "{out}");
    // A first install: nothing is there yet, and the check creates nothing.
    assert!(out.contains("none yet at"), "{out}");
    assert!(!dir.path().join("vigil.db").exists());
    assert!(!dir.path().join("jwt-secret").exists());

    // Once the server (here its command line) has opened the database, every migration is
    // applied and none is left for the next start.
    let env = environment(dir.path(), &[]);
    command(
        &env,
        &["user", "add", "ada", "--password-stdin"],
        "correct horse battery",
    );
    let (code, out, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(" 0 to apply at start"), "{out}");
}

#[test]
fn check_names_the_part_that_fails_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let unreachable_redis = [
        ("VIGIL_SESSION_STORE", "redis://127.0.0.1:1"),
        ("VIGIL_STORE_TIMEOUT", "1s"),
    ];
    let (code, out, err) = check(dir.path(), &unreachable_redis);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("ok      database"), "{err}");
    assert!(err.contains("FAILED  session store: Redis"), "{err}");
    assert!(err.contains("the check failed"), "{err}");

    let missing_site = [("LEPTOS_SITE_ROOT", "/nonexistent/vigil-site")];
    let (code, _, err) = check(dir.path(), &missing_site);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("FAILED  site: the site is not at /nonexistent/vigil-site/pkg"),
        "{err}"
    );
    assert!(err.contains("LEPTOS_SITE_ROOT"), "{err}");

    let unreachable_database = [
        ("VIGIL_DATABASE_URL", "postgres://vigil@127.0.0.1:1/vigil"),
        ("VIGIL_STORE_TIMEOUT", "1s"),
    ];
    let (code, _, err) = check(dir.path(), &unreachable_database);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("FAILED  database"), "{err}");
    assert!(
        err.contains("FAILED  session store: in the database, which did not answer"),
        "{err}"
    );
}

#[test]
fn check_refuses_settings_it_cannot_read_before_reaching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = check(dir.path(), &[("VIGIL_IDLE_TIMEOUT", "soon")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("VIGIL_IDLE_TIMEOUT is not a duration"),
        "{err}"
    );

    let production = [("VIGIL_ENV", "production"), ("VIGIL_TEST_CLOCK", "0")];
    let (code, _, err) = check(dir.path(), &production);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("production requires VIGIL_JWT_SECRET"),
        "{err}"
    );
}

/// An unpacked release: `bin/server` (the built binary, linked) with `site/` beside `bin/`.
fn release_in(dir: &Path) -> PathBuf {
    std::fs::create_dir(dir.join("bin")).unwrap();
    let binary = dir.join("bin/server");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_server"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_server"), &binary).unwrap();
    }
    site_in(dir);
    binary
}

#[tokio::test]
async fn a_release_finds_its_site_beside_its_folder_without_any_leptos_setting() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let binary = release_in(dir.path());
    let env = environment(dir.path(), &[]);
    let site = dir.path().join("site").canonicalize().unwrap();

    let output = run_binary(&binary, &env, &["check"], "");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.contains(&format!("ok      site: {}", site.display())),
        "{out}"
    );

    // With the names a build wrote beside the binary, those files are what the site needs.
    std::fs::write(
        dir.path().join("bin/hash.txt"),
        "js: a1\nwasm: b2\ncss: c3\n",
    )
    .unwrap();
    let output = run_binary(&binary, &env, &["check"], "");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("vigil.a1.js"), "{err}");
    std::fs::remove_file(dir.path().join("bin/hash.txt")).unwrap();

    // Without them the pages name the plain files, and render (Leptos cannot render a page
    // whose hashed names it cannot read).
    let server = ServerProcess::start_binary(binary, &env, dir.path().join("server.log")).await;
    let page = server.send(Method::GET, "/login", None, &[]).await.unwrap();
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().unwrap_or_default().to_owned();
    assert!(html.contains("/pkg/vigil.js"), "{html}");
}
