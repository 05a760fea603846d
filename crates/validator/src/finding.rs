use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The five layers, in the order they report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerName {
    Syntax,
    Schema,
    Business,
    Performance,
    Security,
}

impl fmt::Display for LayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayerName::Syntax => "syntax",
            LayerName::Schema => "schema",
            LayerName::Business => "business",
            LayerName::Performance => "performance",
            LayerName::Security => "security",
        })
    }
}

/// Where in the SQL text a finding points (1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
}

impl Span {
    pub fn from_sql(s: sqlparser::tokenizer::Span) -> Option<Span> {
        (s.start.line > 0).then_some(Span {
            line: s.start.line,
            column: s.start.column,
            end_line: s.end.line,
            end_column: s.end.column,
        })
    }

    pub fn point(line: u64, column: u64) -> Span {
        Span {
            line,
            column,
            end_line: line,
            end_column: column,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub layer: LayerName,
    pub severity: Severity,
    /// Stable, machine-readable: `SCHEMA_UNKNOWN_COLUMN`.
    pub code: String,
    /// For the person who asked the question.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

impl Finding {
    pub fn new(
        layer: LayerName,
        severity: Severity,
        code: &str,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            layer,
            severity,
            code: code.to_string(),
            message: message.into(),
            span: None,
            suggestion: None,
        }
    }

    pub fn at(mut self, span: Option<Span>) -> Finding {
        self.span = span;
        self
    }

    pub fn suggest(mut self, suggestion: Option<String>) -> Finding {
        self.suggestion = suggestion;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    pub name: LayerName,
    /// No error finding (warnings and infos do not fail a layer).
    pub passed: bool,
    /// The layer could not run (an earlier layer failed, or no database).
    pub skipped: bool,
    pub findings: Vec<Finding>,
}

/// What the validator says of one SQL text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// No error finding in any layer.
    pub valid: bool,
    pub layers: Vec<LayerReport>,
    /// The planner's cost estimate, when a database was at hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost: Option<f64>,
    /// The SQL's word tokens (identifiers and keywords, unquoted values)
    /// in order, from the validator's one tokenization: callers that look
    /// for names (the Reward Evaluator) need not tokenize again.
    #[serde(skip)]
    pub words: Vec<String>,
    /// The parsed query, when the SQL is one: whoever shows it (formatted,
    /// explained) need not parse it again.
    #[serde(skip)]
    pub query: Option<std::sync::Arc<sqlparser::ast::Query>>,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.layers.iter().flat_map(|l| l.findings.iter())
    }

    pub fn layer(&self, name: LayerName) -> Option<&LayerReport> {
        self.layers.iter().find(|l| l.name == name)
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.findings().any(|f| f.code == code)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings().filter(|f| f.severity == Severity::Error)
    }
}

/// The nearest candidate by edit distance, when it is close enough to be
/// what was meant.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(&lower, &c.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(2))
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names() {
        assert_eq!(
            nearest("Budget_Amt", ["Budget_Amount", "Actual_Cost"]),
            Some("Budget_Amount")
        );
        assert_eq!(
            nearest("projstaf", ["PROJSTAFF", "PROJCNTRTS"]),
            Some("PROJSTAFF")
        );
        assert_eq!(nearest("zzz", ["PROJSTAFF"]), None);
    }
}
