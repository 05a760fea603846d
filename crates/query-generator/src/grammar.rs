//! The grammar of constrained decoding is the target dialect's parser
//! itself (sqlparser, the one the validator's syntax layer runs), so what
//! the constraint lets through parses by construction. A prefix of SQL is
//! viable when the parser, reading it to its end, fails only for want of
//! more text ("…, found: EOF") or not at all; a failure at a token inside
//! the prefix means no continuation can repair it. The constraint asks
//! about prefixes that end after a whole word, literal or bracket (the
//! lexer says where), so an unfinished word never reads as a finished one.

use glrl_catalog::Dialect;
use sqlparser::parser::{Parser, ParserError};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// What the parser makes of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One whole statement: the SQL may end here.
    Complete,
    /// Not a statement yet, but more text may make it one.
    Viable,
    /// The parser failed inside the text: nothing appended can repair it.
    Dead,
}

impl Verdict {
    pub fn viable(self) -> bool {
        self != Verdict::Dead
    }
}

/// Continuations tried on a prefix the parser reads as broken: sqlparser
/// looks a few tokens ahead before it decides ("ORDER" is an error unless
/// "BY" follows), and when a keyword's special reading fails for want of
/// text it backtracks and reads the keyword as a name ("NOT EXISTS
/// (SELECT 1 FROM t" fails at EXISTS, "CASE WHEN a >" at WHEN). So a
/// prefix is viable when one of these, appended with the brackets and
/// CASEs it leaves open closed, makes it parse or want more.
const NEXT: &[&str] = &[
    "",
    "x",
    "1",
    "x THEN 1",
    "THEN 1",
    "WHEN 1 THEN 1",
    "BY x",
    "JOIN x",
    "(SELECT 1)",
    "SELECT 1",
    "IN (1)",
    "NULL",
    "AS (SELECT 1)",
    "ALL SELECT 1",
    "FIRST",
    "ROW",
    "PRECEDING",
    "PRECISION",
    "AND 1",
];

/// Parses `sql` (a prefix of a query) in `dialect`, adding the parser
/// runs it took to `parses` (1 for a text the parser takes, up to 39 for
/// one it rejects).
fn judge(dialect: Dialect, sql: &str, parses: &mut usize) -> Verdict {
    let d = dialect.parser_dialect();
    *parses += 1;
    let v = parse(d.as_ref(), sql);
    if v != Verdict::Dead {
        return v;
    }
    // An open CASE may be after its THEN or still before it.
    let ends = [" END", " THEN 1 END"];
    let closings: Vec<String> = match closers(sql) {
        (close, false) => vec![close.concat()],
        (close, true) => ends
            .iter()
            .map(|end| {
                close
                    .iter()
                    .map(|c| if *c == CASE { end } else { c })
                    .copied()
                    .collect()
            })
            .collect(),
    };
    let rescued = closings.iter().any(|close| {
        NEXT.iter().any(|next| {
            *parses += 1;
            parse(d.as_ref(), &format!("{sql} {next}{close}")) != Verdict::Dead
        })
    });
    if rescued {
        Verdict::Viable
    } else {
        Verdict::Dead
    }
}

/// The closer of an open CASE.
const CASE: &str = " END";

/// What closes the brackets and CASE expressions `sql` leaves open,
/// innermost first (string literals skipped), and whether a CASE is open.
fn closers(sql: &str) -> (Vec<&'static str>, bool) {
    let mut open: Vec<&'static str> = Vec::new();
    let mut literal = false;
    let mut word = String::new();
    let end_word = |word: &mut String, open: &mut Vec<&'static str>| {
        if word.eq_ignore_ascii_case("CASE") {
            open.push(CASE);
        } else if word.eq_ignore_ascii_case("END") && open.last() == Some(&CASE) {
            open.pop();
        }
        word.clear();
    };
    for c in sql.chars() {
        if literal {
            literal = c != '\'';
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        end_word(&mut word, &mut open);
        match c {
            '\'' => literal = true,
            '(' => open.push(")"),
            ')' if open.last() == Some(&")") => {
                open.pop();
            }
            _ => {}
        }
    }
    end_word(&mut word, &mut open);
    let case = open.contains(&CASE);
    open.reverse();
    (open, case)
}

/// The parser's verdict on the text as it stands.
fn parse(d: &dyn sqlparser::dialect::Dialect, sql: &str) -> Verdict {
    match Parser::parse_sql(d, sql) {
        Ok(statements) if statements.len() == 1 => Verdict::Complete,
        Ok(statements) if statements.is_empty() => Verdict::Viable,
        Ok(_) => Verdict::Dead,
        // sqlparser names the token it could not use; at the end of the
        // text that is the end-of-file token.
        Err(ParserError::ParserError(m)) if m.contains("found: EOF") => Verdict::Viable,
        // Too deep to judge: the validator will say; not the constraint's
        // call.
        Err(ParserError::RecursionLimitExceeded) => Verdict::Viable,
        Err(_) => Verdict::Dead,
    }
}

/// Bounds the memo: a generation asks about a few thousand prefixes.
const MEMO_LIMIT: usize = 1 << 14;

/// [`judge`] remembered per text: the candidates of one generation ask
/// about the same prefixes again and again (every token that starts with
/// a space asks about the text before it).
pub struct Judge {
    dialect: Dialect,
    memo: RefCell<HashMap<String, Verdict>>,
    /// Parser runs so far (memo hits cost none), for the constraint's
    /// budget per step.
    parses: Cell<usize>,
}

impl Judge {
    pub fn new(dialect: Dialect) -> Judge {
        Judge {
            dialect,
            memo: RefCell::new(HashMap::new()),
            parses: Cell::new(0),
        }
    }

    /// The parser runs all verdicts so far took.
    pub fn parses(&self) -> usize {
        self.parses.get()
    }

    pub fn judge(&self, sql: &str) -> Verdict {
        if let Some(v) = self.memo.borrow().get(sql) {
            return *v;
        }
        let mut parses = self.parses.get();
        let v = judge(self.dialect, sql, &mut parses);
        self.parses.set(parses);
        let mut memo = self.memo.borrow_mut();
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(sql.to_string(), v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_a_query_are_viable_and_broken_text_is_not() {
        let d = Dialect::Sqlite;
        for viable in [
            "",
            "SELECT",
            "SELECT a,",
            "SELECT COUNT(",
            "SELECT a FROM t WHERE",
            "SELECT a FROM t WHERE b IN (",
            "SELECT a FROM t ORDER",
            "SELECT a FROM t LEFT",
            "SELECT a FROM t GROUP BY a HAVING COUNT(*) >",
            "SELECT p.",
            "SELECT a FROM t WHERE b NOT",
            "SELECT a FROM t UNION",
            "SELECT a FROM t GROUP",
            "SELECT a FROM t p WHERE NOT EXISTS",
            "SELECT a FROM t p WHERE NOT EXISTS (",
            "WITH x AS (SELECT 1) SELECT",
        ] {
            assert_eq!(judge(d, viable, &mut 0), Verdict::Viable, "{viable}");
        }
        for complete in ["SELECT 1", "SELECT a FROM t WHERE b = 'x' ORDER BY a"] {
            assert_eq!(judge(d, complete, &mut 0), Verdict::Complete, "{complete}");
        }
        for dead in [
            "SELECT a FROM t t2 t3",
            "SELECT a FROM t WHERE b = 1 ORDER BY a WHERE",
            "SELECT a b c",
            "SELECT )",
        ] {
            assert_eq!(judge(d, dead, &mut 0), Verdict::Dead, "{dead}");
        }
    }

    #[test]
    fn the_memo_answers_as_the_parser_does() {
        let j = Judge::new(Dialect::Sqlite);
        for _ in 0..2 {
            assert_eq!(j.judge("SELECT a FROM"), Verdict::Viable);
            assert_eq!(j.judge("SELECT a FROM WHERE"), Verdict::Dead);
            // One run for the viable text; the broken one tried every
            // continuation too (no bracket or CASE open). Remembered
            // verdicts cost none.
            assert_eq!(j.parses(), 1 + 1 + NEXT.len());
        }
    }
}
