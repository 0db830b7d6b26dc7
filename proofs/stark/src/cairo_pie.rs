//! A Cairo PIE of our decision statement, read without a Cairo VM: the program it ran (named by
//! its Pedersen program hash) and the output it wrote, from which the facts are computed.
//!
//! The layout is cairo-lang 0.14.0.1's `CairoPie.to_file`: a zip of `metadata.json` (the
//! stripped program and the segment table), `memory.bin` (pairs of an 8-byte address and a
//! 32-byte value, little-endian; the top bit marks a relocatable `segment << 47 | offset`),
//! `additional_data.json`, `execution_resources.json` and an optional `version.json`, each
//! deflated. The checks mirror `CairoPie.verify_zip_format` and `run_validity_checks` where they
//! matter to the facts: the program segment holds exactly the program that is hashed, and the
//! output is absolute values in a single page.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use starknet_crypto::Felt;

use crate::facts::program_hash_chain;
use crate::zipped;

/// The files of a PIE and the most each may hold uncompressed (our statement's are ~19 KB,
/// ~116 KB, and a few hundred bytes); the bounds keep a zip bomb out.
const FILES: [(&str, u64); 5] = [
    ("metadata.json", 4 << 20),
    ("memory.bin", 16 << 20),
    ("additional_data.json", 1 << 20),
    ("execution_resources.json", 10_000),
    ("version.json", 10_000),
];
const OPTIONAL_FILE: &str = "version.json";
const ADDRESS_BYTES: usize = 8;
const FIELD_BYTES: usize = 32;
const OFFSET_BITS: u32 = 47;
const SEGMENT_BITS: u32 = 16;
/// The Starknet field prime, 2^251 + 17 * 2^192 + 1, as cairo-lang writes it.
const PRIME: &str = "3618502788666131213697322783095070105623107215331596699973092056135872020481";

/// What the facts need from a PIE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pie {
    pub program_hash: Felt,
    pub output: Vec<Felt>,
    pub steps: u64,
}

#[derive(Deserialize)]
struct Segment {
    index: u64,
    size: u64,
}

#[derive(Deserialize)]
struct Program {
    prime: serde_json::Number,
    data: Vec<serde_json::Number>,
    builtins: Vec<String>,
    main: u64,
}

#[derive(Deserialize)]
struct Metadata {
    program: Program,
    program_segment: Segment,
    execution_segment: Segment,
    ret_fp_segment: Segment,
    ret_pc_segment: Segment,
    builtin_segments: BTreeMap<String, Segment>,
    extra_segments: Vec<Segment>,
}

#[derive(Deserialize)]
struct OutputBuiltinData {
    pages: BTreeMap<String, serde_json::Value>,
    attributes: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct AdditionalData {
    output_builtin: OutputBuiltinData,
}

#[derive(Deserialize)]
struct ExecutionResources {
    n_steps: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Int(Felt),
    Relocatable { segment: u64, offset: u64 },
}

/// A felt written as a JSON integer in its one decimal spelling, below the prime.
fn felt_of(number: &serde_json::Number) -> Option<Felt> {
    let text = number.to_string();
    let felt = Felt::from_dec_str(&text).ok()?;
    (felt.to_string() == text).then_some(felt)
}

fn value_of(bytes: &[u8]) -> Result<Value, String> {
    let mut be: [u8; FIELD_BYTES] = bytes.try_into().unwrap();
    be.reverse();
    if be[0] & 0x80 != 0 {
        be[0] &= 0x7f;
        let low = u64::from_be_bytes(be[24..].try_into().unwrap());
        if be[..24].iter().any(|&b| b != 0) || low >> (OFFSET_BITS + SEGMENT_BITS) != 0 {
            return Err("a relocatable value does not fit segment and offset".into());
        }
        return Ok(Value::Relocatable {
            segment: low >> OFFSET_BITS,
            offset: low & ((1 << OFFSET_BITS) - 1),
        });
    }
    let felt = Felt::from_bytes_be(&be);
    if felt.to_bytes_be() != be {
        return Err("a memory value is not below the field prime".into());
    }
    Ok(Value::Int(felt))
}

fn address_of(bytes: &[u8]) -> Result<(u64, u64), String> {
    let raw = u64::from_le_bytes(bytes.try_into().unwrap());
    if raw >> 63 == 0 {
        return Err("a memory address is not relocatable".into());
    }
    let raw = raw & !(1 << 63);
    Ok((raw >> OFFSET_BITS, raw & ((1 << OFFSET_BITS) - 1)))
}

fn read_memory(data: &[u8]) -> Result<HashMap<(u64, u64), Value>, String> {
    let pair = ADDRESS_BYTES + FIELD_BYTES;
    if data.len() % pair != 0 {
        return Err(format!("memory.bin is not a list of {pair}-byte address/value pairs"));
    }
    let mut memory = HashMap::with_capacity(data.len() / pair);
    for chunk in data.chunks_exact(pair) {
        let address = address_of(&chunk[..ADDRESS_BYTES])?;
        let value = value_of(&chunk[ADDRESS_BYTES..])?;
        if memory.insert(address, value).is_some() {
            return Err(format!(
                "memory.bin writes cell {}:{} twice",
                address.0, address.1
            ));
        }
    }
    Ok(memory)
}

fn read_files(data: &[u8]) -> Result<HashMap<&'static str, Vec<u8>>, String> {
    // cairo-lang writes and accepts deflated entries only
    let files = zipped::read_files(data, "a PIE", &FILES, &[zip::CompressionMethod::Deflated])
        .map_err(|refusal| match refusal.file {
            Some(file) => format!("{file}: {}", refusal.reason),
            None => refusal.reason,
        })?;
    for (name, _) in FILES {
        if name != OPTIONAL_FILE && !files.contains_key(name) {
            return Err(format!("{name} is missing"));
        }
    }
    Ok(files)
}

fn json<'a, T: Deserialize<'a>>(files: &'a HashMap<&'static str, Vec<u8>>, name: &str) -> Result<T, String> {
    serde_json::from_slice(&files[name]).map_err(|e| format!("{name} is malformed: {e}"))
}

fn check_segments(metadata: &Metadata) -> Result<(), String> {
    let builtins = &metadata.program.builtins;
    let mut expected = vec![
        ("program", &metadata.program_segment, 0),
        ("execution", &metadata.execution_segment, 1),
    ];
    if builtins.len() != metadata.builtin_segments.len() {
        return Err("the builtin segments are not the program's builtins".into());
    }
    for (i, name) in builtins.iter().enumerate() {
        let segment = metadata
            .builtin_segments
            .get(name)
            .ok_or(format!("the {name} builtin has no segment"))?;
        expected.push((name.as_str(), segment, i as u64 + 2));
    }
    let n = builtins.len() as u64;
    expected.push(("ret_fp", &metadata.ret_fp_segment, n + 2));
    expected.push(("ret_pc", &metadata.ret_pc_segment, n + 3));
    for (i, segment) in metadata.extra_segments.iter().enumerate() {
        expected.push(("extra", segment, n + 4 + i as u64));
    }
    for (name, segment, index) in expected {
        if segment.index != index {
            return Err(format!("the {name} segment has index {}, not {index}", segment.index));
        }
    }
    Ok(())
}

/// Reads a PIE: its program hash (over the program it holds), output and step count.
pub fn read(data: &[u8]) -> Result<Pie, String> {
    let files = read_files(data)?;
    let metadata: Metadata = json(&files, "metadata.json")?;
    let additional: AdditionalData = json(&files, "additional_data.json")?;
    let resources: ExecutionResources = json(&files, "execution_resources.json")?;
    let program = &metadata.program;
    if program.prime.to_string() != PRIME {
        return Err("the program is not over Starknet's field".into());
    }
    check_segments(&metadata)?;
    let code = program
        .data
        .iter()
        .map(felt_of)
        .collect::<Option<Vec<Felt>>>()
        .ok_or("the program holds a value that is not a felt")?;
    if metadata.program_segment.size != code.len() as u64 {
        return Err("the program segment's size is not the program's length".into());
    }
    let memory = read_memory(&files["memory.bin"])?;
    for (offset, word) in code.iter().enumerate() {
        if memory.get(&(0, offset as u64)) != Some(&Value::Int(*word)) {
            return Err(format!("the program segment differs from the program at offset {offset}"));
        }
    }
    let output_segment = metadata
        .builtin_segments
        .get("output")
        .ok_or("the program has no output builtin")?;
    // more than one page makes SHARP's L1 fact another function of the output
    if !additional.output_builtin.pages.is_empty() || !additional.output_builtin.attributes.is_empty()
    {
        return Err("the output has pages or attributes: it is not a single-page output".into());
    }
    let output = (0..output_segment.size)
        .map(|offset| match memory.get(&(output_segment.index, offset)) {
            Some(Value::Int(felt)) => Ok(*felt),
            Some(Value::Relocatable { .. }) => Err(format!("output cell {offset} is not a felt")),
            None => Err(format!("output cell {offset} is missing")),
        })
        .collect::<Result<Vec<Felt>, String>>()?;
    Ok(Pie {
        program_hash: program_hash_chain(program.main, &program.builtins, &code),
        output,
        steps: resources.n_steps,
    })
}
