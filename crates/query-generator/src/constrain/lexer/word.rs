//! A word as it is written and when it ends: whether a known word can
//! still come of it, and what it declares, reads or rules out.

use super::*;

impl<'v> Lexer<'v> {
    /// Some word allowed here starts with `prefix` (upper case), columns
    /// limited to the column scope and tables to the plan.
    pub(super) fn any_allowed_prefix(&self, prefix: &str, raw: &str) -> bool {
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
    pub(super) fn planned_or_any_table_starts_with(&self, prefix: &str) -> bool {
        if self.planned.is_empty() {
            SqlVocabulary::any_starts_with(&self.voc.tables, prefix)
        } else {
            self.planned.iter().any(|t| t.starts_with(prefix))
        }
    }

    /// The innermost bracket is a select list before its FROM (or a call
    /// inside one): a closer here (`OVER (ORDER BY …)`) ends no FROM.
    pub(super) fn listing(&self) -> bool {
        self.select_list.last().copied().unwrap_or(false)
    }

    /// Every word that may stand here and starts with `w` (upper case)
    /// is one of `set`, and one does: a word begun here can only become
    /// one of them (after WHERE over SRM_COMPANIES, `H` only HAVING).
    pub(super) fn only_words(&self, w: &str, set: &[&str]) -> bool {
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
    pub(super) fn miscased_keyword(&self, w: &str, raw: &str) -> bool {
        self.voc.keywords.contains(w)
            && !keyword_case(raw, true)
            && !self.voc.tables.contains(w)
            && !self.is_name(w)
    }

    /// `w` (upper case) is a column or a name the query declared, which
    /// a keyword's spelling may also be.
    fn is_name(&self, w: &str) -> bool {
        self.voc.columns.contains(w) || self.declared.iter().any(|d| d == w)
    }

    /// `w` (upper case) is one of `set`: when `whole`, the word as it
    /// ended, and no name; otherwise the word so far, which only words
    /// of `set` extend.
    fn one_of(&self, w: &str, set: &[&str], whole: bool) -> bool {
        if whole {
            set.contains(&w) && !self.is_name(w)
        } else {
            self.only_words(w, set)
        }
    }

    /// Inside the brackets of an OVER: a frame's words may stand.
    pub(super) fn in_window(&self) -> bool {
        self.depth > 0 && self.text.contains("OVER")
    }

    /// A type name cannot stand here: only after `AS` (in a CAST) or
    /// DOUBLE.
    pub(super) fn type_out_of_place(&self) -> bool {
        !matches!(self.last_word.as_str(), "AS" | "DOUBLE") || self.after_dot
    }

    /// The word being written is the table a FROM or JOIN reads.
    pub(super) fn table_position(&self) -> bool {
        self.follows
            && !self.after_dot
            && !self.free_next
            && matches!(self.last_word.as_str(), "FROM" | "JOIN")
    }

    /// `w` (upper case) is a clause keyword, or a word that cannot begin
    /// an operand, written right after an opener: when `whole`, the word
    /// as it ended; otherwise the word so far, which only such words
    /// extend (no END_DATE after END).
    pub(super) fn clause_after_opener(&self, w: &str, whole: bool) -> bool {
        // After `,` or `(` an operand is due too (`SELECT a, BETWEEN
        // '2021'` reads BETWEEN as a column), but a window's bracket
        // opens with ORDER or PARTITION.
        if !self.operand_due() || self.first_in("OVER") {
            return false;
        }
        let punct = !self.follows;
        if punct {
            return self.one_of(w, NO_OPERAND, whole);
        }
        // `x NOT` goes on with IN, LIKE or BETWEEN.
        let operand_next = self.last_word != "NOT" || self.not_prefix;
        // `DISTINCT DISTINCT`, `AND AND`: the parser reads the second as
        // a column the schema lacks.
        let again = w == self.last_word;
        if whole {
            return (again || CLAUSES.contains(&w) || operand_next && NO_OPERAND.contains(&w))
                && !self.is_name(w);
        }
        if self.only_words(w, &[self.last_word.as_str()]) {
            return true;
        }
        // HAVIN after WHERE: only HAVING can follow, and it cannot stand
        // there.
        self.only_words(w, if operand_next { NO_OPERAND } else { CLAUSES })
    }

    /// Keywords that stand only at some places: a set operator after a
    /// FROM (`SELECT Resource_Code, … UNION SELECT … FROM T` reads the
    /// first list's columns from no table), LIMIT and OFFSET at a
    /// SELECT's own level (`MAX(x LIMIT 7)`), SELECT not as a function's
    /// bare argument, a window function outside a WHERE, GROUP BY or
    /// HAVING and outside an aggregate's and another window's brackets,
    /// an aggregate outside another's, no frame word, DISTINCT or date
    /// part where the parser would read it as an operand, no call where
    /// no bracket may open. `w` as it ended when `whole`, else the word so
    /// far, which only such words extend.
    pub(super) fn placed(&self, w: &str, whole: bool) -> Step {
        let only = |set: &[&str]| self.one_of(w, set, whole);
        if self.listing() && only(SET_OPERATORS) {
            return Err(format!("{w}: the SELECT before it reads no table"));
        }
        if self.depth != self.select_depth() && only(&["LIMIT", "OFFSET"]) {
            return Err(format!("{w} inside a bracket that is no SELECT"));
        }
        // `ROUND(SELECT, 1)`: sqlparser reads SELECT as a column; a
        // subquery as an argument needs brackets of its own.
        if let Some(f) = self.argument_of() {
            if only(&["SELECT", "WITH"]) {
                return Err(format!("{w} as an argument of {f}"));
            }
        }
        if self.filtering() && only(WINDOW_ONLY) {
            return Err(format!("{w}: no window in a WHERE, GROUP BY or HAVING"));
        }
        if self.operand_due() {
            // Read as columns the schema lacks where an operand is due:
            // a frame's words before the window's ORDER BY is complete
            // (`OVER (ORDER BY RANGE)`; `OVER (ROWS …)` stands), DISTINCT
            // after a list's comma or a clause's opener (it stands after
            // SELECT and a call's bracket), a date part outside EXTRACT.
            if only(&["RANGE", "ROWS"]) && !self.first_in("OVER") {
                return Err(format!("{w}: a frame follows its window's ORDER BY"));
            }
            let after_select = self.follows && self.last_word == "SELECT";
            if only(&["DISTINCT"]) && self.before != '(' && !after_select {
                return Err(format!("{w} only after SELECT or a call's bracket"));
            }
            if only(DATE_PARTS) && !self.first_in("EXTRACT") {
                return Err(format!("{w} as an operand only in EXTRACT"));
            }
        }
        // A call needs its bracket: where none may open, its name could
        // only end the candidate (`substring(substring(…` to the limit).
        if self.depth >= MAX_DEPTH && only(FUNCTIONS) {
            return Err(format!("{w}: no call nests over {MAX_DEPTH} brackets deep"));
        }
        if let Some(f) = self.inside_aggregate_or_window() {
            if only(WINDOW_ONLY) {
                return Err(format!("window function {w} inside {f}"));
            }
            // `sum(sum(…))`: a misuse both databases refuse; a window
            // may order by one (`OVER (ORDER BY SUM(x))`).
            if f != "OVER" && only(AGGREGATES) {
                return Err(format!("aggregate {w} inside {f}"));
            }
        }
        Ok(())
    }

    /// An operand is due: after `,`, `(` or an opener word.
    fn operand_due(&self) -> bool {
        if self.after_dot || self.free_next {
            return false;
        }
        if self.follows {
            OPENERS.contains(&self.last_word.as_str())
        } else {
            self.after_punct()
        }
    }

    /// OVER in a WHERE, GROUP BY or HAVING (`HAVING SUM(x) OVER (…)`):
    /// checked where an alias may follow too, which `placed` leaves out.
    fn over_filtering(&self, w: &str, whole: bool) -> Step {
        if self.filtering() && self.one_of(w, &["OVER"], whole) {
            return Err(format!("{w}: no window in a WHERE, GROUP BY or HAVING"));
        }
        Ok(())
    }

    /// The partial word can still become an allowed one.
    pub(super) fn viable(&self) -> Step {
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
        if !self.free_next {
            self.placed(&w, false)?;
        }
        self.over_filtering(&w, false)?;
        // A short name not declared yet is a qualifier or a name a
        // select list's FROM declares later; elsewhere it leads nowhere.
        let short = w.chars().count() <= SHORT_ALIAS
            && self.in_select_list()
            && !self.miscased_keyword(&w, &self.word)
            && self.may_qualify_early(&w);
        if self.free_next || short || self.declared.iter().any(|d| d.starts_with(&w)) {
            Ok(())
        } else if !self.any_allowed_prefix(&w, &self.word) {
            Err(format!("no known name starts with {}", self.word))
        } else if self.only_barred(&w) {
            // `MAX(RAN`: RANK is a window, RANGE a frame's word; the
            // candidate would be stuck inside the word.
            Err(format!(
                "no word that can stand here starts with {}",
                self.word
            ))
        } else {
            Ok(())
        }
    }

    /// Every word that may stand here and starts with `w` (upper case)
    /// is a keyword that cannot stand here, as [`Lexer::barred`] judges.
    fn only_barred(&self, w: &str) -> bool {
        let voc = self.voc;
        let scope = self.column_scope();
        voc.words
            .range(w.to_string()..)
            .take_while(|x| x.starts_with(w))
            .all(|x| {
                let name = voc.tables.contains(x) && self.table_allowed(x)
                    || voc.columns.contains(x) && scope.is_none_or(|s| self.column_of(s, x));
                !name && (!voc.keywords.contains(x) || self.barred(x))
            })
    }

    /// The keyword `k` (upper case), written whole here, would be
    /// refused when it ends.
    fn barred(&self, k: &str) -> bool {
        self.placed(k, true).is_err()
            || self.clause_after_opener(k, true)
            || FRAME.contains(&k) && !self.in_window()
            || TYPES.contains(&k) && self.type_out_of_place()
    }

    /// The word just ended, before `next` (none at the end of the SQL):
    /// check it and update the context.
    pub(super) fn complete(&mut self, next: Option<char>) -> Step {
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
        if !after_dot && !self.free_next {
            self.placed(&w, true)?;
        }
        if !after_dot {
            self.over_filtering(&w, true)?;
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
                .any(|(d, a)| *d <= depth && *a == w)
        {
            // Neither its own list nor a subquery's reads it (`COUNT(*)
            // AS projects … IN (SELECT Projects FROM …)`).
            return Err(format!("{w} names an item of a select list"));
        }
        if operand
            && self.filtering()
            && !self.voc.columns.contains(&w)
            && self.window_aliases.contains(&(depth, w.clone()))
        {
            return Err(format!(
                "{raw} names a window: none in a WHERE, GROUP BY or HAVING"
            ));
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
            if alias && declares && self.voc.tables.contains(&w) {
                // `FROM SRM_COMPANIES SRM_COMPANIES … = SRM_COMPANIES`: a
                // table renamed as itself, then read as a value.
                return Err(format!("{w} is a table's name, not an alias"));
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
                    if self.windowed.contains(&self.select_depth()) {
                        self.window_aliases.push((self.select_depth(), w.clone()));
                    }
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
        if let Some(f) = self.over_due.take() {
            if after_dot || w != "OVER" {
                return Err(format!("{f} needs its OVER"));
            }
        }
        if !after_dot && w == "OVER" && self.listing() {
            self.windowed.push(self.select_depth());
        }
        if !after_dot && matches!(w.as_str(), "AND" | "OR") {
            self.connectives += 1;
            if self.connectives > MAX_CONNECTIVES {
                return Err(format!("over {MAX_CONNECTIVES} ANDs and ORs"));
            }
        }
        if !after_dot && self.depth == self.select_depth() && !self.is_name(&w) {
            let depth = self.depth;
            match w.as_str() {
                "WHERE" | "GROUP" | "HAVING" if !self.filtering() => self.filtering_at.push(depth),
                "SELECT" | "FROM" | "ORDER" | "LIMIT" | "WINDOW" | "UNION" | "INTERSECT"
                | "EXCEPT" => self.filtering_at.retain(|d| *d != depth),
                _ => {}
            }
        }
        match w.as_str() {
            "SELECT" => {
                if let Some(top) = self.select_list.last_mut() {
                    *top = true;
                }
                let depth = self.depth;
                self.selects.retain(|d| *d < depth);
                self.filtering_at.retain(|d| *d < depth);
                self.selects.push(depth);
                self.from_tables.retain(|(d, _)| *d < depth);
                self.list_aliases.retain(|(d, _)| *d < depth);
                self.window_aliases.retain(|(d, _)| *d < depth);
                self.windowed.retain(|d| *d < depth);
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
}
