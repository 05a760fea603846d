//! The columns a CTE gives the query that reads it: the names of its
//! select list, read off its body by the dialect's parser once the body's
//! bracket closes (the body is whole then, so it parses).

use glrl_catalog::{last_ident, Dialect};
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, TableFactor};
use sqlparser::parser::Parser;
use std::collections::BTreeSet;

/// The names (upper case) a CTE whose body is `body` gives its readers;
/// `None` where they cannot be known here: the body does not parse, or a
/// `*` reads something whose columns `columns_of` does not know. `t.*`
/// is not resolved (the alias is the body's own), so it is unknown too.
/// An expression without an alias gives a column no bare word can name,
/// so it adds nothing.
pub(super) fn output_columns<'c>(
    dialect: Dialect,
    body: &str,
    columns_of: impl Fn(&str) -> Option<&'c BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    let statements = Parser::parse_sql(dialect.parser_dialect().as_ref(), body).ok()?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return None;
    };
    let mut set = query.body.as_ref();
    // A set operation's columns are named by its first SELECT.
    let select = loop {
        match set {
            SetExpr::Select(s) => break s,
            SetExpr::SetOperation { left, .. } => set = left,
            SetExpr::Query(q) => set = q.body.as_ref(),
            _ => return None,
        }
    };
    let mut out = BTreeSet::new();
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => {
                out.insert(i.value.to_uppercase());
            }
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                out.insert(parts.last()?.value.to_uppercase());
            }
            SelectItem::UnnamedExpr(_) => {}
            SelectItem::ExprWithAlias { alias, .. } => {
                out.insert(alias.value.to_uppercase());
            }
            SelectItem::ExprWithAliases { aliases, .. } => {
                out.extend(aliases.iter().map(|a| a.value.to_uppercase()));
            }
            SelectItem::Wildcard(_) => {
                for from in &select.from {
                    let joined = from.joins.iter().map(|j| &j.relation);
                    for relation in std::iter::once(&from.relation).chain(joined) {
                        let TableFactor::Table { name, .. } = relation else {
                            return None;
                        };
                        out.extend(
                            columns_of(&last_ident(name).to_uppercase())?
                                .iter()
                                .cloned(),
                        );
                    }
                }
            }
            SelectItem::QualifiedWildcard(..) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_ctes_columns_are_its_select_lists_names() {
        let tables: BTreeMap<String, BTreeSet<String>> = [(
            "PROJSTAFF".to_string(),
            ["RESOURCE_CODE", "HOURS_WORKED"].map(String::from).into(),
        )]
        .into();
        let of = |t: &str| tables.get(t);
        let cols = |body: &str| {
            output_columns(Dialect::Sqlite, body, of).map(|c| c.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(
            cols("SELECT s.Resource_Code, SUM(Hours_Worked) AS hours, COUNT(*) FROM PROJSTAFF s GROUP BY 1"),
            Some(vec!["HOURS".into(), "RESOURCE_CODE".into()])
        );
        assert_eq!(
            cols("SELECT * FROM PROJSTAFF UNION SELECT a, b FROM x"),
            Some(vec!["HOURS_WORKED".into(), "RESOURCE_CODE".into()])
        );
        assert_eq!(cols("SELECT * FROM unknown_table"), None);
        assert_eq!(cols("SELECT p.* FROM PROJSTAFF p"), None);
        assert_eq!(cols("SELECT Resource_Code FROM"), None);
    }
}
