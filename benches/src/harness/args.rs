//! The few criterion command-line arguments the driver needs: the mode, the filter and the
//! times.

use std::time::Duration;

/// What criterion was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Bench,
    Test,
    List,
}

/// The few criterion arguments the driver needs to know about.
#[derive(Debug)]
pub(super) struct Args {
    pub(super) mode: Mode,
    /// A plain-text filter (a regex without metacharacters matches as a substring).
    filter: Option<String>,
    exact: bool,
    /// The filter is a real regex: let criterion decide, probe everything.
    regex: bool,
    /// `--warm-up-time`, if given.
    warm_up_time: Option<Duration>,
    /// `--measurement-time`, if given.
    measurement_time: Option<Duration>,
}

/// Criterion options that take a value (criterion 0.8).
const VALUE_OPTIONS: &[&str] = &[
    "-c",
    "--color",
    "--colour",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

impl Args {
    pub(super) fn parse(args: impl IntoIterator<Item = String>) -> Self {
        let mut parsed = Args {
            mode: Mode::Bench,
            filter: None,
            exact: false,
            regex: false,
            warm_up_time: None,
            measurement_time: None,
        };
        let (mut bench, mut test, mut list) = (false, false, false);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if !arg.starts_with('-') {
                if parsed.filter.is_none() {
                    parsed.regex = arg.contains(|c: char| "\\.^$|?*+()[]{}".contains(c));
                    parsed.filter = Some(arg);
                }
                continue;
            }
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None if VALUE_OPTIONS.contains(&arg.as_str()) => (arg.as_str(), args.next()),
                None => (arg.as_str(), None),
            };
            let seconds = value.as_deref().and_then(|v| v.parse::<f64>().ok());
            let seconds = seconds.and_then(|s| Duration::try_from_secs_f64(s).ok());
            match name {
                "--bench" => bench = true,
                "--test" => test = true,
                "--list" => list = true,
                "--exact" => parsed.exact = true,
                "--warm-up-time" => parsed.warm_up_time = seconds,
                "--measurement-time" => parsed.measurement_time = seconds,
                _ => {}
            }
        }
        parsed.mode = if list {
            Mode::List
        } else if test || !bench {
            Mode::Test
        } else {
            Mode::Bench
        };
        parsed
    }

    /// The warm-up and measurement times criterion will use: the command line's, else
    /// criterion's defaults (3 s and 5 s).
    pub(super) fn times(&self) -> (Duration, Duration) {
        (
            self.warm_up_time.unwrap_or(Duration::from_secs(3)),
            self.measurement_time.unwrap_or(Duration::from_secs(5)),
        )
    }

    /// Whether criterion's filter may select `id` (`group/function`).
    pub(super) fn selects(&self, id: &str) -> bool {
        match &self.filter {
            None => true,
            Some(filter) if self.exact => id == filter,
            Some(_) if self.regex => true,
            Some(filter) => id.contains(filter.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse(line: &str) -> Args {
        Args::parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn finds_the_filter_after_valued_options() {
        let args = parse("--warm-up-time 0.3 --measurement-time 0.5 kairo_deep --bench");
        assert_eq!(args.mode, Mode::Bench);
        let times = (Duration::from_millis(300), Duration::from_millis(500));
        assert_eq!(args.times(), times);
        assert!(args.selects("kairo_deep/stateloom"));
        assert!(!args.selects("kairo_broad/stateloom"));
    }

    #[test]
    fn test_and_list_modes() {
        assert_eq!(parse("").mode, Mode::Test);
        assert_eq!(parse("--bench --test").mode, Mode::Test);
        assert_eq!(parse("--bench --list").mode, Mode::List);
    }

    #[test]
    fn regex_filters_select_everything() {
        assert!(parse("--bench cellx_.*").selects("kairo_deep/baseline"));
        assert!(parse("--bench --exact a/b").selects("a/b"));
    }
}
