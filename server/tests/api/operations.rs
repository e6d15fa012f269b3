//! The operator's command line from outside: `server check` run as a process, passing on
//! good settings and naming what fails otherwise (SPEC §9.4).

use std::path::Path;

use crate::processes::{environment, run_command};

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
fn check_passes_when_every_part_answers() {
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
        err.contains("FAILED  session store: not checked without the database"),
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
