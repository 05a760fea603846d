//! The bodies of CTEs and derived tables: where each begins, what it
//! declares for itself alone, and the columns its select list gives the
//! query around it when its bracket closes.

use super::*;

/// A CTE whose definition is being written.
#[derive(Clone)]
pub(super) struct CteOpen {
    pub(super) name: String,
    pub(super) body: Option<usize>,
    pub(super) listed: bool,
    /// The lengths of `scope`, `aliases`, `aliased` and `ctes` where its
    /// body began: what the body names is its own, not the main query's.
    pub(super) marks: (usize, usize, usize, usize),
}

impl<'v> Lexer<'v> {
    /// A `(` at the top of a WITH: the body of the CTE being defined
    /// after its `AS`, or else its column list.
    pub(super) fn open_cte_bracket(&mut self) {
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
    pub(super) fn close_cte_bracket(&mut self) {
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
    pub(super) fn close_derived_bracket(&mut self, depth: i32) {
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
    pub(super) fn body_columns(&self, start: usize) -> Option<BTreeSet<String>> {
        let body = &self.text[start..self.text.len() - 1];
        cte::output_columns(self.voc.dialect, body, |t| self.table_columns(t))
    }
}
