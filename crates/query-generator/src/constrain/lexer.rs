//! The lexical state of the SQL a candidate has written: which words
//! may come next, which names are declared and read, and whether the
//! text may end here. Cloned to try each token. This file holds the
//! state and feeds it characters; a word as it is written and ends is
//! `word.rs`, which names are in scope where `scope.rs`, the bodies of
//! CTEs and derived tables `bodies.rs`.

use super::words::*;
use super::{cte, SqlVocabulary};
use crate::grammar::Judge;
use crate::plan::Plan;
use std::collections::BTreeSet;
use std::sync::Arc;

mod bodies;
mod scope;
mod word;

use bodies::CteOpen;

/// The lexical state after some SQL text; cloned to try each token.
#[derive(Clone)]
pub(super) struct Lexer<'v> {
    voc: &'v SqlVocabulary,
    /// The SQL fed so far.
    pub(super) text: String,
    /// The word being written (identifier characters so far).
    word: String,
    /// The word follows a `.` (a qualified column).
    after_dot: bool,
    /// Inside a string literal: its content so far.
    literal: Option<String>,
    /// The values the open literal must be one of.
    literal_values: Option<&'v [String]>,
    /// Values a literal written next would be compared against.
    pending: Option<&'v [String]>,
    /// Comparison characters since the last word or literal: a range
    /// (`<`, `>=`, …) compares with values that need not exist, so only
    /// `=`, `<>`, `!=` and `IN` tie a literal to the vocabulary.
    op: String,
    /// The next word may be any name (after `AS`, `WITH`, a table name).
    free_next: bool,
    /// Names the query declared (upper case).
    declared: Vec<String>,
    depth: i32,
    /// Inside `WITH …` before the main SELECT: a `,` at depth 0 starts
    /// another CTE name.
    in_with: bool,
    last: char,
    /// The last character that is not white space, and the last word.
    sig: char,
    last_word: String,
    /// The word being written follows `last_word` with only white space
    /// between.
    follows: bool,
    /// The last character that is not white space before the word being
    /// written.
    before: char,
    /// The last word is NOT applied to what follows (after an opener,
    /// a bracket or an operator), not the NOT of `x NOT IN`.
    not_prefix: bool,
    /// Schema tables the query has named so far: once a FROM has been
    /// written, an unqualified column outside a select list must belong
    /// to one of them.
    scope: Vec<String>,
    /// Writing a select list (after SELECT, before its FROM); one entry
    /// per open bracket, so a subquery's list ends with its bracket.
    select_list: Vec<bool>,
    /// Columns are not scoped: the query reads a derived table, or a CTE
    /// whose columns could not be read off its body.
    unscoped: bool,
    /// Aliases declared for schema tables (upper case): `alias.column`
    /// written after the alias must be a column of its table. In a select
    /// list written before its FROM the alias is not known yet, and the
    /// column is checked against the whole schema.
    aliases: Vec<(String, String)>,
    /// Schema tables the SQL itself gave an alias (upper case): such a
    /// table is named through its alias from then on, never as a
    /// qualifier (SQLite and PostgreSQL refuse `FROM T r … T.x`).
    aliased: Vec<String>,
    /// The table the next declared name is an alias of (just after the
    /// table's name, or its `AS`).
    alias_for: Option<String>,
    /// The tables the reasoning planned (empty: no plan): the only tables
    /// the SQL may read, and in a select list the only tables its
    /// unqualified columns may come from.
    planned: Vec<String>,
    /// A select list may name a column a derived table declares later:
    /// there is no plan, or it plans a subquery.
    derived_planned: bool,
    /// The only names a select list may qualify with before its FROM
    /// declares them, where the plan decides them
    /// ([`Plan::early_qualifiers`]); `None`: any short name.
    early_qualifiers: Option<Vec<String>>,
    /// Names a select list used before its FROM declared them (short
    /// aliases, a derived table's columns): the SQL cannot end until each
    /// is declared.
    undeclared: Vec<String>,
    /// The short names among them a select list used as values (not as
    /// qualifiers), with their SELECT's depth: a derived table in the
    /// FROM declares such a name before the FROM clause ends, or nothing
    /// will (`SELECT MAX(Pay) FROM …` wrote on to the token limit,
    /// unable to end).
    bare_early: Vec<(i32, String)>,
    /// Qualifiers a select list that can name nothing outside its own
    /// SELECT (the main query's, a derived table's body's, a CTE body's)
    /// used before its FROM declared them, with that SELECT's depth: its
    /// FROM clause must declare each (as an alias, or by reading the
    /// table), or the query can never end (`SELECT MAX(Pay.Hourly_Rate)
    /// FROM PAC_MNT_RESOURCES GROUP BY …` wrote on to the token limit;
    /// `FROM (SELECT s.Name … ) s` qualified the body's columns with
    /// the derived table's own alias). A scalar or `IN` subquery's may
    /// name the query around it.
    qualified_before: Vec<(i32, String)>,
    /// The last word was a function's name: its `(` comes next.
    call: bool,
    /// `qualifier.column` pairs a select list wrote before the qualifier
    /// was declared: checked against the table it is declared for.
    qualified_early: Vec<(String, String)>,
    /// The bracket depth of each open SELECT, innermost last.
    selects: Vec<i32>,
    /// The depths of the open SELECTs now in their WHERE, GROUP BY or
    /// HAVING: no window there (`WHERE RANK() OVER (…)` is a misuse
    /// both databases refuse).
    filtering_at: Vec<i32>,
    /// Unqualified schema columns a select list wrote before its FROM,
    /// with the depth of their SELECT: once the FROM clause ends, each
    /// must belong to a table the query reads.
    early: Vec<(i32, String)>,
    /// The last word was a column after a qualifier (`c.Name`).
    dotted: bool,
    /// The last word was the table a FROM or JOIN reads.
    read_table: bool,
    /// A JOIN's table was read and its ON or USING has not come yet.
    join_pending: bool,
    /// CROSS or NATURAL was written: the next JOIN needs no ON.
    cross: bool,
    /// Each schema table a FROM or JOIN read, with its SELECT's depth
    /// (one entry per read: a self-join reads a table twice).
    from_tables: Vec<(i32, String)>,
    /// The CTEs the WITH defined (upper case), with the columns each
    /// gives its readers; `None` where they are unknown (reading such a
    /// CTE unscopes the columns, as a derived table does).
    ctes: Vec<(String, Option<Arc<BTreeSet<String>>>)>,
    /// The next name declared is a CTE's (after WITH, or a `,` between
    /// CTEs).
    cte_next: bool,
    /// The CTE being defined: its name, and where its body starts once
    /// its `AS (` is written (`None` before; a column list `x(a, b)`
    /// leaves its columns unknown).
    cte_open: Option<CteOpen>,
    /// Derived tables being written (`FROM (SELECT …`): the depth inside
    /// each one's bracket and where its body starts.
    derived_open: Vec<(i32, usize)>,
    /// A derived table has just closed: the columns its select list
    /// names, which its alias (the next name declared) gives the query.
    /// Without an alias its columns are unknown.
    derived_closed: Option<Arc<BTreeSet<String>>>,
    /// The names a select list gave its items (`AS budget`), with their
    /// SELECT's depth: no item of the same list may read one (`MAX(x) -
    /// budget` is an unknown column to SQLite and PostgreSQL).
    list_aliases: Vec<(i32, String)>,
    /// The depths of the SELECTs whose select-list item being written
    /// holds a window (its OVER came).
    windowed: Vec<i32>,
    /// The select-list names (`AS rn`) of items holding a window, with
    /// their SELECT's depth: such a name is a window, so it stands in no
    /// WHERE, GROUP BY or HAVING of that SELECT (`WHERE rn < 3` is a
    /// misuse SQLite cannot plan and an unknown column to PostgreSQL).
    window_aliases: Vec<(i32, String)>,
    /// Open calls of functions that take a fixed number of arguments.
    calls: Vec<Call>,
    /// `AND`s and `OR`s written (at most [`MAX_CONNECTIVES`]).
    connectives: usize,
    /// White-space characters since the last other one, outside
    /// literals (at most [`MAX_SPACES`]).
    spaces: usize,
    /// A window function's bracket just closed: its OVER comes next
    /// (`ORDER BY dense_rank()` is a misuse SQLite refuses to plan).
    over_due: Option<&'static str>,
    /// For each open bracket, the function or `OVER` it belongs to: no
    /// window function inside an aggregate's or a window's, no bare
    /// SELECT as a function's argument.
    callees: Vec<Option<&'static str>>,
}

/// An open call of a function that takes a fixed number of arguments.
#[derive(Clone)]
struct Call {
    /// The depth inside its bracket.
    depth: i32,
    name: &'static str,
    /// The most arguments it takes.
    max: usize,
    /// Commas written at its depth so far.
    commas: usize,
}

/// A clause keyword, or a word a query cannot end on: no alias.
fn reserved(w: &str) -> bool {
    [CLAUSES, CLOSERS, CONTINUES]
        .iter()
        .any(|set| set.contains(&w))
}

pub(super) type Step = Result<(), String>;

impl<'v> Lexer<'v> {
    pub(super) fn new(voc: &'v SqlVocabulary) -> Lexer<'v> {
        Lexer {
            voc,
            text: String::new(),
            word: String::new(),
            after_dot: false,
            literal: None,
            literal_values: None,
            pending: None,
            op: String::new(),
            free_next: false,
            declared: Vec::new(),
            depth: 0,
            in_with: false,
            last: ' ',
            sig: ' ',
            last_word: String::new(),
            follows: false,
            before: ' ',
            not_prefix: false,
            scope: Vec::new(),
            select_list: vec![false],
            unscoped: false,
            aliases: Vec::new(),
            aliased: Vec::new(),
            alias_for: None,
            planned: Vec::new(),
            derived_planned: true,
            early_qualifiers: None,
            undeclared: Vec::new(),
            bare_early: Vec::new(),
            qualified_before: Vec::new(),
            call: false,
            qualified_early: Vec::new(),
            selects: Vec::new(),
            filtering_at: Vec::new(),
            early: Vec::new(),
            dotted: false,
            read_table: false,
            join_pending: false,
            cross: false,
            from_tables: Vec::new(),
            ctes: Vec::new(),
            cte_next: false,
            cte_open: None,
            derived_open: Vec::new(),
            derived_closed: None,
            list_aliases: Vec::new(),
            windowed: Vec::new(),
            window_aliases: Vec::new(),
            calls: Vec::new(),
            callees: Vec::new(),
            connectives: 0,
            spaces: 0,
            over_due: None,
        }
    }

    /// Holds the SQL to the plan its reasoning states: the tables it
    /// names, and its aliases from the first character on.
    pub(super) fn with_plan(mut self, reasoning: &str) -> Lexer<'v> {
        let voc = self.voc;
        let taken = |w: &str| voc.words.contains(w);
        let plan = Plan::from_reasoning(reasoning, &voc.tables, &taken);
        self.early_qualifiers = plan.early_qualifiers();
        self.planned = plan.tables;
        self.derived_planned = self.planned.is_empty() || plan.subquery;
        self.aliases = plan.aliases;
        self
    }

    /// A name a select list uses before its FROM declares it may start
    /// with `prefix` (upper case).
    fn may_qualify_early(&self, prefix: &str) -> bool {
        self.early_qualifiers
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n.starts_with(prefix)))
    }

    /// The aggregate or window whose brackets, inside the innermost
    /// SELECT, hold what is being written.
    fn inside_aggregate_or_window(&self) -> Option<&'static str> {
        let from = usize::try_from(self.select_depth()).unwrap_or(0);
        self.callees
            .get(from..)?
            .iter()
            .rev()
            .find_map(|c| c.filter(|f| *f == "OVER" || AGGREGATES.contains(f)))
    }

    /// The function whose argument begins here (after its `(` or a `,`
    /// of its own brackets).
    fn argument_of(&self) -> Option<&'static str> {
        if !self.after_punct() {
            return None;
        }
        self.callees
            .last()
            .copied()
            .flatten()
            .filter(|f| *f != "OVER")
    }

    /// The word being written comes right after a `,` or `(`.
    fn after_punct(&self) -> bool {
        !self.follows && matches!(self.before, ',' | '(')
    }

    /// The word being written is the first inside `word (` (`OVER (`,
    /// `EXTRACT(`).
    fn first_in(&self, word: &str) -> bool {
        !self.follows && self.before == '(' && self.last_word == word
    }

    /// The innermost SELECT is in its WHERE, GROUP BY or HAVING.
    fn filtering(&self) -> bool {
        self.filtering_at.contains(&self.select_depth())
    }

    /// The bracket depth of the innermost SELECT.
    fn select_depth(&self) -> i32 {
        self.selects.last().copied().unwrap_or(0)
    }

    fn is_number(w: &str) -> bool {
        w.starts_with(|c: char| c.is_ascii_digit())
    }

    pub(super) fn feed(&mut self, c: char) -> Step {
        self.text.push(c);
        if !c.is_ascii_whitespace() {
            self.spaces = 0;
        }
        if let Some(lit) = &mut self.literal {
            if c == '\'' {
                if let Some(vals) = self.literal_values {
                    if !vals.iter().any(|v| v == lit) {
                        return Err(format!("'{lit}' is not a value of the column"));
                    }
                }
                self.literal = None;
                self.last = c;
                self.sig = c;
                return Ok(());
            }
            lit.push(c);
            match self.literal_values {
                Some(vals) if !vals.iter().any(|v| v.starts_with(lit.as_str())) => {
                    return Err(format!("no value of the column starts with '{lit}"));
                }
                Some(_) => {}
                None if c == '\n' || c == '\r' => {
                    return Err("a literal stays on one line".into());
                }
                None if lit.chars().count() > MAX_LITERAL => {
                    return Err(format!("a literal of over {MAX_LITERAL} characters"));
                }
                None => {}
            }
            return Ok(());
        }
        if let Some(call) = self
            .calls
            .last()
            .filter(|call| c != ')' && call.depth == self.depth && call.max == 0)
        {
            return Err(format!("{} takes no argument", call.name));
        }
        let wordish = c.is_ascii_alphanumeric() || c == '_';
        if wordish && self.word.is_empty() {
            self.call_bracket(c)?;
        }
        // A decimal point inside a number.
        let number_dot = c == '.' && Lexer::is_number(&self.word) && !self.word.contains('.');
        if wordish || number_dot {
            if let Some(f) = self.over_due {
                let next = format!("{}{c}", self.word);
                if !"OVER".starts_with(next.as_str()) {
                    return Err(format!("{f} needs its OVER"));
                }
            }
            if self.word.is_empty() && self.last == '\'' {
                return Err("a word cannot follow a literal directly".into());
            }
            if self.word.is_empty() {
                self.follows = self.after_word();
                self.before = self.sig;
            }
            self.word.push(c);
            self.last = c;
            self.sig = c;
            return self.viable();
        }
        if !c.is_ascii() {
            return Err(format!("{c:?} outside a literal"));
        }
        let ended_word = !self.word.is_empty();
        if ended_word {
            self.complete(Some(c))?;
        }
        if let Some(f) = self.over_due.filter(|_| !c.is_ascii_whitespace()) {
            return Err(format!("{f} needs its OVER"));
        }
        self.call_bracket(c)?;
        if c.is_ascii_whitespace() {
            self.spaces += 1;
            if self.spaces > MAX_SPACES {
                // A model held back from what it wants writes white space
                // instead, to the token limit (`dense_rank(\n \t\t\t…`).
                return Err(format!("over {MAX_SPACES} white-space characters in a row"));
            }
            self.last = c;
            return Ok(());
        }
        // `FROM (SELECT … FROM T) x`: x is not an alias of T.
        self.alias_for = None;
        match c {
            '\'' => {
                self.literal = Some(String::new());
                let range = self.op.contains(['<', '>']) && self.op != "<>";
                self.literal_values = if range { None } else { self.pending };
                self.op.clear();
            }
            '.' => {
                if !ended_word {
                    return Err("'.' must follow a name".into());
                }
                if self.dotted {
                    return Err(format!("the column {} has no members", self.last_word));
                }
                if self.read_table {
                    return Err(format!("{} is read as a table here", self.last_word));
                }
                self.qualifier()?;
                self.after_dot = true;
            }
            '(' => {
                if self.depth == 0 && self.in_with {
                    self.open_cte_bracket();
                } else if self.after_word() && NO_BRACKET.contains(&self.last_word.as_str()) {
                    return Err(format!("no bracket follows {}", self.last_word));
                } else if self.after_name() {
                    // sqlparser reads any name before a bracket as a call
                    // (`BEN(-1)`); the databases know only their functions.
                    return Err(format!("{} is no function", self.last_word));
                }
                // A function's own bracket: the word before it, with
                // only white space between.
                let callee = self
                    .after_word()
                    .then(|| max_args(&self.last_word))
                    .flatten();
                let owner = self.after_word().then(|| {
                    FUNCTIONS
                        .iter()
                        .chain(&["OVER"])
                        .find(|f| **f == self.last_word)
                        .copied()
                });
                self.callees.push(owner.flatten());
                self.depth += 1;
                if let Some((name, max)) = callee {
                    self.calls.push(Call {
                        depth: self.depth,
                        name,
                        max,
                        commas: 0,
                    });
                }
                if self.depth > MAX_DEPTH {
                    // A model in a loop nests calls to the token limit
                    // (`sum(sum(sum(…`).
                    return Err(format!("brackets nested over {MAX_DEPTH} deep"));
                }
                // FROM (SELECT …) t: a derived table, whose columns its
                // select list names (read when its bracket closes).
                if self.word_before_bracket_is_from() {
                    self.derived_open.push((self.depth, self.text.len()));
                }
                // A function call inside a select list is still the list;
                // a subquery's SELECT sets its own entry.
                let inherit = self.select_list.last().copied().unwrap_or(false);
                self.select_list.push(inherit);
            }
            ')' => {
                let inner = self.depth;
                if let Some(call) = self.calls.pop_if(|call| call.depth == inner) {
                    self.over_due = WINDOW_ONLY.contains(&call.name).then_some(call.name);
                }
                self.callees.pop();
                self.depth -= 1;
                if self.depth < 0 {
                    return Err("unbalanced ')'".into());
                }
                self.select_list.pop();
                if self.join_pending {
                    return Err("')' comes before the last JOIN's ON".into());
                }
                let depth = self.depth;
                self.selects.retain(|d| *d <= depth);
                self.filtering_at.retain(|d| *d <= depth);
                self.close_from(depth + 1)?;
                self.from_tables.retain(|(d, _)| *d <= depth);
                if depth == 0 && self.in_with {
                    self.close_cte_bracket();
                }
                self.close_derived_bracket(depth + 1);
            }
            '-' if self.last == '-' => return Err("no comments".into()),
            '*' if self.last == '/' => return Err("no comments".into()),
            '=' | '<' | '>' | '!' => self.op.push(c),
            ',' => {
                let depth = self.depth;
                if depth == self.select_depth() {
                    self.windowed.retain(|d| *d != depth);
                }
                if let Some(call) = self.calls.last_mut().filter(|call| call.depth == depth) {
                    call.commas += 1;
                    if call.commas >= call.max {
                        let plural = if call.max == 1 { "" } else { "s" };
                        return Err(format!(
                            "{} takes at most {} argument{plural}",
                            call.name, call.max
                        ));
                    }
                }
            }
            '*' | '+' | '-' | '/' | '%' | '|' | ':' => {}
            _ => return Err(format!("{c:?} is not SQL punctuation here")),
        }
        if c != '.' {
            // After `)` a derived table's alias; after `,` at the top of a
            // WITH, the next CTE's name.
            self.cte_next = self.in_with && c == ',' && self.depth == 0;
            self.free_next = c == ')' || self.cte_next;
            if !matches!(c, '=' | '<' | '>' | '!' | '(' | ',' | '\'') {
                self.pending = None;
            }
        }
        self.last = c;
        self.sig = c;
        Ok(())
    }

    /// The text up to the end of its last whole unit: without the word,
    /// number or literal being written, or an operator the parser cannot
    /// read alone (`!` before `=`, `:` before `:`); what the parser can
    /// judge. `<`, `>`, `=` and `|` are operators alone too, so a place
    /// where no operator can stand (`… FROM t x >`) is seen at once.
    pub(super) fn settled(&self) -> &str {
        let open = match &self.literal {
            Some(lit) => lit.len() + 1,
            None => self.word.len(),
        };
        self.text[..self.text.len() - open].trim_end_matches(['!', ':'])
    }

    /// The texts the word being written may become when few known words
    /// start with it: the text with each of them in its place (the word
    /// itself, finished, when it is one; GROUP → GROUP_CONCAT), and the
    /// text as it stands where the word may end as a name of its own: one
    /// being declared (an alias), a short one (declared later), or any
    /// when no known word starts with it; a name reads the same to the
    /// parser however it ends (`MAX(f(x) total` fails however `total`
    /// goes on). The parser judges them before a token that ends the
    /// word, so a word that leaves no way on is never begun (after it
    /// every token would be rejected: `LIMIT 10 AS`). Empty when nothing
    /// is to be judged yet (a number, too many completions).
    fn finished_words(&self) -> Vec<String> {
        let w = self.word.to_uppercase();
        if w.is_empty() || Lexer::is_number(&w) {
            return Vec::new();
        }
        let known: Vec<&String> = self
            .voc
            .words
            .range(w.clone()..)
            .take_while(|x| x.starts_with(&w))
            .chain(self.declared.iter().filter(|d| d.starts_with(&w)))
            .take(MAX_COMPLETIONS + 1)
            .collect();
        if known.len() > MAX_COMPLETIONS {
            return Vec::new();
        }
        let as_is = self.free_next || known.is_empty() || w.chars().count() <= SHORT_ALIAS;
        let stem = &self.text[..self.text.len() - self.word.len()];
        as_is
            .then(|| self.text.clone())
            .into_iter()
            .chain(known.iter().map(|k| format!("{stem}{k}")))
            .collect()
    }

    /// The parser accepts the text so far as the start of a statement.
    pub(super) fn grammatical(&self, judge: &Judge) -> bool {
        // An open literal, closed where it stands: the parser must take a
        // literal here (`FROM PROJCNTRTS x 's where …` was written on
        // inside its quote to the token limit).
        let closed;
        let text = match &self.literal {
            Some(_) => {
                closed = format!("{}'", self.text);
                closed.as_str()
            }
            None => self.settled(),
        };
        if !judge.judge(text).viable() {
            return false;
        }
        let finished = self.finished_words();
        finished.is_empty() || finished.iter().any(|t| judge.judge(t).viable())
    }

    /// Inside a select list written before its FROM, at any depth (a
    /// subquery in one included): names used here may be declared later.
    fn in_select_list(&self) -> bool {
        self.select_list.iter().any(|&open| open)
    }

    /// After a function's name only white space or its `(` may come.
    fn call_bracket(&mut self, c: char) -> Step {
        if !self.call || c.is_ascii_whitespace() {
            return Ok(());
        }
        if c != '(' {
            return Err(format!("{} needs its '('", self.last_word));
        }
        self.call = false;
        Ok(())
    }

    /// The last thing written, white space aside, ends a word (a name,
    /// a keyword or a number).
    fn after_word(&self) -> bool {
        self.sig.is_ascii_alphanumeric() || self.sig == '_'
    }

    /// The last thing written is a name (not a keyword, function or
    /// number): a `(` cannot follow it.
    fn after_name(&self) -> bool {
        self.after_word()
            && !Lexer::is_number(&self.last_word)
            && !KEYWORDS.contains(&self.last_word.as_str())
    }

    /// The `(` being written follows the word FROM or JOIN directly.
    fn word_before_bracket_is_from(&self) -> bool {
        matches!(self.last_word.as_str(), "FROM" | "JOIN") && self.after_word()
    }

    /// The SQL may end here: something was written, no literal or
    /// bracket is open, no select list waits for its FROM, and it does
    /// not stop on an operator or on a word that needs a continuation.
    pub(super) fn can_end(&self) -> bool {
        if self.literal.is_some() || self.depth != 0 || self.after_dot && self.word.is_empty() {
            return false;
        }
        let mut done = self.clone();
        if !done.word.is_empty() && done.complete(None).is_err() {
            return false;
        }
        let declared = |q: &String| done.declared.contains(q) || done.scope.contains(q);
        if done.call
            || done.over_due.is_some()
            || done.join_pending
            || !done.undeclared.iter().all(declared)
            || done.close_from(0).is_err()
        {
            return false;
        }
        // A select list without its FROM parses (`SELECT Resource_Code,
        // SUM(Hourly_Rate)`) but names columns of no table; every query
        // over the schema reads one.
        if done.in_select_list() {
            return false;
        }
        let word_last = done.after_word();
        if word_last {
            !CONTINUES.contains(&done.last_word.as_str())
        } else {
            matches!(done.sig, ')' | '\'')
        }
    }
}
