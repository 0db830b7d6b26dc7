//! `obsqra-cairo-compile PROJECT_DIR CONTRACT_PATH OUT.contract_class.json`
//!
//! crates.io's `starknet-compile` 2.8.2 with one difference: only the project's own crates' diagnostics
//! fail the build. The corelib beside it (scripts/extract-corelib) is upstream's at a main-branch commit
//! of the same generation, where one item our contracts never use (`LowerHex` for `NonZero`) needs
//! `{:x}` formatting that 2.8.2 lacks. An item with errors that a contract does use still fails: its
//! lowering is missing and no Sierra is produced.

use std::path::Path;

use anyhow::{bail, Context};
use cairo_lang_compiler::db::RootDatabase;
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_compiler::project::setup_project;
use cairo_lang_compiler::CompilerConfig;
use cairo_lang_starknet::compile::compile_contract_in_prepared_db;
use cairo_lang_starknet::starknet_plugin_suite;
use cairo_lang_starknet_classes::allowed_libfuncs::ListSelector;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, contract_path, out] = args.as_slice() else {
        bail!("usage: obsqra-cairo-compile PROJECT_DIR CONTRACT_PATH OUT.contract_class.json");
    };
    let mut db = RootDatabase::builder().detect_corelib().with_plugin_suite(starknet_plugin_suite()).build()?;
    let main_crate_ids = setup_project(&mut db, Path::new(project))?;
    let config = CompilerConfig {
        diagnostics_reporter: DiagnosticsReporter::stderr().with_crates(&main_crate_ids),
        ..CompilerConfig::default()
    };
    let contract = compile_contract_in_prepared_db(&db, Some(contract_path), main_crate_ids, config)?;
    contract.validate_version_compatible(ListSelector::default())?;
    let json = serde_json::to_string_pretty(&contract).context("serializing the contract class")?;
    std::fs::write(out, json).with_context(|| format!("writing {out}"))
}
