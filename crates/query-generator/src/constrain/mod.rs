//! Constrained decoding: after `</think>` the model may only write text
//! that lexes as SQL over the linked schema. Every word is a SQL keyword or
//! function (a function's name followed by its bracket), a table or column
//! of the schema, or a name the query itself declares (an alias after a
//! table or `AS`, a CTE name); a name of up to three letters used before
//! its declaration (`SELECT p.Name FROM … p`) is a qualifier or a name in
//! a select list, and is declared before the SQL ends (by the SELECT's
//! own FROM where nothing outside it can be named: the main query, a
//! derived table's or a CTE's body); a qualifier outside a select list
//! is declared already, and names a table, never a select list's item;
//! a string literal compared with a
//! column that has a vocabulary (CHECK list or the database's distinct
//! values) is one of
//! those values; once a FROM is written, an unqualified column outside a
//! select list belongs to a table the query reads (a CTE or a derived
//! table gives the columns its select list names, `cte.rs`), and so does
//! a select list's once its FROM clause ends,
//! qualified where two tables its SELECT reads have it; a FROM or JOIN
//! reads a table or a CTE, a JOIN has its ON, a table qualifies a column
//! only where it is read and has no alias, and is no value, a word that
//! cannot begin an operand does not follow one that needs it (`WHERE NOT
//! IN`), and a keyword is written in capitals (a function's name
//! also in small letters), never as a name; `alias.column`
//! written after the alias is declared names a column of the alias's
//! table; when the reasoning names schema tables (its plan, `plan.rs`),
//! the SQL reads only those, a select list names only their columns, and
//! the aliases the reasoning gives them bind from the first character;
//! only SQL punctuation is allowed, no second statement and
//! no comment; a model's loops are cut where they begin (a quote where
//! the parser takes no literal, a free literal over 100 characters or
//! over a line, a function given more arguments than it takes, more
//! than 8 ANDs and ORs, more than 8 white-space characters in a row), a
//! window function is followed by its OVER; with one table and no
//! subquery planned, a select list qualifies only with names the
//! reasoning wrote; a keyword stands only where the databases take it
//! (none that cannot begin an operand where one is due, after an
//! opener, `,` or `(`; no set operator after a SELECT without its FROM;
//! LIMIT at a SELECT's own level; no window function inside an
//! aggregate or a window, no aggregate inside an aggregate; no bracket
//! after a keyword that is no function), and a word is not begun that
//! only such keywords complete;
//! and the dialect's parser accepts the text so far as the
//! start of a statement (`grammar.rs`), and the whole as one statement
//! before it may end. The check runs on the text of each candidate token, best
//! logits first, until enough tokens pass, [`CHECK_LIMIT`] were checked
//! with one passed, or the step's new parser verdicts have cost
//! [`PARSE_BUDGET`] runs; the others are masked. The same
//! constraint, in looser form, is exportable as a GBNF grammar for remote
//! servers ([`SqlVocabulary::gbnf`]). The lexical state is `lexer.rs`
//! (a word as it ends `lexer/word.rs`, names in scope `lexer/scope.rs`,
//! CTE and derived-table bodies `lexer/bodies.rs`), the word lists it
//! sorts words by are `words.rs`, a CTE's columns `cte.rs`.

mod cte;
mod lexer;
mod words;

use crate::grammar::{Judge, Verdict};
use glrl_catalog::Dialect;
use glrl_model::generate::LogitsProcessor;
use glrl_schema_analyzer::SchemaAnalyzer;
use lexer::Lexer;
use std::collections::{BTreeMap, BTreeSet};
use words::KEYWORDS;

/// The words and values a query over one schema may use.
#[derive(Debug, Clone)]
pub struct SqlVocabulary {
    /// Upper case: keywords, tables, columns.
    words: BTreeSet<String>,
    keywords: BTreeSet<String>,
    tables: BTreeSet<String>,
    columns: BTreeSet<String>,
    /// Table (upper case) → its columns (upper case).
    table_columns: BTreeMap<String, BTreeSet<String>>,
    /// Column (upper case) → the values a literal compared with it takes
    /// (union over tables that share the column name).
    values: BTreeMap<String, Vec<String>>,
    /// Exact spellings, for the grammar.
    names: Vec<String>,
    /// Whose parser judges the SQL.
    dialect: Dialect,
}

impl SqlVocabulary {
    pub fn from_analyzer(a: &SchemaAnalyzer) -> SqlVocabulary {
        let keywords: BTreeSet<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        let mut words = keywords.clone();
        let (mut tables, mut columns) = (BTreeSet::new(), BTreeSet::new());
        let mut table_columns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut names = Vec::new();
        for t in &a.schema().tables {
            tables.insert(t.name.to_uppercase());
            names.push(t.name.clone());
            for c in &t.columns {
                columns.insert(c.name.to_uppercase());
                table_columns
                    .entry(t.name.to_uppercase())
                    .or_default()
                    .insert(c.name.to_uppercase());
                names.push(c.name.clone());
                let vocab = c
                    .allowed_values
                    .as_deref()
                    .or_else(|| a.values().values_of(&t.name, &c.name));
                if let Some(v) = vocab.filter(|v| !v.is_empty()) {
                    let e = values.entry(c.name.to_uppercase()).or_default();
                    e.extend(v.iter().cloned());
                    e.sort();
                    e.dedup();
                }
            }
        }
        words.extend(tables.iter().cloned());
        words.extend(columns.iter().cloned());
        names.sort();
        names.dedup();
        SqlVocabulary {
            words,
            keywords,
            tables,
            columns,
            table_columns,
            values,
            names,
            dialect: Dialect::Sqlite,
        }
    }

    /// The vocabulary for SQL in `dialect` (SQLite unless set).
    pub fn with_dialect(mut self, dialect: Dialect) -> SqlVocabulary {
        self.dialect = dialect;
        self
    }

    fn any_starts_with(set: &BTreeSet<String>, prefix: &str) -> bool {
        set.range(prefix.to_string()..)
            .next()
            .is_some_and(|w| w.starts_with(prefix))
    }

    /// Whether `sql` as a whole passes the constraint (every gold query
    /// of the data set must).
    pub fn accepts(&self, sql: &str) -> Result<(), String> {
        self.accepts_planned("", sql)
    }

    /// Whether `sql` passes the constraint after `reasoning`, held to the
    /// tables and aliases the reasoning names (every gold pair's SQL must
    /// pass after its own reasoning).
    pub fn accepts_planned(&self, reasoning: &str, sql: &str) -> Result<(), String> {
        let judge = Judge::new(self.dialect);
        let mut lx = Lexer::new(self).with_plan(reasoning);
        for (i, c) in sql.chars().enumerate() {
            lx.feed(c)
                .map_err(|e| format!("at character {i} ({c:?}): {e}"))?;
            if !lx.grammatical(&judge) {
                return Err(format!(
                    "at character {i} ({c:?}): the {} parser rejects {:?}",
                    self.dialect,
                    lx.settled()
                ));
            }
        }
        if !lx.can_end() {
            Err(
                "the SQL ends inside a literal, a bracket, an unknown word or a select \
                 list before its FROM, after a function's name, or before a name it used \
                 is declared"
                    .into(),
            )
        } else if judge.judge(&lx.text) != Verdict::Complete {
            Err(format!("the {} parser wants more", self.dialect))
        } else {
            Ok(())
        }
    }

    /// The byte length of the longest start of `sql` (after `reasoning`)
    /// that is a whole statement the constraint would have let end:
    /// where a candidate that wrote itself into a corner (`… LIMIT 5000
    /// D`) or ran out of tokens last was a query. `None` when it never
    /// was. Never inside a word: `Department_Code` is not cut to a
    /// `Department`.
    pub fn whole_prefix(&self, reasoning: &str, sql: &str) -> Option<usize> {
        let judge = Judge::new(self.dialect);
        let mut lx = Lexer::new(self).with_plan(reasoning);
        let mut whole = None;
        let mut ends = |lx: &Lexer, at: usize| {
            if lx.can_end() && judge.judge(&lx.text) == Verdict::Complete {
                whole = Some(at);
            }
        };
        for (i, c) in sql.char_indices() {
            if i > 0 && !(c.is_alphanumeric() || c == '_') {
                ends(&lx, i);
            }
            if lx.feed(c).is_err() {
                return whole;
            }
        }
        ends(&lx, sql.len());
        whole
    }

    /// A GBNF grammar (llama.cpp) with the same vocabulary: reasoning in
    /// `<think>` tags, then SQL words from the keyword list and the
    /// schema's names, literals, numbers and punctuation. It cannot tie a
    /// literal to the column before it, so vocabulary values are offered
    /// as literals beside free text.
    pub fn gbnf(&self) -> String {
        let quote = |s: &str| {
            format!(
                "\"{}\"",
                s.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        };
        let mut kw: Vec<String> = KEYWORDS
            .iter()
            .flat_map(|k| [k.to_string(), k.to_lowercase()])
            .map(|k| quote(&k))
            .collect();
        kw.sort();
        kw.dedup();
        let names: Vec<String> = self.names.iter().map(|n| quote(n)).collect();
        let vals: BTreeSet<String> = self
            .values
            .values()
            .flatten()
            .filter(|v| !v.contains('\''))
            .map(|v| quote(&format!("'{v}'")))
            .collect();
        let vals: Vec<String> = vals.into_iter().collect();
        format!(
            "root ::= \"<think>\" think \"</think>\" ws sql\n\
             think ::= [^<]*\n\
             sql ::= item (ws? item)*\n\
             item ::= keyword | name | alias | number | string | punct\n\
             keyword ::= {}\n\
             name ::= {}\n\
             alias ::= [a-zA-Z] [a-zA-Z0-9_]? [a-zA-Z0-9_]?\n\
             number ::= [0-9]+ (\".\" [0-9]+)?\n\
             string ::= {}\"'\" [^']* \"'\"\n\
             punct ::= \"(\" | \")\" | \",\" | \".\" | \"*\" | \"+\" | \"-\" | \"/\" | \"%\" | \"=\" | \"<\" | \">\" | \"!\" | \"|\" | \":\"\n\
             ws ::= [ \\t\\n]+\n",
            kw.join(" | "),
            names.join(" | "),
            if vals.is_empty() {
                String::new()
            } else {
                format!("{} | ", vals.join(" | "))
            }
        )
    }
}

/// Reasoning longer than this (characters) is closed: only tokens that
/// write `</think>` remain, so a model that rambles still answers.
pub const REASONING_BUDGET: usize = 600;

const CLOSE: &str = "</think>";

/// Where a candidate is: still reasoning, or writing SQL.
struct Progress<'v> {
    consumed: usize,
    text: String,
    sql: Option<Lexer<'v>>,
    /// No allowed token was left and the candidate was made to end, or
    /// its text broke the constraint (a token the constraint did not
    /// choose); from then on it is left alone.
    broken: bool,
}

/// The constraint as a logits processor for local generation.
pub struct SqlConstraint<'v> {
    voc: &'v SqlVocabulary,
    texts: &'v [Option<String>],
    end_tokens: Vec<u32>,
    /// Tokens kept per step (1 for greedy decoding; the sampler's top-k
    /// otherwise).
    keep: usize,
    progress: Vec<Progress<'v>>,
    judge: Judge,
    /// The sampler's temperature when candidates are sampled: checking
    /// stops once the kept tokens hold all but [`SLIVER`] of what
    /// sampling could draw from the allowed ones.
    temperature: Option<f32>,
    /// The last step's choice, which the later candidates of a batch lane
    /// (same tokens, same logits) repeat.
    last: Option<Choice>,
}

/// What the constraint decided at one step of one candidate.
#[derive(Clone)]
enum Choice {
    /// These tokens (best first) with their logits; the rest are masked.
    Keep(Vec<(usize, f32)>),
    /// The model's favourite token leaves a whole statement: only the end.
    Leaves,
    /// Nothing fits and it cannot end: the candidate is made to end.
    Corner,
}

/// Unchecked probability mass (after temperature) that may be left out,
/// relative to the mass of the tokens kept. The nucleus is drawn from
/// the allowed tokens' mass, which lies between the kept mass and that
/// plus the unchecked mass, so its edge moves by at most this share.
const SLIVER: f32 = 0.005;

/// Tokens examined (best logits first) before falling back to the whole
/// vocabulary.
const HEAD: usize = 64;

/// Parser runs one candidate's step may spend on new verdicts before
/// the tokens not yet checked are masked unchecked. A normal step needs
/// a few dozen (most tokens ask about a prefix already judged). A
/// candidate in a state where the lexer takes thousands of words the
/// parser rejects (`… 'Procurement Lead') O`, where any short word may
/// be an alias) went through the vocabulary at up to 39 runs a new
/// verdict: 313,000 runs of a 400-character text, 10 s, for one step of
/// one candidate of dev-0017 (docs/BENCHMARKS.md, thirty-second session).
const PARSE_BUDGET: usize = 2048;

/// Tokens a step checks, once one is kept, before the rest are masked
/// unchecked. Where the model puts nearly all its weight on tokens the
/// constraint rejects, the kept tokens' mass is tiny and the sampling
/// cut-off ([`SLIVER`]) is reached only at the vocabulary's end, if at
/// all (an f32 sum over 49,152 probabilities): 222 steps of the first 80
/// dev questions checked every token, 51 ms each, 11.4 s in all, while
/// the model's other worker waited. The tokens past this many are below
/// 4,096 others in the model's eyes. Until one is kept the search goes
/// on (and [`PARSE_BUDGET`] bounds it): a candidate ends in a corner only
/// when nothing fits.
const CHECK_LIMIT: usize = 4096;

/// Tokens this far (in logits) below the best allowed one are masked
/// without being checked. At temperature ≤ 1 all of them together weigh
/// less than 49,152 · e^-30 ≈ 5e-9 of the best one, far outside any top-p
/// nucleus, so sampling never picks them; checking them was a scan of the
/// whole vocabulary at every step where fewer than `keep` tokens are
/// allowed (after `alias.`, inside a vocabulary literal).
const TAIL: f32 = 30.0;

impl<'v> SqlConstraint<'v> {
    pub fn new(
        voc: &'v SqlVocabulary,
        texts: &'v [Option<String>],
        end_tokens: Vec<u32>,
        keep: usize,
    ) -> SqlConstraint<'v> {
        SqlConstraint {
            voc,
            texts,
            end_tokens,
            keep: keep.max(1),
            progress: Vec::new(),
            judge: Judge::new(voc.dialect),
            temperature: None,
            last: None,
        }
    }

    /// Candidates are sampled at `temperature`: tokens sampling would
    /// practically never draw are not checked. Without this (and for
    /// greedy decoding, temperature 0) every step checks tokens until
    /// `keep` are allowed.
    pub fn sampled_at(mut self, temperature: f32) -> Self {
        self.temperature = (temperature > 0.0).then_some(temperature);
        self
    }

    /// The candidate was made to end in a corner, or wrote what the
    /// constraint would not have chosen: its SQL is not whole.
    pub fn cornered(&self, candidate: usize) -> bool {
        self.progress.get(candidate).is_some_and(|p| p.broken)
    }

    fn text(&self, t: u32) -> Option<&'v str> {
        self.texts.get(t as usize).and_then(|x| x.as_deref())
    }

    fn catch_up(&mut self, candidate: usize, generated: &[u32]) {
        while self.progress.len() <= candidate {
            self.progress.push(Progress {
                consumed: 0,
                text: String::new(),
                sql: None,
                broken: false,
            });
        }
        let texts = self.texts;
        let voc = self.voc;
        let p = &mut self.progress[candidate];
        for &t in &generated[p.consumed.min(generated.len())..] {
            let piece = texts
                .get(t as usize)
                .and_then(|x| x.as_deref())
                .unwrap_or("");
            match &mut p.sql {
                Some(lx) => {
                    for c in piece.chars() {
                        if lx.feed(c).is_err() {
                            p.broken = true;
                        }
                    }
                }
                None => {
                    p.text.push_str(piece);
                    if let Some(i) = p.text.find("</think>") {
                        let mut lx = Lexer::new(voc).with_plan(&p.text[..i]);
                        for c in p.text[i + "</think>".len()..].chars() {
                            if lx.feed(c).is_err() {
                                p.broken = true;
                            }
                        }
                        p.sql = Some(lx);
                    }
                }
            }
        }
        p.consumed = generated.len();
    }

    /// Keeps only tokens that continue writing `</think>`.
    fn close_reasoning(&self, text: &str, logits: &mut [f32]) {
        // How much of the tag the text already ends with.
        let done = (1..CLOSE.len())
            .rev()
            .find(|&k| text.ends_with(&CLOSE[..k]))
            .unwrap_or(0);
        let rest = &CLOSE[done..];
        for (i, l) in logits.iter_mut().enumerate() {
            let ok = self
                .text(i as u32)
                .is_some_and(|t| !t.is_empty() && (rest.starts_with(t) || t.starts_with(rest)));
            if !ok {
                *l = f32::NEG_INFINITY;
            }
        }
    }

    /// The model's favourite token, `best`, which the constraint rejects,
    /// leaves SQL (prose after the query, a tag) where the SQL is one
    /// whole statement: the query is over. Kept going, the candidate wrote
    /// what the grammar allows but nothing meant (`ORDER BY Department
    /// <true`) until it was stuck.
    fn leaves_whole_sql(&self, lx: &Lexer<'v>, best: usize) -> bool {
        !self.end_tokens.contains(&(best as u32))
            && self.end_tokens.iter().any(|&e| self.allowed(lx, e))
    }

    /// Masks everything but the end tokens (an end token the model gave no
    /// weight gets some, so one can be drawn).
    fn keep_only_end(&self, logits: &mut [f32]) {
        for (i, l) in logits.iter_mut().enumerate() {
            if !self.end_tokens.contains(&(i as u32)) {
                *l = f32::NEG_INFINITY;
            } else if !l.is_finite() {
                *l = 0.0;
            }
        }
    }

    fn allowed(&self, lx: &Lexer<'v>, t: u32) -> bool {
        if self.end_tokens.contains(&t) {
            return lx.can_end() && self.judge.judge(&lx.text) == Verdict::Complete;
        }
        let Some(text) = self.text(t) else {
            return false;
        };
        let mut probe = lx.clone();
        text.chars().all(|c| probe.feed(c).is_ok()) && probe.grammatical(&self.judge)
    }

    /// The tokens to keep after `lx`, checked best logits first.
    fn choose(&self, lx: &Lexer<'v>, logits: &[f32]) -> Choice {
        let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]);
        let mut order: Vec<usize> = (0..logits.len())
            .filter(|&i| logits[i].is_finite())
            .collect();
        // Probabilities after temperature, for the sampling cut-off.
        let scale = self.temperature.map(|t| {
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let z: f32 = order.iter().map(|&i| ((logits[i] - max) / t).exp()).sum();
            (max, t, z)
        });
        let p = |i: usize| scale.map_or(0.0, |(max, t, z)| ((logits[i] - max) / t).exp() / z);
        let (mut checked, mut kept_mass) = (0.0f32, 0.0f32);
        let mut kept: Vec<(usize, f32)> = Vec::with_capacity(self.keep);
        let mut head = HEAD.min(order.len());
        let mut from = 0;
        let budget = self.judge.parses() + PARSE_BUDGET;
        'scan: loop {
            if head < order.len() {
                order[from..].select_nth_unstable_by(head - from, by_logit);
            }
            order[from..head].sort_by(by_logit);
            for (at, &i) in order[from..head].iter().enumerate() {
                // `from + at` tokens were checked before this one.
                if kept
                    .first()
                    .is_some_and(|&(_, best)| logits[i] < best - TAIL || from + at >= CHECK_LIMIT)
                {
                    return Choice::Keep(kept);
                }
                let mass = p(i);
                checked += mass;
                if self.allowed(lx, i as u32) {
                    kept.push((i, logits[i]));
                    kept_mass += mass;
                    let rest = 1.0 - checked;
                    if kept.len() == self.keep || (scale.is_some() && rest <= SLIVER * kept_mass) {
                        return Choice::Keep(kept);
                    }
                } else if i == order[0] && self.leaves_whole_sql(lx, i) {
                    return Choice::Leaves;
                }
                if self.judge.parses() >= budget {
                    break 'scan;
                }
            }
            if head == order.len() {
                break;
            }
            from = head;
            head = (head * 8).min(order.len());
        }
        if kept.is_empty() {
            Choice::Corner
        } else {
            Choice::Keep(kept)
        }
    }

    /// One step of `candidate`; `again` repeats the last step's choice.
    fn step(&mut self, candidate: usize, generated: &[u32], logits: &mut [f32], again: bool) {
        self.catch_up(candidate, generated);
        let p = &self.progress[candidate];
        if p.sql.is_none() {
            if p.text.len() > REASONING_BUDGET {
                self.close_reasoning(&p.text, logits);
            }
            return;
        }
        let Some(lx) = p.sql.as_ref().filter(|_| !p.broken) else {
            return;
        };
        let choice = match self.last.as_ref().filter(|_| again) {
            Some(choice) => choice.clone(),
            None => {
                let choice = self.choose(lx, logits);
                self.last = Some(choice.clone());
                choice
            }
        };
        match choice {
            Choice::Keep(kept) => {
                logits.fill(f32::NEG_INFINITY);
                for (i, l) in kept {
                    logits[i] = l;
                }
            }
            Choice::Leaves => self.keep_only_end(logits),
            Choice::Corner => {
                // Nothing fits: the candidate wrote itself into a corner (a
                // name nothing can declare any more, a parse no allowed
                // token continues; it cannot end either, or the end token
                // would have been kept). It ends here, invalid, for the
                // validator and repair: left unconstrained it wrote on to
                // the token limit, every step scanning the whole
                // vocabulary, and what it wrote never validated.
                self.progress[candidate].broken = true;
                self.keep_only_end(logits);
            }
        }
    }
}

impl LogitsProcessor for SqlConstraint<'_> {
    fn process(&mut self, candidate: usize, generated: &[u32], logits: &mut [f32]) {
        self.step(candidate, generated, logits, false);
    }

    fn process_same(&mut self, candidate: usize, generated: &[u32], logits: &mut [f32]) {
        self.step(candidate, generated, logits, true);
    }
}
