//! ferrolb speaker. Not implemented yet: it refuses to start rather than pretend to work.

fn main() -> std::process::ExitCode {
    eprintln!("speaker: not implemented yet in this build of ferrolb");
    std::process::ExitCode::FAILURE
}
