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
    /// Names (upper case) the reasoning writes as qualifiers
    /// (`r.Hourly_Rate`), in order of first use.
    pub qualifiers: Vec<String>,
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
        plan.qualifiers = qualifiers(reasoning);
        plan
    }

    /// The names a SELECT's list may qualify columns with before its FROM
    /// declares them, where the plan decides them: a plan of one table
    /// and no subquery is one SELECT over that table, whose select list
    /// needs a qualifier only where the reasoning wrote one (or gave the
    /// table an alias). Elsewhere (no plan, a join, a subquery: `AVG(x.…)
    /// FROM T x` in a subquery the reasoning does not spell out) `None`.
    /// In the ERP data no single-table, subquery-free query qualifies a
    /// column its reasoning does not; the model wrote `MAX(Pay.…) FROM
    /// PAC_MNT_RESOURCES` and `BAN.Hire_Date` and could never declare
    /// them (dev-0011, dev-0073).
    pub fn early_qualifiers(&self) -> Option<Vec<String>> {
        (self.tables.len() == 1 && !self.subquery).then(|| {
            let mut names: Vec<String> = self.aliases.iter().map(|(a, _)| a.clone()).collect();
            names.extend(self.qualifiers.iter().cloned());
            names
        })
    }
}

/// Every `name.` in `text` that qualifies a word (a letter follows the
/// dot, so a sentence's last word is none), upper case, once each.
fn qualifiers(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(dot) = rest.find('.') {
        let before = &rest[..dot];
        // Past the last character that is no part of a name, which may
        // be wider than a byte (the model wrote `'A’.`).
        let start = before
            .char_indices()
            .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let name = &before[start..];
        let qualifies = rest[dot + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if qualifies && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let name = name.to_uppercase();
            if !found.contains(&name) {
                found.push(name);
            }
        }
        rest = &rest[dot + 1..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRPO-trained adapter wrote a curly quote before a dot; slicing
    /// after it by one byte panicked inside the generation.
    #[test]
    fn qualifiers_after_characters_wider_than_a_byte() {
        assert_eq!(
            qualifiers(" Filter with Company_Code = 'A’.x and ’r.Rate, é.b, ’.c"),
            ["R"]
        );
    }

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

    #[test]
    fn a_one_table_plan_decides_its_qualifiers() {
        let tables: BTreeSet<String> = ["PAC_MNT_RESOURCES", "PROJCNTRTS"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let taken = |w: &str| matches!(w, "AS" | "HOURLY_RATE");
        let plan = |r: &str| Plan::from_reasoning(r, &tables, &taken);
        // A sentence's end and a number's point qualify nothing.
        let p = plan("The question needs PAC_MNT_RESOURCES. Group by Department. Over 1.5.");
        assert!(p.qualifiers.is_empty());
        assert_eq!(p.early_qualifiers(), Some(vec![]));
        let p = plan("The question needs PAC_MNT_RESOURCES. Filter with r.Hourly_Rate > 10.");
        assert_eq!(p.early_qualifiers(), Some(vec!["R".to_string()]));
        // A subquery's or a join's names are not all spelt out.
        let p = plan("The question needs PAC_MNT_RESOURCES. A subquery computes the set.");
        assert_eq!(p.early_qualifiers(), None);
        let p = plan("The question needs PAC_MNT_RESOURCES and PROJCNTRTS.");
        assert_eq!(p.early_qualifiers(), None);
        assert_eq!(plan("Count the rows.").early_qualifiers(), None);
    }
}
