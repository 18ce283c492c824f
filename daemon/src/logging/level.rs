//! `--log-level`: MetalLB's six level names and the filter each one stands for.

use std::fmt;

use clap::ValueEnum;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;

/// Crates that log every frame or handshake at debug level. With `--log-level=debug` they stay
/// at info so the daemon's own debug events remain readable; `all` shows them too.
const CHATTY_CRATES: &[&str] = &["h2", "hyper", "hyper_util", "rustls", "tower", "tower_http"];

/// A value of `--log-level`, spelled as MetalLB spells it
/// (`all`, `debug`, `info`, `warn`, `error`, `none`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything, including the trace events of the libraries we use.
    All,
    /// Debug and above (chatty HTTP/TLS libraries stay at info).
    Debug,
    /// Info and above: MetalLB's default.
    #[default]
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
    /// Nothing at all.
    None,
}

impl LogLevel {
    /// The most verbose level that passes.
    pub fn max_level(self) -> LevelFilter {
        match self {
            LogLevel::All => LevelFilter::TRACE,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::None => LevelFilter::OFF,
        }
    }

    /// The filter for the JSON log layer: [`LogLevel::max_level`] everywhere, except that at
    /// `debug` the chatty HTTP/TLS crates are held at info.
    pub fn filter(self) -> Targets {
        let max = self.max_level();
        let targets = Targets::new().with_default(max);
        if self != LogLevel::Debug {
            return targets;
        }
        CHATTY_CRATES
            .iter()
            .fold(targets, |t, krate| t.with_target(*krate, LevelFilter::INFO))
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_possible_value() {
            Some(v) => f.write_str(v.get_name()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn names_are_metallbs() {
        let names: Vec<String> = LogLevel::value_variants()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["all", "debug", "info", "warn", "error", "none"]);
        assert_eq!(LogLevel::from_str("warn", false), Ok(LogLevel::Warn));
        assert!(LogLevel::from_str("verbose", false).is_err());
        assert_eq!(LogLevel::default(), LogLevel::Info);
    }

    #[test]
    fn each_level_lets_through_what_metallb_does() {
        let table = [
            (LogLevel::All, Level::TRACE, true),
            (LogLevel::Debug, Level::TRACE, false),
            (LogLevel::Debug, Level::DEBUG, true),
            (LogLevel::Info, Level::DEBUG, false),
            (LogLevel::Info, Level::INFO, true),
            (LogLevel::Warn, Level::INFO, false),
            (LogLevel::Warn, Level::WARN, true),
            (LogLevel::Error, Level::WARN, false),
            (LogLevel::Error, Level::ERROR, true),
            (LogLevel::None, Level::ERROR, false),
        ];
        for (setting, level, passes) in table {
            assert_eq!(
                setting.filter().would_enable("controller", &level),
                passes,
                "--log-level={setting} and a {level} event"
            );
        }
    }

    #[test]
    fn debug_keeps_http_libraries_at_info_and_all_does_not() {
        let debug = LogLevel::Debug.filter();
        assert!(!debug.would_enable("h2::codec", &Level::DEBUG));
        assert!(debug.would_enable("hyper_util::client", &Level::INFO));
        assert!(debug.would_enable("kube_client::client", &Level::DEBUG));
        assert!(
            LogLevel::All
                .filter()
                .would_enable("h2::codec", &Level::TRACE)
        );
    }
}
