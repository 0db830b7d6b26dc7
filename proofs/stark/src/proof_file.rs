//! The downloadable proof file: one canonical JSON document holding the prover name, the
//! security of its options, the statement and the STARK proof (base64).
//!
//! Canonical bytes: keys sorted, no whitespace, ASCII only, standard padded base64. The SHA-256
//! of those bytes is the proof hash published everywhere, so a file whose bytes are not
//! canonical is refused: two different byte strings must never carry one published proof, and a
//! reader must never see another statement than the verifier checked (duplicate keys).

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::PUBLIC_INPUT_LEN;
use crate::options::Security;
use crate::statement::Statement;
use crate::{parse_proof, verify, Error, BROKEN_PROVER_NAMES, PROVER_NAME};

pub const FORMAT: &str = "obsqra-stark-proof";
pub const FORMAT_VERSION: u64 = 2;
pub const MEDIA_TYPE: &str = "application/vnd.obsqra.proof+json";
/// Far above any honest file (~75 KB); a bound for readers that load it whole.
pub const MAX_FILE_BYTES: usize = 1 << 20;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct SecurityBits {
    conjectured_bits: u32,
    proven_bits: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    version: u64,
    prover: String,
    security: SecurityBits,
    statement: Statement,
    proof: String,
}

/// The first fields a reader looks at; other fields are ignored here so that a file of another
/// version gets a reason naming its version, not a schema error.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
    prover: Option<serde_json::Value>,
}

/// A proof file that verified.
#[derive(Clone, Debug)]
pub struct VerifiedFile {
    pub prover: String,
    pub security: Security,
    pub statement: Statement,
    pub public_inputs: [u64; PUBLIC_INPUT_LEN],
    /// 0x + SHA-256 of the file's bytes.
    pub proof_hash: String,
}

fn file_error(m: impl Into<String>) -> Error {
    Error::ProofFile(m.into())
}

/// 0x + hex SHA-256: the proof hash of a file's bytes.
pub fn proof_hash(data: &[u8]) -> String {
    format!("0x{}", crate::hex_digits(&Sha256::digest(data)))
}

fn canonical_bytes(document: &Document) -> Vec<u8> {
    // serde_json's Value keeps object keys in a BTreeMap: sorted, as the canonical form wants
    let value = serde_json::to_value(document).expect("a document always serializes");
    serde_json::to_vec(&value).expect("a value always serializes")
}

/// The canonical proof file for a proof of `public_inputs` made by this crate.
pub fn encode(public_inputs: &[u64; PUBLIC_INPUT_LEN], proof: &[u8]) -> Result<Vec<u8>, Error> {
    let security = Security::of(&parse_proof(proof)?);
    Ok(canonical_bytes(&Document {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        prover: PROVER_NAME.into(),
        security: SecurityBits {
            conjectured_bits: security.conjectured_bits,
            proven_bits: security.proven_bits,
        },
        statement: Statement::from_vector(public_inputs),
        proof: STANDARD.encode(proof),
    }))
}

/// Standard padded base64, in its one canonical spelling (no unused bits set, no line breaks).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let bytes = STANDARD.decode(text).map_err(|e| e.to_string())?;
    if STANDARD.encode(&bytes) != text {
        return Err("not the canonical spelling".into());
    }
    Ok(bytes)
}

fn check_header(data: &[u8]) -> Result<(), Error> {
    let header: Header = serde_json::from_slice(data)
        .map_err(|e| file_error(format!("the file is not a proof file: {e}")))?;
    if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(file_error(format!(
            "the file is not a proof file: its format field must be \"{FORMAT}\""
        )));
    }
    let prover = header
        .prover
        .as_ref()
        .and_then(|p| p.as_str())
        .unwrap_or("");
    if BROKEN_PROVER_NAMES.contains(&prover) {
        return Err(file_error(format!(
            "the proof was made by {prover}, whose verifier accepted forged proofs: it proves \
             nothing. The decision must be proved again under {PROVER_NAME}"
        )));
    }
    match header.version.as_ref().and_then(|v| v.as_u64()) {
        Some(FORMAT_VERSION) => {}
        other => {
            return Err(file_error(format!(
                "unsupported proof file version {} (this verifier reads version {FORMAT_VERSION})",
                other.map_or("missing or not a number".to_string(), |v| v.to_string())
            )))
        }
    }
    if prover != PROVER_NAME {
        return Err(file_error(format!(
            "the proof was made by \"{prover}\"; this verifier checks {PROVER_NAME} proofs only"
        )));
    }
    Ok(())
}

/// Parses a proof file strictly and checks everything in it: canonical bytes, version, prover,
/// the security it claims, the statement's bounds and model hash, and the STARK proof.
pub fn verify_file(data: &[u8]) -> Result<VerifiedFile, Error> {
    if data.len() > MAX_FILE_BYTES {
        return Err(file_error(format!(
            "the file has {} bytes; proof files are at most {MAX_FILE_BYTES}",
            data.len()
        )));
    }
    if data.starts_with(b"\xef\xbb\xbf") {
        return Err(file_error(
            "the file starts with a byte-order mark: a proof file is its canonical bytes, \
             unchanged, or its hash is not the published proof hash",
        ));
    }
    check_header(data)?;
    let document: Document = serde_json::from_slice(data)
        .map_err(|e| file_error(format!("the proof file is malformed: {e}")))?;
    if canonical_bytes(&document) != data {
        return Err(file_error(
            "the file is not in canonical form (sorted keys, no spaces, standard base64): it is \
             not the file that was published, whose SHA-256 is the proof hash",
        ));
    }
    let proof = decode_base64(&document.proof)
        .map_err(|e| file_error(format!("the proof field is not base64: {e}")))?;
    let public_inputs = document.statement.to_vector().map_err(Error::PublicInput)?;
    let security = verify(&proof, &public_inputs)?;
    let claimed = document.security;
    if (claimed.conjectured_bits, claimed.proven_bits)
        != (security.conjectured_bits, security.proven_bits)
    {
        return Err(file_error(format!(
            "the file claims {} conjectured and {} proven bits, but its proof has {} and {}",
            claimed.conjectured_bits,
            claimed.proven_bits,
            security.conjectured_bits,
            security.proven_bits
        )));
    }
    Ok(VerifiedFile {
        prover: document.prover,
        security,
        statement: document.statement,
        public_inputs,
        proof_hash: proof_hash(data),
    })
}
