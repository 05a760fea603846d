//! `glrl eval`: execution accuracy overall, per difficulty and per
//! construct, and the validator- and reward-based rates, for a file of
//! predictions against a data set.

use crate::Pair;
use glrl_reward_evaluator::RewardEvaluator;
use glrl_validator::LayerName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A model's answer for one pair: `{"id": …, "prediction": "<think>…</think> SELECT …"}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Prediction {
    pub id: String,
    #[serde(alias = "sql")]
    pub prediction: String,
    /// Every distinct SQL the pipeline weighed for this pair, the chosen
    /// one included (optional): whether the right answer was among them
    /// tells a selection miss from a generation miss.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Slice {
    pub name: String,
    pub n: usize,
    pub correct: usize,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub pairs: usize,
    /// Pairs with no prediction count as wrong; their ids are listed.
    pub missing: Vec<String>,
    pub execution_accuracy: f64,
    pub by_difficulty: Vec<Slice>,
    pub by_construct: Vec<Slice>,
    pub syntax_validity: f64,
    pub schema_compliance: f64,
    pub business_logic_compliance: f64,
    /// SQL that reads the schema's tables and only those.
    pub domain_table_usage: f64,
    /// A non-empty SQL could be taken from the output.
    pub generation_success_rate: f64,
    pub mean_reward: f64,
    /// Share of pairs where the prediction or one of its candidates
    /// returns the gold rows; absent when no prediction lists candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_accuracy: Option<f64>,
    /// Per pair, in the data set's order: the prediction was right.
    #[serde(skip)]
    pub correct: Vec<bool>,
}

struct Outcome {
    correct: bool,
    /// The prediction or one of its candidates was right.
    reachable: bool,
    syntax: bool,
    schema: bool,
    business: bool,
    domain: bool,
    generated: bool,
    reward: f64,
}

pub fn evaluate(
    pairs: &[Pair],
    predictions: &[Prediction],
    evaluator: &RewardEvaluator,
    schema: &glrl_catalog::Schema,
    dialect: glrl_catalog::Dialect,
) -> EvalReport {
    let by_id: BTreeMap<&str, &Prediction> =
        predictions.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut missing = Vec::new();
    let mut outcomes = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let Some(pred) = by_id.get(pair.id.as_str()) else {
            missing.push(pair.id.clone());
            outcomes.push(Outcome {
                correct: false,
                reachable: false,
                syntax: false,
                schema: false,
                business: false,
                domain: false,
                generated: false,
                reward: 0.0,
            });
            continue;
        };
        let gold = evaluator.gold(&pair.sql);
        let r = evaluator.score(&pred.prediction, Some(&gold));
        let passed = |l| r.report.layer(l).is_some_and(|l| l.passed);
        // The evaluator already took the SQL out of the prediction.
        let (tables, _) = glrl_reward_evaluator::used_names(&r.sql, schema, dialect);
        let unknown = r.report.has_code("SCHEMA_UNKNOWN_TABLE")
            || r.report.has_code("SECURITY_TABLE_NOT_ALLOWED");
        let right = |r: &glrl_reward_evaluator::Reward| {
            r.dimension("accuracy").is_some_and(|d| d.score >= 1.0)
        };
        let correct = right(&r);
        let reachable = correct
            || pred
                .candidates
                .iter()
                .filter(|c| **c != r.sql)
                .any(|c| right(&evaluator.score(c, Some(&gold))));
        outcomes.push(Outcome {
            correct,
            reachable,
            syntax: passed(LayerName::Syntax),
            schema: passed(LayerName::Schema),
            business: passed(LayerName::Business),
            domain: !tables.is_empty() && !unknown,
            generated: !r.sql.is_empty(),
            reward: r.total,
        });
    }
    let n = pairs.len().max(1) as f64;
    let rate = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as f64 / n;
    let slices = |key: &dyn Fn(&Pair) -> Vec<String>| {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (p, o) in pairs.iter().zip(&outcomes) {
            for k in key(p) {
                let e = m.entry(k).or_default();
                e.0 += 1;
                e.1 += usize::from(o.correct);
            }
        }
        m.into_iter()
            .map(|(name, (n, correct))| Slice {
                name,
                n,
                correct,
                accuracy: correct as f64 / n.max(1) as f64,
            })
            .collect::<Vec<_>>()
    };
    let by_difficulty = slices(&|p: &Pair| vec![p.difficulty.clone()]);
    let by_construct = slices(&|p: &Pair| p.constructs.clone());
    EvalReport {
        pairs: pairs.len(),
        missing,
        execution_accuracy: rate(&|o| o.correct),
        by_difficulty,
        by_construct,
        syntax_validity: rate(&|o| o.syntax),
        schema_compliance: rate(&|o| o.schema),
        business_logic_compliance: rate(&|o| o.business),
        domain_table_usage: rate(&|o| o.domain),
        generation_success_rate: rate(&|o| o.generated),
        mean_reward: outcomes.iter().map(|o| o.reward).sum::<f64>() / n,
        candidate_accuracy: predictions
            .iter()
            .any(|p| !p.candidates.is_empty())
            .then(|| rate(&|o| o.reachable)),
        correct: outcomes.iter().map(|o| o.correct).collect(),
    }
}
