//! Validation, read-only execution and selection of candidates: each
//! candidate is scored by the Reward Evaluator's gold-free dimensions
//! (the five validator layers and reasoning), the valid ones run, and
//! candidates that return the same rows vote together (self-consistency),
//! each vote weighted by its reward and the model's per-token probability.

use glrl_catalog::Dialect;
use glrl_db::{Database, ExecOptions, ResultSet};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_validator::fix::{add_missing_group_by, GROUP_BY_KEY, GROUP_BY_MISSING};
use glrl_validator::{Report, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// What happened to one candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub index: usize,
    pub sql: String,
    pub reasoning: Option<String>,
    /// Gold-free reward in [0, 1].
    pub reward: f64,
    pub mean_logprob: f64,
    pub valid: bool,
    /// Validator errors, or the database's error when execution failed.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Candidates with the same group returned the same rows.
    pub group: Option<usize>,
    /// Generated tokens (reasoning included).
    pub tokens: usize,
    /// Not generated: the validator's rewrite of this candidate (its
    /// missing GROUP BY added), judged as one more candidate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_from: Option<usize>,
    /// Shared by candidates with the same SQL (sampling often repeats
    /// it): copying rows and findings per candidate was measurable.
    #[serde(skip)]
    pub report: Option<Arc<Report>>,
    #[serde(skip)]
    pub result: Option<Arc<ResultSet>>,
}

/// How much a degenerate candidate's vote counts: one that groups a
/// table by its key (every group one row) agrees with copies of itself,
/// and three of them outvoted a lone right answer (dev-0002 "Total number
/// of people on record?", dev-0141). A tenth lets any plain candidate win
/// and still answers where nothing else validates.
const DEGENERATE_VOTE: f64 = 0.1;

impl Scored {
    /// The candidate's vote: reward × the geometric-mean token
    /// probability, a tenth of it when degenerate.
    pub fn weight(&self) -> f64 {
        let degenerate = self.warnings.iter().any(|w| w.starts_with(GROUP_BY_KEY));
        let scale = if degenerate { DEGENERATE_VOTE } else { 1.0 };
        scale * self.reward * self.mean_logprob.min(0.0).exp()
    }
}

/// Validates and runs candidates: the Reward Evaluator (validator
/// layers, reasoning) and the read-only database with its limits.
pub struct Judge<'a> {
    pub evaluator: &'a RewardEvaluator<'a>,
    pub db: &'a dyn Database,
    pub exec: &'a ExecOptions,
}

impl Judge<'_> {
    /// Scores and, when valid, executes one candidate's text. A candidate
    /// identical to an earlier one (same reasoning and SQL: sampling
    /// often repeats the greedy answer) reuses its score; identical SQL
    /// reuses an earlier validation and execution.
    pub fn score(
        &self,
        index: usize,
        text: &str,
        mean_logprob: f64,
        earlier: &[Scored],
        db_time: &mut Duration,
    ) -> Scored {
        let (reasoning, sql) = glrl_reward_evaluator::split_output(text);
        if let Some(same) = earlier
            .iter()
            .find(|e| e.sql == sql && e.reasoning == reasoning)
        {
            return Scored {
                index,
                mean_logprob,
                group: None,
                tokens: 0,
                fixed_from: None,
                ..same.clone()
            };
        }
        // The same SQL under another reasoning keeps its validation.
        let r = match earlier
            .iter()
            .find(|e| e.sql == sql)
            .and_then(|e| e.report.clone())
        {
            Some(report) => self.evaluator.rescore(text, (*report).clone()),
            None => self.evaluator.score(text, None),
        };
        // The plan is the database's work, as the execution below is.
        *db_time += r.database_time;
        let errors: Vec<String> = r
            .report
            .findings()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect();
        let warnings: Vec<String> = r
            .report
            .findings()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect();
        let mut s = Scored {
            index,
            sql: r.sql.clone(),
            reasoning,
            reward: r.total,
            mean_logprob,
            valid: r.report.valid && !r.sql.is_empty() && r.gate.is_none(),
            errors,
            warnings,
            group: None,
            tokens: 0,
            fixed_from: None,
            report: Some(Arc::new(r.report)),
            result: None,
        };
        if s.sql.is_empty() && s.errors.is_empty() {
            s.errors.push("EMPTY: no SQL after the reasoning".into());
        }
        if !s.valid {
            return s;
        }
        if let Some(same) = earlier.iter().find(|e| e.sql == s.sql && e.valid) {
            s.result = same.result.clone();
            return s;
        }
        // The whole call, a failed one included: the same definition as
        // the validator's plan time, so the two add up to one figure.
        let t0 = std::time::Instant::now();
        let outcome = self.db.query(&s.sql, self.exec);
        *db_time += t0.elapsed();
        match outcome {
            Ok(rs) => {
                s.result = Some(Arc::new(rs));
            }
            Err(e) => {
                s.valid = false;
                s.errors.push(format!("EXECUTION: {e}"));
            }
        }
        s
    }

    /// Judges the validator's rewrite of each candidate from `from` on
    /// that failed only for a missing GROUP BY, as one more candidate
    /// with the original's reasoning and probability: no model time, and
    /// often no repair round.
    pub fn add_group_by_fixes(
        &self,
        from: usize,
        scored: &mut Vec<Scored>,
        dialect: Dialect,
        db_time: &mut Duration,
    ) {
        let fixes: Vec<(usize, String, f64)> = scored[from..]
            .iter()
            .filter(|s| {
                !s.valid
                    && !s.errors.is_empty()
                    && s.errors.iter().all(|e| {
                        e.strip_prefix(GROUP_BY_MISSING)
                            .is_some_and(|rest| rest.starts_with(':'))
                    })
            })
            .filter_map(|s| {
                let sql = add_missing_group_by(&s.sql, dialect)?;
                let text = match &s.reasoning {
                    Some(r) => format!("<think>{r}</think>\n{sql}"),
                    None => sql,
                };
                Some((s.index, text, s.mean_logprob))
            })
            .collect();
        for (origin, text, mean_logprob) in fixes {
            let mut s = self.score(scored.len(), &text, mean_logprob, scored, db_time);
            s.fixed_from = Some(origin);
            scored.push(s);
        }
    }
}

/// Rows as a multiset (order-free) plus the column count: candidates that
/// agree on this agree on the answer.
fn fingerprint(rs: &ResultSet) -> String {
    let mut rows: Vec<String> = rs
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_plain_string())
                .collect::<Vec<_>>()
                .join("\u{1f}")
        })
        .collect();
    rows.sort();
    format!("{}\u{1e}{}", rs.columns.len(), rows.join("\u{1e}"))
}

/// The chosen candidate and the raw confidence: the winning group's
/// summed weight over the number of candidates (all agree with reward 1
/// and certainty → 1; a lone winner among five → at most 0.2).
pub fn select(scored: &mut [Scored], total: usize) -> Option<(usize, f64)> {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    // The same SQL gave the same rows: fingerprinted once.
    let mut by_sql: HashMap<String, usize> = HashMap::new();
    for s in scored.iter_mut() {
        if let (true, Some(rs)) = (s.valid, &s.result) {
            let group = match by_sql.get(&s.sql) {
                Some(&g) => g,
                None => {
                    let next = groups.len();
                    let g = *groups.entry(fingerprint(rs)).or_insert(next);
                    by_sql.insert(s.sql.clone(), g);
                    g
                }
            };
            s.group = Some(group);
        }
    }
    let mut weight: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for s in scored.iter() {
        if let Some(g) = s.group {
            let e = weight.entry(g).or_insert((0.0, s.index));
            e.0 += s.weight();
            e.1 = e.1.min(s.index);
        }
    }
    // Highest weight; ties go to the group holding the earliest candidate
    // (candidate 0 is the greedy decode).
    let (&best, &(w, _)) = weight
        .iter()
        .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))?;
    let winner = scored
        .iter()
        .filter(|s| s.group == Some(best))
        .max_by(|a, b| {
            a.weight()
                .total_cmp(&b.weight())
                .then(b.index.cmp(&a.index))
        })?
        .index;
    Some((winner, (w / total.max(1) as f64).clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glrl_db::{ColumnMeta, Value};

    /// A valid candidate that returned one row holding `n`.
    fn ran(index: usize, n: i64, warnings: &[&str]) -> Scored {
        Scored {
            index,
            sql: format!("SELECT {n} -- {index}"),
            reasoning: None,
            reward: 1.0,
            mean_logprob: -0.05,
            valid: true,
            errors: Vec::new(),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
            group: None,
            tokens: 10,
            fixed_from: None,
            report: None,
            result: Some(Arc::new(ResultSet {
                columns: vec![ColumnMeta {
                    name: "n".into(),
                    type_name: None,
                }],
                rows: vec![vec![Value::Int(n)]],
                truncated: false,
                elapsed: Duration::ZERO,
            })),
        }
    }

    #[test]
    fn degenerate_candidates_win_only_where_nothing_else_answers() {
        let key = format!("{GROUP_BY_KEY}: grouping T by id, a key, …");
        // Three agreeing degenerate candidates against one plain one.
        let mut scored = vec![
            ran(0, 1, &[&key]),
            ran(1, 1, &[&key]),
            ran(2, 1, &[&key]),
            ran(3, 42, &["PERF_FULL_SCAN: …"]),
        ];
        assert_eq!(select(&mut scored, 4).map(|(w, _)| w), Some(3));
        // Without the warning the three outvote it.
        let mut scored = vec![
            ran(0, 1, &[]),
            ran(1, 1, &[]),
            ran(2, 1, &[]),
            ran(3, 42, &[]),
        ];
        assert_eq!(select(&mut scored, 4).map(|(w, _)| w), Some(0));
        // Alone, a degenerate candidate still answers, with low confidence.
        let mut scored = vec![ran(0, 1, &[&key])];
        let (w, confidence) = select(&mut scored, 1).unwrap();
        assert_eq!(w, 0);
        assert!(confidence < 0.2, "{confidence}");
    }
}
