//! Key and secret files: hex seeds, mode 0600, written atomically (temp file → fsync →
//! rename → fsync of the directory, RELIABILITY F3). Contents are never logged.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use credfed_protocol::keys::SecretKey;
use zeroize::Zeroizing;

/// A key file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// I/O on the file.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Content is not a hex seed of the right length.
    #[error("key file {path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the content).
        detail: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io { path: path.to_path_buf(), source }
}

/// Writes `contents` to `path` with mode 0600, atomically and durably.
///
/// # Errors
/// [`KeyFileError::Io`].
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension("tmp");
    {
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io(&tmp))?;
        f.write_all(contents).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    Ok(())
}

/// Writes a non-secret file atomically and durably (mode 0644).
///
/// # Errors
/// [`KeyFileError::Io`].
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    write_secret(path, contents)?;
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).map_err(io(path))
}

/// Writes an ed25519 seed as hex.
///
/// # Errors
/// [`KeyFileError::Io`].
pub fn write_key(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let hex = Zeroizing::new(hex::encode(key.to_bytes()));
    write_secret(path, format!("{}\n", hex.as_str()).as_bytes())
}

/// Reads a hex ed25519 seed.
///
/// # Errors
/// [`KeyFileError`].
pub fn read_key(path: &Path) -> Result<SecretKey, KeyFileError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io(path))?);
    SecretKey::from_hex(text.trim())
        .map_err(|e| KeyFileError::Invalid { path: path.to_path_buf(), detail: e.to_string() })
}

/// Reads a hex secret of at least 16 bytes (the person-digest secret).
///
/// # Errors
/// [`KeyFileError`].
pub fn read_hex_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io(path))?);
    let bytes = Zeroizing::new(
        hex::decode(text.trim()).map_err(|_| KeyFileError::Invalid { path: path.into(), detail: "not hex".into() })?,
    );
    if bytes.len() < 16 {
        return Err(KeyFileError::Invalid { path: path.into(), detail: "secret shorter than 16 bytes".into() });
    }
    Ok(bytes)
}
