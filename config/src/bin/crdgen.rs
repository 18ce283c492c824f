//! Prints ferrolb's MetalLB CRDs as YAML, generated from lb-config's types. With
//! `--write DIR` it writes one file per CRD and `all.yaml` into DIR instead (that is how
//! `manifests/crds/` is made); with `--manifests DIR` it writes `DIR/crds/` and assembles
//! `DIR/metallb.yaml` from `DIR/parts/` (see `lb_config::install`). Tests fail when either
//! is stale.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lb_config::crd::manifest;
use lb_config::install;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files = match args.as_slice() {
        [] => {
            return match manifest::files() {
                Ok(files) => {
                    if let Some((_, all)) = files.iter().find(|(name, _)| name == manifest::ALL) {
                        print!("{all}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            };
        }
        [flag, dir] if flag == "--write" => manifest::files()
            .map(|files| {
                files
                    .into_iter()
                    .map(|(name, text)| (Path::new(dir).join(name), text))
                    .collect::<Vec<(PathBuf, String)>>()
            })
            .map_err(|e| e.to_string()),
        [flag, dir] if flag == "--manifests" => {
            install::generate(Path::new(dir)).map_err(|e| e.to_string())
        }
        _ => {
            eprintln!("usage: crdgen [--write DIR | --manifests DIR]");
            return ExitCode::from(2);
        }
    };
    let files = match files {
        Ok(files) => files,
        Err(e) => return fail(&e),
    };
    for (path, content) in &files {
        if let Some(parent) = path.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            return fail(&format!("creating {}: {e}", parent.display()));
        }
        if let Err(e) = std::fs::write(path, content) {
            return fail(&format!("writing {}: {e}", path.display()));
        }
        eprintln!("crdgen: wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("crdgen: {message}");
    ExitCode::FAILURE
}
