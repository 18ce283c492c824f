//! lab: the seed tutorial's cluster offline. Not implemented yet: it refuses to start rather
//! than pretend to work.

fn main() -> std::process::ExitCode {
    eprintln!("lab: not implemented yet in this build of ferrolb");
    std::process::ExitCode::FAILURE
}
