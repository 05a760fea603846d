//! The lexical state of the SQL a candidate has written: which words
//! may come next, which names are declared and read, and whether the
//! text may end here. Cloned to try each token.

use super::words::*;
use super::{cte, SqlVocabulary};
use crate::grammar::Judge;
use crate::plan::Plan;
use std::collections::BTreeSet;
use std::sync::Arc;

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
    /// Qualifiers the main query's select list used before its FROM
    /// declared them: its FROM clause must declare each (as an alias, or
    /// by reading the table), or the query can never end (`SELECT
    /// MAX(Pay.Hourly_Rate) FROM PAC_MNT_RESOURCES GROUP BY …` wrote on
    /// to the token limit). A subquery's may name the query around it.
    qualified_before: Vec<String>,
    /// The last word was a function's name: its `(` comes next.
    call: bool,
    /// `qualifier.column` pairs a select list wrote before the qualifier
    /// was declared: checked against the table it is declared for.
    qualified_early: Vec<(String, String)>,
    /// The bracket depth of each open SELECT, innermost last.
    selects: Vec<i32>,
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
}

/// A clause keyword, or a word a query cannot end on: no alias.
fn reserved(w: &str) -> bool {
    [CLAUSES, CLOSERS, CONTINUES]
        .iter()
        .any(|set| set.contains(&w))
}

/// A CTE whose definition is being written.
#[derive(Clone)]
struct CteOpen {
    name: String,
    body: Option<usize>,
    listed: bool,
    /// The lengths of `scope`, `aliases`, `aliased` and `ctes` where its
    /// body began: what the body names is its own, not the main query's.
    marks: (usize, usize, usize, usize),
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
            undeclared: Vec::new(),
            bare_early: Vec::new(),
            qualified_before: Vec::new(),
            call: false,
            qualified_early: Vec::new(),
            selects: Vec::new(),
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
        }
    }

    /// Holds the SQL to the plan its reasoning states: the tables it
    /// names, and its aliases from the first character on.
    pub(super) fn with_plan(mut self, reasoning: &str) -> Lexer<'v> {
        let voc = self.voc;
        let taken = |w: &str| voc.words.contains(w);
        let plan = Plan::from_reasoning(reasoning, &voc.tables, &taken);
        self.planned = plan.tables;
        self.derived_planned = self.planned.is_empty() || plan.subquery;
        self.aliases = plan.aliases;
        self
    }

    /// A table the SQL may read: any without a plan, else a planned one.
    fn table_allowed(&self, w: &str) -> bool {
        self.planned.is_empty() || self.planned.iter().any(|t| t == w)
    }

    /// The columns `qualifier.` may be followed by, when the qualifier is
    /// a schema table or an alias declared for one; `None` when unknown.
    /// With a plan, a qualifier nothing declared yet (the alias of a
    /// select list's own FROM) stands for a planned table the reasoning
    /// gave no alias: "needs PAC_MNT_PROJECTS and PAC_MNT_RESOURCES. Join
    /// PAC_MNT_PROJECTS as p" leaves `r.` to the resources.
    fn qualified_columns(&self, qualifier: &str) -> Option<Vec<&BTreeSet<String>>> {
        let mut cols = if self.table_columns(qualifier).is_some() {
            self.columns_of([qualifier])
        } else {
            self.columns_of(
                self.aliases
                    .iter()
                    .filter(|(a, _)| a == qualifier)
                    .map(|(_, t)| t.as_str()),
            )
        };
        // A CTE's columns may be what an alias nothing declared yet
        // stands for: only the alias's declaration can tell.
        if cols.is_empty()
            && !self.unscoped
            && self.ctes.is_empty()
            && !self.declared.iter().any(|d| d == qualifier)
        {
            let unaliased = |t: &&String| !self.aliases.iter().any(|(_, at)| at == *t);
            cols = self.columns_of(self.planned.iter().filter(unaliased).map(String::as_str));
            if cols.is_empty() {
                cols = self.columns_of(self.planned.iter().map(String::as_str));
            }
        }
        (!cols.is_empty()).then_some(cols)
    }

    /// The column sets of `tables` (upper case) the schema or a CTE
    /// defines.
    fn columns_of<'t>(&self, tables: impl IntoIterator<Item = &'t str>) -> Vec<&BTreeSet<String>> {
        tables
            .into_iter()
            .filter_map(|t| self.table_columns(t))
            .collect()
    }

    /// The columns of `t` (upper case): a schema table's, or those a CTE
    /// the WITH defined gives (`None` where they are unknown).
    fn table_columns(&self, t: &str) -> Option<&BTreeSet<String>> {
        self.voc
            .table_columns
            .get(t)
            .or_else(|| self.cte(t)?.as_deref())
    }

    /// The CTE named `w` (upper case), if the WITH defined one.
    fn cte(&self, w: &str) -> Option<&Option<Arc<BTreeSet<String>>>> {
        self.ctes.iter().find(|(n, _)| n == w).map(|(_, c)| c)
    }

    /// The tables an unqualified column may belong to here; `None` for
    /// any. Outside a select list, once a FROM is written: the tables the
    /// query reads. In a select list (written before its FROM) or before
    /// any FROM: the planned tables, if there is a plan.
    fn column_scope(&self) -> Option<&[String]> {
        if self.unscoped {
            return None;
        }
        if !self.scope.is_empty() && !self.select_list.last().copied().unwrap_or(false) {
            return Some(&self.scope);
        }
        (!self.planned.is_empty()).then_some(&self.planned)
    }

    /// `w` (upper case) is a column of one of `tables`.
    fn column_of(&self, tables: &[String], w: &str) -> bool {
        tables
            .iter()
            .any(|t| self.table_columns(t).is_some_and(|cols| cols.contains(w)))
    }

    /// Some word allowed here starts with `prefix` (upper case), columns
    /// limited to the column scope and tables to the plan.
    fn any_allowed_prefix(&self, prefix: &str, raw: &str) -> bool {
        let voc = self.voc;
        // Outside a FROM or JOIN a table only qualifies a column, so it
        // must be read already, or by the select list's FROM to come.
        let table = if self.in_select_list() || self.unscoped {
            self.planned_or_any_table_starts_with(prefix)
        } else {
            self.scope
                .iter()
                .any(|t| t.starts_with(prefix) && !self.aliased.contains(t))
        };
        let column = match self.column_scope() {
            None => SqlVocabulary::any_starts_with(&voc.columns, prefix),
            // A column more than one table read has is not begun
            // unqualified: it could not end.
            Some(scope) => scope.iter().any(|t| {
                self.table_columns(t).is_some_and(|cols| {
                    cols.range(prefix.to_string()..)
                        .take_while(|c| c.starts_with(prefix))
                        .any(|c| self.listing() || !self.ambiguous(self.select_depth(), c))
                })
            }),
        };
        table
            || column
            || keyword_case(raw, false) && SqlVocabulary::any_starts_with(&voc.keywords, prefix)
    }

    /// A table the SQL may read starts with `prefix` (upper case).
    fn planned_or_any_table_starts_with(&self, prefix: &str) -> bool {
        if self.planned.is_empty() {
            SqlVocabulary::any_starts_with(&self.voc.tables, prefix)
        } else {
            self.planned.iter().any(|t| t.starts_with(prefix))
        }
    }

    /// The innermost bracket is a select list before its FROM (or a call
    /// inside one): a closer here (`OVER (ORDER BY …)`) ends no FROM.
    fn listing(&self) -> bool {
        self.select_list.last().copied().unwrap_or(false)
    }

    /// Every word that may stand here and starts with `w` (upper case)
    /// is one of `set`, and one does: a word begun here can only become
    /// one of them (after WHERE over SRM_COMPANIES, `H` only HAVING).
    fn only_words(&self, w: &str, set: &[&str]) -> bool {
        let voc = self.voc;
        let scope = self.column_scope();
        let may_stand = |x: &str| {
            voc.keywords.contains(x)
                || voc.tables.contains(x) && self.table_allowed(x)
                || voc.columns.contains(x) && scope.is_none_or(|s| self.column_of(s, x))
        };
        let mut one = false;
        for x in voc
            .words
            .range(w.to_string()..)
            .take_while(|x| x.starts_with(w))
        {
            if set.contains(&x.as_str()) {
                one = true;
            } else if may_stand(x) {
                return false;
            }
        }
        one && !self.declared.iter().any(|d| d.starts_with(w))
    }

    /// `w` (upper case, as written: `raw`) is a keyword in a case no
    /// keyword is written in, and no name.
    fn miscased_keyword(&self, w: &str, raw: &str) -> bool {
        self.voc.keywords.contains(w)
            && !keyword_case(raw, true)
            && !self.voc.columns.contains(w)
            && !self.voc.tables.contains(w)
            && !self.declared.iter().any(|d| d == w)
    }

    /// Inside the brackets of an OVER: a frame's words may stand.
    fn in_window(&self) -> bool {
        self.depth > 0 && self.text.contains("OVER")
    }

    /// A type name cannot stand here: only after `AS` (in a CAST) or
    /// DOUBLE.
    fn type_out_of_place(&self) -> bool {
        !matches!(self.last_word.as_str(), "AS" | "DOUBLE") || self.after_dot
    }

    /// The word being written is the table a FROM or JOIN reads.
    fn table_position(&self) -> bool {
        self.follows
            && !self.after_dot
            && !self.free_next
            && matches!(self.last_word.as_str(), "FROM" | "JOIN")
    }

    /// The select list columns written before the FROM of a SELECT at
    /// depth `from` or deeper that no table the query reads has; none
    /// when the query reads what has unknown columns (a derived table).
    fn uncovered(&self, from: i32) -> Vec<&str> {
        if self.unscoped {
            return Vec::new();
        }
        self.early
            .iter()
            .filter(|(d, c)| *d >= from && !self.column_of(&self.scope, c))
            .map(|(_, c)| c.as_str())
            .collect()
    }

    /// The FROM clause of the SELECT at depth `from` (and any inside it)
    /// ends here: its select list's columns must be read by then.
    fn close_from(&mut self, from: i32) -> Step {
        let missing = self.uncovered(from);
        if !missing.is_empty() {
            return Err(format!(
                "{} is not a column of {}",
                missing.join(", "),
                self.scope.join(", ")
            ));
        }
        if let Some((_, c)) = self
            .early
            .iter()
            .find(|(d, c)| *d >= from && self.ambiguous(*d, c))
        {
            return Err(format!("{c} is a column of more than one table read"));
        }
        if let Some(n) = self.unnamed(from) {
            return Err(format!("the FROM declares no {n}"));
        }
        self.early.retain(|(d, _)| *d < from);
        self.bare_early.retain(|(d, _)| *d < from);
        if from == 0 {
            self.qualified_before.clear();
        }
        Ok(())
    }

    /// A short name a select list at depth `from` or deeper used as a
    /// value that nothing has declared as one (a table's alias is none),
    /// or, when the main query's FROM ends (`from` 0), a qualifier its
    /// select list used that nothing has declared.
    fn unnamed(&self, from: i32) -> Option<&str> {
        let qualifier = || {
            self.qualified_before
                .iter()
                .filter(|_| from == 0)
                .find(|q| !self.declared.contains(q) && !self.scope.contains(q))
        };
        self.unnamed_value(from)
            .or_else(|| qualifier().map(String::as_str))
    }

    /// The values among [`Lexer::unnamed`]'s names.
    fn unnamed_value(&self, from: i32) -> Option<&str> {
        self.bare_early
            .iter()
            .find(|(d, n)| {
                *d >= from
                    && (!self.declared.contains(n) || self.aliases.iter().any(|(a, _)| a == n))
            })
            .map(|(_, n)| n.as_str())
    }

    /// More than one table the SELECT at `depth` reads has the column `w`
    /// (upper case), so the SQL must say which (SQLite and PostgreSQL
    /// refuse it). Not decided where columns are unknown (a derived
    /// table) or merged (USING, NATURAL).
    fn ambiguous(&self, depth: i32, w: &str) -> bool {
        let mut reads = self
            .from_tables
            .iter()
            .filter(|(d, t)| *d == depth && self.column_of(std::slice::from_ref(t), w));
        reads.next().is_some()
            && reads.next().is_some()
            && !self.unscoped
            && !self.declared.iter().any(|d| d == w)
            && !self.text.contains("USING")
            && !self.text.contains("NATURAL")
    }

    /// The bracket depth of the innermost SELECT.
    fn select_depth(&self) -> i32 {
        self.selects.last().copied().unwrap_or(0)
    }

    /// `w` (upper case) is a clause keyword, or a word that cannot begin
    /// an operand, written right after an opener: when `whole`, the word
    /// as it ended; otherwise the word so far, which only such words
    /// extend (no END_DATE after END).
    fn clause_after_opener(&self, w: &str, whole: bool) -> bool {
        if !self.follows || self.after_dot || !OPENERS.contains(&self.last_word.as_str()) {
            return false;
        }
        // `x NOT` goes on with IN, LIKE or BETWEEN.
        let operand_next = self.last_word != "NOT" || self.not_prefix;
        // `DISTINCT DISTINCT`, `AND AND`: the parser reads the second as
        // a column the schema lacks.
        let again = w == self.last_word;
        if whole {
            return (again || CLAUSES.contains(&w) || operand_next && INFIX.contains(&w))
                && !self.voc.columns.contains(w)
                && !self.declared.iter().any(|d| d == w);
        }
        if self.only_words(w, &[self.last_word.as_str()]) {
            return true;
        }
        // HAVIN after WHERE: only HAVING can follow, and it cannot stand
        // there.
        self.only_words(
            w,
            if operand_next {
                CLAUSES_OR_INFIX
            } else {
                CLAUSES
            },
        )
    }

    fn is_number(w: &str) -> bool {
        w.starts_with(|c: char| c.is_ascii_digit())
    }

    /// The partial word can still become an allowed one.
    fn viable(&self) -> Step {
        let w = self.word.to_uppercase();
        if Lexer::is_number(&w) {
            return if !w.chars().all(|c| c.is_ascii_digit() || c == '.') {
                Err(format!("bad number {}", self.word))
            } else if w.len() > MAX_NUMBER {
                // A model in a loop writes digits until the token limit.
                Err(format!("{} digits is no number of this data", w.len()))
            } else {
                Ok(())
            };
        }
        if self.clause_after_opener(&w, false) {
            return Err(format!("{w} cannot follow {}", self.last_word));
        }
        if self.after_dot {
            // A column of the qualifier's table when it is known;
            // otherwise any column, or a column alias a CTE or subquery
            // declared.
            let known = self.qualified_columns(&self.last_word);
            let ok = match &known {
                Some(tables) => tables
                    .iter()
                    .any(|cols| SqlVocabulary::any_starts_with(cols, &w)),
                None => {
                    SqlVocabulary::any_starts_with(&self.voc.columns, &w)
                        || self.declared.iter().any(|d| d.starts_with(&w))
                }
            };
            return match (ok, known) {
                (true, _) => Ok(()),
                (false, Some(_)) => Err(format!(
                    "no column of {} starts with {}",
                    self.last_word, self.word
                )),
                (false, None) => Err(format!("no column starts with {}", self.word)),
            };
        }
        if self.free_next {
            if w.len() > MAX_NAME {
                return Err(format!("a name of over {MAX_NAME} characters"));
            }
            if let Some(k) = glued_clause(&self.word) {
                return Err(format!("{} is {k} glued to a name", self.word));
            }
        }
        if self.table_position() {
            // A value the select list named that no table has can only
            // be a derived table's column: the FROM must open one, or the
            // query can never end (`SELECT MAX(Pay) FROM T` wrote on to
            // the token limit).
            if self.last_word == "FROM" {
                if let Some(n) = self.unnamed_value(self.select_depth()) {
                    return Err(format!("{n} is no column: its FROM reads a derived table"));
                }
            }
            return if self.planned_or_any_table_starts_with(&w) || self.relation_named(&w, false) {
                Ok(())
            } else {
                Err(format!("no table starts with {}", self.word))
            };
        }
        // After a table, too: an alias is seldom a closer's start.
        if !self.listing() && self.only_words(&w, CLOSERS) {
            if self.join_pending {
                return Err(format!("{w} would come before the JOIN's ON"));
            }
            let missing = self.uncovered(self.depth);
            if !missing.is_empty() {
                return Err(format!(
                    "{w} would end a FROM without a table of {}",
                    missing.join(", ")
                ));
            }
            if let Some(n) = self.unnamed(self.depth) {
                return Err(format!("{w} would end a FROM that names no {n}"));
            }
        }
        if self.join_pending && self.only_words(&w, JOINERS) {
            return Err(format!("{w} would come before the JOIN's ON"));
        }
        if !self.free_next && self.type_out_of_place() && self.only_words(&w, TYPES) {
            return Err(format!("{w} is a type, not a column"));
        }
        if !self.free_next && self.only_words(&w, FRAME) && !self.in_window() {
            return Err(format!("{w} belongs in a window's frame"));
        }
        // A short name not declared yet is a qualifier or a name a
        // select list's FROM declares later; elsewhere it leads nowhere.
        if self.free_next
            || w.chars().count() <= SHORT_ALIAS
                && self.in_select_list()
                && !self.miscased_keyword(&w, &self.word)
            || self.any_allowed_prefix(&w, &self.word)
            || self.declared.iter().any(|d| d.starts_with(&w))
        {
            Ok(())
        } else {
            Err(format!("no known name starts with {}", self.word))
        }
    }

    /// The word just ended, before `next` (none at the end of the SQL):
    /// check it and update the context.
    fn complete(&mut self, next: Option<char>) -> Step {
        let raw = std::mem::take(&mut self.word);
        let w = raw.to_uppercase();
        let after_dot = std::mem::replace(&mut self.after_dot, false);
        let alias_for = self.alias_for.take();
        let cte_name = std::mem::take(&mut self.cte_next);
        let derived = self.derived_closed.take();
        if derived.is_some() {
            if w == "AS" {
                self.derived_closed = derived.clone();
            } else if !self.free_next || after_dot || reserved(&w) {
                // `FROM (SELECT …) WHERE`: columns no name can qualify.
                self.unscoped = true;
            }
        }
        let read_table = self.table_position();
        self.dotted = after_dot;
        self.read_table = read_table;
        self.op.clear();
        if Lexer::is_number(&w) {
            self.free_next = false;
            self.pending = None;
            self.last_word = w;
            return Ok(());
        }
        if !after_dot && self.clause_after_opener(&w, true) {
            return Err(format!("{w} cannot follow {}", self.last_word));
        }
        if read_table && !self.voc.tables.contains(&w) && !self.relation_named(&w, true) {
            return Err(format!("{w} is not a table"));
        }
        if !after_dot && CLOSERS.contains(&w.as_str()) && !self.listing() {
            if self.join_pending {
                return Err(format!("{w} comes before the last JOIN's ON"));
            }
            self.close_from(self.depth)?;
        }
        if !after_dot && !self.free_next && self.miscased_keyword(&w, &raw) {
            return Err(format!("{raw}: a keyword is written in capitals"));
        }
        let name = self.voc.columns.contains(&w) || self.declared.contains(&w);
        let typed = !after_dot && !self.free_next && TYPES.contains(&w.as_str());
        if typed && !name && self.type_out_of_place() {
            return Err(format!("{w} is a type, not a column"));
        }
        let operand = !after_dot && !self.free_next && !read_table && next != Some('.');
        if operand && !name && self.voc.tables.contains(&w) {
            return Err(format!("{w} is a table, not a value"));
        }
        if operand && !self.voc.columns.contains(&w) && self.aliases.iter().any(|(a, _)| *a == w) {
            return Err(format!("{w} is a table's alias, not a value"));
        }
        let depth = self.select_depth();
        if operand
            && self.in_select_list()
            && !self.voc.columns.contains(&w)
            && self
                .list_aliases
                .iter()
                .any(|(d, a)| *d == depth && *a == w)
        {
            return Err(format!("{w} names an item of this select list"));
        }
        let frame = !after_dot && !self.free_next && FRAME.contains(&w.as_str());
        if frame && !name && !self.in_window() {
            return Err(format!("{w} belongs in a window's frame"));
        }
        if !after_dot && self.join_pending && JOINERS.contains(&w.as_str()) {
            return Err(format!("{w} comes before the last JOIN's ON"));
        }
        match w.as_str() {
            _ if after_dot => {}
            "ON" | "USING" => self.join_pending = false,
            "CROSS" | "NATURAL" => self.cross = true,
            "JOIN" => {}
            _ if read_table && self.last_word == "JOIN" => {
                self.join_pending = !std::mem::take(&mut self.cross);
            }
            _ => {}
        }
        if after_dot {
            match self.qualified_columns(&self.last_word) {
                Some(tables) if !tables.iter().any(|cols| cols.contains(&w)) => {
                    return Err(format!("{} has no column {w}", self.last_word));
                }
                Some(_) => {}
                None if !self.voc.columns.contains(&w) && !self.declared.contains(&w) => {
                    return Err(format!("unknown column {w}"));
                }
                None => {}
            }
            let q = &self.last_word;
            if self.undeclared.contains(q) && !self.declared.contains(q) {
                self.qualified_early.push((q.clone(), w.clone()));
            }
        } else if self.free_next {
            // A clause keyword (AS among them) declares nothing.
            let declares = !reserved(&w);
            let alias = alias_for.is_some() || derived.is_some();
            if alias && declares && self.declared.contains(&w) {
                return Err(format!("{w} already names another relation"));
            }
            if let Some(t) = alias_for
                .clone()
                .filter(|_| !self.voc.keywords.contains(&w))
            {
                // An alias stands for one table: the reasoning's, or the
                // one a select list already read through it.
                if let Some((_, other)) = self.aliases.iter().find(|(a, at)| *a == w && *at != t) {
                    return Err(format!("{w} already stands for {other}"));
                }
                if let Some(col) = self
                    .table_columns(&t)
                    .and_then(|cols| self.read_early_outside(&w, cols))
                {
                    return Err(format!("{t} has no column {col}, read as {w}.{col}"));
                }
                self.aliased.push(t.clone());
                self.aliases.push((w.clone(), t));
            }
            if let Some(cols) = derived.filter(|_| declares) {
                if let Some(col) = self.read_early_outside(&w, &cols) {
                    return Err(format!("the derived table {w} has no column {col}"));
                }
                // Read as a CTE is: by its alias, with its columns.
                self.ctes.push((w.clone(), Some(cols)));
                self.scope.push(w.clone());
                self.from_tables.push((self.select_depth(), w.clone()));
            }
            // After a table the next word may be its alias or a clause
            // (`FROM t WHERE`).
            if declares {
                if self.last_word == "AS" && alias_for.is_none() && self.in_select_list() {
                    self.list_aliases.push((self.select_depth(), w.clone()));
                }
                self.declared.push(w.clone());
                if cte_name {
                    self.cte_open = Some(CteOpen {
                        name: w.clone(),
                        body: None,
                        listed: false,
                        marks: (0, 0, 0, 0),
                    });
                }
            }
        } else if !(self.voc.words.contains(&w) || self.declared.contains(&w)) {
            // A short name not declared yet: a qualifier (checked at its
            // `.`), or in a select list a column of a derived table its
            // FROM declares later.
            let short = w.chars().count() <= SHORT_ALIAS;
            if !short || next != Some('.') && !self.in_select_list() {
                return Err(format!("unknown name {w}"));
            }
            if next != Some('.') && !self.derived_planned {
                return Err(format!(
                    "{w} is no column, and the reasoning plans no subquery"
                ));
            }
            if !self.undeclared.contains(&w) {
                self.undeclared.push(w.clone());
            }
            // Each SELECT that uses it needs its own FROM to declare it.
            let early = (self.select_depth(), w.clone());
            if next != Some('.') && !self.bare_early.contains(&early) {
                self.bare_early.push(early);
            }
        } else if !after_dot && self.voc.tables.contains(&w) && !self.table_allowed(&w) {
            return Err(format!("{w} is not among the tables the reasoning planned"));
        } else if let Some(scope) = self.column_scope().filter(|scope| {
            self.voc.columns.contains(&w)
                && !self.voc.keywords.contains(&w)
                && !self.voc.tables.contains(&w)
                && !self.declared.contains(&w)
                && !self.column_of(scope, &w)
        }) {
            return Err(format!("{w} is not a column of {}", scope.join(", ")));
        } else if !after_dot
            && !self.listing()
            && self.voc.columns.contains(&w)
            && self.ambiguous(self.select_depth(), &w)
        {
            return Err(format!("{w} is a column of more than one table read"));
        }
        if !after_dot
            && self.listing()
            && self.voc.columns.contains(&w)
            && !self.declared.contains(&w)
        {
            self.early.push((self.select_depth(), w.clone()));
        }
        // A CTE read as a table: its columns are scoped as a table's, or
        // unknown (as a derived table's).
        let cte = match self.cte(&w).map(Option::is_some) {
            Some(known) if read_table => {
                self.unscoped |= !known;
                known
            }
            // A declared name read as a table that no CTE here defines
            // (a nested WITH's): its columns are unknown.
            None if read_table && !self.voc.tables.contains(&w) => {
                self.unscoped = true;
                false
            }
            _ => false,
        };
        if read_table && (cte || self.voc.tables.contains(&w)) {
            self.from_tables.push((self.select_depth(), w.clone()));
        }
        // A table is read where it is named, not where it qualifies.
        if cte || !after_dot && self.voc.tables.contains(&w) && next != Some('.') {
            if !self.scope.contains(&w) {
                self.scope.push(w.clone());
            }
            self.alias_for = Some(w.clone());
        } else if w == "AS" {
            self.alias_for = alias_for;
        }
        match w.as_str() {
            "SELECT" => {
                if let Some(top) = self.select_list.last_mut() {
                    *top = true;
                }
                let depth = self.depth;
                self.selects.retain(|d| *d < depth);
                self.selects.push(depth);
                self.from_tables.retain(|(d, _)| *d < depth);
                self.list_aliases.retain(|(d, _)| *d < depth);
            }
            "FROM" => {
                if let Some(top) = self.select_list.last_mut() {
                    *top = false;
                }
            }
            // A WITH inside brackets defines CTEs that are not followed.
            "WITH" if self.depth == 0 => self.cte_next = true,
            "WITH" => self.unscoped = true,
            _ => {}
        }
        self.call = !after_dot
            && !self.free_next
            && FUNCTIONS.contains(&w.as_str())
            && !self.declared.contains(&w)
            && !self.voc.columns.contains(&w);
        // After a table, or a CTE read as one, comes its alias.
        let read = !after_dot
            && (self.voc.tables.contains(&w)
                || self.declared.contains(&w)
                    && matches!(self.last_word.as_str(), "FROM" | "JOIN"));
        self.free_next = w == "AS" || w == "WITH" || read;
        if w == "WITH" {
            self.in_with = true;
        }
        if w == "SELECT" && self.depth == 0 {
            self.in_with = false;
        }
        self.not_prefix = w == "NOT"
            && !after_dot
            && if self.follows {
                OPENERS.contains(&self.last_word.as_str())
            } else {
                !matches!(self.before, ')' | '\'')
            };
        self.last_word = w.clone();
        self.pending = match self.voc.values.get(&w) {
            Some(v) => Some(v.as_slice()),
            None if w == "IN" || w == "NOT" => self.pending,
            None => None,
        };
        Ok(())
    }

    pub(super) fn feed(&mut self, c: char) -> Step {
        self.text.push(c);
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
            if let Some(vals) = self.literal_values {
                if !vals.iter().any(|v| v.starts_with(lit.as_str())) {
                    return Err(format!("no value of the column starts with '{lit}"));
                }
            }
            return Ok(());
        }
        let wordish = c.is_ascii_alphanumeric() || c == '_';
        if wordish && self.word.is_empty() {
            self.call_bracket(c)?;
        }
        // A decimal point inside a number.
        let number_dot = c == '.' && Lexer::is_number(&self.word) && !self.word.contains('.');
        if wordish || number_dot {
            if self.word.is_empty() && self.last == '\'' {
                return Err("a word cannot follow a literal directly".into());
            }
            if self.word.is_empty() {
                self.follows = self.sig.is_ascii_alphanumeric() || self.sig == '_';
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
        self.call_bracket(c)?;
        if c.is_ascii_whitespace() {
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
                } else if self.after_name() {
                    // sqlparser reads any name before a bracket as a call
                    // (`BEN(-1)`); the databases know only their functions.
                    return Err(format!("{} is no function", self.last_word));
                }
                self.depth += 1;
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
            ',' | '*' | '+' | '-' | '/' | '%' | '|' | ':' => {}
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
        if !judge.judge(self.settled()).viable() {
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

    /// A column a select list read as `alias.column` before `alias` was
    /// declared that is not among `cols`, the columns it is declared for.
    fn read_early_outside(&self, alias: &str, cols: &BTreeSet<String>) -> Option<&str> {
        self.qualified_early
            .iter()
            .find(|(q, col)| q == alias && !cols.contains(col))
            .map(|(_, col)| col.as_str())
    }

    /// A CTE is named `w` (upper case), or when not `whole` one's name
    /// starts with it. A column's alias is no table (`AS smallest_rate …
    /// FROM smallest_rate`); a nested WITH's names are not followed, so
    /// where one was written (the query is unscoped) any declared name
    /// may be one.
    fn relation_named(&self, w: &str, whole: bool) -> bool {
        let named = |n: &String| if whole { n == w } else { n.starts_with(w) };
        self.ctes.iter().any(|(n, _)| named(n)) || self.unscoped && self.declared.iter().any(named)
    }

    /// The last thing written is a name (not a keyword, function or
    /// number): a `(` cannot follow it.
    fn after_name(&self) -> bool {
        (self.sig.is_ascii_alphanumeric() || self.sig == '_')
            && !Lexer::is_number(&self.last_word)
            && !KEYWORDS.contains(&self.last_word.as_str())
    }

    /// A `(` at the top of a WITH: the body of the CTE being defined
    /// after its `AS`, or else its column list.
    fn open_cte_bracket(&mut self) {
        let after_as = self.last_word == "AS";
        let start = self.text.len();
        let marks = (
            self.scope.len(),
            self.aliases.len(),
            self.aliased.len(),
            self.ctes.len(),
        );
        if let Some(open) = &mut self.cte_open {
            if after_as && open.body.is_none() {
                open.body = Some(start);
                open.marks = marks;
            } else {
                open.listed = true;
            }
        }
    }

    /// A `)` back at the top of a WITH: when it closes a CTE's body, the
    /// CTE is defined, with the columns its select list names (unknown
    /// after a column list, whose names the lexer does not keep).
    fn close_cte_bracket(&mut self) {
        let Some(CteOpen {
            name,
            body: Some(start),
            listed,
            marks: (scope, aliases, aliased, ctes),
        }) = self.cte_open.take_if(|open| open.body.is_some())
        else {
            return;
        };
        let columns = if listed {
            None
        } else {
            self.body_columns(start).map(Arc::new)
        };
        // The tables the body read and the aliases it gave them (its
        // derived tables' too) are not the main query's: `p.` after
        // `WITH x AS (… FROM PAC_MNT_PROJECTS p …)` names nothing.
        let dropped: Vec<String> = self
            .aliases
            .drain(aliases..)
            .map(|(a, _)| a)
            .chain(self.ctes.drain(ctes..).map(|(n, _)| n))
            .collect();
        self.declared.retain(|d| !dropped.contains(d));
        self.undeclared.retain(|u| !dropped.contains(u));
        self.scope.truncate(scope);
        self.aliased.truncate(aliased);
        self.ctes.push((name, columns));
    }

    /// A `)` that closes the bracket at `depth`: when it is a derived
    /// table's, its columns are read off its body as a CTE's are, for
    /// the alias that follows; unknown columns unscope the query.
    fn close_derived_bracket(&mut self, depth: i32) {
        let Some((_, start)) = self.derived_open.pop_if(|(d, _)| *d == depth) else {
            return;
        };
        match self.body_columns(start) {
            Some(cols) => self.derived_closed = Some(Arc::new(cols)),
            None => self.unscoped = true,
        }
    }

    /// The columns the select list of the body that began at `start`
    /// and a `)` just closed names (a CTE's or a derived table's).
    fn body_columns(&self, start: usize) -> Option<BTreeSet<String>> {
        let body = &self.text[start..self.text.len() - 1];
        cte::output_columns(self.voc.dialect, body, |t| self.table_columns(t))
    }

    /// The word before a `.` qualifies a column: a schema table the query
    /// reads, or a name the query declared. A select list is written
    /// before its FROM, so inside one (a subquery in it included) the
    /// table may be read or the name declared later, before the SQL ends;
    /// anywhere else the FROM that reads or declares it is behind.
    fn qualifier(&mut self) -> Step {
        let q = &self.last_word;
        let read = self.scope.contains(q) || self.unscoped;
        if self.aliased.contains(q) {
            return Err(format!("{q} has an alias: it is named by it"));
        }
        if self.declared.contains(q) || self.voc.tables.contains(q) && read {
            return Ok(());
        }
        if self.in_select_list() {
            if !self.undeclared.contains(q) {
                self.undeclared.push(q.clone());
            }
            if self.select_depth() == 0 && !self.qualified_before.contains(q) {
                self.qualified_before.push(q.clone());
            }
            Ok(())
        } else {
            Err(format!("{q} is not declared here"))
        }
    }

    /// The `(` being written follows the word FROM or JOIN directly.
    fn word_before_bracket_is_from(&self) -> bool {
        matches!(self.last_word.as_str(), "FROM" | "JOIN")
            && (self.sig.is_ascii_alphanumeric() || self.sig == '_')
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
        let word_last = done.sig.is_ascii_alphanumeric() || done.sig == '_';
        if word_last {
            !CONTINUES.contains(&done.last_word.as_str())
        } else {
            matches!(done.sig, ')' | '\'')
        }
    }
}
