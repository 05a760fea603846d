//! Business rules as data: which columns hold money and in which currency
//! column, what counts as a large table, and per-code severity overrides.
//! Loaded from TOML so a user extends them without recompiling.

use crate::finding::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyRule {
    pub table: String,
    pub amounts: Vec<String>,
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityOverride {
    Error,
    Warning,
    Info,
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Tables with more rows than this are "large" (full scans, unbounded results).
    pub large_table_rows: u64,
    pub money: Vec<MoneyRule>,
    /// Finding code → new severity, or "off".
    pub severity: BTreeMap<String, SeverityOverride>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            large_table_rows: 1000,
            money: Vec::new(),
            severity: BTreeMap::new(),
        }
    }
}

impl Rules {
    pub fn from_toml(text: &str) -> Result<Rules, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn extend(&mut self, other: Rules) {
        self.large_table_rows = other.large_table_rows;
        self.money.extend(other.money);
        self.severity.extend(other.severity);
    }

    /// The severity a finding ends with, or None when switched off.
    pub fn apply(&self, code: &str, severity: Severity) -> Option<Severity> {
        match self.severity.get(code) {
            None => Some(severity),
            Some(SeverityOverride::Off) => None,
            Some(SeverityOverride::Error) => Some(Severity::Error),
            Some(SeverityOverride::Warning) => Some(Severity::Warning),
            Some(SeverityOverride::Info) => Some(Severity::Info),
        }
    }
}
