//! Reading a delivery's signature (see [`crate::signing`]).

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};

use crate::signing::{
    KEY_ID_HEADER, KeyId, MessageSigner, MessageVerifier, SIGNATURE_HEADER, SignatureError,
};

/// The headers that carry `signer`'s signature of `body`.
pub fn signature_headers(signer: &MessageSigner, body: &[u8]) -> FieldTable {
    let signed = signer.sign(body);
    let mut headers = FieldTable::default();
    headers.insert(
        SIGNATURE_HEADER.into(),
        AMQPValue::LongString(LongString::from(signed.signature)),
    );
    headers.insert(
        KEY_ID_HEADER.into(),
        AMQPValue::LongString(LongString::from(signed.key_id)),
    );
    headers
}

/// Checks that the delivery's body is signed, by a key `verifier` trusts,
/// as the signature headers say; a header that is not a string counts as
/// missing.
pub fn verify_delivery<'v>(
    verifier: &'v MessageVerifier,
    properties: &BasicProperties,
    body: &[u8],
) -> Result<&'v KeyId, SignatureError> {
    let header = |name: &str| {
        properties
            .headers()
            .as_ref()
            .and_then(|headers| match headers.inner().get(name)? {
                AMQPValue::LongString(value) => std::str::from_utf8(value.as_bytes()).ok(),
                _ => None,
            })
    };
    verifier.verify(header(KEY_ID_HEADER), header(SIGNATURE_HEADER), body)
}
