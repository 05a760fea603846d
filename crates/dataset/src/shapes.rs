//! The compositional family of generated pairs (`--family shapes`):
//! single-table questions assembled from parts — an entity, a filter or
//! none, count or list or an aggregate, a grouping, a top-N, a threshold
//! or a year — so that each decision a query makes (filter or not, count
//! or list, per group or in total) varies on its own and is visible in
//! the question. The templates family holds mostly two-filter queries,
//! and a model trained on it wrote filters nobody asked for (TRAINING.md);
//! this family gives the unfiltered and single-decision cases their share.
//! The reasoning, like every composed family's, is the hand-written
//! split's, derived from the SQL (`reasoning.rs`), so one format is learnt.

use crate::generate::{lc, Composed, Fill};
use rand::seq::IndexedRandom;
use rand::RngExt;

/// A categorical filter: `forms` phrase the filtered entity, with `{n}`
/// the entity's plural, `{v}` the value and `{l}` the value in lower case.
pub(crate) struct Cat {
    pub(crate) col: &'static str,
    pub(crate) slot: &'static str,
    forms: &'static [&'static str],
}

impl Cat {
    /// The entity `noun` filtered on `v`, in one of this filter's forms.
    pub(crate) fn phrase(&self, f: &mut Fill, noun: &str, v: &str) -> Option<String> {
        let form = pick(f, self.forms)?;
        Some(
            form.replace("{n}", noun)
                .replace("{v}", v)
                .replace("{l}", &lc(v)),
        )
    }
}

pub(crate) struct Measure {
    pub(crate) col: &'static str,
    pub(crate) noun: &'static str,
    pub(crate) thresholds: &'static [&'static str],
}

/// A date column and how a question says "in year Y" of it.
pub(crate) struct DateCol {
    pub(crate) col: &'static str,
    verbs: &'static [&'static str],
}

pub(crate) struct Entity {
    pub(crate) table: &'static str,
    /// Plural nouns; the first is also the count's alias.
    pub(crate) nouns: &'static [&'static str],
    /// Columns a list of this entity shows, and its natural order.
    pub(crate) list: &'static str,
    pub(crate) order: &'static str,
    pub(crate) cats: &'static [Cat],
    pub(crate) measures: &'static [Measure],
    pub(crate) dates: &'static [DateCol],
    /// Columns to group by, with the noun a question uses for them.
    pub(crate) groups: &'static [(&'static str, &'static str)],
}

const MONEY: &[&str] = &["100000", "250000", "500000", "1000000"];

#[rustfmt::skip]
pub(crate) const ENTITIES: &[Entity] = &[
    Entity {
        table: "PAC_MNT_PROJECTS",
        nouns: &["projects"],
        list: "Project_Code, Project_Name",
        order: "Project_Code",
        cats: &[
            Cat { col: "Status", slot: "project_status", forms: &["{l} {n}", "{n} with status {v}"] },
            Cat { col: "Project_Type", slot: "project_type", forms: &["{l} {n}", "{n} of type {v}"] },
            Cat { col: "Region", slot: "region", forms: &["{n} in {v}", "{v} {n}"] },
            Cat { col: "Department", slot: "department", forms: &["{n} run by {v}", "{v} department {n}"] },
            Cat { col: "Currency_Code", slot: "currency", forms: &["{n} in {v}", "{v} {n}"] },
        ],
        measures: &[
            Measure { col: "Budget_Amount", noun: "budget", thresholds: MONEY },
            Measure { col: "Actual_Cost", noun: "actual cost", thresholds: MONEY },
        ],
        dates: &[
            DateCol { col: "Start_Date", verbs: &["that started in", "starting in"] },
            DateCol { col: "End_Date", verbs: &["that end in", "finishing in"] },
        ],
        groups: &[("Status", "status"), ("Region", "region"), ("Department", "department"), ("Project_Type", "project type"), ("Currency_Code", "currency")],
    },
    Entity {
        table: "PAC_MNT_RESOURCES",
        nouns: &["resources", "people", "staff members"],
        list: "Resource_Code, First_Name, Last_Name",
        order: "Resource_Code",
        cats: &[
            Cat { col: "Department", slot: "resource_department", forms: &["{n} in {v}", "{n} of the {v} department"] },
            Cat { col: "Resource_Type", slot: "resource_type", forms: &["{l}s", "{n} who are {l}s"] },
            Cat { col: "Job_Title", slot: "job_title", forms: &["{n} working as {v}", "{n} with job title {v}"] },
        ],
        measures: &[Measure { col: "Hourly_Rate", noun: "hourly rate", thresholds: &["50", "80", "100", "150"] }],
        dates: &[DateCol { col: "Hire_Date", verbs: &["hired in", "who joined in"] }],
        groups: &[("Department", "department"), ("Resource_Type", "resource type"), ("Job_Title", "job title"), ("Cost_Center", "cost center")],
    },
    Entity {
        table: "SRM_COMPANIES",
        nouns: &["companies", "counterparties"],
        list: "Company_Code, Company_Name",
        order: "Company_Code",
        cats: &[
            Cat { col: "Company_Type", slot: "company_type", forms: &["{l}s", "{n} of type {v}"] },
            Cat { col: "Country", slot: "country", forms: &["{n} in {v}", "{n} based in {v}"] },
            Cat { col: "Industry", slot: "industry", forms: &["{v} {n}", "{n} in the {v} industry"] },
            Cat { col: "Status", slot: "company_status", forms: &["{l} {n}", "{n} with status {v}"] },
            Cat { col: "Payment_Terms", slot: "terms", forms: &["{n} paying on {v}", "{n} with {v} payment terms"] },
        ],
        measures: &[
            Measure { col: "Credit_Limit", noun: "credit limit", thresholds: MONEY },
            Measure { col: "Rating", noun: "rating", thresholds: &["2", "3", "4"] },
        ],
        dates: &[],
        groups: &[("Country", "country"), ("Industry", "industry"), ("Company_Type", "company type"), ("Status", "status"), ("Payment_Terms", "payment terms"), ("City", "city")],
    },
    Entity {
        table: "SRM_CONTACTS",
        nouns: &["contacts", "contact persons"],
        list: "Contact_Id, Company_Code, First_Name, Last_Name",
        order: "Contact_Id",
        cats: &[
            Cat { col: "Title", slot: "contact_title", forms: &["{n} titled {v}", "{n} whose title is {v}"] },
            Cat { col: "Company_Code", slot: "contact_company", forms: &["{n} at {v}", "{n} of {v}"] },
        ],
        measures: &[],
        dates: &[],
        groups: &[("Title", "title"), ("Company_Code", "company")],
    },
    Entity {
        table: "PROJSTAFF",
        nouns: &["assignments", "staff assignments"],
        list: "Assignment_Id, Project_Code, Resource_Code",
        order: "Assignment_Id",
        cats: &[
            Cat { col: "Role", slot: "role", forms: &["{n} as {v}", "{l} {n}"] },
            Cat { col: "Project_Code", slot: "project_code", forms: &["{n} on {v}", "{n} of project {v}"] },
            Cat { col: "Resource_Code", slot: "resource_code", forms: &["{n} of {v}", "{n} held by {v}"] },
        ],
        measures: &[
            Measure { col: "Hours_Worked", noun: "hours worked", thresholds: &["100", "200", "500", "1000"] },
            Measure { col: "Bill_Rate", noun: "bill rate", thresholds: &["80", "120", "150", "200"] },
            Measure { col: "Allocation_Pct", noun: "allocation", thresholds: &["25", "50", "80"] },
        ],
        dates: &[DateCol { col: "Start_Date", verbs: &["that started in", "beginning in"] }],
        groups: &[("Role", "role"), ("Project_Code", "project"), ("Resource_Code", "resource")],
    },
    Entity {
        table: "PROJCNTRTS",
        nouns: &["contracts"],
        list: "Contract_Number, Contract_Value",
        order: "Contract_Number",
        cats: &[
            Cat { col: "Status", slot: "contract_status", forms: &["{l} {n}", "{n} with status {v}"] },
            Cat { col: "Contract_Type", slot: "contract_type", forms: &["{l} {n}", "{v} {n}"] },
            Cat { col: "Currency_Code", slot: "currency", forms: &["{n} in {v}", "{v} {n}"] },
            Cat { col: "Company_Code", slot: "company_code", forms: &["{n} with {v}", "{n} of {v}"] },
            Cat { col: "Project_Code", slot: "project_code", forms: &["{n} on {v}", "{n} of project {v}"] },
        ],
        measures: &[
            Measure { col: "Contract_Value", noun: "contract value", thresholds: MONEY },
            Measure { col: "Invoiced_Amount", noun: "invoiced amount", thresholds: MONEY },
        ],
        dates: &[
            DateCol { col: "Sign_Date", verbs: &["signed in", "signed during"] },
            DateCol { col: "Start_Date", verbs: &["starting in", "that began in"] },
        ],
        groups: &[("Contract_Type", "contract type"), ("Status", "status"), ("Currency_Code", "currency"), ("Company_Code", "company"), ("Project_Code", "project")],
    },
];

/// (SQL function, alias prefix, words a question uses for it)
pub(crate) const AGGS: &[(&str, &str, &[&str])] = &[
    ("MIN", "smallest", &["smallest", "lowest", "minimum"]),
    ("MAX", "largest", &["largest", "highest", "maximum"]),
    ("AVG", "average", &["average", "mean"]),
    ("SUM", "total", &["total"]),
];

pub(crate) fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub(crate) fn ident(noun: &str) -> String {
    noun.replace(' ', "_")
}

/// The parts one pair is built from.
struct Parts {
    noun: &'static str,
    /// (phrase of the filtered entity, predicate)
    filter: Option<(String, String)>,
}

impl Parts {
    fn subject(&self) -> &str {
        self.filter.as_ref().map_or(self.noun, |f| f.0.as_str())
    }
    fn predicate(&self) -> Option<&str> {
        self.filter.as_ref().map(|f| f.1.as_str())
    }
    fn wher(&self) -> String {
        self.predicate()
            .map(|p| format!(" WHERE {p}"))
            .unwrap_or_default()
    }
}

pub(crate) fn pick<'a, T>(f: &mut Fill, xs: &'a [T]) -> Option<&'a T> {
    xs.choose(f.rng)
}

fn filter(f: &mut Fill, e: &Entity, noun: &str) -> Option<(String, String)> {
    filter_on(f, e, noun, "", None)
}

/// A categorical filter of `e` phrased with `noun`, its column written
/// with the qualifier `q` (`"c."` in a join, `""` alone) and never on the
/// column `skip` (a join key, which a join question does not name).
pub(crate) fn filter_on(
    f: &mut Fill,
    e: &Entity,
    noun: &str,
    q: &str,
    skip: Option<&str>,
) -> Option<(String, String)> {
    let cats: Vec<&Cat> = e.cats.iter().filter(|c| Some(c.col) != skip).collect();
    let c = *pick(f, &cats)?;
    let v = f.pick(c.slot);
    if v.is_empty() {
        return None;
    }
    let phrase = c.phrase(f, noun, &v)?;
    Some((
        phrase,
        format!("{q}{} = '{}'", c.col, v.replace('\'', "''")),
    ))
}

/// One pair of a random entity and shape; `None` when the drawn entity
/// lacks what the shape needs (the caller draws again).
pub(crate) fn make(f: &mut Fill) -> Option<Composed> {
    let e = pick(f, ENTITIES)?;
    let noun = *pick(f, e.nouns)?;
    let t = e.table;
    let count_alias = ident(e.nouns[0]);
    let shape = f.rng.random_range(0..11);
    // Shapes 1, 2, 4 and 10 take a categorical filter; the others take
    // none (8 and 9 have their own WHERE: a threshold or a year).
    let filtered = matches!(shape, 1 | 2 | 4 | 10);
    let p = Parts {
        noun,
        filter: if filtered {
            Some(filter(f, e, noun)?)
        } else {
            None
        },
    };
    let s = p.subject().to_string();
    match shape {
        0 => Some((
            vec![
                format!("How many {noun} are there?"),
                format!("Count all {noun}."),
                format!("Total number of {noun}?"),
                format!("How many {noun} do we have?"),
            ],
            format!("SELECT COUNT(*) AS {count_alias} FROM {t}"),
        )),
        1 => Some((
            vec![
                format!("How many {s} are there?"),
                format!("Count the {s}."),
                format!("Number of {s}?"),
            ],
            format!("SELECT COUNT(*) AS {count_alias} FROM {t}{}", p.wher()),
        )),
        2 => Some((
            vec![
                format!("List the {s}."),
                format!("Which {s} are there?"),
                format!("Show all {s}."),
            ],
            format!(
                "SELECT {} FROM {t}{} ORDER BY {}",
                e.list,
                p.wher(),
                e.order
            ),
        )),
        3 | 4 => {
            let m = pick(f, e.measures)?;
            let (func, alias, words) = pick(f, AGGS)?;
            let w = *pick(f, words)?;
            let qs = if p.filter.is_some() {
                vec![
                    format!("{} {} of {s}.", cap(w), m.noun),
                    format!("What is the {w} {} among {s}?", m.noun),
                ]
            } else {
                vec![
                    format!("What is the {w} {}?", m.noun),
                    format!("{} {} of all {noun}.", cap(w), m.noun),
                    format!("{} {} across {noun}?", cap(w), m.noun),
                ]
            };
            Some((
                qs,
                format!(
                    "SELECT {func}({}) AS {alias}_{} FROM {t}{}",
                    m.col,
                    ident(m.noun),
                    p.wher()
                ),
            ))
        }
        5 | 10 => {
            let (g, gn) = *pick(f, e.groups)?;
            if p.predicate()
                .is_some_and(|w| w.starts_with(&format!("{g} ")))
            {
                return None; // one group: the filter already fixes it
            }
            let qs = vec![
                format!("How many {s} per {gn}?"),
                format!("Number of {s} by {gn}."),
                format!("Count {s} in each {gn}."),
            ];
            Some((
                qs,
                format!(
                    "SELECT {g}, COUNT(*) AS {count_alias} FROM {t}{} GROUP BY {g} ORDER BY {g}",
                    p.wher()
                ),
            ))
        }
        6 => {
            let (g, gn) = *pick(f, e.groups)?;
            let m = pick(f, e.measures)?;
            let (func, alias, words) = pick(f, AGGS)?;
            let w = *pick(f, words)?;
            Some((
                vec![
                    format!("{} {} per {gn}.", cap(w), m.noun),
                    format!("What is the {w} {} for each {gn}?", m.noun),
                    format!("{} {} of {noun} by {gn}.", cap(w), m.noun),
                ],
                format!(
                    "SELECT {g}, {func}({}) AS {alias}_{} FROM {t} GROUP BY {g} ORDER BY {g}",
                    m.col,
                    ident(m.noun)
                ),
            ))
        }
        7 => {
            let m = pick(f, e.measures)?;
            let k = f.pick("n");
            let (dir, qs) = if f.rng.random_range(0..3) == 0 {
                (
                    "ASC",
                    vec![
                        format!("The {k} {noun} with the lowest {}.", m.noun),
                        format!("Bottom {k} {noun} by {}.", m.noun),
                    ],
                )
            } else {
                (
                    "DESC",
                    vec![
                        format!("Top {k} {noun} by {}.", m.noun),
                        format!("Which {k} {noun} have the highest {}?", m.noun),
                    ],
                )
            };
            let o = format!("{} {dir}", m.col);
            Some((
                qs,
                format!(
                    "SELECT {}, {} FROM {t} ORDER BY {o} LIMIT {k}",
                    e.list, m.col
                ),
            ))
        }
        8 => {
            let m = pick(f, e.measures)?;
            let a = *pick(f, m.thresholds)?;
            let (op, qs) = if f.rng.random_range(0..2) == 0 {
                (
                    ">",
                    vec![
                        format!("{} with {} above {a}.", cap(noun), m.noun),
                        format!("Which {noun} have {} over {a}?", m.noun),
                    ],
                )
            } else {
                (
                    "<",
                    vec![
                        format!("{} with {} below {a}.", cap(noun), m.noun),
                        format!("Which {noun} have {} under {a}?", m.noun),
                    ],
                )
            };
            let w = format!("{} {op} {a}", m.col);
            Some((
                qs,
                format!(
                    "SELECT {}, {} FROM {t} WHERE {w} ORDER BY {}",
                    e.list, m.col, e.order
                ),
            ))
        }
        _ => {
            let d = pick(f, e.dates)?;
            let verb = *pick(f, d.verbs)?;
            let y = f.pick("year");
            let w = format!("{} BETWEEN '{y}-01-01' AND '{y}-12-31'", d.col);
            Some((
                vec![
                    format!("{} {verb} {y}.", cap(noun)),
                    format!("List the {noun} {verb} {y}."),
                ],
                format!(
                    "SELECT {}, {} FROM {t} WHERE {w} ORDER BY {}",
                    e.list, d.col, d.col
                ),
            ))
        }
    }
}

/// A skeleton with its aliases dropped and its join written one way: two
/// queries that differ only in what they call a column, or in which side
/// of a two-table join they read FROM, are the same query, so a generated
/// pair must not match a dev skeleton in either disguise. References to
/// an alias (`ORDER BY hours DESC`) become `_a`.
pub fn shape_key(skeleton: &str) -> String {
    let ident_len = |w: &str| {
        w.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .count()
    };
    let words: Vec<&str> = skeleton.split_whitespace().collect();
    let aliases: Vec<&str> = words
        .windows(2)
        .filter(|p| p[0].eq_ignore_ascii_case("AS"))
        .map(|p| &p[1][..ident_len(p[1])])
        .filter(|a| !a.is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("AS") {
            // The alias, keeping a comma or bracket that ends it.
            if let Some(a) = words.next() {
                let tail = &a[ident_len(a)..];
                if !tail.is_empty() {
                    out.push(tail.to_string());
                }
            }
            continue;
        }
        let n = ident_len(w);
        if n > 0 && aliases.contains(&&w[..n]) {
            out.push(format!("_a{}", &w[n..]));
        } else {
            out.push(w.to_string());
        }
    }
    // FROM A a JOIN B b ON x = y, with (A a, B b) and (x, y) sorted.
    if let Some(i) = (0..out.len().saturating_sub(9)).find(|&i| {
        out[i] == "FROM" && out[i + 3] == "JOIN" && out[i + 6] == "ON" && out[i + 8] == "="
    }) {
        if (&out[i + 1], &out[i + 2]) > (&out[i + 4], &out[i + 5]) {
            out.swap(i + 1, i + 4);
            out.swap(i + 2, i + 5);
        }
        if out[i + 7] > out[i + 9] {
            out.swap(i + 7, i + 9);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_key_drops_aliases_only() {
        let a = shape_key("SELECT MAX(Hourly_Rate) AS highest_rate FROM PAC_MNT_RESOURCES");
        let b = shape_key("SELECT MAX(Hourly_Rate) AS largest_hourly_rate FROM PAC_MNT_RESOURCES");
        assert_eq!(a, b);
        assert_eq!(
            shape_key("SELECT Department, COUNT(*) AS n, AVG(x) AS y FROM T t GROUP BY Department"),
            "SELECT Department, COUNT(*) , AVG(x) FROM T t GROUP BY Department"
        );
        assert_ne!(
            a,
            shape_key("SELECT MIN(Hourly_Rate) AS highest_rate FROM PAC_MNT_RESOURCES")
        );
    }

    #[test]
    fn shape_key_reads_a_join_either_way_and_alias_references_as_one() {
        let dev = shape_key(
            "SELECT s.Role, SUM(s.Hours_Worked) AS hours FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s \
             ON s.Project_Code = p.Project_Code WHERE p.Status = ? GROUP BY s.Role ORDER BY hours DESC",
        );
        let generated = shape_key(
            "SELECT s.Role, SUM(s.Hours_Worked) AS total_hours_worked FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p \
             ON p.Project_Code = s.Project_Code WHERE p.Status = ? GROUP BY s.Role ORDER BY total_hours_worked DESC",
        );
        assert_eq!(dev, generated);
        assert!(dev.ends_with("GROUP BY s.Role ORDER BY _a DESC"), "{dev}");
        // A different grouping is a different query.
        assert_ne!(dev, generated.replace("s.Role", "p.Region"));
        // The last tokens of a skeleton are never cut off.
        assert_eq!(
            shape_key("SELECT a FROM T t JOIN U u ON u.k = t.k"),
            "SELECT a FROM T t JOIN U u ON t.k = u.k"
        );
    }
}
