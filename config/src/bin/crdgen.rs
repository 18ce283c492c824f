//! Prints ferrolb's MetalLB CRDs as YAML, generated from lb-config's types; with
//! `--write DIR`, writes one file per CRD and `all.yaml` into DIR instead (that is how
//! `manifests/crds/` is made; a test fails when it is stale).

use std::path::PathBuf;
use std::process::ExitCode;

use lb_config::crd::manifest;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [] => None,
        [flag, dir] if flag == "--write" => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("usage: crdgen [--write DIR]");
            return ExitCode::from(2);
        }
    };
    let files = match manifest::files() {
        Ok(files) => files,
        Err(e) => {
            eprintln!("crdgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(dir) = dir else {
        if let Some((_, all)) = files.iter().find(|(name, _)| name == manifest::ALL) {
            print!("{all}");
        }
        return ExitCode::SUCCESS;
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("crdgen: creating {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, content) in &files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, content) {
            eprintln!("crdgen: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("crdgen: wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
