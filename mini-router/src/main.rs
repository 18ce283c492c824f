//! mini-router binary. This build has the CLI language, the configuration model, the show
//! renderers and the kernel FIB as a library; the BGP sessions are wired in a later step,
//! so the binary refuses to start rather than pretend.

fn main() -> std::process::ExitCode {
    eprintln!("mini-router: the BGP session wiring is not in this build yet");
    std::process::ExitCode::FAILURE
}
