//! The JWT signing secret: at least 32 bytes, from the environment, a file, or (in
//! development only, which the configuration enforces) generated once and persisted under
//! the data directory.

use std::path::{Path, PathBuf};

use rand::RngCore;
use thiserror::Error;

pub const MIN_SECRET_BYTES: usize = 32;

/// The least entropy a strict load accepts, estimated from the secret's own bytes.
pub const MIN_SECRET_BITS: f64 = 128.0;

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
    #[error(
        "the JWT secret looks guessable (about {0:.0} bits of entropy, at least {MIN_SECRET_BITS:.0} \
         required): use random bytes, e.g. `openssl rand -base64 48`"
    )]
    LowEntropy(f64),
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

    /// Loads the secret. `strict` (production) also refuses secrets of low estimated
    /// entropy, such as `'a' × 32`; otherwise they are only warned about.
    pub fn load(source: &SecretSource, strict: bool) -> Result<Self, SecretError> {
        let secret = match source {
            SecretSource::Value(value) => Self::new(value.trim().as_bytes().to_vec())?,
            SecretSource::File(path) => {
                Self::new(read_trimmed(path)?.ok_or_else(|| SecretError::Io {
                    path: path.clone(),
                    source: std::io::ErrorKind::NotFound.into(),
                })?)?
            }
            SecretSource::Generated(path) => match read_trimmed(path)? {
                Some(bytes) => Self::new(bytes)?,
                None => {
                    let text = hex::encode(Self::generate().as_bytes());
                    persist(path, &text)?;
                    Self(text.into_bytes())
                }
            },
        };
        let bits = estimated_entropy_bits(secret.as_bytes());
        if bits < MIN_SECRET_BITS {
            if strict {
                return Err(SecretError::LowEntropy(bits));
            }
            tracing::warn!(
                bits,
                "the JWT secret looks guessable; production would refuse it"
            );
        }
        Ok(secret)
    }
}

/// A cheap, deliberately pessimistic estimate of a secret's entropy in bits: the least of
/// its length times the Shannon entropy of its bytes, of the steps between neighbouring
/// bytes (which exposes runs like `0123456789`), and of its shortest repeating block. It
/// catches repeated characters, sequences and repeated patterns, and passes random bytes in
/// any common encoding (hex, base64, raw).
pub fn estimated_entropy_bits(bytes: &[u8]) -> f64 {
    let steps: Vec<u8> = bytes.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let period = (1..=bytes.len())
        .find(|&p| {
            bytes
                .iter()
                .zip(&bytes[p.min(bytes.len())..])
                .all(|(a, b)| a == b)
        })
        .unwrap_or(bytes.len());
    let block = &bytes[..period];
    (shannon_bits(bytes) * bytes.len() as f64)
        .min(shannon_bits(&steps) * bytes.len() as f64)
        .min(shannon_bits(block) * block.len() as f64)
}

/// Shannon entropy per byte of the byte frequencies in `bytes`.
fn shannon_bits(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// The file's contents without surrounding whitespace, or `None` if it does not exist.
fn read_trimmed(path: &Path) -> Result<Option<Vec<u8>>, SecretError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SecretError::Io {
            path: path.to_owned(),
            source,
        }),
    }
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
        let err = JwtSecret::load(&SecretSource::Value("short".into()), true);
        assert!(matches!(err, Err(SecretError::TooShort(5))));
    }

    #[test]
    fn strict_loading_refuses_guessable_secrets_of_any_length() {
        for weak in [
            "a".repeat(32),
            "ab".repeat(40),
            "0123456789".repeat(4),
            "abcdefghijklmnopqrstuvwxyz0123456789".to_owned(),
            "Xk3P9qzA7mWb2LcR".repeat(2),
            "correct horse battery staple plus".to_owned(),
        ] {
            let err = JwtSecret::load(&SecretSource::Value(weak.clone()), true);
            assert!(
                matches!(err, Err(SecretError::LowEntropy(_))),
                "{weak}: {err:?}"
            );
            assert!(JwtSecret::load(&SecretSource::Value(weak), false).is_ok());
        }
    }

    #[test]
    fn random_secrets_pass_in_every_common_encoding() {
        for _ in 0..20 {
            let random = JwtSecret::generate();
            let raw = &random.as_bytes()[..32];
            assert!(estimated_entropy_bits(raw) >= MIN_SECRET_BITS);
            let hex = hex::encode(raw);
            assert!(JwtSecret::load(&SecretSource::Value(hex), true).is_ok());
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
            assert!(JwtSecret::load(&SecretSource::Value(b64), true).is_ok());
        }
    }

    #[test]
    fn a_missing_secret_file_is_named() {
        let err = JwtSecret::load(
            &SecretSource::File("/nonexistent/vigil-secret".into()),
            true,
        );
        assert!(matches!(err, Err(SecretError::Io { .. })));
    }

    #[test]
    fn development_generates_once_and_reuses_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = SecretSource::Generated(dir.path().join("nested/secret"));
        let first = JwtSecret::load(&source, false).expect("generated");
        let second = JwtSecret::load(&source, true).expect("reloaded, and strong");
        assert_eq!(first.as_bytes(), second.as_bytes());
        assert!(first.as_bytes().len() >= MIN_SECRET_BYTES);
        assert!(
            !format!("{first:?}").contains(&String::from_utf8_lossy(first.as_bytes()).to_string())
        );
    }
}
