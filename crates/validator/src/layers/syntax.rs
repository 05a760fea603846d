use super::{Context, Layer, LayerOutput};
use crate::finding::{Finding, LayerName, Severity, Span};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::TokenWithSpan;

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
    parse_tokens(sql, None, dialect).0
}

/// As [`parse`], from the text's tokens when the caller has them (the
/// validator tokenizes once for the parser, the security layer and the
/// report), and the tokens handed back: the parser only reads them.
/// Without tokens the text is tokenized here, and a text that cannot be
/// tokenized gets the parser's own message.
pub fn parse_tokens(
    sql: &str,
    tokens: Option<Vec<TokenWithSpan>>,
    dialect: glrl_catalog::Dialect,
) -> (
    Result<Vec<sqlparser::ast::Statement>, Finding>,
    Option<Vec<TokenWithSpan>>,
) {
    if sql.trim().trim_matches(';').trim().is_empty() {
        let empty = Finding::new(
            LayerName::Syntax,
            Severity::Error,
            "SYNTAX_EMPTY",
            "the query is empty",
        );
        return (Err(empty), tokens);
    }
    let d = dialect.parser_dialect();
    let (parsed, tokens) = match tokens {
        // `Parser::parse_sql` is exactly this after its own tokenization.
        Some(tokens) => {
            let mut parser = Parser::new(d.as_ref()).with_tokens_with_locations(tokens);
            let parsed = parser.parse_statements();
            (parsed, Some(parser.into_tokens()))
        }
        None => (Parser::parse_sql(d.as_ref(), sql), None),
    };
    (parsed.map_err(|e| syntax_error(e, dialect)), tokens)
}

fn syntax_error(e: sqlparser::parser::ParserError, dialect: glrl_catalog::Dialect) -> Finding {
    let msg = e.to_string();
    let clean = msg.trim_start_matches("sql parser error: ");
    Finding::new(
        LayerName::Syntax,
        Severity::Error,
        "SYNTAX_ERROR",
        format!("the SQL does not parse ({dialect}): {clean}"),
    )
    .at(position(clean))
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
