//! What a result was measured on: CPU model, cores, memory, load average and the first line
//! of a program's version output, for the header every benchmark prints with its tables
//! (a number means little without the machine and the load it ran under).

use std::process::Command;

/// The CPU model (`model name` of `/proc/cpuinfo`), empty when unknown.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default()
}

/// The total memory line of `/proc/meminfo` (`MemTotal: … kB`), empty when unknown.
pub fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
        .unwrap_or_default()
}

/// The number of CPUs this process may use (`nproc`), 0 when unknown.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`); `None` when unreadable.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The load averages as `1.23 0.98 0.75`, or `?` when unreadable.
pub fn load_average_text() -> String {
    load_average().map_or_else(
        || "?".to_string(),
        |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"),
    )
}

/// The first line `program arg` prints (stdout, else stderr), or `program: not found`.
pub fn version_line(program: impl AsRef<std::ffi::OsStr>, arg: &str) -> String {
    let program = program.as_ref();
    Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t.lines().next().unwrap_or_default().trim().to_string()
        })
        .unwrap_or_else(|| format!("{}: not found", program.to_string_lossy()))
}
