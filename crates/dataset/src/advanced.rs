//! The family of generated pairs past filter-group-order (`--family
//! advanced`): the constructs the complex third of the dev split is
//! made of and no other family writes — HAVING, COUNT(DISTINCT …),
//! CASE shares and bands, comparison with an average by subquery, set
//! operations, window functions (difference from a partition average,
//! running counts and totals, ranks, top-N per group), NOT EXISTS and
//! correlated aggregates along a foreign key, and a CTE of per-parent
//! totals. A model that had seen only the train split's one or two
//! examples of each answered none of the 42 complex dev questions; one
//! pass over this family (runs 5 and 6) did not change that yet
//! (TRAINING.md). The entities, filters, measures and links are the
//! shapes and joins families'; the reasoning, constructs and difficulty
//! are derived from the SQL as the split derives them (`reasoning.rs`).

use crate::generate::{Composed, Fill};
use crate::joins::{entity, qualify, Link, LINKS};
use crate::shapes::{cap, filter_on, ident, pick, Cat, Entity, Measure, AGGS, ENTITIES};
use rand::RngExt;

/// "city" → "cities", "status" → "statuses", "payment terms" unchanged.
fn plural(n: &str) -> String {
    if n.ends_with("terms") {
        n.to_string()
    } else if n.ends_with('s') {
        format!("{n}es")
    } else if let Some(stem) = n.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{n}s")
    }
}

/// "companies" → "company", "people" → "person".
fn singular(n: &str) -> String {
    if n == "people" {
        "person".to_string()
    } else if let Some(stem) = n.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        n.strip_suffix('s').unwrap_or(n).to_string()
    }
}

/// A value as part of an alias: "On Hold" → "on_hold".
fn slug(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.trim_matches('_').to_string()
}

/// A categorical value of `e` worth a CASE (no codes: a share of one
/// project's assignments says little), never on a column in `skip`.
fn category<'e>(f: &mut Fill, e: &'e Entity, skip: &str) -> Option<(&'e Cat, String)> {
    let cats: Vec<&Cat> = e
        .cats
        .iter()
        .filter(|c| c.col != skip && (!c.col.ends_with("_Code") || c.col == "Currency_Code"))
        .collect();
    let c = *pick(f, &cats)?;
    let v = f.pick(c.slot);
    (!v.is_empty()).then_some((c, v))
}

/// `list` and `col` unless the list shows it already.
fn showing(list: &str, col: &str) -> String {
    if list.split(", ").any(|c| c == col) {
        list.to_string()
    } else {
        format!("{list}, {col}")
    }
}

/// Whether a running total of the measure means something (hours,
/// amounts), unlike one of rates, ratings or percentages.
fn additive(m: &Measure) -> bool {
    !["rate", "rating", "allocation"]
        .iter()
        .any(|w| m.noun.contains(w))
}

/// Two thresholds of a measure, low then high.
fn band(f: &mut Fill, m: &Measure) -> Option<(&'static str, &'static str)> {
    let i = f.rng.random_range(0..m.thresholds.len().checked_sub(1)?);
    Some((m.thresholds[i], m.thresholds[i + 1]))
}

/// What a question names (the filtered phrase, or the bare `noun`) and
/// the WHERE clause, from an optional (phrase, predicate) filter.
fn subject(filter: Option<(String, String)>, noun: &str) -> (String, String) {
    match filter {
        Some((phrase, predicate)) => (phrase, format!(" WHERE {predicate}")),
        None => (noun.to_string(), String::new()),
    }
}

/// One pair of a random shape; `None` when the drawn entity or link lacks
/// what the shape needs (the caller draws again).
pub(crate) fn make(f: &mut Fill) -> Option<Composed> {
    let shape = f.rng.random_range(0..15);
    if shape >= 12 {
        return linked(f, shape);
    }
    let e = pick(f, ENTITIES)?;
    let noun = *pick(f, e.nouns)?;
    let t = e.table;
    let key = e.order;
    let (g, gn) = *pick(f, e.groups)?;
    let gp = plural(gn);
    let count_alias = ident(e.nouns[0]);
    // A filter never on the grouping column, which it would reduce to one group.
    let filtered = |f: &mut Fill, share: u32| -> Option<Option<(String, String)>> {
        if f.rng.random_range(0..100) < share {
            Some(Some(filter_on(f, e, noun, "", Some(g))?))
        } else {
            Some(None)
        }
    };
    match shape {
        0 => {
            let (s, wher) = subject(filtered(f, 50)?, noun);
            let k = *pick(f, &["1", "2", "3", "5", "10"])?;
            Some((
                vec![
                    format!("Which {gp} have more than {k} {s}?"),
                    format!("{} with more than {k} {s}.", cap(&gp)),
                    format!("{} counting over {k} {s}.", cap(&gp)),
                ],
                format!(
                    "SELECT {g}, COUNT(*) AS {count_alias} FROM {t}{wher} GROUP BY {g} HAVING COUNT(*) > {k} ORDER BY {count_alias} DESC"
                ),
            ))
        }
        1 => {
            let m = pick(f, e.measures)?;
            let (func, prefix, words) = pick(f, AGGS)?;
            let w = *pick(f, words)?;
            let x = *pick(f, m.thresholds)?;
            let alias = format!("{prefix}_{}", ident(m.noun));
            Some((
                vec![
                    format!("{} with {w} {} above {x}.", cap(&gp), m.noun),
                    format!("For which {gp} is the {w} {} over {x}?", m.noun),
                    format!("{} whose {w} {} exceeds {x}.", cap(&gp), m.noun),
                ],
                format!(
                    "SELECT {g}, {func}({}) AS {alias} FROM {t} GROUP BY {g} HAVING {func}({}) > {x} ORDER BY {alias} DESC",
                    m.col, m.col
                ),
            ))
        }
        2 => {
            let (h, hn) = *pick(f, e.groups)?;
            if h == g {
                return None;
            }
            let hp = plural(hn);
            let alias = ident(&hp);
            if f.rng.random_range(0..2) == 0 {
                Some((
                    vec![
                        format!("Number of distinct {hp} per {gn}."),
                        format!("How many different {hp} does each {gn} have?"),
                        format!("Count the distinct {hp} in each {gn}."),
                    ],
                    format!(
                        "SELECT {g}, COUNT(DISTINCT {h}) AS {alias} FROM {t} GROUP BY {g} ORDER BY {alias} DESC"
                    ),
                ))
            } else {
                let k = *pick(f, &["1", "2", "3", "5"])?;
                Some((
                    vec![
                        format!("{} with more than {k} different {hp}.", cap(&gp)),
                        format!("Which {gp} span more than {k} distinct {hp}?"),
                    ],
                    format!(
                        "SELECT {g}, COUNT(DISTINCT {h}) AS {alias} FROM {t} GROUP BY {g} HAVING COUNT(DISTINCT {h}) > {k} ORDER BY {alias} DESC"
                    ),
                ))
            }
        }
        3 => {
            let (c, v) = category(f, e, g)?;
            let phrase = c.phrase(f, noun, &v)?;
            let alias = format!("{}_share", slug(&v));
            Some((
                vec![
                    format!("Share of {phrase} per {gn}."),
                    format!("For each {gn}, what share are {phrase}?"),
                    format!("What fraction of {noun} in each {gn} are {phrase}?"),
                ],
                format!(
                    "SELECT {g}, AVG(CASE WHEN {} = '{}' THEN 1.0 ELSE 0.0 END) AS {alias} FROM {t} GROUP BY {g} ORDER BY {alias} DESC",
                    c.col,
                    v.replace('\'', "''")
                ),
            ))
        }
        4 | 5 => {
            let m = pick(f, e.measures)?;
            let (lo, hi) = band(f, m)?;
            let alias = format!("{}_band", ident(m.noun));
            let case = format!(
                "CASE WHEN {c} >= {hi} THEN 'high' WHEN {c} >= {lo} THEN 'medium' ELSE 'low' END AS {alias}",
                c = m.col
            );
            let mn = m.noun;
            if shape == 4 {
                Some((
                    vec![
                        format!("Label {noun} by {mn}: high from {hi}, medium from {lo}, otherwise low."),
                        format!("Classify {noun} as high (at least {hi}), medium (at least {lo}) or low {mn}."),
                    ],
                    format!("SELECT {}, {case} FROM {t} ORDER BY {key}", e.list),
                ))
            } else {
                Some((
                    vec![
                        format!("How many {noun} fall in each {mn} band: high from {hi}, medium from {lo}, low below?"),
                        format!("Count {noun} per {mn} band (high at least {hi}, medium at least {lo}, else low)."),
                    ],
                    format!(
                        "SELECT {case}, COUNT(*) AS {count_alias} FROM {t} GROUP BY {alias} ORDER BY {alias}"
                    ),
                ))
            }
        }
        6 => {
            let m = pick(f, e.measures)?;
            let p = filtered(f, 50)?;
            let mn = m.noun;
            let (op, dir, word) = if f.rng.random_range(0..3) == 0 {
                ("<", "ASC", "below")
            } else {
                (">", "DESC", "above")
            };
            let (qs, wher, and) = match &p {
                Some((s, w)) => (
                    vec![
                        format!("{} with {mn} {word} the average of {s}.", cap(s)),
                        format!("Which {s} have a {mn} {word} their average?"),
                    ],
                    format!(" WHERE {w}"),
                    format!("{w} AND "),
                ),
                None => (
                    vec![
                        format!("{} with {mn} {word} the average.", cap(noun)),
                        format!("Which {noun} have a {word}-average {mn}?"),
                    ],
                    String::new(),
                    String::new(),
                ),
            };
            Some((
                qs,
                format!(
                    "SELECT {} FROM {t} WHERE {and}{c} {op} (SELECT AVG({c}) FROM {t}{wher}) ORDER BY {c} {dir}",
                    showing(e.list, m.col),
                    c = m.col
                ),
            ))
        }
        7 => {
            let (s1, w1) = filter_on(f, e, noun, "", Some(g))?;
            let (s2, w2) = filter_on(f, e, noun, "", Some(g))?;
            if w1 == w2 {
                return None;
            }
            let (op, qs) = match f.rng.random_range(0..3) {
                0 => (
                    "INTERSECT",
                    vec![
                        format!("{} with both {s1} and {s2}.", cap(&gp)),
                        format!("In which {gp} are there {s1} as well as {s2}?"),
                        format!("{} that have {s1} and also {s2}.", cap(&gp)),
                    ],
                ),
                1 => (
                    "UNION",
                    vec![
                        format!("{} with {s1} or {s2}.", cap(&gp)),
                        format!("{} of {s1} together with those of {s2}.", cap(&gp)),
                    ],
                ),
                _ => (
                    "EXCEPT",
                    vec![
                        format!("{} with {s1} but no {s2}.", cap(&gp)),
                        format!("Which {gp} have {s1} and never {s2}?"),
                    ],
                ),
            };
            Some((
                qs,
                format!("SELECT {g} FROM {t} WHERE {w1} {op} SELECT {g} FROM {t} WHERE {w2} ORDER BY {g}"),
            ))
        }
        8 => {
            let m = pick(f, e.measures)?;
            let p = filtered(f, 50)?;
            let (mn, sing) = (m.noun, singular(noun));
            let (qs, wher) = match &p {
                Some((s, w)) => (
                    vec![
                        format!("For {s}, each one's {mn} minus its {gn} average."),
                        format!("How far is the {mn} of each of the {s} from its {gn} average?"),
                    ],
                    format!(" WHERE {w}"),
                ),
                None => (
                    vec![
                        format!("How far is each {sing}'s {mn} from its {gn} average?"),
                        format!(
                            "Difference between each {sing}'s {mn} and the average of its {gn}."
                        ),
                    ],
                    String::new(),
                ),
            };
            Some((
                qs,
                format!(
                    "SELECT {key}, {g}, {c} - AVG({c}) OVER (PARTITION BY {g}) AS vs_{} FROM {t}{wher} ORDER BY {g}, {key}",
                    ident(gn),
                    c = m.col
                ),
            ))
        }
        9 => {
            let d = pick(f, e.dates)?;
            let dn = d.col.to_lowercase().replace('_', " ");
            let (s, wher) = subject(filtered(f, 40)?, noun);
            let order = format!("{}, {key}", d.col);
            let additive: Vec<&Measure> = e.measures.iter().filter(|m| additive(m)).collect();
            match pick(f, &additive).filter(|_| f.rng.random_range(0..2) == 0) {
                Some(m) => Some((
                    vec![
                        format!("Running total of {} of {s} by {dn}.", m.noun),
                        format!("Cumulative {} of {s} over {dn}.", m.noun),
                    ],
                    format!(
                        "SELECT {key}, {}, {c}, SUM({c}) OVER (ORDER BY {order}) AS running_{} FROM {t}{wher} ORDER BY {order}",
                        d.col,
                        ident(m.noun),
                        c = m.col
                    ),
                )),
                None => Some((
                    vec![
                        format!("Running count of {s} by {dn}."),
                        format!("Cumulative number of {s} over {dn}."),
                    ],
                    format!(
                        "SELECT {key}, {}, COUNT(*) OVER (ORDER BY {order}) AS {count_alias}_so_far FROM {t}{wher} ORDER BY {order}",
                        d.col
                    ),
                )),
            }
        }
        10 => {
            let m = pick(f, e.measures)?;
            let alias = format!("{}_rank", ident(m.noun));
            Some((
                vec![
                    format!("Rank {noun} by {} within each {gn}.", m.noun),
                    format!("Rank of each {} by {} in its {gn}.", singular(noun), m.noun),
                ],
                format!(
                    "SELECT {key}, {g}, {c}, RANK() OVER (PARTITION BY {g} ORDER BY {c} DESC) AS {alias} FROM {t} ORDER BY {g}, {alias}",
                    c = m.col
                ),
            ))
        }
        _ => {
            let m = pick(f, e.measures)?;
            let n = f.rng.random_range(1..4);
            let mn = m.noun;
            let qs = if n == 1 {
                vec![
                    format!(
                        "{} with the highest {mn} in each {gn}.",
                        cap(&singular(noun))
                    ),
                    format!("The top {} by {mn} for every {gn}.", singular(noun)),
                ]
            } else {
                vec![
                    format!("Top {n} {noun} by {mn} per {gn}."),
                    format!("The {n} {noun} with the highest {mn} in each {gn}."),
                ]
            };
            Some((
                qs,
                format!(
                    "SELECT {key}, {g}, {c} FROM (SELECT {key}, {g}, {c}, DENSE_RANK() OVER (PARTITION BY {g} ORDER BY {c} DESC) AS dr FROM {t}) x WHERE dr <= {n} ORDER BY {g}, dr",
                    c = m.col
                ),
            ))
        }
    }
}

/// `C ca WHERE ca.ck = pa.pk`, the correlation of a child subquery.
fn correlated(l: &Link) -> String {
    format!(
        "{} {ca} WHERE {ca}.{} = {}.{}",
        l.child,
        l.key.0,
        l.pa,
        l.key.1,
        ca = l.ca
    )
}

/// Shapes along a foreign key: parents without (some) children, parents
/// by an aggregate of their children, a CTE of per-parent totals.
fn linked(f: &mut Fill, shape: u32) -> Option<Composed> {
    let l = pick(f, LINKS)?;
    let (ce, pe) = (entity(l.child)?, entity(l.parent)?);
    let (cn, pn) = (*pick(f, ce.nouns)?, *pick(f, pe.nouns)?);
    let (pa, ca) = (l.pa, l.ca);
    let show = qualify(pa, pe.list);
    let order = format!("{pa}.{}", pe.order);
    let from = format!("{} {pa}", l.parent);
    // Half of them are about some children only ("active contracts").
    let cf = if f.rng.random_range(0..2) == 0 {
        Some(filter_on(f, ce, cn, &format!("{ca}."), Some(l.key.0))?)
    } else {
        None
    };
    let cs = cf.as_ref().map_or(cn.to_string(), |c| c.0.clone());
    let and = cf
        .as_ref()
        .map(|c| format!(" AND {}", c.1))
        .unwrap_or_default();
    let have = l.have;
    match shape {
        12 => {
            // Parents with children of one link and none of another.
            let other = LINKS
                .iter()
                .filter(|o| o.parent == l.parent && o.child != l.child)
                .collect::<Vec<_>>();
            match pick(f, &other).filter(|_| f.rng.random_range(0..2) == 0) {
                Some(o) => {
                    let on = *pick(f, entity(o.child)?.nouns)?;
                    Some((
                        vec![
                            format!("{} that {have} {cs} but no {on}.", cap(pn)),
                            format!("Which {pn} {have} {cs} yet {} no {on}?", o.have),
                        ],
                        format!(
                            "SELECT {show} FROM {from} WHERE EXISTS (SELECT 1 FROM {}{and}) AND NOT EXISTS (SELECT 1 FROM {}) ORDER BY {order}",
                            correlated(l),
                            correlated(o)
                        ),
                    ))
                }
                None => Some((
                    vec![
                        format!("Which {pn} {have} no {cs}?"),
                        format!("{} without any {cs}.", cap(pn)),
                    ],
                    format!(
                        "SELECT {show} FROM {from} WHERE NOT EXISTS (SELECT 1 FROM {}{and}) ORDER BY {order}",
                        correlated(l)
                    ),
                )),
            }
        }
        13 => {
            let m = pick(f, ce.measures)?;
            let (func, _, words) = pick(f, &AGGS[1..])?;
            let w = *pick(f, words)?;
            let x = *pick(f, m.thresholds)?;
            Some((
                vec![
                    format!("{} whose {w} {} over the {cs} they {have} is above {x}.", cap(pn), m.noun),
                    format!("Which {pn} {have} {cs} with a {w} {} above {x}?", m.noun),
                ],
                format!(
                    "SELECT {show} FROM {from} WHERE (SELECT {func}({ca}.{}) FROM {}{and}) > {x} ORDER BY {order}",
                    m.col,
                    correlated(l)
                ),
            ))
        }
        _ => {
            let m = pick(f, ce.measures)?;
            let total = format!("total_{}", ident(m.noun));
            let wher = cf
                .as_ref()
                .map(|c| format!(" WHERE {}", c.1))
                .unwrap_or_default();
            let sing = l.sing;
            Some((
                vec![
                    format!("Total {} of {cs} per {sing}, largest first.", m.noun),
                    format!("Rank {pn} by the total {} of the {cs} they {have}.", m.noun),
                ],
                format!(
                    "WITH totals AS (SELECT {ca}.{ck}, SUM({ca}.{}) AS {total} FROM {} {ca}{wher} GROUP BY {ca}.{ck}) \
                     SELECT {show}, x.{total} FROM totals x JOIN {from} ON {pa}.{} = x.{ck} ORDER BY x.{total} DESC",
                    m.col,
                    l.child,
                    l.key.1,
                    ck = l.key.0
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nouns_inflect() {
        assert_eq!(plural("city"), "cities");
        assert_eq!(plural("status"), "statuses");
        assert_eq!(plural("payment terms"), "payment terms");
        assert_eq!(plural("job title"), "job titles");
        assert_eq!(singular("companies"), "company");
        assert_eq!(singular("people"), "person");
        assert_eq!(singular("staff assignments"), "staff assignment");
        assert_eq!(slug("On Hold"), "on_hold");
    }

    #[test]
    fn every_link_can_correlate() {
        for l in LINKS {
            let c = correlated(l);
            assert!(c.starts_with(l.child), "{c}");
            assert!(c.contains(&format!("= {}.{}", l.pa, l.key.1)), "{c}");
        }
    }
}
