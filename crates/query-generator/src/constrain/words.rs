//! The words SQL is made of, as the constraint sorts them: keywords and
//! functions, the clause keywords that cannot stand in some places, and
//! the limits on names and numbers.

/// Keywords and functions of the SQL the validator accepts (SQLite and
/// PostgreSQL), upper case.
#[rustfmt::skip]
pub(super) const KEYWORDS: &[&str] = &[
    "ALL", "AND", "ANY", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS", "CURRENT",
    "CURRENT_DATE", "CURRENT_TIMESTAMP", "DESC", "DISTINCT", "ELSE", "END", "EXCEPT", "EXISTS",
    "FALSE", "FILTER", "FIRST", "FOLLOWING", "FROM", "FULL", "GROUP", "HAVING", "ILIKE", "IN",
    "INNER", "INTERSECT", "INTERVAL", "IS", "JOIN", "LAST", "LEFT", "LIKE", "LIMIT", "NOT", "NULL",
    "NULLS", "OFFSET", "ON", "OR", "ORDER", "OUTER", "OVER", "PARTITION", "PRECEDING", "RANGE",
    "RECURSIVE", "RIGHT", "ROW", "ROWS", "SELECT", "THEN", "TRUE", "UNBOUNDED", "UNION", "USING",
    "WHEN", "WHERE", "WINDOW", "WITH", "ABS", "AVG", "COALESCE", "COUNT", "DATE", "DATE_PART",
    "DATE_TRUNC", "DAY", "DENSE_RANK", "EXTRACT", "GREATEST", "GROUP_CONCAT", "IFNULL",
    "JULIANDAY", "LAG", "LEAD", "LEAST", "LENGTH", "LOWER", "MAX", "MIN", "MONTH", "NOW", "NTILE",
    "NULLIF", "PERCENT_RANK", "RANK", "REPLACE", "ROUND", "ROW_NUMBER", "STRFTIME", "STRING_AGG",
    "SUBSTR", "SUBSTRING", "SUM", "TOTAL", "TRIM", "UPPER", "YEAR", "BIGINT", "DECIMAL", "DOUBLE",
    "FLOAT", "INT", "INTEGER", "NUMERIC", "PRECISION", "REAL", "TEXT", "VARCHAR",
];

/// Words a query cannot end on.
#[rustfmt::skip]
pub(super) const CONTINUES: &[&str] = &[
    "AND", "AS", "BETWEEN", "BY", "CASE", "DISTINCT", "ELSE", "EXCEPT", "FROM", "GROUP", "HAVING",
    "IN", "INNER", "INTERSECT", "IS", "JOIN", "LEFT", "LIKE", "LIMIT", "NOT", "OFFSET", "ON", "OR",
    "ORDER", "OUTER", "OVER", "PARTITION", "RIGHT", "SELECT", "THEN", "UNION", "WHEN", "WHERE",
    "WITH", "CROSS", "FULL", "USING", "ALL",
];

/// Words that need an operand next: a clause keyword cannot follow one
/// directly ("WHERE HAVING", "SELECT FROM", "AND ORDER", "ELSE END",
/// "SELECT DISTINCT DESC"), a mistake the small model makes and the
/// parser rejects or reads as a column.
#[rustfmt::skip]
pub(super) const OPENERS: &[&str] = &[
    "SELECT", "WHERE", "AND", "OR", "NOT", "HAVING", "ON", "BY", "BETWEEN", "WHEN", "THEN", "ELSE",
    "LIKE", "IN", "DISTINCT",
];

/// Clause keywords, none of which can be an opener's operand.
#[rustfmt::skip]
pub(super) const CLAUSES: &[&str] = &[
    "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "AND", "OR", "ON", "JOIN",
    "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "OUTER", "UNION", "INTERSECT", "EXCEPT", "THEN",
    "ELSE", "END", "WHEN", "AS", "ASC", "DESC", "BY", "USING",
];

/// [`CLAUSES`], the words that stand after an operand and cannot begin
/// one (`WHERE NOT IN (…)`, `WHERE NOT FILTER`, which the parser reads as
/// a call of a function IN and a column FILTER; NOT written after an
/// operand begins `x NOT IN`, `NOT LIKE`, `NOT BETWEEN`), and the
/// keywords that are never an operand (`MAX(RECURSIVE)`, `WHERE DESC`,
/// read as columns the schema lacks): none stands where an operand is
/// due, after an opener, `,` or `(`.
#[rustfmt::skip]
pub(super) const NO_OPERAND: &[&str] = &[
    "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "AND", "OR", "ON", "JOIN",
    "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "OUTER", "UNION", "INTERSECT", "EXCEPT", "THEN",
    "ELSE", "END", "WHEN", "AS", "ASC", "DESC", "BY", "USING", "IN", "LIKE", "ILIKE", "BETWEEN",
    "IS", "FILTER", "RECURSIVE", "NULLS", "FIRST", "LAST", "OVER", "WINDOW", "PARTITION",
];

/// Clause keywords that end a FROM clause: once one is written, the
/// tables the select reads are known.
#[rustfmt::skip]
pub(super) const CLOSERS: &[&str] = &[
    "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT",
    "WINDOW",
];

/// Words that begin another join: none may come before the last JOIN's
/// ON or USING.
pub(super) const JOINERS: &[&str] = &["JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL"];

/// Type names: a column's type only after `AS` in a CAST (`DOUBLE
/// PRECISION` after DOUBLE); anywhere else the parser reads one as a
/// column the schema lacks (`ORDER BY VARCHAR`, `WHERE BIGINT = 2021`).
#[rustfmt::skip]
pub(super) const TYPES: &[&str] = &[
    "BIGINT", "DECIMAL", "DOUBLE", "FLOAT", "INT", "INTEGER", "NUMERIC", "PRECISION", "REAL",
    "TEXT", "VARCHAR",
];

/// A window frame's words: inside an OVER (…) only; anywhere else the
/// parser reads one as a column (`WHERE NOT FOLLOWING`).
#[rustfmt::skip]
pub(super) const FRAME: &[&str] = &[
    "FOLLOWING", "PRECEDING", "UNBOUNDED", "CURRENT", "ROW", "ROWS", "RANGE",
];

/// Date parts: an operand only as EXTRACT's first (`EXTRACT(MONTH FROM
/// d)`) or after an INTERVAL's literal; where an operand is due anywhere
/// else the parser reads one as a column (`MIN(MONTH)`).
pub(super) const DATE_PARTS: &[&str] = &["DAY", "MONTH", "YEAR"];

/// A clause keyword written in capitals and glued to a name being
/// declared, which the parser reads as one name: `WHEREStatus` or
/// `WHEREcontract_value` after a table (read as its alias, so the WHERE is
/// lost), `sJOIN` or `rON` (the alias and the keyword without their
/// space), or two clause keywords in capitals without theirs
/// (`GROUPBY`). The small model writes these; nothing it means is such a
/// name. A name in capitals alone (`ORDERS`) is not taken for one.
pub(super) fn glued_clause(word: &str) -> Option<&'static str> {
    let has_lower = word.chars().any(|c| c.is_lowercase());
    if let Some(k) = CLAUSES.iter().copied().find(|k| {
        !has_lower
            && word
                .strip_prefix(k)
                .is_some_and(|rest| CLAUSES.contains(&rest))
    }) {
        return Some(k);
    }
    // No name begins with these two (`WHEREB` after a table was `WHERE
    // B…` without its space).
    if let Some(k) = ["WHERE", "HAVING"]
        .into_iter()
        .find(|k| !has_lower && word.len() > k.len() && word.starts_with(k))
    {
        return Some(k);
    }
    CLAUSES.iter().copied().find(|k| {
        let glued_before = has_lower && word.len() > k.len() && word.starts_with(k);
        let glued_after = word
            .strip_suffix(k)
            .and_then(|rest| rest.chars().last())
            .is_some_and(|c| c.is_lowercase());
        glued_before || glued_after
    })
}

/// A keyword may be written this way: in capitals, or a function's name
/// in small letters (`julianday`, `strftime`); `whole` when the word has
/// ended, else it is the start of one. The small model writes keywords
/// in other cases (`Date`, `Havin`, `riGhT`) only as names the schema
/// lacks (`WHERE Month = 'Jan'`), which the parser reads as identifiers.
pub(super) fn keyword_case(raw: &str, whole: bool) -> bool {
    if !raw.chars().any(|c| c.is_lowercase()) {
        return true;
    }
    if raw.chars().any(|c| c.is_uppercase()) {
        return false;
    }
    let w = raw.to_uppercase();
    FUNCTIONS
        .iter()
        .any(|f| if whole { *f == w } else { f.starts_with(&w) })
}

/// Names of up to this many characters are accepted as qualifiers before
/// they are declared (`SELECT p.Name FROM PAC_MNT_PROJECTS p`).
pub(super) const SHORT_ALIAS: usize = 3;

/// Functions: written as a name, one of these is a call and needs its
/// bracket (a bare `Rank` or `Total` is a column the schema lacks).
#[rustfmt::skip]
pub(super) const FUNCTIONS: &[&str] = &[
    "ABS", "AVG", "COALESCE", "COUNT", "DATE_PART", "DATE_TRUNC", "DENSE_RANK", "GREATEST",
    "GROUP_CONCAT", "IFNULL", "JULIANDAY", "LAG", "LEAD", "LEAST", "LENGTH", "LOWER", "MAX", "MIN",
    "NOW", "NTILE", "NULLIF", "PERCENT_RANK", "RANK", "ROUND", "ROW_NUMBER", "STRFTIME",
    "STRING_AGG", "SUBSTR", "SUBSTRING", "SUM", "TOTAL", "TRIM", "UPPER",
];

/// Characters of the longest name the SQL may declare (a model in a loop
/// writes one until the token limit).
pub(super) const MAX_NAME: usize = 40;

/// Brackets open at once, at most (the data's SQL nests 3 deep).
pub(super) const MAX_DEPTH: i32 = 6;

/// Characters of the longest number the SQL may write.
pub(super) const MAX_NUMBER: usize = 15;

/// A word being written that more known words than this start with is
/// left for the parser to judge once it ends.
pub(super) const MAX_COMPLETIONS: usize = 8;

/// Characters of the longest literal the SQL may write where no column's
/// values decide it (the data's longest is 23: a model that opens a
/// quote in the wrong place writes on inside it to the token limit).
pub(super) const MAX_LITERAL: usize = 100;

/// `AND`s and `OR`s in one query, at most: the data's SQL has up to 3,
/// and a model in a loop chains `OR x = 1 OR x = 2 …` to the token
/// limit.
pub(super) const MAX_CONNECTIVES: usize = 8;

/// The most arguments each function takes, where that is fixed (the
/// others, `COALESCE`, `MAX`, `STRFTIME` and the like, take any number):
/// commas past it are a loop (`CAST(x, 1, 1, 1, …`), not SQL. `CAST`
/// and `EXTRACT` take one expression and no comma.
#[rustfmt::skip]
const MAX_ARGS: &[(&str, usize)] = &[
    ("ABS", 1), ("AVG", 1), ("CAST", 1), ("COUNT", 1), ("DATE_PART", 2), ("DATE_TRUNC", 3),
    ("DENSE_RANK", 0), ("EXTRACT", 1), ("GROUP_CONCAT", 2), ("IFNULL", 2), ("LAG", 3),
    ("LEAD", 3), ("LENGTH", 1), ("LOWER", 1), ("NOW", 0), ("NTILE", 1), ("NULLIF", 2),
    ("PERCENT_RANK", 0), ("RANK", 0), ("REPLACE", 3), ("ROUND", 2), ("ROW_NUMBER", 0),
    ("STRING_AGG", 2), ("SUBSTR", 3), ("SUBSTRING", 3), ("SUM", 1), ("TOTAL", 1), ("TRIM", 2),
    ("UPPER", 1),
];

/// The most arguments the function `w` (upper case) takes, where fixed.
pub(super) fn max_args(w: &str) -> Option<(&'static str, usize)> {
    MAX_ARGS.iter().find(|(f, _)| *f == w).copied()
}

/// White-space characters in a row, at most (the data's SQL has single
/// spaces).
pub(super) const MAX_SPACES: usize = 8;

/// Functions that exist only as windows: `OVER` follows their bracket.
pub(super) const WINDOW_ONLY: &[&str] = &[
    "DENSE_RANK",
    "LAG",
    "LEAD",
    "NTILE",
    "PERCENT_RANK",
    "RANK",
    "ROW_NUMBER",
];

/// Aggregate functions: a window function cannot stand inside one's
/// brackets (`MAX(RANK() OVER (…))` is a misuse SQLite refuses), nor
/// inside another window's OVER (`PARTITION BY rank() OVER …`).
pub(super) const AGGREGATES: &[&str] = &[
    "AVG",
    "COUNT",
    "GROUP_CONCAT",
    "MAX",
    "MIN",
    "STRING_AGG",
    "SUM",
    "TOTAL",
];

/// Set operators: what joins two SELECTs.
pub(super) const SET_OPERATORS: &[&str] = &["UNION", "INTERSECT", "EXCEPT"];

/// Keywords no bracket follows: sqlparser reads `RECURSIVE(…)` or
/// `YEAR(…)` as a call of a function the databases do not have.
#[rustfmt::skip]
pub(super) const NO_BRACKET: &[&str] = &[
    "ASC", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIMESTAMP", "DAY", "DESC", "END", "FALSE",
    "FIRST", "FOLLOWING", "FULL", "GROUP", "INNER", "LAST", "LEFT", "MONTH", "NULL", "NULLS",
    "ORDER", "OUTER", "PARTITION", "PRECEDING", "PRECISION", "RANGE", "RECURSIVE", "RIGHT", "ROWS",
    "TRUE", "UNBOUNDED", "WINDOW", "WITH", "YEAR",
];
