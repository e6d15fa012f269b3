//! The JWT signing secret: at least 32 bytes, from the environment, a file, or (in
//! development only) generated once and persisted under the data directory.

use std::path::{Path, PathBuf};

use rand::RngCore;
use thiserror::Error;

use crate::configuration::Environment;

pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Value(String),
    File(PathBuf),
    /// Generated on first run and kept at this path (development only).
    Generated(PathBuf),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(<redacted>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Generated(path) => f.debug_tuple("Generated").field(path).finish(),
        }
    }
}

/// A signing secret known to be long enough. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtSecret(<{} bytes>)", self.0.len())
    }
}

#[derive(Debug, Error)]
pub enum SecretError {
    #[error("the JWT secret has {0} bytes; at least {MIN_SECRET_BYTES} random bytes are required")]
    TooShort(usize),
    #[error("production requires VIGIL_JWT_SECRET or VIGIL_JWT_SECRET_FILE")]
    MissingInProduction,
    #[error("could not read or write the secret file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl JwtSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 48];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn load(source: &SecretSource, environment: Environment) -> Result<Self, SecretError> {
        match source {
            SecretSource::Value(value) => Self::new(value.trim().as_bytes().to_vec()),
            SecretSource::File(path) => Self::new(read_trimmed(path)?),
            SecretSource::Generated(_) if environment == Environment::Production => {
                Err(SecretError::MissingInProduction)
            }
            SecretSource::Generated(path) => match std::fs::read(path) {
                Ok(_) => Self::new(read_trimmed(path)?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let secret = Self::generate();
                    persist(path, &hex::encode(secret.as_bytes()))?;
                    Ok(Self(hex::encode(secret.as_bytes()).into_bytes()))
                }
                Err(source) => Err(SecretError::Io {
                    path: path.clone(),
                    source,
                }),
            },
        }
    }
}

fn read_trimmed(path: &Path) -> Result<Vec<u8>, SecretError> {
    let bytes = std::fs::read(path).map_err(|source| SecretError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.trim().as_bytes().to_vec())
}

fn persist(path: &Path, contents: &str) -> Result<(), SecretError> {
    let io = |source| SecretError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_secrets() {
        let err = JwtSecret::load(
            &SecretSource::Value("short".into()),
            Environment::Production,
        );
        assert!(matches!(err, Err(SecretError::TooShort(5))));
    }

    #[test]
    fn production_never_generates_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = SecretSource::Generated(dir.path().join("secret"));
        assert!(matches!(
            JwtSecret::load(&source, Environment::Production),
            Err(SecretError::MissingInProduction)
        ));
    }

    #[test]
    fn development_generates_once_and_reuses_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = SecretSource::Generated(dir.path().join("nested/secret"));
        let first = JwtSecret::load(&source, Environment::Development).expect("generated");
        let second = JwtSecret::load(&source, Environment::Development).expect("reloaded");
        assert_eq!(first.as_bytes(), second.as_bytes());
        assert!(first.as_bytes().len() >= MIN_SECRET_BYTES);
        assert!(
            !format!("{first:?}").contains(&String::from_utf8_lossy(first.as_bytes()).to_string())
        );
    }
}
