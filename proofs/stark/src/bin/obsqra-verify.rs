//! `obsqra-verify`: checks a downloaded proof file or decision bundle on your own machine, with
//! no Python, no database and no network.
//!
//! ```text
//! obsqra-verify [--json] FILE      (FILE may be - for standard input)
//! ```
//!
//! Exit codes: 0 VALID, 1 INVALID (the reason is printed), 2 usage or unreadable file.

use std::io::{Read, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: obsqra-verify [--json] FILE   (a *.proof.json or *.bundle.zip; - for standard input)
exit codes: 0 VALID, 1 INVALID, 2 usage or unreadable file";

fn read(path: &str) -> std::io::Result<Vec<u8>> {
    if path == "-" {
        let mut data = vec![];
        std::io::stdin().read_to_end(&mut data)?;
        return Ok(data);
    }
    std::fs::read(path)
}

/// Prints a line; a closed pipe (`obsqra-verify FILE | head`) is not an error worth a panic.
fn say(mut out: impl Write, text: &str) {
    let _ = writeln!(out, "{text}");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        say(std::io::stdout(), USAGE);
        return ExitCode::SUCCESS;
    }
    let as_json = args.iter().any(|a| a == "--json");
    let files: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    let [path] = files[..] else {
        say(std::io::stderr(), USAGE);
        return ExitCode::from(2);
    };
    let data = match read(path) {
        Ok(data) => data,
        Err(e) => {
            say(std::io::stderr(), &format!("cannot read {path}: {e}"));
            return ExitCode::from(2);
        }
    };
    match _stark::report::report(&data, as_json) {
        (true, text) => {
            say(std::io::stdout(), &text);
            ExitCode::SUCCESS
        }
        // a machine reading --json finds both verdicts on standard output
        (false, text) if as_json => {
            say(std::io::stdout(), &text);
            ExitCode::from(1)
        }
        (false, text) => {
            say(std::io::stderr(), &text);
            ExitCode::from(1)
        }
    }
}
