use super::{Context, Layer, LayerOutput};
use crate::finding::{Finding, LayerName, Severity, Span};

/// Layer 1: the text parses in the target dialect.
pub struct Syntax;

/// sqlparser reports positions as "… at Line: 3, Column: 14".
fn position(message: &str) -> Option<Span> {
    let line_at = message.rfind("Line: ")?;
    let rest = &message[line_at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(Span::point(line.trim().parse().ok()?, column.parse().ok()?))
}

/// Parses the SQL; the error becomes the layer's finding.
pub fn parse(
    sql: &str,
    dialect: glrl_catalog::Dialect,
) -> Result<Vec<sqlparser::ast::Statement>, Finding> {
    if sql.trim().trim_matches(';').trim().is_empty() {
        return Err(Finding::new(
            LayerName::Syntax,
            Severity::Error,
            "SYNTAX_EMPTY",
            "the query is empty",
        ));
    }
    sqlparser::parser::Parser::parse_sql(dialect.parser_dialect().as_ref(), sql).map_err(|e| {
        let msg = e.to_string();
        let clean = msg.trim_start_matches("sql parser error: ");
        Finding::new(
            LayerName::Syntax,
            Severity::Error,
            "SYNTAX_ERROR",
            format!("the SQL does not parse ({dialect}): {clean}"),
        )
        .at(position(clean))
    })
}

impl Layer for Syntax {
    fn name(&self) -> LayerName {
        LayerName::Syntax
    }

    fn needs_ast(&self) -> bool {
        false
    }

    fn check(&self, cx: &Context) -> LayerOutput {
        // The text is parsed once per validation, before the layers run.
        cx.parse_error
            .cloned()
            .into_iter()
            .collect::<Vec<_>>()
            .into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions() {
        assert_eq!(
            super::position("Expected: an expression, found: FROM at Line: 2, Column: 8"),
            Some(super::Span::point(2, 8))
        );
        assert_eq!(super::position("no position"), None);
    }
}
