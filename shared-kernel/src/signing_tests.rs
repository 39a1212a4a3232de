use super::*;

fn signer(seed: u8) -> MessageSigner {
    MessageSigner::from_seed([seed; 32])
}

fn verify<'a>(
    verifier: &'a MessageVerifier,
    signed: &BodySignature<'_>,
    body: &[u8],
) -> Result<&'a KeyId, SignatureError> {
    verifier.verify(Some(signed.key_id), Some(&signed.signature), body)
}

#[test]
fn a_trusted_key_verifies_exactly_the_body_it_signed() {
    let signer = signer(1);
    let verifier = MessageVerifier::of_signers([&signer]).unwrap();
    let body = br#"{"type":"event.finished"}"#;
    let signed = signer.sign(body);
    assert_eq!(verify(&verifier, &signed, body), Ok(signer.key_id()));

    // One byte changed anywhere is refused.
    for at in 0..body.len() {
        let mut altered = body.to_vec();
        altered[at] ^= 0x01;
        assert_eq!(
            verify(&verifier, &signed, &altered),
            Err(SignatureError::Mismatch(signer.key_id().clone())),
            "byte {at}"
        );
    }
}

#[test]
fn unsigned_unknown_and_malformed_signatures_are_refused_with_their_label() {
    let trusted = signer(1);
    let stranger = signer(2);
    let verifier = MessageVerifier::of_signers([&trusted]).unwrap();
    let body = b"{}";
    let by_stranger = stranger.sign(body);

    let unsigned = verifier.verify(None, None, body).unwrap_err();
    assert_eq!(unsigned.label(), "unsigned");
    let no_signature = verifier
        .verify(Some(trusted.key_id().as_str()), None, body)
        .unwrap_err();
    assert_eq!(no_signature, SignatureError::Unsigned(SIGNATURE_HEADER));

    let unknown = verify(&verifier, &by_stranger, body).unwrap_err();
    assert_eq!(unknown.label(), "unknown_key");

    // The stranger's signature under the trusted key's id: a forgery.
    let forged = verifier
        .verify(
            Some(trusted.key_id().as_str()),
            Some(&by_stranger.signature),
            body,
        )
        .unwrap_err();
    assert_eq!(forged.label(), "bad_signature");

    for garbage in ["", "not base64!", "AAAA"] {
        let refused = verifier
            .verify(Some(trusted.key_id().as_str()), Some(garbage), body)
            .unwrap_err();
        assert_eq!(refused, SignatureError::Malformed, "{garbage:?}");
    }
}

#[test]
fn several_keys_are_trusted_at_once_for_rotation() {
    let old = signer(1);
    let new = signer(2);
    let verifier = MessageVerifier::of_signers([&old, &new]).unwrap();
    assert_ne!(old.key_id(), new.key_id());
    for signer in [&old, &new] {
        assert_eq!(
            verify(&verifier, &signer.sign(b"x"), b"x"),
            Ok(signer.key_id())
        );
    }
    assert!(matches!(
        MessageVerifier::of_signers([]),
        Err(KeyError::NoKeys)
    ));
}

#[test]
fn a_forged_key_id_is_shortened_in_the_error() {
    let verifier = MessageVerifier::of_signers([&signer(1)]).unwrap();
    let long = "k".repeat(10_000);
    let error = verifier.verify(Some(&long), Some("AAAA"), b"").unwrap_err();
    assert_eq!(error, SignatureError::UnknownKey("k".repeat(64)));
}

#[test]
fn keygen_writes_pem_files_that_read_back_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("signing-test-{}", uuid::Uuid::now_v7()));
    let files = generate_key_pair(&dir, "line-events").unwrap();
    let private = std::fs::read_to_string(&files.private_key).unwrap();
    let public = std::fs::read_to_string(&files.public_key).unwrap();
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{private}"
    );
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{public}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files.private_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let signer = MessageSigner::from_pem_file(&files.private_key).unwrap();
    let verifier =
        MessageVerifier::from_pem_files(std::slice::from_ref(&files.public_key)).unwrap();
    assert_eq!(signer.key_id(), &files.key_id);
    assert_eq!(
        verify(&verifier, &signer.sign(b"body"), b"body"),
        Ok(&files.key_id)
    );

    assert!(matches!(
        generate_key_pair(&dir, "line-events"),
        Err(KeyError::Exists { .. })
    ));
    // The private key is not a public key, and the other way round.
    assert!(matches!(
        MessageVerifier::from_pem_files(std::slice::from_ref(&files.private_key)),
        Err(KeyError::Malformed { .. })
    ));
    assert!(matches!(
        MessageSigner::from_pem_file(&files.public_key),
        Err(KeyError::Malformed { .. })
    ));
    assert!(matches!(
        MessageSigner::from_pem_file(&dir.join("missing.key")),
        Err(KeyError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The key files are the ones OpenSSL writes and reads: a key made by
/// `openssl genpkey -algorithm ed25519` signs messages we verify with the
/// public key `openssl pkey -pubout` derives, and `openssl pkey` reads
/// the files `keygen` writes.
#[test]
fn keys_are_interchangeable_with_openssl() {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("signing-openssl-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl must be installed (.ci/run installs it): {e}"));
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
        output.stdout
    };
    run(&["genpkey", "-algorithm", "ed25519", "-out", "openssl.key"]);
    run(&[
        "pkey",
        "-in",
        "openssl.key",
        "-pubout",
        "-out",
        "openssl.pub",
    ]);
    let signer = MessageSigner::from_pem_file(&dir.join("openssl.key")).unwrap();
    let verifier = MessageVerifier::from_pem_files(&[dir.join("openssl.pub")]).unwrap();
    assert_eq!(
        verify(&verifier, &signer.sign(b"m"), b"m"),
        Ok(signer.key_id())
    );

    let ours = generate_key_pair(&dir, "ours").unwrap();
    let derived = run(&["pkey", "-in", "ours.key", "-pubout"]);
    let public = std::fs::read_to_string(&ours.public_key).unwrap();
    assert_eq!(String::from_utf8_lossy(&derived), public);
    run(&["pkey", "-pubin", "-in", "ours.pub", "-noout"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
