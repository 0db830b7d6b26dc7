//! `obsqra-verify`: checks a downloaded proof file or decision bundle on your own machine, with
//! no Python, no database and no network.
//!
//! ```text
//! obsqra-verify [--json] FILE      (FILE may be - for standard input)
//! ```
//!
//! Exit codes: 0 VALID, 1 INVALID (the reason is printed), 2 usage or unreadable file.

use std::io::Read;
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let as_json = args.iter().any(|a| a == "--json");
    let files: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    let [path] = files[..] else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let data = match read(path) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    match _stark::report::report(&data, as_json) {
        (true, text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        // a machine reading --json finds both verdicts on standard output
        (false, text) if as_json => {
            println!("{text}");
            ExitCode::from(1)
        }
        (false, text) => {
            eprintln!("{text}");
            ExitCode::from(1)
        }
    }
}
