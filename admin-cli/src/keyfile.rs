//! Key files in the node's format (`node/src/keyfile.rs`): the 32-byte ed25519 seed as 64 hex
//! characters and a newline, mode 0600, written atomically (temp file → fsync → rename → fsync
//! of the directory, RELIABILITY F3). Public keys go next to it as `FILE.pub` (hex, 0644).
//! Secret contents are never printed or put in error messages.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use credfed_protocol::keys::{PublicKey, SecretKey};
use zeroize::Zeroizing;

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `contents` to `path` with `mode`, atomically and durably.
///
/// # Errors
/// I/O errors naming the path.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = tmp_path(path);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(contents).with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    File::open(&dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

/// Writes a secret key file (mode 0600). Refuses to overwrite an existing file unless `force`.
///
/// # Errors
/// When the file exists, or on I/O errors.
pub fn write_key(path: &Path, key: &SecretKey, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!("{} already exists; refusing to overwrite a key file (use --force)", path.display());
    }
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
    write_atomic(path, text.as_bytes(), 0o600)
}

/// Reads a secret key file.
///
/// # Errors
/// I/O or format errors (never the content).
pub fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text =
        Zeroizing::new(fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?);
    SecretKey::from_hex(text.trim()).map_err(|e| anyhow::anyhow!("key file {}: {e}", path.display()))
}

/// The public key in a key file: `*.pub` files hold a public key in hex, other files a secret
/// seed whose public key is derived.
///
/// # Errors
/// I/O or format errors.
pub fn read_public(path: &Path) -> anyhow::Result<PublicKey> {
    if path.extension().is_some_and(|e| e == "pub") {
        let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return text.trim().parse().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    Ok(read_key(path)?.public())
}

/// `FILE.pub` next to a key file.
pub fn pub_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".pub");
    path.with_file_name(name)
}
