//! The Reward Evaluator agent: scores a candidate answer (reasoning and
//! SQL) on six dimensions — syntax, schema compliance, business logic,
//! performance, reasoning quality and execution accuracy against a gold
//! query — with configurable weights, a hard security gate, a
//! per-dimension breakdown and an explanation. GRPO's group-relative
//! advantages are here too, for the trainer to call.

mod accuracy;
mod output;
mod reasoning;

pub use accuracy::{compare, Comparison};
pub use output::split_output;
pub use reasoning::used_names;

use glrl_catalog::{Dialect, Schema};
use glrl_db::{Database, ExecOptions, ResultSet};
use glrl_validator::{LayerName, LayerReport, Report, Severity, Validator};
use serde::Serialize;
use sqlparser::ast::Statement;
use std::time::Duration;

/// Weights of the six dimensions (the architecture's defaults); they are
/// normalised to sum to one. Defined with the configuration, which sets
/// them for GRPO (`train.grpo.reward`).
pub use glrl_config::RewardWeights as Weights;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    pub name: &'static str,
    pub score: f64,
    /// Normalised weight; 0 when the dimension does not apply (no gold query).
    pub weight: f64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reward {
    /// Weighted sum in [0, 1]; 0 when a hard gate closed.
    pub total: f64,
    pub dimensions: Vec<Dimension>,
    /// Why the reward was forced to 0 (a security error).
    pub gate: Option<String>,
    pub sql: String,
    pub report: Report,
    /// Wall time of the validator's database calls (the plan); the
    /// candidate's own execution against gold is not included.
    #[serde(skip)]
    pub database_time: std::time::Duration,
}

impl Reward {
    /// The total and each dimension's score, weight and note, one per
    /// line (written on demand: the pipeline scores every candidate and
    /// reads none of it).
    pub fn explanation(&self) -> String {
        let mut out = match &self.gate {
            Some(g) => format!("reward 0: hard gate ({g})"),
            None => format!("reward {:.3}", self.total),
        };
        for d in &self.dimensions {
            out.push_str(&format!(
                "\n  {:<12} {:.2} x {:.2}  {}",
                d.name, d.score, d.weight, d.note
            ));
        }
        out
    }

    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }
}

/// Scores candidates for one schema and database.
pub struct RewardEvaluator<'a> {
    validator: &'a Validator<'a>,
    db: &'a dyn Database,
    dialect: Dialect,
    weights: Weights,
    exec: ExecOptions,
    names: reasoning::Names,
}

/// A gold query's result, computed once for all candidates of a group.
pub struct Gold {
    result: Result<ResultSet, String>,
    ordered: bool,
}

fn layer_score(l: Option<&LayerReport>) -> (f64, String) {
    let Some(l) = l else {
        return (0.0, "not checked".into());
    };
    if l.skipped {
        return (0.0, "not reached (an earlier layer failed)".into());
    }
    let errors = l
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = l
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    if errors > 0 {
        let first = l
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .map(|f| f.code.as_str())
            .unwrap_or("");
        return (0.0, format!("{errors} error(s), first {first}"));
    }
    // Warnings cost, but a warned query stays far above a wrong one.
    (
        (1.0 - 0.15 * warnings as f64).max(0.4),
        if warnings == 0 {
            "clean".into()
        } else {
            format!("{warnings} warning(s)")
        },
    )
}

impl<'a> RewardEvaluator<'a> {
    pub fn new(
        validator: &'a Validator<'a>,
        db: &'a dyn Database,
        schema: &'a Schema,
    ) -> RewardEvaluator<'a> {
        RewardEvaluator {
            validator,
            db,
            dialect: db.dialect(),
            weights: Weights::default(),
            names: reasoning::Names::new(schema),
            exec: ExecOptions {
                timeout: Duration::from_secs(5),
                max_rows: 10_000,
            },
        }
    }

    pub fn with_weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Runs the gold query (read-only) once.
    pub fn gold(&self, sql: &str) -> Gold {
        let ordered = matches!(
            sqlparser::parser::Parser::parse_sql(self.dialect.parser_dialect().as_ref(), sql).as_deref(),
            Ok([Statement::Query(q)]) if q.order_by.is_some()
        );
        Gold {
            result: self.db.query(sql, &self.exec).map_err(|e| e.to_string()),
            ordered,
        }
    }

    /// Scores one candidate answer; with `gold`, execution accuracy counts.
    pub fn score(&self, candidate: &str, gold: Option<&Gold>) -> Reward {
        self.score_with(candidate, gold, true)
    }

    /// Tables and columns of the schema among a validated query's words
    /// ([`Report::words`]), by the map built once at start-up.
    pub fn names_in(&self, words: &[String]) -> (Vec<String>, Vec<String>) {
        self.names.used(words)
    }

    /// As [`Self::score`] without touching the database: static validator
    /// layers only, no plan, no execution (accuracy does not apply).
    pub fn score_static(&self, candidate: &str) -> Reward {
        self.score_with(candidate, None, false)
    }

    /// As [`Self::score`] without gold, for a candidate whose SQL an
    /// earlier candidate with another reasoning had validated (`report`):
    /// sampled candidates often agree on the SQL and differ in the words
    /// before it, and validating the same SQL again (a parse, the plan
    /// from the database) would change nothing but the time taken.
    pub fn rescore(&self, candidate: &str, report: Report) -> Reward {
        let (reasoning_text, sql) = split_output(candidate);
        self.assemble(reasoning_text, sql, report, Duration::ZERO, None)
    }

    fn score_with(&self, candidate: &str, gold: Option<&Gold>, use_db: bool) -> Reward {
        let (reasoning_text, sql) = split_output(candidate);
        let (report, database_time) = if use_db {
            self.validator.validate_timed(&sql)
        } else {
            (self.validator.validate_static(&sql), Default::default())
        };
        self.assemble(reasoning_text, sql, report, database_time, gold)
    }

    /// The six dimensions and the total, from a validation's report.
    fn assemble(
        &self,
        reasoning_text: Option<String>,
        sql: String,
        report: Report,
        database_time: Duration,
        gold: Option<&Gold>,
    ) -> Reward {
        let w = self.weights;
        let mut dims = Vec::with_capacity(6);
        for (name, layer, weight) in [
            ("syntax", LayerName::Syntax, w.syntax),
            ("schema", LayerName::Schema, w.schema),
            ("business", LayerName::Business, w.business),
            ("performance", LayerName::Performance, w.performance),
        ] {
            let (score, note) = layer_score(report.layer(layer));
            dims.push(Dimension {
                name,
                score,
                weight,
                note,
            });
        }
        let (tables, columns) = self.names.used(&report.words);
        let (rs, rnote) = reasoning::score(reasoning_text.as_deref(), &tables, &columns);
        dims.push(Dimension {
            name: "reasoning",
            score: rs,
            weight: w.reasoning,
            note: rnote,
        });
        let (acc, anote, aweight) = match gold {
            None => (0.0, "no gold query: not scored".to_string(), 0.0),
            Some(g) => {
                let (s, n) = self.accuracy(&sql, &report, g);
                (s, n, w.accuracy)
            }
        };
        dims.push(Dimension {
            name: "accuracy",
            score: acc,
            weight: aweight,
            note: anote,
        });
        let sum: f64 = dims.iter().map(|d| d.weight).sum();
        for d in &mut dims {
            d.weight = if sum > 0.0 { d.weight / sum } else { 0.0 };
        }
        let security = report.layer(LayerName::Security);
        let gate = security.filter(|l| !l.passed).map(|l| {
            let codes: Vec<&str> = l
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.code.as_str())
                .collect();
            format!("security: {}", codes.join(", "))
        });
        let total = if gate.is_some() {
            0.0
        } else {
            dims.iter()
                .map(|d| d.score * d.weight)
                .sum::<f64>()
                .clamp(0.0, 1.0)
        };
        Reward {
            total,
            dimensions: dims,
            gate,
            sql,
            report,
            database_time,
        }
    }

    fn accuracy(&self, sql: &str, report: &Report, gold: &Gold) -> (f64, String) {
        let g = match &gold.result {
            Ok(g) => g,
            Err(e) => return (0.0, format!("the gold query failed: {e}")),
        };
        // Only a query the validator accepts is executed.
        if !report.valid {
            return (0.0, "not executed: the validator rejected it".into());
        }
        match self.db.query(sql, &self.exec) {
            Ok(c) => {
                let cmp = compare(g, &c, gold.ordered);
                (cmp.score, cmp.note)
            }
            Err(e) => (0.0, format!("execution failed: {e}")),
        }
    }
}

/// Each reward less the group's mean (empty for an empty group).
fn deviations(rewards: &[f64]) -> Vec<f64> {
    let mean = rewards.iter().sum::<f64>() / rewards.len().max(1) as f64;
    rewards.iter().map(|r| r - mean).collect()
}

/// GRPO's group-relative advantages: `(r - mean) / (std + eps)`; a group
/// whose rewards are all equal carries no signal and gets zeros.
pub fn group_advantages(rewards: &[f64], eps: f64) -> Vec<f64> {
    let d = deviations(rewards);
    let std = (d.iter().map(|x| x * x).sum::<f64>() / d.len().max(1) as f64).sqrt();
    if std < 1e-12 {
        return vec![0.0; d.len()];
    }
    d.iter().map(|x| x / (std + eps)).collect()
}

/// Group-relative advantages centred only, `r - mean` (Dr. GRPO): the
/// spread of a group's rewards stays its weight. Zeros for a flat group.
pub fn centred_advantages(rewards: &[f64]) -> Vec<f64> {
    let d = deviations(rewards);
    if d.iter().all(|x| x.abs() < 1e-12) {
        return vec![0.0; d.len()];
    }
    d
}

#[cfg(test)]
mod tests {
    use super::{centred_advantages, group_advantages};

    #[test]
    fn advantages() {
        assert_eq!(group_advantages(&[0.5, 0.5, 0.5], 1e-6), vec![0.0; 3]);
        let a = group_advantages(&[1.0, 0.0], 1e-6);
        assert!((a[0] - 1.0).abs() < 1e-5 && (a[1] + 1.0).abs() < 1e-5);
        assert!(group_advantages(&[], 1e-6).is_empty());
        let a = group_advantages(&[0.2, 0.4, 0.9, 0.1, 0.6], 1e-6);
        assert!(a.iter().sum::<f64>().abs() < 1e-9);
    }

    #[test]
    fn centred_advantages_keep_the_spread_of_each_group() {
        assert_eq!(centred_advantages(&[0.7, 0.7]), vec![0.0; 2]);
        assert!(centred_advantages(&[]).is_empty());
        // Two groups ranked alike: scaled, both push equally hard;
        // centred, the group that barely differs barely pushes.
        let small = centred_advantages(&[0.81, 0.80, 0.80, 0.79]);
        let large = centred_advantages(&[1.0, 0.3, 0.3, 0.2]);
        assert!((small[0] - 0.01).abs() < 1e-9 && (small[3] + 0.01).abs() < 1e-9);
        assert!((large[0] - 0.55).abs() < 1e-9);
        let scaled_small = group_advantages(&[0.81, 0.80, 0.80, 0.79], 1e-6);
        assert!(scaled_small[0] > 1.0);
    }
}
