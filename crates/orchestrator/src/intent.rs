//! Input processing: normalising the question and classifying what the
//! user wants. Rules, not a model: they are instant, explainable, and an
//! unsafe request must be refused before any model sees it.

use glrl_schema_analyzer::LinkResult;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// A question the data answers.
    Data,
    /// Refines the previous question of the session.
    FollowUp,
    /// About the schema itself (tables, columns).
    Schema,
    /// Not about this database.
    OutOfScope,
    /// Asks to change data or structure: refused, no SQL.
    Unsafe,
}

/// Trims, collapses white space, drops a trailing question mark's
/// surrounding spaces; the words stay as typed (values are case-sensitive).
pub fn normalise(question: &str) -> String {
    question.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn words(q: &str) -> Vec<String> {
    q.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Verbs that change data or structure wherever they appear.
const DESTRUCTIVE: &[&str] = &[
    "delete",
    "drop",
    "truncate",
    "insert",
    "alter",
    "grant",
    "revoke",
    "purge",
    "wipe",
    "erase",
    "destroy",
    "overwrite",
];

/// Verbs that change data when they open the request ("remove the
/// blocked suppliers", "please update …").
const IMPERATIVE: &[&str] = &[
    "remove",
    "update",
    "add",
    "create",
    "change",
    "modify",
    "set",
    "rename",
    "mark",
    "cancel",
    "block",
    "unblock",
    "approve",
    "assign",
    "unassign",
    "deactivate",
    "activate",
    "close",
    "reopen",
    "replace",
    "move",
    "merge",
    "edit",
    "save",
    "upload",
    "import",
];

/// Politeness and framing before the verb.
const LEAD_IN: &[&str] = &[
    "please", "can", "could", "would", "will", "you", "kindly", "i", "want", "to", "need", "go",
    "ahead", "and", "let's", "lets", "now",
];

/// Words that open a refinement of the previous question.
const FOLLOW_UP_OPENERS: &[&str] = &[
    "and", "only", "just", "also", "but", "now", "then", "same", "what", "how", "per", "by",
    "sort", "order", "exclude", "include", "without", "except", "filter", "limit", "top",
    "instead", "sorted", "grouped", "split", "break",
];

const FOLLOW_UP_REFERENCES: &[&str] = &[
    "those", "them", "these", "ones", "it", "that", "they", "their", "same", "previous", "above",
];

/// Topics that no ERP table covers.
const OFF_TOPIC: &[&str] = &[
    "weather",
    "joke",
    "poem",
    "recipe",
    "football",
    "soccer",
    "movie",
    "song",
    "lyrics",
    "horoscope",
    "president",
    "capital",
    "translate",
    "bitcoin",
    "news",
];

const SCHEMA_PHRASES: &[&str] = &[
    "what tables",
    "which tables",
    "list the tables",
    "list tables",
    "show the tables",
    "show tables",
    "what columns",
    "which columns",
    "what fields",
    "which fields",
    "describe the schema",
    "the schema",
    "what data do you have",
    "what can i ask",
    "what information is stored",
];

pub fn classify(question: &str, link: &LinkResult, has_history: bool) -> Intent {
    let w = words(question);
    if w.iter().any(|x| DESTRUCTIVE.contains(&x.as_str())) {
        return Intent::Unsafe;
    }
    if let Some(i) = w.iter().position(|x| !LEAD_IN.contains(&x.as_str())) {
        // "add up the values" reads data.
        let adds_up = w[i] == "add" && w.get(i + 1).is_some_and(|n| n == "up");
        if IMPERATIVE.contains(&w[i].as_str()) && !adds_up {
            return Intent::Unsafe;
        }
    }
    let lower = question.to_lowercase();
    if SCHEMA_PHRASES.iter().any(|p| lower.contains(p))
        || (lower.contains("columns") || lower.contains("fields"))
            && (lower.starts_with("what")
                || lower.starts_with("which")
                || lower.starts_with("describe"))
    {
        return Intent::Schema;
    }
    if has_history {
        let opens = w
            .first()
            .is_some_and(|f| FOLLOW_UP_OPENERS.contains(&f.as_str()));
        let refers = w.iter().any(|x| FOLLOW_UP_REFERENCES.contains(&x.as_str()));
        if opens || refers || w.len() <= 4 {
            return Intent::FollowUp;
        }
    }
    let strongest = link
        .table_scores
        .iter()
        .map(|t| t.score)
        .fold(0.0f64, f64::max);
    let evidence = strongest > 0.0 || !link.values.is_empty() || !link.glossary_hits.is_empty();
    if !evidence || w.iter().any(|x| OFF_TOPIC.contains(&x.as_str())) && strongest < 2.0 {
        return Intent::OutOfScope;
    }
    Intent::Data
}
