//! A plain-language explanation of a query, read from its AST: what it
//! computes (lists, counts, sums …), from which tables, with which
//! filters, per which groups, in which order and how many rows.

use glrl_catalog::Dialect;
use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, LimitClause, OrderByKind,
    OrderBySort, Query, Select, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins,
};
use sqlparser::parser::Parser;

/// "Sums Contract_Value from PROJCNTRTS where Status = 'Active' per
/// Currency, largest first." `None` when the SQL does not parse.
pub fn explain(sql: &str, dialect: Dialect) -> Option<String> {
    present(sql, dialect).1
}

/// Formats SQL one clause per line (the AST's own rendering, then line
/// breaks before the main clauses); unparsable SQL is returned as is.
pub fn format_sql(sql: &str, dialect: Dialect) -> String {
    present(sql, dialect).0
}

/// [`format_sql`] and [`explain`] from one parse: an answer shows both,
/// and parsing twice was a tenth of the orchestration's own time.
pub fn present(sql: &str, dialect: Dialect) -> (String, Option<String>) {
    let Ok(stmts) = Parser::parse_sql(dialect.parser_dialect().as_ref(), sql) else {
        return (sql.to_string(), None);
    };
    match stmts.as_slice() {
        [Statement::Query(q)] => present_query(q),
        [stmt] => (format!("{stmt:#}"), None),
        _ => (sql.to_string(), None),
    }
}

/// [`present`] of a query already parsed (the validator's).
pub fn present_query(q: &Query) -> (String, Option<String>) {
    (format!("{q:#}"), Some(query(q)))
}

fn query(q: &Query) -> String {
    let mut out = String::new();
    if let Some(with) = &q.with {
        let names: Vec<String> = with
            .cte_tables
            .iter()
            .map(|c| c.alias.name.value.clone())
            .collect();
        out.push_str(&format!("Using the helper result {}, ", names.join(", ")));
    }
    let body = set_expr(&q.body);
    if out.is_empty() {
        out.push_str(&body);
    } else {
        out.push_str(&lower_first(&body));
    }
    if let Some(ob) = &q.order_by {
        if let OrderByKind::Expressions(items) = &ob.kind {
            let parts: Vec<String> = items
                .iter()
                .map(|o| {
                    let dir = if matches!(o.options.sort, Some(OrderBySort::Desc)) {
                        " (descending)"
                    } else {
                        ""
                    };
                    format!("{}{dir}", short(&o.expr))
                })
                .collect();
            if !parts.is_empty() {
                out.push_str(&format!(", ordered by {}", parts.join(", ")));
            }
        }
    }
    if let Some(LimitClause::LimitOffset { limit: Some(l), .. }) = &q.limit_clause {
        out.push_str(&format!(", keeping the first {l} rows"));
    }
    out.push('.');
    out
}

fn set_expr(s: &SetExpr) -> String {
    match s {
        SetExpr::Select(sel) => select(sel),
        SetExpr::Query(q) => query(q).trim_end_matches('.').to_string(),
        SetExpr::SetOperation {
            op, left, right, ..
        } => format!(
            "{} — {} — {}",
            set_expr(left),
            op.to_string().to_lowercase(),
            lower_first(&set_expr(right))
        ),
        other => format!("Computes {other}"),
    }
}

fn select(s: &Select) -> String {
    let mut aggregates = Vec::new();
    let mut plain = Vec::new();
    for item in &s.projection {
        match item {
            SelectItem::UnnamedExpr(e)
            | SelectItem::ExprWithAlias { expr: e, .. }
            | SelectItem::ExprWithAliases { expr: e, .. } => match aggregate(e) {
                Some(a) => aggregates.push(a),
                None => plain.push(short(e)),
            },
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                plain.push("every column".into())
            }
        }
    }
    let mut out = String::new();
    if !aggregates.is_empty() {
        out.push_str(&capitalise(&aggregates.join(" and ")));
        if !plain.is_empty() && !has_group_by(s) {
            out.push_str(&format!(" with {}", plain.join(", ")));
        }
    } else {
        let distinct = if s.distinct.is_some() {
            "distinct "
        } else {
            ""
        };
        out.push_str(&format!("Lists {distinct}{}", plain.join(", ")));
    }
    let tables = from(&s.from);
    if !tables.is_empty() {
        out.push_str(&format!(" from {tables}"));
    }
    if let Some(w) = &s.selection {
        out.push_str(&format!(" where {}", short(w)));
    }
    if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
        if !exprs.is_empty() {
            let g: Vec<String> = exprs.iter().map(short).collect();
            out.push_str(&format!(" per {}", g.join(" and ")));
        }
    }
    if let Some(h) = &s.having {
        out.push_str(&format!(", keeping groups where {}", short(h)));
    }
    out
}

fn has_group_by(s: &Select) -> bool {
    matches!(&s.group_by, GroupByExpr::Expressions(e, _) if !e.is_empty())
}

fn from(items: &[TableWithJoins]) -> String {
    let mut names = Vec::new();
    for twj in items {
        names.push(factor(&twj.relation));
        for j in &twj.joins {
            names.push(factor(&j.relation));
        }
    }
    match names.len() {
        0 => String::new(),
        1 => names.remove(0),
        _ => {
            let first = names.remove(0);
            let last = names.pop().unwrap_or_default();
            if names.is_empty() {
                format!("{first} joined with {last}")
            } else {
                format!("{first} joined with {} and {last}", names.join(", "))
            }
        }
    }
}

fn factor(f: &TableFactor) -> String {
    match f {
        TableFactor::Table { name, .. } => name.to_string(),
        TableFactor::Derived { subquery, .. } => {
            format!(
                "a sub-query ({})",
                lower_first(query(subquery).trim_end_matches('.'))
            )
        }
        other => other.to_string(),
    }
}

/// "counts the rows", "sums Contract_Value", … for aggregate calls.
fn aggregate(e: &Expr) -> Option<String> {
    let Expr::Function(f) = e else {
        return None;
    };
    let name = f.name.to_string().to_uppercase();
    let args: Vec<String> = match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => "*".to_string(),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => short(x),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let arg = args.join(", ");
    let distinct = matches!(&f.args, FunctionArguments::List(l) if l.duplicate_treatment.is_some());
    let window = f.over.is_some();
    let verb = match name.as_str() {
        "COUNT" if arg == "*" || arg.is_empty() => "counts the rows".to_string(),
        "COUNT" if distinct => format!("counts the distinct {arg}"),
        "COUNT" => format!("counts {arg}"),
        "SUM" | "TOTAL" => format!("sums {arg}"),
        "AVG" => format!("averages {arg}"),
        "MIN" => format!("finds the smallest {arg}"),
        "MAX" => format!("finds the largest {arg}"),
        "ROW_NUMBER" | "RANK" | "DENSE_RANK" => "ranks the rows".to_string(),
        _ => return None,
    };
    Some(if window {
        format!("{verb} within each window")
    } else {
        verb
    })
}

/// An expression in SQL, shortened when long.
fn short(e: &Expr) -> String {
    let s = e.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_from_the_ast() {
        let e = explain(
            "SELECT Currency, SUM(Contract_Value) AS total FROM PROJCNTRTS WHERE Status = 'Active' GROUP BY Currency ORDER BY total DESC LIMIT 3",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            e,
            "Sums Contract_Value from PROJCNTRTS where Status = 'Active' per Currency, ordered by total (descending), keeping the first 3 rows."
        );
        let e = explain(
            "SELECT COUNT(*) FROM SRM_COMPANIES c JOIN SRM_CONTACTS k ON k.Company_Code = c.Company_Code",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            e,
            "Counts the rows from SRM_COMPANIES joined with SRM_CONTACTS."
        );
        let e = explain(
            "SELECT DISTINCT Country FROM SRM_COMPANIES",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(e, "Lists distinct Country from SRM_COMPANIES.");
        let e = explain(
            "SELECT c.Company_Name FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = t.Project_Code",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            e,
            "Lists c.Company_Name from SRM_COMPANIES joined with PROJCNTRTS and PAC_MNT_PROJECTS."
        );
        assert!(explain("SELEC nonsense", Dialect::Sqlite).is_none());
        assert!(format_sql("SELECT a FROM t WHERE b = 1", Dialect::Sqlite).contains('\n'));
    }

    #[test]
    fn a_parsed_query_is_presented_as_its_text_is() {
        for sql in [
            "SELECT a FROM t WHERE b = 1",
            "SELECT Currency, SUM(Contract_Value) AS total FROM PROJCNTRTS WHERE Status = 'Active' GROUP BY Currency ORDER BY total DESC LIMIT 3",
            "WITH x AS (SELECT 1 AS n) SELECT n FROM x UNION SELECT 2",
        ] {
            let stmts = Parser::parse_sql(Dialect::Sqlite.parser_dialect().as_ref(), sql).unwrap();
            let [stmt @ Statement::Query(q)] = stmts.as_slice() else {
                panic!("{sql} is one query");
            };
            // The statement's own pretty rendering is what answers showed.
            assert_eq!(present_query(q).0, format!("{stmt:#}"), "{sql}");
            assert!(present_query(q).0.contains('\n'), "{sql}");
        }
    }
}
