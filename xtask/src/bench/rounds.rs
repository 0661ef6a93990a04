//! Rounds: the kernel comparison run several times, so each ratio comes with its spread.
//!
//! `cargo xtask bench --rounds N` runs the benches `N` times in a row, timing each group's
//! pairs in reverse order in every other round (so no library is always first). After each round, the
//! medians of the kernel workloads are appended to [`ROUNDS_FILE`]; the report then gives, per
//! workload, the fastest peer's ratio over stateloom in every round (its median, lowest and
//! highest), the ratio of instructions when they were counted, and a verdict: a workload is
//! won (or lost) beyond the spread only when every round says so.

use std::{collections::BTreeMap, fmt::Write as _, fs, io, path::Path};

use anyhow::Context;
use serde_json::{Map, Value};

use super::report::{format_fine_ratio, format_ratio};
use super::results::{BASELINE, InstructionCount, Results, STATELOOM};

/// One JSON object per round, one line each: `"group/library"` to criterion's median in ns.
pub(crate) const ROUNDS_FILE: &str = "stateloom-rounds.jsonl";

/// The medians of one round, by `(group, library)`.
pub(crate) type Round = BTreeMap<(String, String), f64>;

/// Appends the kernel workloads' medians of the round just measured to the rounds file.
pub(crate) fn record(criterion: &Path, results: &Results) -> anyhow::Result<()> {
    let workloads = results.workloads();
    let mut line = Map::new();
    for ((group, library), median) in &results.medians {
        if workloads.contains(group) && results.median(group, library).is_some() {
            line.insert(format!("{group}/{library}"), Value::from(*median));
        }
    }
    let path = criterion.join(ROUNDS_FILE);
    let mut text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    text.push_str(&Value::Object(line).to_string());
    text.push('\n');
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The rounds recorded under `criterion`, oldest first.
pub(crate) fn load(criterion: &Path) -> anyhow::Result<Vec<Round>> {
    let path = criterion.join(ROUNDS_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let object: Map<String, Value> = serde_json::from_str(line)
                .with_context(|| format!("a bad line in {}", path.display()))?;
            Ok(object
                .into_iter()
                .filter_map(|(key, value)| {
                    let (group, library) = key.split_once('/')?;
                    Some(((group.to_owned(), library.to_owned()), value.as_f64()?))
                })
                .collect())
        })
        .collect()
}

/// What the rounds say about one workload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spread {
    /// The peer with the lowest median of medians (baseline excluded).
    pub(crate) peer: String,
    /// That peer's median over stateloom's, in each round that measured both, sorted.
    pub(crate) ratios: Vec<f64>,
}

impl Spread {
    pub(crate) fn median(&self) -> f64 {
        let n = self.ratios.len();
        if n % 2 == 1 {
            self.ratios[n / 2]
        } else {
            (self.ratios[n / 2 - 1] + self.ratios[n / 2]) / 2.0
        }
    }

    /// `won` when stateloom was faster in every round, `lost` when slower in every round.
    pub(crate) fn verdict(&self) -> &'static str {
        let (low, high) = (self.ratios[0], self.ratios[self.ratios.len() - 1]);
        if low > 1.0 {
            "won beyond the spread"
        } else if high < 1.0 {
            "lost beyond the spread"
        } else {
            "within the spread"
        }
    }
}

/// The spread of `workload` over `rounds`, or `None` when no round measured stateloom and a
/// peer.
pub(crate) fn spread(rounds: &[Round], workload: &str) -> Option<Spread> {
    let mut by_peer: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in rounds {
        for ((group, library), median) in round {
            if group == workload && library != STATELOOM && library != BASELINE {
                by_peer.entry(library).or_default().push(*median);
            }
        }
    }
    let middle = |values: &[f64]| {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let (peer, _) = by_peer
        .iter()
        .map(|(peer, medians)| (*peer, middle(medians)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let key = |library: &str| (workload.to_owned(), library.to_owned());
    let mut ratios: Vec<f64> = rounds
        .iter()
        .filter_map(|round| Some(round.get(&key(peer))? / round.get(&key(STATELOOM))?))
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    Some(Spread {
        peer: peer.to_owned(),
        ratios,
    })
}

/// The rounds table, or a sentence saying how to get one.
pub(crate) fn table(results: &Results, rounds: &[Round]) -> String {
    if rounds.len() < 2 {
        return "One round was measured, so the ratios above have no spread: `cargo xtask bench --rounds 3` runs the suite three times and reports each ratio's spread here.\n".to_owned();
    }
    let mut out = format!(
        "{} rounds, run one after the other, each group's pairs in reverse order every other round. The ratio is the fastest peer's median over stateloom's in each round (above 1x, stateloom is faster); the verdict is `won` or `lost` only when every round agrees.\n\n",
        rounds.len()
    );
    out.push_str("| workload | fastest peer | ratio, median of rounds | lowest – highest | instructions, peer / stateloom | verdict |\n|---|---|--:|--:|--:|---|\n");
    for workload in results.workloads() {
        let Some(spread) = spread(rounds, &workload) else {
            continue;
        };
        let counted = |library: &str| match results
            .instructions
            .get(&(workload.clone(), library.to_owned()))
        {
            Some(InstructionCount::Counted(n)) => Some(*n as f64),
            _ => None,
        };
        let instructions = match (counted(&spread.peer), counted(STATELOOM)) {
            (Some(peer), Some(ours)) => format_fine_ratio(peer / ours),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            out,
            "| `{workload}` | {} | {} | {} – {} | {instructions} | {} |",
            spread.peer,
            format_ratio(spread.median()),
            format_ratio(spread.ratios[0]),
            format_ratio(spread.ratios[spread.ratios.len() - 1]),
            spread.verdict()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(pairs: &[(&str, &str, f64)]) -> Round {
        pairs
            .iter()
            .map(|(g, l, m)| (((*g).to_owned(), (*l).to_owned()), *m))
            .collect()
    }

    #[test]
    fn the_fastest_peer_is_chosen_over_all_rounds_and_its_ratios_sorted() {
        let rounds = [
            round(&[
                ("w", "stateloom", 10.0),
                ("w", "a", 12.0),
                ("w", "b", 30.0),
                ("w", "baseline", 1.0),
            ]),
            round(&[("w", "stateloom", 10.0), ("w", "a", 9.0), ("w", "b", 30.0)]),
            round(&[("w", "stateloom", 10.0), ("w", "a", 11.0), ("w", "b", 30.0)]),
        ];
        let spread = spread(&rounds, "w").unwrap();
        assert_eq!(spread.peer, "a");
        assert_eq!(spread.ratios, [0.9, 1.1, 1.2]);
        assert!((spread.median() - 1.1).abs() < 1e-9);
        assert_eq!(spread.verdict(), "within the spread");
        assert!(super::spread(&rounds, "missing").is_none());
    }

    #[test]
    fn a_verdict_needs_every_round() {
        let won = Spread {
            peer: "a".into(),
            ratios: vec![1.05, 1.3],
        };
        let lost = Spread {
            peer: "a".into(),
            ratios: vec![0.7, 0.95],
        };
        let even = Spread {
            peer: "a".into(),
            ratios: vec![0.99, 1.5],
        };
        assert_eq!(won.verdict(), "won beyond the spread");
        assert_eq!(lost.verdict(), "lost beyond the spread");
        assert_eq!(even.verdict(), "within the spread");
        assert!((even.median() - 1.245).abs() < 1e-9);
    }

    #[test]
    fn rounds_are_appended_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(ROUNDS_FILE),
            "{\"kairo_deep/stateloom\": 10.0, \"kairo_deep/alien_signals\": 12.5}\n\n",
        )
        .unwrap();
        let rounds = load(dir.path()).unwrap();
        assert_eq!(rounds.len(), 1);
        assert_eq!(
            rounds[0].get(&("kairo_deep".to_owned(), "alien_signals".to_owned())),
            Some(&12.5)
        );
        assert!(load(&dir.path().join("nowhere")).unwrap().is_empty());
    }
}
