//! Reading the zips a verifier is handed (a bundle, a Cairo PIE) strictly: only the files the
//! format names, each once and size-bounded (no zip bomb), and nothing hidden from the reader.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use zip::CompressionMethod;

/// End of central directory record without a comment: 22 bytes, the last of the archive.
const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";
const EOCD_LEN: usize = 22;

/// Why a zip was refused; `file` names the entry at fault, if one is.
pub struct Refusal {
    pub file: Option<String>,
    pub reason: String,
}

fn archive_refusal(reason: impl Into<String>) -> Refusal {
    Refusal { file: None, reason: reason.into() }
}

fn file_refusal(file: &str, reason: impl Into<String>) -> Refusal {
    Refusal { file: Some(file.to_string()), reason: reason.into() }
}

/// The central directory's own entry count. The zip crate keeps one entry per name, so a
/// repeated name would vanish from its listing while another reader might take the other copy.
fn listed_entries(data: &[u8]) -> Result<usize, Refusal> {
    let eocd = data
        .len()
        .checked_sub(EOCD_LEN)
        .map(|at| &data[at..])
        .filter(|tail| tail.starts_with(EOCD_SIGNATURE))
        .ok_or_else(|| archive_refusal("not a zip archive ending in its directory (a comment or trailing bytes)"))?;
    Ok(u16::from_le_bytes([eocd[10], eocd[11]]) as usize)
}

/// Every file of the zip, by name; `kind` names the zip in refusals. `allowed` lists the names with the most each may hold
/// uncompressed; `methods` the compression methods accepted.
pub fn read_files(
    data: &[u8],
    kind: &str,
    allowed: &[(&'static str, u64)],
    methods: &[CompressionMethod],
) -> Result<HashMap<&'static str, Vec<u8>>, Refusal> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| archive_refusal(format!("not a zip archive: {e}")))?;
    if listed_entries(data)? != archive.len() {
        return Err(archive_refusal("a file name appears twice"));
    }
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| archive_refusal(e.to_string()))?;
        let entry_name = entry
            .name()
            .map_err(|_| archive_refusal("a file name is not UTF-8"))?
            .to_string();
        let Some(&(name, limit)) = allowed.iter().find(|(n, _)| *n == entry_name) else {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            return Err(archive_refusal(format!(
                "unexpected file {entry_name:?} ({kind} holds exactly {})",
                names.join(", ")
            )));
        };
        if !methods.contains(&entry.compression()) {
            return Err(file_refusal(name, format!("it is compressed with {}", entry.compression())));
        }
        let mut content = Vec::new();
        entry
            .take(limit + 1)
            .read_to_end(&mut content)
            .map_err(|e| file_refusal(name, format!("it cannot be read: {e}")))?;
        if content.len() as u64 > limit {
            return Err(file_refusal(name, format!("it is larger than {limit} bytes")));
        }
        files.insert(name, content);
    }
    Ok(files)
}
