use super::{Context, Layer, LayerOutput};
use crate::finding::{Finding, LayerName, Severity, Span};
use glrl_catalog::ident_eq;
use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, Query, Select, SetExpr, Statement, Value, Visit, Visitor,
};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Whitespace};
use std::ops::ControlFlow;

/// Layer 5: exactly one read-only statement over allow-listed tables, with
/// no dangerous functions and none of the classic injection shapes
/// (stacked queries, comment smuggling, tautologies). Runs on the tokens
/// too, so it judges even text that does not parse.
pub struct Security;

fn f(code: &str, msg: String) -> Finding {
    Finding::new(LayerName::Security, Severity::Error, code, msg)
}

/// Keywords that only appear in statements that write, lock, change
/// settings or reach outside the database.
const FORBIDDEN_KEYWORDS: &[Keyword] = &[
    Keyword::INSERT,
    Keyword::UPDATE,
    Keyword::DELETE,
    Keyword::DROP,
    Keyword::ALTER,
    Keyword::CREATE,
    Keyword::TRUNCATE,
    Keyword::ATTACH,
    Keyword::DETACH,
    Keyword::PRAGMA,
    Keyword::VACUUM,
    Keyword::REINDEX,
    Keyword::GRANT,
    Keyword::REVOKE,
    Keyword::COPY,
    Keyword::MERGE,
    Keyword::EXEC,
    Keyword::EXECUTE,
    Keyword::INTO,
];

/// More words that, in text that does not even parse, betray an attempt at
/// something other than reading (in a parsed query the AST decides, since
/// some of them can be column names).
const SUSPECT_KEYWORDS: &[Keyword] = &[
    Keyword::CALL,
    Keyword::COMMIT,
    Keyword::ROLLBACK,
    Keyword::BEGIN,
    Keyword::SAVEPOINT,
    Keyword::LOCK,
    Keyword::LISTEN,
    Keyword::NOTIFY,
    Keyword::LOAD,
    Keyword::SET,
    Keyword::RESET,
    Keyword::ANALYZE,
    Keyword::EXPLAIN,
    Keyword::PREPARE,
    Keyword::DEALLOCATE,
    Keyword::DECLARE,
    Keyword::REFRESH,
    Keyword::REPLACE,
    Keyword::DISCARD,
    Keyword::KILL,
    Keyword::USE,
];

/// Functions that sleep, read or write files, reach the network, change
/// settings or sequences, or run SQL given as text.
const FORBIDDEN_FUNCTIONS: &[&str] = &[
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "sleep",
    "benchmark",
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_file_write",
    "lo_import",
    "lo_export",
    "lo_get",
    "lo_put",
    "lo_create",
    "lo_unlink",
    "dblink",
    "dblink_exec",
    "dblink_connect",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "pg_try_advisory_lock",
    "nextval",
    "setval",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "table_to_xml",
    "cursor_to_xml",
    "database_to_xml",
    "schema_to_xml",
    "pg_logical_emit_message",
    "pg_switch_wal",
    "pg_create_restore_point",
    "txid_current",
    "pg_current_xact_id",
    "randomblob",
    "zeroblob",
    "sqlite_offset",
    "pg_notify",
    "pg_import_system_collations",
    "copy",
    "xp_cmdshell",
    "sys_exec",
    "sys_eval",
    "load_file",
    "utl_http",
    "utl_file",
    "http_get",
];

/// Catalogs that describe the system rather than the business.
const FORBIDDEN_SCHEMAS: &[&str] = &[
    "pg_catalog",
    "information_schema",
    "pg_temp",
    "sqlite_temp_master",
    "mysql",
    "sys",
];

impl Layer for Security {
    fn name(&self) -> LayerName {
        LayerName::Security
    }

    fn needs_ast(&self) -> bool {
        false
    }

    fn check(&self, cx: &Context) -> LayerOutput {
        let mut out = token_checks(cx);
        if let Some(stmts) = cx.statements {
            if stmts.len() > 1 {
                out.push(f(
                    "SECURITY_MULTIPLE_STATEMENTS",
                    format!(
                        "{} statements where exactly one is allowed (stacked queries)",
                        stmts.len()
                    ),
                ));
            }
            for s in stmts {
                match s {
                    Statement::Query(q) => query_checks(cx, q, &mut out),
                    other => {
                        let kind = other
                            .to_string()
                            .split_whitespace()
                            .take(2)
                            .collect::<Vec<_>>()
                            .join(" ")
                            .to_uppercase();
                        out.push(f(
                            "SECURITY_NOT_READ_ONLY",
                            format!("only SELECT queries may run; this is {kind}"),
                        ));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out.dedup_by(|a, b| a.code == b.code && a.message == b.message);
        out.into()
    }
}

fn token_checks(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(tokens) = cx.tokens else {
        out.push(f(
            "SECURITY_UNREADABLE",
            "the text cannot be split into SQL tokens".into(),
        ));
        return out;
    };
    let mut statements = 0;
    let mut in_statement = false;
    for t in tokens {
        let span = Span::from_sql(t.span);
        match &t.token {
            Token::SemiColon => in_statement = false,
            Token::Whitespace(Whitespace::SingleLineComment { comment, .. })
            | Token::Whitespace(Whitespace::MultiLineComment(comment)) => {
                let lower = comment.to_lowercase();
                let smuggles = comment.starts_with('!')
                    || comment.contains('\'')
                    || [
                        "select", "union", "drop", "delete", "insert", "update", " or ", "where",
                        "exec", ";", "--",
                    ]
                    .iter()
                    .any(|k| lower.contains(k));
                if smuggles {
                    out.push(
                        f(
                            "SECURITY_COMMENT_SMUGGLING",
                            "a comment hides SQL or quotes inside the statement".into(),
                        )
                        .at(span),
                    );
                } else {
                    out.push(
                        Finding::new(
                            LayerName::Security,
                            Severity::Warning,
                            "SECURITY_COMMENT",
                            "the query carries a comment; generated SQL should not".to_string(),
                        )
                        .at(span),
                    );
                }
            }
            Token::Whitespace(_) | Token::EOF => {}
            Token::Word(w) => {
                if !in_statement {
                    statements += 1;
                    in_statement = true;
                }
                let forbidden = FORBIDDEN_KEYWORDS.contains(&w.keyword)
                    || (cx.statements.is_none() && SUSPECT_KEYWORDS.contains(&w.keyword));
                if w.quote_style.is_none() && forbidden {
                    out.push(
                        f(
                            "SECURITY_FORBIDDEN_KEYWORD",
                            format!(
                                "{} is not allowed in a read-only query",
                                w.value.to_uppercase()
                            ),
                        )
                        .at(span),
                    );
                }
            }
            _ => {
                if !in_statement {
                    statements += 1;
                    in_statement = true;
                }
            }
        }
    }
    if statements > 1 && cx.statements.is_none() {
        out.push(f(
            "SECURITY_MULTIPLE_STATEMENTS",
            format!("{statements} statements where exactly one is allowed (stacked queries)"),
        ));
    }
    out
}

struct Walk<'c, 'a> {
    cx: &'c Context<'a>,
    ctes: Vec<String>,
    out: Vec<Finding>,
}

impl Walk<'_, '_> {
    fn relation(&mut self, name: &ObjectName) {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(|i| i.value.clone())
            .collect();
        let table = parts.last().cloned().unwrap_or_default();
        if let [schema, _] = parts.as_slice() {
            if FORBIDDEN_SCHEMAS.iter().any(|s| ident_eq(s, schema)) {
                self.out.push(f(
                    "SECURITY_SYSTEM_CATALOG",
                    format!("system catalog {schema} may not be read"),
                ));
                return;
            }
        }
        if parts.len() == 1 && self.ctes.iter().any(|c| ident_eq(c, &table)) {
            return;
        }
        if !self.cx.allowed_tables.iter().any(|t| ident_eq(t, &table)) {
            let lower = table.to_lowercase();
            let code = if lower.starts_with("sqlite_") || lower.starts_with("pg_") {
                "SECURITY_SYSTEM_CATALOG"
            } else {
                "SECURITY_TABLE_NOT_ALLOWED"
            };
            self.out
                .push(f(code, format!("table {} is not on the allow-list", name)));
        }
    }
}

impl Visitor for Walk<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(w) = &q.with {
            self.ctes
                .extend(w.cte_tables.iter().map(|c| c.alias.name.value.clone()));
        }
        if !q.locks.is_empty() {
            self.out.push(f(
                "SECURITY_LOCKING",
                "FOR UPDATE/SHARE takes locks; a read-only query must not".into(),
            ));
        }
        check_set_expr(&q.body, &mut self.out);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        if s.into.is_some() {
            self.out.push(f(
                "SECURITY_NOT_READ_ONLY",
                "SELECT … INTO creates a table".into(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        self.relation(r);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Function(func) => {
                let name = func
                    .name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.to_lowercase())
                    .unwrap_or_default();
                if FORBIDDEN_FUNCTIONS.contains(&name.as_str()) {
                    self.out.push(f("SECURITY_FORBIDDEN_FUNCTION", format!("{name}() is not allowed: it can stall, write or reach outside the database")).at(Span::from_sql(sqlparser::ast::Spanned::span(e))));
                }
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } if always_true(left) || always_true(right) => {
                self.out.push(f(
                    "SECURITY_TAUTOLOGY",
                    format!(
                        "'{e}' is always true: the classic injection shape that returns every row"
                    ),
                ));
            }
            Expr::Value(v) => {
                if let Value::SingleQuotedString(s) = &v.value {
                    let l = s.to_lowercase();
                    if [
                        "';",
                        "'--",
                        "' or ",
                        "union select",
                        "drop table",
                        "/*",
                        "; delete",
                        "; drop",
                        "' and '",
                    ]
                    .iter()
                    .any(|p| l.contains(p))
                    {
                        self.out.push(Finding::new(
                            LayerName::Security,
                            Severity::Warning,
                            "SECURITY_SUSPICIOUS_LITERAL",
                            format!("the text '{s}' looks like SQL; it is compared as data only"),
                        ));
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn check_set_expr(s: &SetExpr, out: &mut Vec<Finding>) {
    match s {
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
            out.push(f(
                "SECURITY_NOT_READ_ONLY",
                "the query contains a data-modifying statement".into(),
            ));
        }
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left, out);
            check_set_expr(right, out);
        }
        _ => {}
    }
}

fn query_checks(cx: &Context, q: &Query, out: &mut Vec<Finding>) {
    let mut w = Walk {
        cx,
        ctes: Vec::new(),
        out: Vec::new(),
    };
    let _ = q.visit(&mut w);
    out.extend(w.out);
}

fn literal_true(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => *b,
            Value::Number(n, _) => n.parse::<f64>().is_ok_and(|x| x != 0.0),
            _ => false,
        },
        Expr::Nested(inner) => literal_true(inner),
        _ => false,
    }
}

fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::Nested(inner) => number(inner),
        _ => None,
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(_)) || matches!(e, Expr::Nested(i) if is_literal(i))
}

/// Constant-true conditions: TRUE, 1, x = x, 'a' = 'a', 1 <> 2, NOT FALSE.
fn always_true(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => always_true(inner),
        Expr::BinaryOp { left, op, right } if number(left).is_some() && number(right).is_some() => {
            let (a, b) = (number(left).unwrap_or(0.0), number(right).unwrap_or(0.0));
            match op {
                BinaryOperator::Eq => a == b,
                BinaryOperator::NotEq => a != b,
                BinaryOperator::Lt => a < b,
                BinaryOperator::LtEq => a <= b,
                BinaryOperator::Gt => a > b,
                BinaryOperator::GtEq => a >= b,
                _ => false,
            }
        }
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Eq | BinaryOperator::LtEq | BinaryOperator::GtEq => left == right,
            BinaryOperator::NotEq => is_literal(left) && is_literal(right) && left != right,
            BinaryOperator::Or => always_true(left) || always_true(right),
            _ => false,
        },
        Expr::Like {
            negated: false,
            expr,
            pattern,
            ..
        } => is_literal(expr) && pattern.to_string() == "'%'",
        Expr::IsNotNull(inner) => {
            is_literal(inner)
                && !matches!(inner.as_ref(), Expr::Value(v) if matches!(v.value, Value::Null))
        }
        Expr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Not,
            expr,
        } => {
            matches!(expr.as_ref(), Expr::Value(v) if matches!(v.value, Value::Boolean(false)))
        }
        other => literal_true(other),
    }
}
