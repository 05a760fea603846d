//! Which names the SQL may use where: the tables a FROM reads, the
//! aliases and CTEs declared, the columns each gives, and what a select
//! list written before its FROM must find declared once the FROM ends.

use super::*;

impl<'v> Lexer<'v> {
    /// A table the SQL may read: any without a plan, else a planned one.
    pub(super) fn table_allowed(&self, w: &str) -> bool {
        self.planned.is_empty() || self.planned.iter().any(|t| t == w)
    }

    /// The columns `qualifier.` may be followed by, when the qualifier is
    /// a schema table or an alias declared for one; `None` when unknown.
    /// With a plan, a qualifier nothing declared yet (the alias of a
    /// select list's own FROM) stands for a planned table the reasoning
    /// gave no alias: "needs PAC_MNT_PROJECTS and PAC_MNT_RESOURCES. Join
    /// PAC_MNT_PROJECTS as p" leaves `r.` to the resources.
    pub(super) fn qualified_columns(&self, qualifier: &str) -> Option<Vec<&BTreeSet<String>>> {
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
    pub(super) fn columns_of<'t>(
        &self,
        tables: impl IntoIterator<Item = &'t str>,
    ) -> Vec<&BTreeSet<String>> {
        tables
            .into_iter()
            .filter_map(|t| self.table_columns(t))
            .collect()
    }

    /// The columns of `t` (upper case): a schema table's, or those a CTE
    /// the WITH defined gives (`None` where they are unknown).
    pub(super) fn table_columns(&self, t: &str) -> Option<&BTreeSet<String>> {
        self.voc
            .table_columns
            .get(t)
            .or_else(|| self.cte(t)?.as_deref())
    }

    /// The CTE named `w` (upper case), if the WITH defined one.
    pub(super) fn cte(&self, w: &str) -> Option<&Option<Arc<BTreeSet<String>>>> {
        self.ctes.iter().find(|(n, _)| n == w).map(|(_, c)| c)
    }

    /// The tables an unqualified column may belong to here; `None` for
    /// any. Outside a select list, once a FROM is written: the tables the
    /// query reads. In a select list (written before its FROM) or before
    /// any FROM: the planned tables, if there is a plan.
    pub(super) fn column_scope(&self) -> Option<&[String]> {
        if self.unscoped {
            return None;
        }
        if !self.scope.is_empty() && !self.select_list.last().copied().unwrap_or(false) {
            return Some(&self.scope);
        }
        (!self.planned.is_empty()).then_some(&self.planned)
    }

    /// `w` (upper case) is a column of one of `tables`.
    pub(super) fn column_of(&self, tables: &[String], w: &str) -> bool {
        tables
            .iter()
            .any(|t| self.table_columns(t).is_some_and(|cols| cols.contains(w)))
    }

    /// The select list columns written before the FROM of a SELECT at
    /// depth `from` or deeper that no table the query reads has; none
    /// when the query reads what has unknown columns (a derived table).
    pub(super) fn uncovered(&self, from: i32) -> Vec<&str> {
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
    pub(super) fn close_from(&mut self, from: i32) -> Step {
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
        self.qualified_before.retain(|(d, _)| *d < from);
        Ok(())
    }

    /// A short name a select list at depth `from` or deeper used as a
    /// value that nothing has declared as one (a table's alias is none),
    /// or a qualifier such a self-contained select list used that
    /// nothing has declared.
    pub(super) fn unnamed(&self, from: i32) -> Option<&str> {
        let qualifier = || {
            self.qualified_before
                .iter()
                .filter(|(d, _)| *d >= from)
                .map(|(_, q)| q)
                .find(|q| !self.declared.contains(q) && !self.scope.contains(q))
        };
        self.unnamed_value(from)
            .or_else(|| qualifier().map(String::as_str))
    }

    /// The values among [`Lexer::unnamed`]'s names.
    pub(super) fn unnamed_value(&self, from: i32) -> Option<&str> {
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
    pub(super) fn ambiguous(&self, depth: i32, w: &str) -> bool {
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

    /// A column a select list read as `alias.column` before `alias` was
    /// declared that is not among `cols`, the columns it is declared for.
    pub(super) fn read_early_outside(&self, alias: &str, cols: &BTreeSet<String>) -> Option<&str> {
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
    pub(super) fn relation_named(&self, w: &str, whole: bool) -> bool {
        let named = |n: &String| if whole { n == w } else { n.starts_with(w) };
        self.ctes.iter().any(|(n, _)| named(n)) || self.unscoped && self.declared.iter().any(named)
    }

    /// The word before a `.` qualifies a column: a schema table the query
    /// reads, or a name the query declared. A select list is written
    /// before its FROM, so inside one (a subquery in it included) the
    /// table may be read or the name declared later, before the SQL ends;
    /// anywhere else the FROM that reads or declares it is behind.
    pub(super) fn qualifier(&mut self) -> Step {
        let q = &self.last_word;
        let read = self.scope.contains(q) || self.unscoped;
        if self.aliased.contains(q) {
            return Err(format!("{q} has an alias: it is named by it"));
        }
        let relation = self.aliases.iter().any(|(a, _)| a == q) || self.cte(q).is_some();
        if !relation && self.list_aliases.iter().any(|(_, a)| a == q) {
            // `COUNT(*) AS projects … SELECT Projects.Department`.
            return Err(format!("{q} names a value, not a table"));
        }
        if self.declared.contains(q) || self.voc.tables.contains(q) && read {
            return Ok(());
        }
        if self.in_select_list() {
            let decided = self.early_qualifiers.as_ref();
            if !self.voc.tables.contains(q) && decided.is_some_and(|names| !names.contains(q)) {
                // `MAX(Pay.…)` with one table planned: nothing would
                // declare it.
                return Err(format!("{q} is no name the reasoning gives its table"));
            }
            if !self.undeclared.contains(q) {
                self.undeclared.push(q.clone());
            }
            let depth = self.select_depth();
            let entry = (depth, q.clone());
            if self.self_contained(depth) && !self.qualified_before.contains(&entry) {
                self.qualified_before.push(entry);
            }
            Ok(())
        } else {
            Err(format!("{q} is not declared here"))
        }
    }

    /// The SELECT at `depth` can name nothing outside itself: the main
    /// query, a derived table's body (SQLite has no LATERAL) or a CTE's.
    pub(super) fn self_contained(&self, depth: i32) -> bool {
        depth == 0
            || self.derived_open.iter().any(|(d, _)| *d == depth)
            || depth == 1 && self.cte_open.as_ref().is_some_and(|o| o.body.is_some())
    }
}
