//! The plan a candidate's reasoning states before its SQL: which schema
//! tables it needs and the aliases it gives them ("The question needs
//! SRM_COMPANIES and SRM_CONTACTS. Join SRM_CONTACTS as k …"). The
//! constraint holds the SQL to that plan, so a select list, written before
//! its FROM, cannot name a column of a table the plan left out (the small
//! model's most common rejection: `SELECT k.Company_Name …` with `k` the
//! contacts table).

use std::collections::BTreeSet;

/// Tables (upper case) and `(alias, table)` pairs named by a reasoning,
/// and whether it plans a subquery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub tables: Vec<String>,
    pub aliases: Vec<(String, String)>,
    /// The reasoning says a subquery computes something ("A subquery
    /// computes the comparison set."): only then may a select list name a
    /// column that a derived table in its FROM declares later.
    pub subquery: bool,
}

impl Plan {
    /// Reads every schema table named in `reasoning` and every
    /// `TABLE as alias`. Words are compared in upper case; an alias must
    /// not be a keyword, a table or a column. No table named: an empty
    /// plan, which constrains nothing.
    pub fn from_reasoning(
        reasoning: &str,
        tables: &BTreeSet<String>,
        taken: &dyn Fn(&str) -> bool,
    ) -> Plan {
        let words: Vec<String> = reasoning
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_uppercase)
            .collect();
        let mut plan = Plan {
            subquery: words.iter().any(|w| w.starts_with("SUBQUER")),
            ..Plan::default()
        };
        for (i, w) in words.iter().enumerate() {
            if !tables.contains(w) {
                continue;
            }
            if !plan.tables.contains(w) {
                plan.tables.push(w.clone());
            }
            if let (Some(as_), Some(alias)) = (words.get(i + 1), words.get(i + 2)) {
                let fresh = !taken(alias) && !alias.starts_with(|c: char| c.is_ascii_digit());
                if as_ == "AS" && fresh && !plan.aliases.iter().any(|(a, _)| a == alias) {
                    plan.aliases.push((alias.clone(), w.clone()));
                }
            }
        }
        if plan.tables.is_empty() {
            return Plan::default();
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_aliases_of_a_reasoning() {
        let tables: BTreeSet<String> = ["SRM_COMPANIES", "SRM_CONTACTS", "PROJCNTRTS"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let taken = |w: &str| matches!(w, "ON" | "AS" | "COMPANY_CODE");
        let p = Plan::from_reasoning(
            "The question needs SRM_COMPANIES and SRM_CONTACTS. Join SRM_CONTACTS as k on \
             k.Company_Code = c.Company_Code. Filter with c.Payment_Terms = 'NET45'.",
            &tables,
            &taken,
        );
        assert_eq!(p.tables, ["SRM_COMPANIES", "SRM_CONTACTS"]);
        assert_eq!(p.aliases, [("K".to_string(), "SRM_CONTACTS".to_string())]);
        // Keywords and names of the schema are not aliases; no table, no plan.
        let p = Plan::from_reasoning(
            "Join PROJCNTRTS as on; then SRM_CONTACTS AS 2x",
            &tables,
            &taken,
        );
        assert!(p.aliases.is_empty());
        assert_eq!(
            Plan::from_reasoning("Count the rows.", &tables, &taken),
            Plan::default()
        );
    }
}
