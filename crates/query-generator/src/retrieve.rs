//! Lexical retrieval of similar training examples: Okapi BM25 over the
//! questions' words.

use glrl_dataset::Pair;
use std::collections::HashMap;

pub struct Retriever {
    pairs: Vec<Pair>,
    docs: Vec<HashMap<String, f64>>,
    lengths: Vec<f64>,
    idf: HashMap<String, f64>,
    avg_len: f64,
    /// Per pair, its question trimmed and lower-cased and its SQL's shape
    /// ([`normalise_sql`]): computed once, not per query and pair.
    questions: Vec<String>,
    shapes: Vec<String>,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The query's shape: literals abstracted (the data set's skeleton),
/// whitespace and case folded.
fn normalise_sql(sql: &str) -> String {
    glrl_dataset::skeleton(sql)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

const K1: f64 = 1.2;
const B: f64 = 0.75;

impl Retriever {
    pub fn new(pairs: Vec<Pair>) -> Retriever {
        let mut df: HashMap<String, f64> = HashMap::new();
        let mut docs = Vec::with_capacity(pairs.len());
        let mut lengths = Vec::with_capacity(pairs.len());
        for p in &pairs {
            let ws = words(&p.question);
            lengths.push(ws.len() as f64);
            let mut tf: HashMap<String, f64> = HashMap::new();
            for w in ws {
                *tf.entry(w).or_default() += 1.0;
            }
            for w in tf.keys() {
                *df.entry(w.clone()).or_default() += 1.0;
            }
            docs.push(tf);
        }
        let n = pairs.len() as f64;
        let idf = df
            .into_iter()
            .map(|(w, d)| (w, ((n - d + 0.5) / (d + 0.5) + 1.0).ln()))
            .collect();
        let avg_len = if lengths.is_empty() {
            1.0
        } else {
            lengths.iter().sum::<f64>() / lengths.len() as f64
        };
        let questions = pairs
            .iter()
            .map(|p| p.question.trim().to_lowercase())
            .collect();
        let shapes = pairs.iter().map(|p| normalise_sql(&p.sql)).collect();
        Retriever {
            pairs,
            docs,
            lengths,
            idf,
            avg_len,
            questions,
            shapes,
        }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `k` best-scoring pairs for `question`, best first, leaving out
    /// any pair with the very same question and, when `exclude` names a
    /// stored pair, that pair and every pair whose SQL has the same shape
    /// (the same query up to its literals). The data holds each query in
    /// several phrasings and slot values: a training example shown its own
    /// query under another wording learns to copy the example, and at
    /// serving time, where the dev split shares no shape with train, it
    /// then copies a wrong query.
    pub fn top(&self, question: &str, k: usize, exclude: Option<&str>) -> Vec<&Pair> {
        // No examples asked (the serving default): scoring every pair
        // only to keep none cost ~0.7 ms a question.
        if k == 0 {
            return Vec::new();
        }
        let q = words(question);
        let norm = question.trim().to_lowercase();
        let own_sql = exclude.and_then(|id| {
            self.pairs
                .iter()
                .position(|p| p.id == id)
                .map(|i| self.shapes[i].as_str())
        });
        let mut scored: Vec<(f64, usize)> = self
            .docs
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                Some(self.pairs[*i].id.as_str()) != exclude
                    && self.questions[*i] != norm
                    && own_sql != Some(self.shapes[*i].as_str())
            })
            .map(|(i, tf)| {
                let len_norm = K1 * (1.0 - B + B * self.lengths[i] / self.avg_len);
                let s: f64 = q
                    .iter()
                    .filter_map(|w| {
                        let f = *tf.get(w)?;
                        Some(
                            self.idf.get(w).copied().unwrap_or(0.0) * f * (K1 + 1.0)
                                / (f + len_norm),
                        )
                    })
                    .sum();
                (s, i)
            })
            .filter(|(s, _)| *s > 0.0)
            .collect();
        // Ties broken by position, so retrieval is deterministic.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(k)
            .map(|(_, i)| &self.pairs[i])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: &str, q: &str) -> Pair {
        Pair {
            id: id.into(),
            question: q.into(),
            sql: format!("SELECT '{id}'"),
            ..Pair::default()
        }
    }

    #[test]
    fn rare_shared_words_rank_first_and_self_is_excluded() {
        let r = Retriever::new(vec![
            pair("a", "How many projects are there?"),
            pair("b", "List blocked suppliers in Germany"),
            pair("c", "How many contracts are there?"),
            pair("d", "Which suppliers are blocked?"),
        ]);
        let top = r.top("Show blocked suppliers", 2, None);
        assert_eq!(
            top.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["d", "b"]
        );
        let top = r.top("Which suppliers are blocked?", 3, None);
        assert!(
            top.iter().all(|p| p.id != "d"),
            "the same question is never its own example"
        );
        assert!(r
            .top("How many projects are there?", 5, Some("c"))
            .iter()
            .all(|p| p.id != "c"));
        assert!(r.top("zebra", 3, None).is_empty());
    }

    #[test]
    fn a_training_pair_never_sees_its_query_under_another_wording() {
        let mut same = pair("b", "Count the projects");
        same.sql = "SELECT  'another literal'".into();
        let mut other = pair("c", "How many contracts are there?");
        other.sql = "SELECT COUNT(*) FROM contracts".into();
        let r = Retriever::new(vec![pair("a", "How many projects are there?"), same, other]);
        let ids: Vec<&str> = r
            .top("How many projects are there?", 3, Some("a"))
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(ids, ["c"], "b has a's SQL");
        // Serving excludes nothing beyond the identical question.
        assert!(r
            .top("Count the projects please", 3, None)
            .iter()
            .any(|p| p.id == "b"));
    }
}
