//! ferrolb controller. Not implemented yet: it refuses to start rather than pretend to work.

fn main() -> std::process::ExitCode {
    eprintln!("controller: not implemented yet in this build of ferrolb");
    std::process::ExitCode::FAILURE
}
