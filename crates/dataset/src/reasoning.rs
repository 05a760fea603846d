//! The hand-written split's reasoning, constructs and difficulty, derived
//! from a query exactly as `authoring/build.py` derives them, so that a
//! generated pair of any construct (HAVING, subqueries, windows, set
//! operations, CTEs) teaches the same `<think>` format the split does. A
//! test holds the port to every pair of the split, Vocabulary line
//! included. Every composed family (shapes, joins, advanced) takes its
//! reasoning, constructs and difficulty from here.

use regex::Regex;
use std::sync::LazyLock;

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first `kw` at or after byte `from` with a word boundary on both
/// sides (`\bkw\b`; every keyword here starts and ends with a letter).
fn find_word(s: &str, kw: &str, from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(j) = s.get(i..)?.find(kw) {
        let at = i + j;
        let before = s[..at].chars().next_back();
        let after = s[at + kw.len()..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return Some(at);
        }
        i = at + kw.len();
    }
    None
}

/// build.py's `clause`: the text after the first `kw` up to the first of
/// `ends`, trimmed; `None` when absent or empty.
fn clause(sql: &str, kw: &str, ends: &[&str]) -> Option<String> {
    let start = find_word(sql, kw, 0)? + kw.len();
    let end = ends
        .iter()
        .filter_map(|e| find_word(sql, e, start))
        .min()
        .unwrap_or(sql.len());
    let c = sql[start..end].trim();
    (!c.is_empty()).then(|| c.to_string())
}

/// (start, end) character offsets of every `(SELECT …)`, nested ones
/// included, in order of their start.
fn subqueries(sql: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) =
        (i..sql.len()).find(|&k| sql[k..].starts_with(&['(', 'S', 'E', 'L', 'E', 'C', 'T']))
    {
        let mut depth = 0i32;
        let mut j = at;
        while j < sql.len() {
            match sql[j] {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        out.push((at, j));
        i = at + 1;
    }
    out
}

/// The query with each subquery replaced by `(subquery)`, innermost last
/// first. build.py replaces with the offsets of the original string, so
/// a nested subquery shifts its parent's end; the port does the same.
fn outer_of(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut outer = chars.clone();
    for &(a, b) in subqueries(&chars).iter().rev() {
        let a = a.min(outer.len());
        let tail = outer.get(b + 1..).map(<[char]>::to_vec).unwrap_or_default();
        outer.truncate(a);
        outer.extend("(subquery)".chars());
        outer.extend(tail);
    }
    outer.into_iter().collect()
}

/// The split's tables of a query, in its naming order.
pub(crate) fn tables_of(sql: &str) -> Vec<&'static str> {
    NAMING_ORDER
        .iter()
        .copied()
        .filter(|t| find_word(sql, t, 0).is_some())
        .collect()
}

/// `JOIN t a ON x = y` of the query, subqueries included.
fn joins(sql: &str) -> Vec<(String, String, String)> {
    let w: Vec<&str> = sql.split(' ').collect();
    let words =
        |s: &str, dot: bool| !s.is_empty() && s.chars().all(|c| is_word(c) || (dot && c == '.'));
    let mut out = Vec::new();
    let mut i = 0;
    while i + 6 < w.len() {
        let y: String = w[i + 6]
            .chars()
            .take_while(|&c| is_word(c) || c == '.')
            .collect();
        if w[i].ends_with("JOIN")
            && words(w[i + 1], false)
            && words(w[i + 2], false)
            && w[i + 3] == "ON"
            && words(w[i + 4], true)
            && w[i + 5] == "="
            && !y.is_empty()
        {
            out.push((
                w[i + 1].to_string(),
                w[i + 2].to_string(),
                format!("{} = {y}", w[i + 4]),
            ));
            i += 7;
        } else {
            i += 1;
        }
    }
    out
}

/// The order in which the split's reasoning names tables
/// (authoring/build.py's TABLES, not glrl_erp::TABLES).
const NAMING_ORDER: [&str; 6] = [
    "PAC_MNT_PROJECTS",
    "PAC_MNT_RESOURCES",
    "SRM_COMPANIES",
    "SRM_CONTACTS",
    "PROJSTAFF",
    "PROJCNTRTS",
];

/// build.py's TERMS: a business phrase of the question, matched case
/// insensitively, and the hint the reasoning's Vocabulary line gives.
#[rustfmt::skip]
const TERMS: &[(&str, &str)] = &[
    (r"over[- ]budget|overr[au]n|exceed(ed|s)? (the |their )?budget|above budget", "'over budget' means Actual_Cost > Budget_Amount"),
    (r"remaining budget|budget (is )?left|unspent", "remaining budget is Budget_Amount - Actual_Cost"),
    (r"utili[sz]ation|burn rate|of their budget", "budget utilisation is Actual_Cost / Budget_Amount, with NULLIF to guard against a zero budget"),
    (r"outstanding|uninvoiced|left to invoice|still to be invoiced", "outstanding means Contract_Value - Invoiced_Amount"),
    (r"labour cost|staff(ing)? cost|personnel cost|labor", "labour cost is PROJSTAFF.Hours_Worked * PAC_MNT_RESOURCES.Hourly_Rate"),
    (r"margin|profit", "margin is Hours_Worked * (Bill_Rate - Hourly_Rate)"),
    (r"billable|billings|revenue|billed", "the billable amount is Hours_Worked * Bill_Rate"),
    (r"headcount|team size|how many (distinct )?people|distinct people", "headcount is COUNT(DISTINCT Resource_Code)"),
    (r"top-rated|highly rated|best[- ]rated|well-rated|high rated", "top-rated means Rating >= 4"),
    (r"live contract|active contract", "a live contract has Status = 'Active'"),
    (r"primary contact|main contact|key contact", "the primary contact has Is_Primary = 'Y'"),
    (r"vendor|supplier", "suppliers (vendors) are SRM_COMPANIES with Company_Type = 'Supplier'"),
    (r"client|customer", "clients are SRM_COMPANIES with Company_Type = 'Client'"),
    (r"\bmanag", "a project's manager is PAC_MNT_PROJECTS.Manager_Code = PAC_MNT_RESOURCES.Resource_Code"),
    (r"open project|not finished|ongoing", "open projects have Status IN ('Planned', 'Active', 'On Hold')"),
    (r"over-invoiced|over-billed|invoiced more", "over-invoiced means Invoiced_Amount > Contract_Value"),
];

static TERM_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    TERMS
        .iter()
        .filter_map(|(rx, hint)| Regex::new(&format!("(?i){rx}")).ok().map(|r| (r, *hint)))
        .collect()
});

/// The Vocabulary line for `question`, if any of its phrases is a term.
fn vocabulary(question: &str) -> Option<String> {
    let hints: Vec<&str> = TERM_PATTERNS
        .iter()
        .filter(|(rx, _)| rx.is_match(question))
        .map(|(_, hint)| *hint)
        .collect();
    (!hints.is_empty()).then(|| format!("Vocabulary: {}.", hints.join("; ")))
}

/// The split's reasoning, constructs and difficulty of a pair.
pub(crate) fn derive(question: &str, sql: &str) -> (String, Vec<&'static str>, &'static str) {
    let mut r = reasoning(sql);
    if let Some(v) = vocabulary(question) {
        r.push(' ');
        r.push_str(&v);
    }
    let c = constructs(sql);
    let d = difficulty(sql, &c);
    (r, c, d)
}

/// The split's reasoning for `sql`, without the Vocabulary line.
fn reasoning(sql: &str) -> String {
    let ts = tables_of(sql);
    let named = match ts.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    let mut parts = vec![format!("The question needs {named}.")];
    for (t, a, on) in joins(sql) {
        parts.push(format!("Join {t} as {a} on {on}."));
    }
    let outer = outer_of(sql);
    let ends = [
        "GROUP BY",
        "HAVING",
        "ORDER BY",
        "LIMIT",
        "UNION",
        "INTERSECT",
        "EXCEPT",
    ];
    if let Some(w) = clause(&outer, "WHERE", &ends) {
        parts.push(format!("Filter with {w}."));
    }
    if let Some(g) = clause(&outer, "GROUP BY", &["HAVING", "ORDER BY", "LIMIT"]) {
        parts.push(format!("Group by {g}."));
    }
    if let Some(h) = clause(&outer, "HAVING", &["ORDER BY", "LIMIT"]) {
        parts.push(format!("Keep groups where {h}."));
    }
    if outer.contains("(subquery)") {
        parts.push("A subquery computes the comparison set.".into());
    }
    if outer.to_uppercase().starts_with("WITH ") {
        parts.push("A CTE computes the intermediate totals first.".into());
    }
    if sql.contains(" OVER (") {
        parts.push("A window function ranks or accumulates rows without collapsing them.".into());
    }
    if ["UNION", "INTERSECT", "EXCEPT"]
        .iter()
        .any(|k| find_word(sql, k, 0).is_some())
    {
        parts.push("A set operation combines the two lists.".into());
    }
    if let Some(o) = clause(&outer, "ORDER BY", &["LIMIT"]) {
        // build.py's LIMIT capture is empty, so the split says "limit .".
        let limit = if outer.contains(" LIMIT ") {
            ", limit "
        } else {
            ""
        };
        parts.push(format!("Order by {o}{limit}."));
    }
    parts.join(" ")
}

/// Lower-case names written before a dot (`t.` in `t.Status`).
fn qualifiers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_lowercase() && (i == 0 || !is_word(chars[i - 1]));
        if starts {
            let j = (i..chars.len())
                .find(|&k| !is_word(chars[k]))
                .unwrap_or(chars.len());
            if chars.get(j) == Some(&'.') {
                out.push(chars[i..j].iter().collect());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Aliases given to the schema's tables (`FROM PROJCNTRTS t`, `AS t`).
fn aliases(text: &str) -> Vec<String> {
    let w: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, word) in w.iter().enumerate() {
        if !NAMING_ORDER.contains(&word.trim_start_matches('(')) {
            continue;
        }
        let mut next = w.get(i + 1).copied();
        if next == Some("AS") {
            next = w.get(i + 2).copied();
        }
        if let Some(n) = next {
            let a: String = n.chars().take_while(|&c| is_word(c)).collect();
            if a.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                out.push(a);
            }
        }
    }
    out
}

/// build.py's `constructs`, sorted.
fn constructs(sql: &str) -> Vec<&'static str> {
    let u = sql.to_uppercase();
    let n = tables_of(sql).len();
    let mut c: Vec<&'static str> = Vec::new();
    let w: Vec<&str> = sql.split(' ').collect();
    let comma_join = w.windows(4).any(|x| {
        x[0] == "FROM"
            && x[2].ends_with(',')
            && x[1].chars().all(is_word)
            && x[3].chars().next().is_some_and(is_word)
    });
    if u.contains(" JOIN ") || comma_join {
        c.push("join");
    }
    if n >= 3 && u.contains(" JOIN ") {
        c.push("multi_join");
    }
    let call = |f: &str| {
        u.match_indices(f)
            .any(|(i, _)| !u[..i].chars().next_back().is_some_and(is_word))
    };
    if ["COUNT(", "SUM(", "AVG(", "MIN(", "MAX("]
        .iter()
        .any(|f| call(f))
    {
        c.push("aggregation");
    }
    for (needle, name) in [
        (" GROUP BY ", "group_by"),
        (" HAVING ", "having"),
        (" OVER (", "window"),
        (" CASE ", "case"),
    ] {
        if u.contains(needle) {
            c.push(name);
        }
    }
    if u.starts_with("WITH ") {
        c.push("cte");
    }
    if ["UNION", "INTERSECT", "EXCEPT"]
        .iter()
        .any(|k| find_word(&u, k, 0).is_some())
    {
        c.push("set_operation");
    }
    let left_null = u
        .find("LEFT JOIN ")
        .is_some_and(|i| u[i..].contains(" IS NULL"));
    if u.contains("NOT EXISTS") || u.contains("NOT IN (SELECT") || left_null {
        c.push("anti_join");
    }
    let chars: Vec<char> = sql.chars().collect();
    for (a, b) in subqueries(&chars) {
        let inner: String = chars[a..=b.min(chars.len() - 1)].iter().collect();
        let outer: String = chars[..a]
            .iter()
            .chain(chars.get(b + 1..).unwrap_or(&[]))
            .collect();
        let (ia, oa) = (aliases(&inner), aliases(&outer));
        let correlated = qualifiers(&inner)
            .iter()
            .any(|r| !ia.contains(r) && oa.contains(r));
        c.push(if correlated {
            "correlated_subquery"
        } else {
            "subquery"
        });
    }
    if u.contains("FROM (SELECT") {
        c.push("derived_table");
    }
    c.sort_unstable();
    c.dedup();
    c
}

/// build.py's `difficulty`.
fn difficulty(sql: &str, constructs: &[&str]) -> &'static str {
    let n = tables_of(sql).len();
    let has = |k: &[&str]| k.iter().any(|x| constructs.contains(x));
    if has(&[
        "cte",
        "window",
        "set_operation",
        "correlated_subquery",
        "derived_table",
    ]) || n >= 4
        || (has(&["subquery"]) && has(&["join"]))
    {
        "complex"
    } else if n >= 2 || has(&["group_by", "having", "subquery", "case", "anti_join"]) {
        "medium"
    } else {
        "simple"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pair;

    /// Every pair of the hand-written split, train and dev.
    fn split() -> Vec<Pair> {
        [glrl_erp::TRAIN_JSONL, glrl_erp::DEV_JSONL]
            .iter()
            .flat_map(|s| s.lines())
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("split line parses"))
            .collect()
    }

    #[test]
    fn the_port_derives_every_split_pairs_reasoning_constructs_and_difficulty() {
        let pairs = split();
        assert!(pairs.len() > 500, "{}", pairs.len());
        assert_eq!(TERM_PATTERNS.len(), TERMS.len(), "every term compiles");
        let mut vocabulary = 0;
        for p in &pairs {
            let (r, c, d) = derive(&p.question, &p.sql);
            assert_eq!(r, p.reasoning, "{}", p.question);
            assert_eq!(c, p.constructs, "{}", p.sql);
            assert_eq!(d, p.difficulty, "{}", p.sql);
            vocabulary += usize::from(r.contains(" Vocabulary: "));
        }
        // Enough of the split speaks business terms for the line to be
        // held to its order and its separators, not just its presence.
        assert!(vocabulary > 100, "{vocabulary}");
    }

    #[test]
    fn every_vocabulary_hint_says_what_the_glossary_means() {
        // TERMS is build.py's wording, held to the split byte for byte;
        // the glossary is what the Schema Analyzer serves. One phrase must
        // keep one meaning: each hint carries its glossary term's SQL
        // (table qualifiers aside; NULLIF named in words).
        let g = glrl_schema_analyzer::Glossary::from_toml(glrl_erp::GLOSSARY_TOML, "erp")
            .expect("the glossary parses");
        let qualifier = Regex::new(r"\b[A-Z_]+\.").expect("regex");
        let nullif = Regex::new(r"NULLIF\((\w+), 0\)").expect("regex");
        let bare = |s: &str| {
            nullif
                .replace_all(&qualifier.replace_all(s, ""), "$1")
                .into_owned()
        };
        for (rx, hint) in TERM_PATTERNS.iter() {
            let terms: Vec<_> = g.terms.iter().filter(|t| rx.is_match(&t.name)).collect();
            assert!(!terms.is_empty(), "no glossary term for \"{hint}\"");
            for t in terms {
                let sql = bare(&t.sql);
                assert!(bare(hint).contains(&sql), "\"{hint}\" vs {}: {sql}", t.name);
                assert_eq!(hint.contains("NULLIF"), t.sql.contains("NULLIF"), "{hint}");
            }
        }
    }

    #[test]
    fn clauses_stop_at_the_next_keyword_and_subqueries_are_hidden() {
        let sql = "SELECT a FROM PROJSTAFF WHERE x > (SELECT AVG(x) FROM PROJSTAFF WHERE y = 1) ORDER BY a DESC LIMIT 3";
        assert_eq!(
            reasoning(sql),
            "The question needs PROJSTAFF. Filter with x > (subquery). A subquery computes the comparison set. Order by a DESC, limit ."
        );
        assert_eq!(clause("SELECT a FROM T WHEREAS", "WHERE", &[]), None);
    }
}
