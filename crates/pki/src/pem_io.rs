//! Reading and writing PEM armour through the `pem` crate, plus the checks both the certificate
//! and the key readers need (a truncated paste is reported as such, not as "not PEM").

use crate::PkiError;

/// Every PEM block in `input`, in order. `Ok(vec![])` means the input held no PEM at all.
pub(crate) fn blocks(input: &str) -> Result<Vec<pem::Pem>, PkiError> {
    let blocks = pem::parse_many(input).map_err(|e| PkiError::MalformedPem(e.to_string()))?;
    // The parser silently stops at a BEGIN line that has no END line; a user who pasted half a
    // file deserves to hear that rather than "not PEM".
    if input.matches("-----BEGIN ").count() > blocks.len() {
        return Err(PkiError::MalformedPem(
            "a -----BEGIN line has no matching -----END line (was the file cut short?)".into(),
        ));
    }
    Ok(blocks)
}

/// PEM text with LF line endings and 64-column lines, the form OpenSSL writes.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Labels that carry private key material in any of the usual formats.
pub(crate) fn is_private_key_label(label: &str) -> bool {
    label.contains("PRIVATE KEY")
}
