//! The key pairs tests sign and verify line messages with.
//!
//! Fixed keys, so every test process writes the same files: two processes
//! writing them at once each rename a complete file into place.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::signing::MessageSigner;

/// A key pair as files (for the services' configuration) and as a signer
/// (for messages a test publishes itself).
#[derive(Debug)]
pub struct TestKeys {
    /// Signs like line-provider does with [`Self::signing_key_file`].
    pub signer: MessageSigner,
    /// The private key, PKCS#8 PEM (`LINE_EVENTS_SIGNING_KEY_FILE`).
    pub signing_key_file: PathBuf,
    /// The public key, SPKI PEM (`LINE_EVENTS_VERIFY_KEY_FILES`).
    pub verify_key_file: PathBuf,
}

/// The key line-provider signs with in tests, and bet-maker trusts.
pub fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| TestKeys::fixed(1))
}

/// A second key, for rotating to.
pub fn rotated_test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| TestKeys::fixed(2))
}

impl TestKeys {
    fn fixed(seed: u8) -> Self {
        let signer = MessageSigner::from_seed([seed; 32]);
        let dir =
            std::env::temp_dir().join(format!("betting-platform-test-key-{}", signer.key_id()));
        let signing_key_file = dir.join("line-events.key");
        let verify_key_file = dir.join("line-events.pub");
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let private = signer.private_key_pem().map_err(std::io::Error::other)?;
            let public = signer.public_key_pem().map_err(std::io::Error::other)?;
            write_atomically(&signing_key_file, &private)?;
            write_atomically(&verify_key_file, &public)
        };
        write().unwrap_or_else(|e| panic!("writing the test keys into {}: {e}", dir.display()));
        Self {
            signer,
            signing_key_file,
            verify_key_file,
        }
    }
}

fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&temporary, content)?;
    std::fs::rename(&temporary, path)
}
