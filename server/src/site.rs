//! The site: the browser's files the server hands out (`/pkg/*`) and names in every page.
//!
//! A release runs as-is: without any `LEPTOS_*` variable, the binary looks for its site where
//! its build left it, `site/` beside the binary's folder (`target/release/server` →
//! `target/site`; an unpacked `make dist` archive's `bin/server` → `site/`), and names the
//! files as the build named them (content hashes, read by Leptos from `hash.txt` beside the
//! binary, when it is there). `LEPTOS_*` variables still override each value.
//!
//! The site stays on disk rather than embedded in the binary: cargo-leptos builds the
//! server and the browser bundle side by side, so an embedded site would need the server
//! built a second time after the bundle, and every embedded byte (2.1 MB with the
//! compressed copies, beside a 29.6 MB binary) would be in every process's image; served from disk, the files are
//! the page cache's and `ServeDir` sends them precompressed (docs/operations.md, "The
//! release").

use std::path::{Path, PathBuf};

use leptos::config::{get_configuration, LeptosOptions};

/// The Leptos metadata in the workspace's `Cargo.toml` this binary was built with (a test
/// keeps them in step).
const OUTPUT_NAME: &str = "vigil";
const HASH_FILES: bool = true;

/// Where the site is looked for when `LEPTOS_SITE_ROOT` is not set: `../site` from the
/// binary's folder.
const SITE_DIR: &str = "site";

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("the Leptos settings are invalid: {0}")]
    Settings(#[from] leptos::config::errors::LeptosConfigError),
    #[error("the site is not at {0} (set LEPTOS_SITE_ROOT to the folder holding `pkg/`)")]
    Missing(PathBuf),
    #[error("the file names are not readable from {path}: {source} (the release puts `hash.txt` beside the binary)")]
    Hashes {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} names a file the site does not have: {1}")]
    MissingFile(PathBuf, PathBuf),
}

/// The site's settings: the `LEPTOS_*` variables over what this build produced.
pub fn options() -> Result<LeptosOptions, SiteError> {
    let set = |name: &str| std::env::var_os(name).is_some();
    let mut options = get_configuration(None)?.leptos_options;
    if options.output_name.is_empty() {
        options.output_name = OUTPUT_NAME.into();
    }
    if !set("LEPTOS_SITE_ROOT") {
        if let Some(root) = beside_binary(Path::new("..").join(SITE_DIR)) {
            let root = root.canonicalize().unwrap_or(root);
            options.site_root = root.to_string_lossy().as_ref().into();
        }
    }
    // Hashed names only with the file that holds them: Leptos reads `hash.txt` on every page
    // and cannot render one without it (a binary copied or run without its build's site).
    if !set("LEPTOS_HASH_FILES") {
        options.hash_files =
            HASH_FILES && beside_binary(options.hash_file.as_ref()).is_some_and(|p| p.is_file());
    }
    Ok(options)
}

/// Checks that the site the pages will name is there: the folder, and with hashed names,
/// `hash.txt` and each file it names. Answers the files checked.
pub fn check(options: &LeptosOptions) -> Result<Vec<PathBuf>, SiteError> {
    let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    if !pkg.is_dir() {
        return Err(SiteError::Missing(pkg));
    }
    let name = options.output_name.as_ref();
    let files = if options.hash_files {
        let path = beside_binary(options.hash_file.as_ref()).unwrap_or_default();
        let hashes = std::fs::read_to_string(&path).map_err(|source| SiteError::Hashes {
            path: path.clone(),
            source,
        })?;
        let hash = |kind: &str| {
            hashes.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == kind).then(|| value.trim().to_owned())
            })
        };
        let mut files = Vec::new();
        for (kind, file) in [
            ("js", format!("{name}.{{}}.js")),
            ("wasm", format!("{name}.{{}}.wasm")),
            ("css", format!("{name}.{{}}.css")),
            ("manifest", "__wasm_split_manifest.{}.json".to_owned()),
            ("split", "__wasm_split.{}.js".to_owned()),
        ] {
            if let Some(hash) = hash(kind) {
                files.push((path.clone(), pkg.join(file.replace("{}", &hash))));
            }
        }
        if files.is_empty() {
            return Err(SiteError::Hashes {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no file names"),
            });
        }
        files
    } else {
        ["js", "wasm", "css"]
            .iter()
            .map(|ext| (pkg.clone(), pkg.join(format!("{name}.{ext}"))))
            .collect()
    };
    files
        .into_iter()
        .map(|(source, file)| {
            if file.is_file() {
                Ok(file)
            } else {
                Err(SiteError::MissingFile(source, file))
            }
        })
        .collect()
}

/// `relative` from the running binary's folder, if there is one.
fn beside_binary(relative: impl AsRef<Path>) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled-in defaults are what the workspace's Leptos metadata says the build does.
    #[test]
    fn defaults_follow_the_leptos_metadata() {
        let manifest = include_str!("../../Cargo.toml");
        let metadata = manifest
            .split("[[workspace.metadata.leptos]]")
            .nth(1)
            .expect("the workspace has Leptos metadata");
        let value = |key: &str| {
            metadata.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        assert_eq!(value("output-name").as_deref(), Some(OUTPUT_NAME));
        assert_eq!(value("hash-files"), Some(HASH_FILES.to_string()));
        assert_eq!(value("site-pkg-dir").as_deref(), Some("pkg"));
        assert_eq!(value("site-root").as_deref(), Some("target/site"));
    }

    #[test]
    fn a_missing_site_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let options = LeptosOptions::builder()
            .output_name("vigil")
            .site_root(dir.path().to_string_lossy().as_ref())
            .build();
        let err = check(&options).unwrap_err();
        assert!(err.to_string().contains("LEPTOS_SITE_ROOT"), "{err}");
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        let err = check(&options).unwrap_err();
        assert!(err.to_string().contains("vigil.js"), "{err}");
        for ext in ["js", "wasm", "css"] {
            std::fs::write(dir.path().join(format!("pkg/vigil.{ext}")), "").unwrap();
        }
        assert_eq!(check(&options).unwrap().len(), 3);
    }
}
