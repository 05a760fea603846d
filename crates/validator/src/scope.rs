//! Name resolution over the AST: every table, alias and column reference
//! resolved in its scope (CTEs, derived tables, subqueries, set
//! operations), producing the schema layer's findings and the facts the
//! business and performance layers judge (joins, aggregates, comparisons).

use crate::finding::{nearest, Finding, LayerName, Severity, Span};
use glrl_catalog::{ident_eq, last_ident, Dialect, Schema, SqlType, TypeFamily};
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, InTarget,
    JoinConstraint, JoinOperator, ObjectName, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Spanned, TableAlias, TableFactor, Value, Visit,
    Visitor,
};
use std::ops::ControlFlow;

/// A column of a base table: (table, column) as the schema spells them.
pub type ColKey = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    On,
    Using,
    Natural,
    /// CROSS JOIN or JOIN without a condition.
    Cross,
    /// `FROM a, b`: related only through WHERE.
    Comma,
}

#[derive(Debug, Clone)]
pub struct JoinUse {
    pub kind: JoinKind,
    pub right: String,
    /// The base table joined, when it is one (not a CTE or subquery).
    pub right_table: Option<String>,
    /// `a.x = b.y` pairs of the condition (ON, or WHERE for comma joins)
    /// linking the new relation to the ones before it.
    pub pairs: Vec<(ColKey, ColKey)>,
    pub span: Option<Span>,
}

/// `col = 'literal'` or `col IN ('a', …)`.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub column: ColKey,
    pub literal: String,
    pub span: Option<Span>,
}

/// A column in the select list outside any aggregate.
#[derive(Debug, Clone)]
pub struct PlainColumn {
    pub key: Option<ColKey>,
    pub text: String,
    pub span: Option<Span>,
    /// The whole select-list expression it sits in (grouping by that
    /// expression, e.g. `strftime('%Y', d)`, covers the column).
    pub item: String,
}

#[derive(Debug, Clone, Default)]
pub struct SelectFacts {
    pub aggregated: bool,
    /// Non-aggregated column references of the select list (outside
    /// aggregate and window functions), with their text.
    pub plain_columns: Vec<PlainColumn>,
    pub group_by: Vec<(Option<ColKey>, String)>,
    /// SUM/AVG arguments that are base columns.
    pub summed: Vec<(ColKey, Option<Span>)>,
    /// `col = 'x'` conjuncts of WHERE.
    pub equality_filters: Vec<ColKey>,
    pub base_tables: Vec<String>,
    /// Relations its FROM reads (base tables, CTEs, derived tables).
    pub relations: usize,
    pub has_star: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub tables: Vec<String>,
    pub joins: Vec<JoinUse>,
    pub comparisons: Vec<Comparison>,
    pub selects: Vec<SelectFacts>,
    pub unguarded_divisions: Vec<(String, Option<Span>)>,
    pub correlated_in_projection: Vec<Option<Span>>,
    pub star_spans: Vec<Option<Span>>,
    /// The outermost query: aggregated or limited results are bounded.
    pub top_aggregated: bool,
    pub top_limited: bool,
    /// (alias or name, base table) of every base relation.
    pub aliases: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Rel {
    alias: String,
    table: Option<String>,
    /// None: columns unknown (table function, unresolvable): accept any.
    columns: Option<Vec<(String, Option<SqlType>)>>,
}

impl Rel {
    /// `AS alias (c1, c2)` renames the relation and, if listed, its columns.
    fn aliased(mut self, alias: Option<&TableAlias>) -> Rel {
        if let Some(a) = alias {
            self.alias = a.name.value.clone();
            if !a.columns.is_empty() {
                self.columns = Some(
                    a.columns
                        .iter()
                        .map(|c| (c.name.value.clone(), None))
                        .collect(),
                );
            }
        }
        self
    }
}

struct Scope<'p> {
    rels: Vec<Rel>,
    using: Vec<String>,
    aliases: Vec<String>,
    parent: Option<&'p Scope<'p>>,
}

pub struct Resolver<'s> {
    schema: &'s Schema,
    dialect: Dialect,
    ctes: Vec<Vec<(String, Option<Vec<String>>)>>,
    out: Analysis,
    outer_hits: usize,
}

pub(crate) const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "group_concat",
    "string_agg",
    "array_agg",
    "bool_and",
    "bool_or",
    "every",
    "stddev",
    "variance",
    "json_group_array",
    "json_agg",
];

pub(crate) fn fn_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

fn span_of(e: &impl Spanned) -> Option<Span> {
    Span::from_sql(e.span())
}

impl<'s> Resolver<'s> {
    pub fn analyze(schema: &'s Schema, dialect: Dialect, query: &Query) -> Analysis {
        let mut r = Resolver {
            schema,
            dialect,
            ctes: Vec::new(),
            out: Analysis::default(),
            outer_hits: 0,
        };
        r.out.top_limited = query.limit_clause.is_some() || query.fetch.is_some();
        r.query(query, None);
        // Inner selects are recorded before the one containing them.
        r.out.top_aggregated = r.out.selects.last().is_some_and(|s| s.aggregated);
        r.out
    }

    fn finding(
        &mut self,
        code: &str,
        severity: Severity,
        msg: String,
        span: Option<Span>,
        suggestion: Option<String>,
    ) {
        self.out.findings.push(
            Finding::new(LayerName::Schema, severity, code, msg)
                .at(span)
                .suggest(suggestion),
        );
    }

    fn query(&mut self, q: &Query, parent: Option<&Scope>) -> Option<Vec<String>> {
        let pushed = q.with.is_some();
        if let Some(with) = &q.with {
            self.ctes.push(Vec::new());
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.clone();
                let declared: Vec<String> = cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect();
                // A recursive CTE may name itself: register it first.
                let pre = (!declared.is_empty()).then(|| declared.clone());
                if let Some(f) = self.ctes.last_mut() {
                    f.push((name.clone(), pre));
                }
                let cols = self.query(&cte.query, parent);
                let cols = if declared.is_empty() {
                    cols
                } else {
                    Some(declared)
                };
                if let Some(f) = self.ctes.last_mut() {
                    if let Some(e) = f.iter_mut().rev().find(|(n, _)| ident_eq(n, &name)) {
                        e.1 = cols;
                    }
                }
            }
        }
        let out = self.set_expr(&q.body, parent, q.order_by.as_ref().map(|o| &o.kind));
        if pushed {
            self.ctes.pop();
        }
        out
    }

    fn set_expr(
        &mut self,
        s: &SetExpr,
        parent: Option<&Scope>,
        order_by: Option<&OrderByKind>,
    ) -> Option<Vec<String>> {
        match s {
            SetExpr::Select(sel) => self.select(sel, parent, order_by),
            SetExpr::Query(q) => self.query(q, parent),
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left, parent, None);
                let r = self.set_expr(right, parent, None);
                if let (Some(l), Some(r)) = (&l, &r) {
                    if l.len() != r.len() {
                        self.finding(
                            "SCHEMA_SET_OPERATION_ARITY",
                            Severity::Error,
                            format!("the two sides of the set operation return {} and {} columns; they must match", l.len(), r.len()),
                            span_of(s),
                            None,
                        );
                    }
                }
                l
            }
            SetExpr::Values(v) => Some(
                (1..=v.rows.first().map_or(0, |r| r.len()))
                    .map(|i| format!("column{i}"))
                    .collect(),
            ),
            SetExpr::Table(t) => {
                let name = t
                    .table_name
                    .as_ref()
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
                self.lookup_table(&name, None)
                    .and_then(|r| r.columns.map(|c| c.into_iter().map(|(n, _)| n).collect()))
            }
            // Writes inside a query are the security layer's to reject.
            _ => None,
        }
    }

    /// A table or CTE by name; records an unknown-table finding if neither.
    fn lookup_table(&mut self, name: &str, span: Option<Span>) -> Option<Rel> {
        for frame in self.ctes.iter().rev() {
            if let Some((n, cols)) = frame.iter().rev().find(|(n, _)| ident_eq(n, name)) {
                return Some(Rel {
                    alias: n.clone(),
                    table: None,
                    columns: cols
                        .as_ref()
                        .map(|c| c.iter().map(|x| (x.clone(), None)).collect()),
                });
            }
        }
        if let Some(t) = self.schema.table(name) {
            self.out.tables.push(t.name.clone());
            return Some(Rel {
                alias: t.name.clone(),
                table: Some(t.name.clone()),
                columns: Some(
                    t.columns
                        .iter()
                        .map(|c| (c.name.clone(), Some(c.data_type.clone())))
                        .collect(),
                ),
            });
        }
        let ctes: Vec<String> = self.ctes.iter().flatten().map(|(n, _)| n.clone()).collect();
        let candidates: Vec<&str> = self
            .schema
            .table_names()
            .chain(ctes.iter().map(String::as_str))
            .collect();
        let suggestion = nearest(name, candidates).map(|n| format!("did you mean {n}?"));
        self.finding(
            "SCHEMA_UNKNOWN_TABLE",
            Severity::Error,
            format!("there is no table named {name}"),
            span,
            suggestion,
        );
        None
    }

    fn factor(&mut self, f: &TableFactor, parent: Option<&Scope>, rels: &mut Vec<Rel>) {
        match f {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let table_name = last_ident(name);
                let rel = self.lookup_table(&table_name, span_of(name));
                let rel = rel.unwrap_or(Rel {
                    alias: table_name.clone(),
                    table: None,
                    columns: None,
                });
                rels.push(rel.aliased(alias.as_ref()));
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let cols = self.query(subquery, parent);
                let rel = Rel {
                    alias: String::new(),
                    table: None,
                    columns: cols.map(|c| c.into_iter().map(|n| (n, None)).collect()),
                };
                rels.push(rel.aliased(alias.as_ref()));
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                self.factor(&table_with_joins.relation, parent, rels);
                for j in &table_with_joins.joins {
                    self.factor(&j.relation, parent, rels);
                }
                if let Some(a) = alias {
                    rels.push(Rel {
                        alias: a.name.value.clone(),
                        table: None,
                        columns: None,
                    });
                }
            }
            other => {
                // Table functions, UNNEST, PIVOT…: columns unknown, accept any.
                let alias = match other {
                    TableFactor::Table { alias, .. }
                    | TableFactor::Function { alias, .. }
                    | TableFactor::UNNEST { alias, .. }
                    | TableFactor::TableFunction { alias, .. } => {
                        alias.as_ref().map(|a| a.name.value.clone())
                    }
                    _ => None,
                };
                rels.push(Rel {
                    alias: alias.unwrap_or_default(),
                    table: None,
                    columns: None,
                });
            }
        }
    }

    fn select(
        &mut self,
        s: &Select,
        parent: Option<&Scope>,
        order_by: Option<&OrderByKind>,
    ) -> Option<Vec<String>> {
        let mut rels: Vec<Rel> = Vec::new();
        let mut using = Vec::new();
        let mut pending_joins: Vec<(JoinKind, usize, Option<&Expr>, Option<Span>)> = Vec::new();
        for (i, twj) in s.from.iter().enumerate() {
            let start = rels.len();
            self.factor(&twj.relation, parent, &mut rels);
            if i > 0 && rels.len() > start {
                pending_joins.push((JoinKind::Comma, start, None, span_of(&twj.relation)));
            }
            for j in &twj.joins {
                let idx = rels.len();
                self.factor(&j.relation, parent, &mut rels);
                let constraint = match &j.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::Left(c)
                    | JoinOperator::LeftOuter(c)
                    | JoinOperator::Right(c)
                    | JoinOperator::RightOuter(c)
                    | JoinOperator::FullOuter(c)
                    | JoinOperator::CrossJoin(c)
                    | JoinOperator::Semi(c)
                    | JoinOperator::LeftSemi(c)
                    | JoinOperator::RightSemi(c)
                    | JoinOperator::Anti(c)
                    | JoinOperator::LeftAnti(c)
                    | JoinOperator::RightAnti(c) => Some(c),
                    _ => None,
                };
                let (kind, on) = match constraint {
                    Some(JoinConstraint::On(e)) => (JoinKind::On, Some(e)),
                    Some(JoinConstraint::Using(cols))
                    | Some(JoinConstraint::UsingAlias(cols, _)) => {
                        using.extend(cols.iter().map(last_ident));
                        (JoinKind::Using, None)
                    }
                    Some(JoinConstraint::Natural) => (JoinKind::Natural, None),
                    Some(JoinConstraint::None) | None => (JoinKind::Cross, None),
                };
                pending_joins.push((kind, idx, on, span_of(&j.relation)));
            }
        }
        for r in &rels {
            if let Some(dup) = rels
                .iter()
                .filter(|o| !r.alias.is_empty() && ident_eq(&o.alias, &r.alias))
                .nth(1)
            {
                let msg = format!(
                    "the name {} is used for two relations in one FROM clause; give one an alias",
                    dup.alias
                );
                if !self.out.findings.iter().any(|f| f.message == msg) {
                    self.finding("SCHEMA_DUPLICATE_ALIAS", Severity::Error, msg, None, None);
                }
            }
        }
        for r in &rels {
            if let Some(t) = &r.table {
                self.out.aliases.push((r.alias.clone(), t.clone()));
            }
        }
        let mut facts = SelectFacts {
            base_tables: rels.iter().filter_map(|r| r.table.clone()).collect(),
            relations: rels.len(),
            ..SelectFacts::default()
        };
        let mut scope = Scope {
            rels,
            using,
            aliases: Vec::new(),
            parent,
        };

        // Join conditions and their key pairs.
        let mut my_joins = Vec::new();
        for (kind, idx, on, span) in pending_joins {
            let mut pairs = Vec::new();
            if let Some(e) = on {
                self.expr(e, &scope, false, &mut facts, false);
                pairs = self.eq_pairs(e, &scope);
            }
            let rel = &scope.rels[idx];
            my_joins.push(self.out.joins.len());
            self.out.joins.push(JoinUse {
                kind,
                right: rel.alias.clone(),
                right_table: rel.table.clone(),
                pairs,
                span,
            });
        }

        // Select list.
        let mut out = Vec::new();
        let mut known = true;
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    self.expr(e, &scope, false, &mut facts, true);
                    out.push(match e {
                        Expr::Identifier(i) => i.value.clone(),
                        Expr::CompoundIdentifier(p) => {
                            p.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        other => other.to_string(),
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    self.expr(expr, &scope, false, &mut facts, true);
                    out.push(alias.value.clone());
                    scope.aliases.push(alias.value.clone());
                }
                SelectItem::Wildcard(_) => {
                    facts.has_star = true;
                    self.out.star_spans.push(span_of(item));
                    for r in &scope.rels {
                        match &r.columns {
                            Some(c) => out.extend(c.iter().map(|(n, _)| n.clone())),
                            None => known = false,
                        }
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    facts.has_star = true;
                    self.out.star_spans.push(span_of(item));
                    let q = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(n) => last_ident(n),
                        SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    match scope.rels.iter().find(|r| ident_eq(&r.alias, &q)) {
                        Some(r) => match &r.columns {
                            Some(c) => out.extend(c.iter().map(|(n, _)| n.clone())),
                            None => known = false,
                        },
                        None => {
                            self.unknown_qualifier(&q, &scope, span_of(item));
                            known = false;
                        }
                    }
                }
                SelectItem::ExprWithAliases { expr, aliases, .. } => {
                    self.expr(expr, &scope, false, &mut facts, true);
                    out.extend(aliases.iter().map(|a| a.value.clone()));
                }
            }
        }
        // SQLite resolves select-list aliases in WHERE too; PostgreSQL does not.
        let alias_in_where = self.dialect == Dialect::Sqlite;
        if let Some(w) = &s.selection {
            self.expr(w, &scope, alias_in_where, &mut facts, false);
            for conj in conjuncts(w) {
                if let Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } = conj
                {
                    for (c, v) in [(left, right), (right, left)] {
                        if matches!(v.as_ref(), Expr::Value(_)) {
                            if let Some(k) = self.resolve_quiet(c, &scope) {
                                facts.equality_filters.push(k);
                            }
                        }
                    }
                }
            }
            // Comma joins are joined by WHERE equalities.
            let pairs = self.eq_pairs(w, &scope);
            for &ji in &my_joins {
                let j = &mut self.out.joins[ji];
                if let (JoinKind::Comma, Some(t)) = (j.kind, &j.right_table) {
                    j.pairs = pairs
                        .iter()
                        .filter(|(a, b)| ident_eq(&a.0, t) || ident_eq(&b.0, t))
                        .cloned()
                        .collect();
                }
            }
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                // GROUP BY 2 and GROUP BY alias name a select-list item.
                let item = match e {
                    Expr::Value(v) => match &v.value {
                        Value::Number(n, _) => n.parse::<usize>().ok().and_then(|k| s.projection.get(k.wrapping_sub(1))),
                        _ => None,
                    },
                    Expr::Identifier(i) if self.resolve_quiet(e, &scope).is_none() => s.projection.iter().find(
                        |p| matches!(p, SelectItem::ExprWithAlias { alias, .. } if ident_eq(&alias.value, &i.value)),
                    ),
                    _ => None,
                };
                let item_expr = match item {
                    Some(SelectItem::UnnamedExpr(x))
                    | Some(SelectItem::ExprWithAlias { expr: x, .. }) => Some(x),
                    _ => None,
                };
                if let Some(x) = item_expr {
                    facts
                        .group_by
                        .push((self.resolve_quiet(x, &scope), x.to_string()));
                    continue;
                }
                if matches!(e, Expr::Value(_)) {
                    continue;
                }
                self.expr(e, &scope, true, &mut facts, false);
                facts
                    .group_by
                    .push((self.resolve_quiet(e, &scope), e.to_string()));
            }
            if !exprs.is_empty() {
                facts.aggregated = true;
            }
        }
        if let Some(h) = &s.having {
            self.expr(h, &scope, true, &mut facts, false);
            facts.aggregated = true;
        }
        if let Some(q) = &s.qualify {
            self.expr(q, &scope, true, &mut facts, false);
        }
        if let Some(OrderByKind::Expressions(items)) = order_by {
            for o in items {
                if !matches!(o.expr, Expr::Value(_)) {
                    self.expr(&o.expr, &scope, true, &mut facts, false);
                }
            }
        }
        self.out.selects.push(facts);
        known.then_some(out)
    }

    fn unknown_qualifier(&mut self, q: &str, scope: &Scope, span: Option<Span>) {
        let mut names: Vec<String> = Vec::new();
        let mut s = Some(scope);
        while let Some(sc) = s {
            names.extend(sc.rels.iter().map(|r| r.alias.clone()));
            s = sc.parent;
        }
        let hint = if let Some(r) = scope
            .rels
            .iter()
            .find(|r| r.table.as_deref().is_some_and(|t| ident_eq(t, q)))
        {
            Some(format!(
                "{q} is aliased as {} here; use {}.",
                r.alias, r.alias
            ))
        } else {
            nearest(q, names.iter().map(String::as_str)).map(|n| format!("did you mean {n}?"))
        };
        self.finding(
            "SCHEMA_UNKNOWN_QUALIFIER",
            Severity::Error,
            format!("{q} is not a table or alias in this part of the query"),
            span,
            hint,
        );
    }

    /// Resolves one column reference, recording findings.
    fn column(
        &mut self,
        parts: &[String],
        scope: &Scope,
        allow_alias: bool,
        span: Option<Span>,
    ) -> Option<(ColKey, Option<SqlType>)> {
        let (qualifier, name) = match parts {
            [name] => (None, name.as_str()),
            [.., q, name] => (Some(q.as_str()), name.as_str()),
            [] => return None,
        };
        let mut depth = 0;
        let mut s = Some(scope);
        while let Some(sc) = s {
            if let Some(q) = qualifier {
                if let Some(r) = sc.rels.iter().find(|r| ident_eq(&r.alias, q)) {
                    if depth > 0 {
                        self.outer_hits += 1;
                    }
                    return match &r.columns {
                        None => None,
                        Some(cols) => match cols.iter().find(|(c, _)| ident_eq(c, name)) {
                            Some((c, ty)) => r.table.clone().map(|t| ((t, c.clone()), ty.clone())),
                            None => {
                                let suggestion =
                                    self.suggest_column(name, cols.iter().map(|(c, _)| c.as_str()));
                                self.finding(
                                    "SCHEMA_UNKNOWN_COLUMN",
                                    Severity::Error,
                                    format!(
                                        "{} has no column {name}",
                                        r.table.as_deref().unwrap_or(&r.alias)
                                    ),
                                    span,
                                    suggestion,
                                );
                                None
                            }
                        },
                    };
                }
            } else {
                let matches: Vec<&Rel> = sc
                    .rels
                    .iter()
                    .filter(|r| {
                        r.columns
                            .as_ref()
                            .is_some_and(|c| c.iter().any(|(c, _)| ident_eq(c, name)))
                    })
                    .collect();
                if matches.len() > 1 && !sc.using.iter().any(|u| ident_eq(u, name)) {
                    let rels: Vec<&str> = matches.iter().map(|r| r.alias.as_str()).collect();
                    self.finding(
                        "SCHEMA_AMBIGUOUS_COLUMN",
                        Severity::Error,
                        format!("{name} exists in {}; say which one", rels.join(" and ")),
                        span,
                        Some(format!("write {}.{name}", rels[0])),
                    );
                    return None;
                }
                if let Some(r) = matches.first() {
                    if depth > 0 {
                        self.outer_hits += 1;
                    }
                    let col = r
                        .columns
                        .as_ref()
                        .and_then(|c| c.iter().find(|(c, _)| ident_eq(c, name)));
                    return match (r.table.clone(), col) {
                        (Some(t), Some((c, ty))) => Some(((t, c.clone()), ty.clone())),
                        _ => None,
                    };
                }
                if allow_alias && depth == 0 && sc.aliases.iter().any(|a| ident_eq(a, name)) {
                    return None;
                }
                if sc.rels.iter().any(|r| r.columns.is_none()) {
                    // Could come from a relation whose columns we cannot see.
                    return None;
                }
            }
            depth += 1;
            s = sc.parent;
        }
        if let Some(q) = qualifier {
            self.unknown_qualifier(q, scope, span);
            return None;
        }
        let mut in_scope: Vec<&str> = Vec::new();
        let mut s = Some(scope);
        while let Some(sc) = s {
            for r in &sc.rels {
                in_scope.extend(r.columns.iter().flatten().map(|(c, _)| c.as_str()));
            }
            in_scope.extend(sc.aliases.iter().map(String::as_str));
            s = sc.parent;
        }
        let suggestion = self.suggest_column(name, in_scope.into_iter());
        self.finding(
            "SCHEMA_UNKNOWN_COLUMN",
            Severity::Error,
            format!("there is no column {name} in the tables of this query"),
            span,
            suggestion,
        );
        None
    }

    fn suggest_column<'a>(
        &self,
        name: &str,
        candidates: impl Iterator<Item = &'a str>,
    ) -> Option<String> {
        let candidates: Vec<&str> = candidates.collect();
        if let Some(n) = nearest(name, candidates.iter().copied()) {
            return Some(format!("did you mean {n}?"));
        }
        // The column exists, but in a table the query does not read.
        self.schema
            .tables
            .iter()
            .find(|t| t.column(name).is_some())
            .map(|t| {
                format!(
                    "{name} is a column of {}; join that table to use it",
                    t.name
                )
            })
    }

    /// The base column an expression names, without recording anything.
    fn resolve_quiet(&self, e: &Expr, scope: &Scope) -> Option<ColKey> {
        let parts: Vec<String> = match e {
            Expr::Identifier(i) => vec![i.value.clone()],
            Expr::CompoundIdentifier(p) => p.iter().map(|i| i.value.clone()).collect(),
            Expr::Nested(inner) => return self.resolve_quiet(inner, scope),
            _ => return None,
        };
        let (q, name) = match parts.as_slice() {
            [n] => (None, n),
            [.., q, n] => (Some(q), n),
            [] => return None,
        };
        let mut s = Some(scope);
        while let Some(sc) = s {
            for r in &sc.rels {
                if q.is_some_and(|q| !ident_eq(&r.alias, q)) {
                    continue;
                }
                if let (Some(t), Some(cols)) = (&r.table, &r.columns) {
                    if let Some((c, _)) = cols.iter().find(|(c, _)| ident_eq(c, name)) {
                        return Some((t.clone(), c.clone()));
                    }
                }
            }
            s = sc.parent;
        }
        None
    }

    fn type_quiet(&self, e: &Expr, scope: &Scope) -> Option<SqlType> {
        let (t, c) = self.resolve_quiet(e, scope)?;
        self.schema
            .table(&t)?
            .column(&c)
            .map(|c| c.data_type.clone())
    }

    fn eq_pairs(&self, e: &Expr, scope: &Scope) -> Vec<(ColKey, ColKey)> {
        conjuncts(e)
            .into_iter()
            .filter_map(|c| match c {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } => Some((
                    self.resolve_quiet(left, scope)?,
                    self.resolve_quiet(right, scope)?,
                )),
                _ => None,
            })
            .collect()
    }

    /// Resolves every reference in an expression; subqueries get their own
    /// scope with this one as parent.
    fn expr(
        &mut self,
        e: &Expr,
        scope: &Scope,
        allow_alias: bool,
        facts: &mut SelectFacts,
        projection: bool,
    ) {
        let mut v = Walk {
            refs: Vec::new(),
            subqueries: Vec::new(),
            depth: 0,
            agg: 0,
            window: 0,
            case: 0,
            events: Vec::new(),
        };
        let _ = e.visit(&mut v);
        for (parts, span, in_agg, in_window) in v.refs {
            let resolved = self.column(&parts, scope, allow_alias, span);
            if projection && in_agg == 0 && in_window == 0 {
                facts.plain_columns.push(PlainColumn {
                    key: resolved.map(|r| r.0),
                    text: parts.join("."),
                    span,
                    item: e.to_string(),
                });
            }
        }
        for ev in v.events {
            match ev {
                Event::Aggregate { name, arg } => {
                    facts.aggregated = true;
                    if let Some(arg) = arg {
                        if let Some(k) = self.resolve_quiet(&arg, scope) {
                            let ty = self.type_quiet(&arg, scope);
                            if (name == "sum" || name == "avg")
                                && ty.as_ref().is_some_and(|t| t.family() == TypeFamily::Text)
                            {
                                self.out.findings.push(
                                    Finding::new(LayerName::Schema, Severity::Warning, "SCHEMA_TYPE_MISMATCH",
                                        format!("{} of {}.{}, a text column, is not a meaningful number", name.to_uppercase(), k.0, k.1))
                                        .at(span_of(&arg)),
                                );
                            }
                            if name == "sum" || name == "avg" {
                                facts.summed.push((k, span_of(&arg)));
                            }
                        }
                    }
                }
                Event::Compare { col, lit, span } => {
                    if let Some(k) = self.resolve_quiet(&col, scope) {
                        let ty = self.type_quiet(&col, scope);
                        self.type_check(&k, ty.as_ref(), &lit, span);
                        if let Value::SingleQuotedString(s) = &lit {
                            self.out.comparisons.push(Comparison {
                                column: k,
                                literal: s.clone(),
                                span,
                            });
                        }
                    }
                }
                Event::Divide {
                    text,
                    span,
                    guarded,
                } => {
                    if !guarded {
                        self.out.unguarded_divisions.push((text, span));
                    }
                }
            }
        }
        for (q, in_projection) in v.subqueries {
            let before = self.outer_hits;
            self.query(&q, Some(scope));
            if in_projection && projection && self.outer_hits > before {
                self.out.correlated_in_projection.push(span_of(&q));
            }
        }
    }

    fn type_check(&mut self, k: &ColKey, ty: Option<&SqlType>, lit: &Value, span: Option<Span>) {
        let Some(ty) = ty else { return };
        let msg = match (ty.family(), lit) {
            (TypeFamily::Temporal, Value::Number(n, _)) => {
                Some(format!("{}.{} is a date but is compared with the number {n}; write the date as 'YYYY-MM-DD'", k.0, k.1))
            }
            (TypeFamily::Integer | TypeFamily::Numeric, Value::SingleQuotedString(s)) if s.trim().parse::<f64>().is_err() => {
                Some(format!("{}.{} is a number but is compared with the text '{s}'", k.0, k.1))
            }
            _ => None,
        };
        if let Some(m) = msg {
            self.out.findings.push(
                Finding::new(
                    LayerName::Schema,
                    Severity::Warning,
                    "SCHEMA_TYPE_MISMATCH",
                    m,
                )
                .at(span),
            );
        }
    }
}

/// Top-level AND conjuncts.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut v = conjuncts(left);
            v.extend(conjuncts(right));
            v
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

enum Event {
    Aggregate {
        name: String,
        arg: Option<Expr>,
    },
    Compare {
        col: Expr,
        lit: Value,
        span: Option<Span>,
    },
    Divide {
        text: String,
        span: Option<Span>,
        guarded: bool,
    },
}

/// Collects what an expression references, without entering subqueries
/// (those are returned for resolution in their own scope).
struct Walk {
    refs: Vec<(Vec<String>, Option<Span>, u32, u32)>,
    subqueries: Vec<(Query, bool)>,
    depth: u32,
    agg: u32,
    window: u32,
    case: u32,
    events: Vec<Event>,
}

fn single_arg(args: &FunctionArguments) -> Option<Expr> {
    match args {
        FunctionArguments::List(l) if l.args.len() == 1 => match &l.args[0] {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn is_column(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

impl Visitor for Walk {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if self.depth == 0 {
            self.subqueries.push((q.clone(), self.agg == 0));
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match e {
            Expr::Identifier(i) => {
                self.refs
                    .push((vec![i.value.clone()], span_of(e), self.agg, self.window))
            }
            Expr::CompoundIdentifier(p) => self.refs.push((
                p.iter().map(|i| i.value.clone()).collect(),
                span_of(e),
                self.agg,
                self.window,
            )),
            Expr::Function(f) => {
                let name = fn_name(&f.name);
                if f.over.is_some() {
                    self.window += 1;
                } else if AGGREGATES.contains(&name.as_str()) {
                    self.agg += 1;
                    self.events.push(Event::Aggregate {
                        name,
                        arg: single_arg(&f.args),
                    });
                }
            }
            Expr::Case { .. } => self.case += 1,
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => {
                    for (c, v) in [(left, right), (right, left)] {
                        if let (true, Expr::Value(v)) = (is_column(c), v.as_ref()) {
                            self.events.push(Event::Compare {
                                col: (**c).clone(),
                                lit: v.value.clone(),
                                span: span_of(e),
                            });
                        }
                    }
                }
                BinaryOperator::Divide => {
                    let guarded = self.case > 0
                        || match right.as_ref() {
                            Expr::Value(v) => {
                                matches!(&v.value, Value::Number(n, _) if n.parse::<f64>().is_ok_and(|x| x != 0.0))
                            }
                            Expr::Function(f) => matches!(
                                fn_name(&f.name).as_str(),
                                "nullif" | "coalesce" | "ifnull"
                            ),
                            Expr::Nested(inner) => {
                                matches!(inner.as_ref(), Expr::Function(f) if fn_name(&f.name) == "nullif")
                            }
                            _ => false,
                        };
                    self.events.push(Event::Divide {
                        text: e.to_string(),
                        span: span_of(e),
                        guarded,
                    });
                }
                _ => {}
            },
            Expr::In {
                expr,
                target: InTarget::List(list),
                ..
            } if is_column(expr) => {
                for item in list {
                    if let Expr::Value(v) = item {
                        self.events.push(Event::Compare {
                            col: (**expr).clone(),
                            lit: v.value.clone(),
                            span: span_of(item),
                        });
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match e {
            Expr::Function(f) if f.over.is_some() => self.window -= 1,
            Expr::Function(f) if AGGREGATES.contains(&fn_name(&f.name).as_str()) => self.agg -= 1,
            Expr::Case { .. } => self.case -= 1,
            _ => {}
        }
        ControlFlow::Continue(())
    }
}
