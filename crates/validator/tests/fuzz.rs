//! Property tests: the validator never panics, whatever text it is given —
//! arbitrary Unicode, or SQL-shaped token soup over the ERP's names that
//! reaches deep into the resolver and the layers.

mod common;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "HAVING",
    "ORDER BY",
    "LIMIT 5",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "USING",
    "WITH",
    "AS",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "OVER",
    "PARTITION BY",
    "ROW_NUMBER()",
    "EXISTS",
    "IN",
    "NOT",
    "AND",
    "OR",
    "IS NULL",
    "(",
    ")",
    ",",
    "*",
    "=",
    "<",
    ">",
    "/",
    "+",
    "-",
    ";",
    ".",
    "'Active'",
    "'x'",
    "1",
    "0",
    "2.5",
    "NULL",
    "COUNT(*)",
    "SUM(",
    "AVG(",
    "NULLIF(",
    "PAC_MNT_PROJECTS",
    "PROJSTAFF",
    "SRM_COMPANIES",
    "PROJCNTRTS",
    "p",
    "s",
    "Project_Code",
    "Budget_Amount",
    "Status",
    "Currency_Code",
    "Company_Code",
    "Resource_Code",
    "x",
    "--",
    "/*",
    "*/",
    "DELETE",
    "DROP",
    "PRAGMA",
    "sqlite_master",
    "pg_sleep(1)",
    "\n",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let r = common::validator().validate_static(&s);
        prop_assert_eq!(r.layers.len(), 5);
    }

    #[test]
    fn sql_token_soup_never_panics(s in soup()) {
        let r = common::validator().validate(&s);
        prop_assert_eq!(r.layers.len(), 5);
        // Whatever it is, a write never passes.
        if s.contains("DELETE") || s.contains("DROP") || s.contains("PRAGMA") {
            prop_assert!(!r.valid);
        }
    }

    /// The validator tokenizes once and parses from those tokens: the
    /// same statements, or the same error, as sqlparser's own
    /// `parse_sql`, and the tokens come back unchanged for the security
    /// layer.
    #[test]
    fn parsing_from_the_tokens_is_parse_sql(s in prop_oneof![soup(), "\\PC{0,80}".boxed()]) {
        use glrl_validator::layers::{syntax_parse, syntax_parse_tokens};
        let dialect = glrl_catalog::Dialect::Sqlite;
        let tokens = sqlparser::tokenizer::Tokenizer::new(dialect.parser_dialect().as_ref(), &s)
            .tokenize_with_location()
            .ok();
        let (ours, back) = syntax_parse_tokens(&s, tokens.clone(), dialect);
        let theirs = syntax_parse(&s, dialect);
        prop_assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        prop_assert_eq!(back, tokens);
    }

    #[test]
    fn valid_prefix_plus_garbage_never_panics(tail in soup()) {
        let s = format!("SELECT p.Project_Code FROM PAC_MNT_PROJECTS p WHERE {tail}");
        let _ = common::validator().validate(&s);
    }
}
