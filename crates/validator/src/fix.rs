//! Fixes the validator can apply itself, without the model: rewrites of
//! the query's AST that carry out a finding's suggestion. The result is a
//! new query to validate like any other, never a verdict.

use crate::scope::{fn_name, AGGREGATES};
use glrl_catalog::Dialect;
use sqlparser::ast::{
    visit_expressions, Expr, GroupByExpr, Select, SelectItem, Statement, VisitMut, VisitorMut,
};
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// A SELECT over one table grouped by its key: valid SQL whose totals
/// are each row's own value. A warning, since it answers something; the
/// orchestrator's selection lets it win only where nothing else does.
pub const GROUP_BY_KEY: &str = "BUSINESS_GROUP_BY_KEY";

/// The finding [`add_missing_group_by`] carries out.
pub const GROUP_BY_MISSING: &str = "BUSINESS_GROUP_BY_MISSING";

/// `BUSINESS_GROUP_BY_MISSING` carried out: every SELECT that aggregates
/// (in its select list or HAVING) groups by each select-list item that
/// reads columns outside any aggregate or window, when its GROUP BY does
/// not name it already. `SELECT Country, COUNT(*) FROM t` becomes `…
/// GROUP BY Country`, what the small model means by it far more often
/// than one arbitrary country. `None` when nothing changes, the SQL does
/// not parse as one query, or a SELECT it would change reads `*`.
pub fn add_missing_group_by(sql: &str, dialect: Dialect) -> Option<String> {
    let mut statements = Parser::parse_sql(dialect.parser_dialect().as_ref(), sql).ok()?;
    let [statement @ Statement::Query(_)] = statements.as_mut_slice() else {
        return None;
    };
    let mut fix = GroupByFix::default();
    let _ = statement.visit(&mut fix);
    (fix.changed && !fix.gave_up).then(|| statement.to_string())
}

#[derive(Default)]
struct GroupByFix {
    changed: bool,
    gave_up: bool,
}

impl VisitorMut for GroupByFix {
    type Break = ();

    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        let aggregated = select.having.is_some()
            || select.projection.iter().any(|item| match item {
                SelectItem::UnnamedExpr(e)
                | SelectItem::ExprWithAlias { expr: e, .. }
                | SelectItem::ExprWithAliases { expr: e, .. } => has_aggregate(e),
                _ => false,
            });
        if !aggregated {
            return ControlFlow::Continue(());
        }
        let GroupByExpr::Expressions(grouped, _) = &mut select.group_by else {
            return ControlFlow::Continue(());
        };
        let mut missing = Vec::new();
        for item in &select.projection {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(&alias.value)),
                SelectItem::ExprWithAliases { .. } => continue,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    self.gave_up = true;
                    return ControlFlow::Continue(());
                }
            };
            if !reads_columns(expr) || has_aggregate(expr) || has_window(expr) {
                continue;
            }
            let text = expr.to_string();
            let named = |g: &Expr| {
                let g = g.to_string();
                g.eq_ignore_ascii_case(&text) || alias.is_some_and(|a| g.eq_ignore_ascii_case(a))
            };
            if !grouped.iter().any(named) && !missing.iter().any(named) {
                missing.push(expr.clone());
            }
        }
        if !missing.is_empty() {
            grouped.extend(missing);
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

/// The expression calls an aggregate (the validator's own list) outside a
/// window (`SUM(x)`, and `RANK() OVER (ORDER BY SUM(x))`, whose SUM
/// aggregates the SELECT).
fn has_aggregate(e: &Expr) -> bool {
    visit_expressions(e, |x| match x {
        Expr::Function(f)
            if f.over.is_none() && AGGREGATES.contains(&fn_name(&f.name).as_str()) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The expression calls a window function.
fn has_window(e: &Expr) -> bool {
    visit_expressions(e, |x| match x {
        Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The expression reads a column (a constant needs no grouping).
fn reads_columns(e: &Expr) -> bool {
    visit_expressions(e, |x| match x {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(sql: &str) -> Option<String> {
        add_missing_group_by(sql, Dialect::Sqlite)
    }

    #[test]
    fn a_missing_group_by_is_added_for_the_plain_items() {
        assert_eq!(
            fixed("SELECT Country, COUNT(*) AS n FROM SRM_COMPANIES ORDER BY n DESC").as_deref(),
            Some(
                "SELECT Country, COUNT(*) AS n FROM SRM_COMPANIES GROUP BY Country ORDER BY n DESC"
            )
        );
        // An incomplete GROUP BY is completed; an aliased expression is
        // grouped by the expression; a constant needs nothing.
        assert_eq!(
            fixed("SELECT c.Country, strftime('%Y', Start_Date) AS y, 1, SUM(Rating) FROM SRM_COMPANIES c GROUP BY c.Country").as_deref(),
            Some("SELECT c.Country, strftime('%Y', Start_Date) AS y, 1, SUM(Rating) FROM SRM_COMPANIES c GROUP BY c.Country, strftime('%Y', Start_Date)")
        );
        // Inside a subquery, and with HAVING as the only aggregate.
        assert_eq!(
            fixed("SELECT * FROM (SELECT Country FROM SRM_COMPANIES HAVING COUNT(*) > 1) t").as_deref(),
            Some("SELECT * FROM (SELECT Country FROM SRM_COMPANIES GROUP BY Country HAVING COUNT(*) > 1) t")
        );
    }

    #[test]
    fn queries_without_the_mistake_are_left_alone() {
        for sql in [
            "SELECT Country, COUNT(*) FROM SRM_COMPANIES GROUP BY Country",
            "SELECT COUNT(*) FROM SRM_COMPANIES",
            "SELECT Country FROM SRM_COMPANIES",
            // a window is no aggregate of the SELECT
            "SELECT Country, SUM(Rating) OVER (PARTITION BY Country) FROM SRM_COMPANIES",
            // grouped by the item's alias
            "SELECT strftime('%Y', d) AS y, COUNT(*) FROM t GROUP BY y",
            // `*` beside an aggregate: no list of items to group by
            "SELECT *, COUNT(*) FROM SRM_COMPANIES",
            "not sql",
            "DELETE FROM SRM_COMPANIES",
        ] {
            assert_eq!(fixed(sql), None, "{sql}");
        }
    }
}
