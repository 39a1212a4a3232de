//! Signed line messages: line-provider signs every message it publishes,
//! bet-maker applies only what a key it trusts signed.
//!
//! The signature is Ed25519 over the exact body bytes, base64 in the AMQP
//! header [`SIGNATURE_HEADER`]; the key's id is in [`KEY_ID_HEADER`]. The
//! id is derived from the public key itself (the first 8 bytes of its
//! SHA-256, as hex), so both sides agree on it without configuring it, and
//! a verifier can trust several keys at once while they are rotated.
//!
//! Only the body is signed, and it holds everything bet-maker acts on: the
//! `message_id`, the kind, and the whole event. The routing key and the
//! `type` property are checked against the signed kind by the consumer; a
//! replayed message is a duplicate `message_id` (the inbox) or an older
//! version (the copy keeps the newest), so it changes nothing.
//!
//! Keys are PEM files as `openssl genpkey -algorithm ed25519` writes them:
//! PKCS#8 for the private key, SPKI for the public one. [`generate_key_pair`]
//! writes such a pair (`line-provider keygen`).

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The AMQP header holding the base64 Ed25519 signature of the body.
pub const SIGNATURE_HEADER: &str = "signature";

/// The AMQP header holding the id of the key that signed the body.
pub const KEY_ID_HEADER: &str = "signature-key-id";

/// A key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read (or written, for `keygen`).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an Ed25519 key in the expected PEM form.
    #[error("{path}: not an Ed25519 {expected} PEM key: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// `PKCS#8 private` or `SPKI public`.
        expected: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// `keygen` would overwrite an existing key.
    #[error("{path} already exists; keygen never overwrites a key (choose another directory)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// No random bytes from the operating system.
    #[error("reading random bytes from the operating system: {0}")]
    Random(String),
    /// A key could not be written as PEM.
    #[error("encoding the {0} key as PEM: {1}")]
    Encoding(&'static str, String),
    /// No key at all was configured for verifying.
    #[error("no verify key given")]
    NoKeys,
}

/// The id of a public key: the first 8 bytes of its SHA-256, as hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        Self(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
    }

    /// The id as it travels in [`KEY_ID_HEADER`].
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The private key line-provider signs with.
pub struct MessageSigner {
    key: SigningKey,
    id: KeyId,
}

impl fmt::Debug for MessageSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key itself.
        f.debug_struct("MessageSigner")
            .field("key_id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A body's signature, as it goes into the AMQP headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodySignature<'a> {
    /// The signing key's id ([`KEY_ID_HEADER`]).
    pub key_id: &'a str,
    /// The signature, base64 ([`SIGNATURE_HEADER`]).
    pub signature: String,
}

impl MessageSigner {
    /// Reads a PKCS#8 PEM private key.
    pub fn from_pem_file(path: &Path) -> Result<Self, KeyError> {
        let pem = read(path)?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|error| KeyError::Malformed {
            path: path.to_owned(),
            expected: "PKCS#8 private",
            detail: error.to_string(),
        })?;
        Ok(Self::new(key))
    }

    /// A signer with a fresh random key (tests, and `keygen`).
    pub fn generate() -> Result<Self, KeyError> {
        use rand::TryRngCore as _;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|error| KeyError::Random(error.to_string()))?;
        Ok(Self::new(SigningKey::from_bytes(&seed)))
    }

    /// A signer with the key made from these 32 bytes (deterministic test keys).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self::new(SigningKey::from_bytes(&seed))
    }

    fn new(key: SigningKey) -> Self {
        let id = KeyId::of(&key.verifying_key());
        Self { key, id }
    }

    /// The id of this key, as verifiers know it.
    pub fn key_id(&self) -> &KeyId {
        &self.id
    }

    /// Signs the exact bytes of a message body.
    pub fn sign(&self, body: &[u8]) -> BodySignature<'_> {
        BodySignature {
            key_id: self.id.as_str(),
            signature: BASE64.encode(self.key.sign(body).to_bytes()),
        }
    }

    /// The private key as PKCS#8 v1 PEM, the form `openssl genpkey`
    /// writes (v2, with the public key inside, is what ed25519-dalek writes
    /// by default, and OpenSSL 3.0 cannot read it).
    pub fn private_key_pem(&self) -> Result<String, KeyError> {
        KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|error| KeyError::Encoding("private", error.to_string()))
    }

    /// The public key as SPKI PEM, for the verifiers.
    pub fn public_key_pem(&self) -> Result<String, KeyError> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|error| KeyError::Encoding("public", error.to_string()))
    }
}

/// Why a message's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature or no key id.
    #[error("the message is not signed (no {0} header)")]
    Unsigned(&'static str),
    /// Signed by a key this verifier does not trust.
    #[error("signed by key {0}, which is not among the trusted keys")]
    UnknownKey(String),
    /// The signature header is not a base64 Ed25519 signature.
    #[error("the signature header is not a base64 Ed25519 signature")]
    Malformed,
    /// The signature does not match the body: altered, or forged.
    #[error("the signature does not match the body (altered or forged) for key {0}")]
    Mismatch(KeyId),
}

impl SignatureError {
    /// A label from a fixed set, for metrics and dead letters.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Unsigned(_) => "unsigned",
            Self::UnknownKey(_) => "unknown_key",
            Self::Malformed | Self::Mismatch(_) => "bad_signature",
        }
    }
}

/// The public keys bet-maker trusts.
#[derive(Debug, Clone)]
pub struct MessageVerifier {
    keys: Vec<(KeyId, VerifyingKey)>,
}

impl MessageVerifier {
    /// Reads every SPKI PEM public key; at least one.
    pub fn from_pem_files(paths: &[PathBuf]) -> Result<Self, KeyError> {
        let keys = paths
            .iter()
            .map(|path| {
                let pem = read(path)?;
                VerifyingKey::from_public_key_pem(&pem).map_err(|error| KeyError::Malformed {
                    path: path.clone(),
                    expected: "SPKI public",
                    detail: error.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::trusting(keys)
    }

    /// A verifier trusting the public keys of these signers (tests).
    pub fn of_signers<'a>(
        signers: impl IntoIterator<Item = &'a MessageSigner>,
    ) -> Result<Self, KeyError> {
        Self::trusting(signers.into_iter().map(|s| s.key.verifying_key()))
    }

    fn trusting(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, KeyError> {
        let keys: Vec<_> = keys.into_iter().map(|key| (KeyId::of(&key), key)).collect();
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(Self { keys })
    }

    /// The ids of the trusted keys.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|(id, _)| id)
    }

    /// Checks that `signature` (base64) by key `key_id` signs exactly `body`;
    /// returns the key's id. Strict verification: no malleable signatures,
    /// no weak keys.
    pub fn verify(
        &self,
        key_id: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<&KeyId, SignatureError> {
        let key_id = key_id.ok_or(SignatureError::Unsigned(KEY_ID_HEADER))?;
        let signature = signature.ok_or(SignatureError::Unsigned(SIGNATURE_HEADER))?;
        let (id, key) = self
            .keys
            .iter()
            .find(|(id, _)| id.as_str() == key_id)
            .ok_or_else(|| SignatureError::UnknownKey(truncated(key_id)))?;
        let bytes: [u8; 64] = BASE64
            .decode(signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(SignatureError::Malformed)?;
        key.verify_strict(body, &Signature::from_bytes(&bytes))
            .map_err(|_| SignatureError::Mismatch(id.clone()))?;
        Ok(id)
    }
}

/// A key id from a message, shortened so a forged header cannot flood a log.
fn truncated(text: &str) -> String {
    text.chars().take(64).collect()
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The files [`generate_key_pair`] wrote.
#[derive(Debug, Clone)]
pub struct KeyPairFiles {
    /// The private key (PKCS#8 PEM, readable by its owner only).
    pub private_key: PathBuf,
    /// The public key (SPKI PEM).
    pub public_key: PathBuf,
    /// The key's id, as messages will name it.
    pub key_id: KeyId,
}

/// Writes a new key pair into `dir` (created if missing) as `<name>.key`
/// (PKCS#8, mode 0600) and `<name>.pub` (SPKI); refuses to overwrite.
pub fn generate_key_pair(dir: &Path, name: &str) -> Result<KeyPairFiles, KeyError> {
    let signer = MessageSigner::generate()?;
    let private_key = dir.join(format!("{name}.key"));
    let public_key = dir.join(format!("{name}.pub"));
    for path in [&private_key, &public_key] {
        if path.exists() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.to_owned(),
        source,
    })?;
    write_new(&private_key, &signer.private_key_pem()?, 0o600)?;
    write_new(&public_key, &signer.public_key_pem()?, 0o644)?;
    Ok(KeyPairFiles {
        private_key,
        public_key,
        key_id: signer.id,
    })
}

/// Creates `path` (failing if it exists) with this mode and content.
fn write_new(path: &Path, content: &str, mode: u32) -> Result<(), KeyError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(content.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;
