//! The two-table family of generated pairs (`--family joins`): questions
//! about one table answered through the foreign key to another — children
//! filtered by their parent ("contracts with suppliers"), counted or
//! aggregated per a parent column ("hours per project region") or per a
//! column of their own for some parents ("hours per role on active
//! projects"), parents that have some children ("companies with active
//! contracts"). The entities, filters and measures are the shapes
//! family's (`shapes.rs`); a link says how two of them join and how a
//! question ties them. The table aliases follow the hand-written split,
//! and so does the reasoning (`reasoning.rs`), since every join question
//! of the dev split was missed by a model that had seen few join shapes
//! (TRAINING.md).

use crate::generate::{Composed, Fill};
use crate::shapes::{cap, filter_on, ident, pick, Entity, AGGS, ENTITIES};
use rand::RngExt;

/// A foreign key from `child` to `parent`, and the words for it.
pub(crate) struct Link {
    pub(crate) child: &'static str,
    pub(crate) parent: &'static str,
    /// The split's aliases: p, r, c, k, s, t.
    pub(crate) ca: &'static str,
    pub(crate) pa: &'static str,
    /// (child column, parent column)
    pub(crate) key: (&'static str, &'static str),
    /// "contracts {via} suppliers"
    via: &'static [&'static str],
    /// "suppliers {with} active contracts", "which suppliers {have} …"
    with: &'static str,
    pub(crate) have: &'static str,
    /// The parent as a qualifier of its columns: "company country".
    pub(crate) sing: &'static str,
    /// The parent column a list of children shows.
    show: &'static str,
}

#[rustfmt::skip]
pub(crate) const LINKS: &[Link] = &[
    Link { child: "PROJCNTRTS", parent: "SRM_COMPANIES", ca: "t", pa: "c", key: ("Company_Code", "Company_Code"),
           via: &["with", "signed with"], with: "with", have: "have", sing: "company", show: "Company_Name" },
    Link { child: "PROJCNTRTS", parent: "PAC_MNT_PROJECTS", ca: "t", pa: "p", key: ("Project_Code", "Project_Code"),
           via: &["on", "for"], with: "with", have: "have", sing: "project", show: "Project_Name" },
    Link { child: "PROJSTAFF", parent: "PAC_MNT_PROJECTS", ca: "s", pa: "p", key: ("Project_Code", "Project_Code"),
           via: &["on", "for"], with: "with", have: "have", sing: "project", show: "Project_Name" },
    Link { child: "PROJSTAFF", parent: "PAC_MNT_RESOURCES", ca: "s", pa: "r", key: ("Resource_Code", "Resource_Code"),
           via: &["of", "held by"], with: "with", have: "hold", sing: "resource", show: "Last_Name" },
    Link { child: "SRM_CONTACTS", parent: "SRM_COMPANIES", ca: "k", pa: "c", key: ("Company_Code", "Company_Code"),
           via: &["at", "of"], with: "with", have: "have", sing: "company", show: "Company_Name" },
    Link { child: "PAC_MNT_PROJECTS", parent: "PAC_MNT_RESOURCES", ca: "p", pa: "r", key: ("Manager_Code", "Resource_Code"),
           via: &["managed by", "led by"], with: "managing", have: "manage", sing: "manager", show: "Last_Name" },
];

pub(crate) fn entity(table: &str) -> Option<&'static Entity> {
    ENTITIES.iter().find(|e| e.table == table)
}

/// "a.X, a.Y" from "X, Y".
pub(crate) fn qualify(alias: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `FROM … JOIN … ON …` clause, reading FROM the child when
/// `from_child`, the ON written from the joined table's side as the split
/// writes it.
fn from_clause(l: &Link, from_child: bool) -> String {
    let (ck, pk) = l.key;
    if from_child {
        format!(
            "{} {} JOIN {} {} ON {}.{pk} = {}.{ck}",
            l.child, l.ca, l.parent, l.pa, l.pa, l.ca
        )
    } else {
        format!(
            "{} {} JOIN {} {} ON {}.{ck} = {}.{pk}",
            l.parent, l.pa, l.child, l.ca, l.ca, l.pa
        )
    }
}

/// What a grouped pair counts or aggregates, and over what.
struct Grouping<'a> {
    /// The child entity and its alias with a dot ("s.").
    ce: &'a Entity,
    ca: &'a str,
    /// FROM … JOIN … ON ….
    from: &'a str,
    /// The qualified grouping column.
    g: String,
    /// What is counted ("analyst assignments"), and the phrasings of the
    /// grouping ("per project region").
    subject: &'a str,
    per: [String; 3],
    w: Option<String>,
    count: bool,
}

/// A count or an aggregate of a child measure per a column, ordered by
/// the result, largest first, as the split orders joined group-bys.
fn grouped(f: &mut Fill, gr: Grouping) -> Option<Composed> {
    let Grouping {
        ce,
        ca,
        from,
        g,
        subject,
        per,
        w,
        count,
    } = gr;
    let wher = w
        .as_ref()
        .map(|w| format!(" WHERE {w}"))
        .unwrap_or_default();
    let (qs, select, alias) = if count {
        let alias = ident(ce.nouns[0]);
        (
            vec![
                format!("Number of {subject} {}.", per[0]),
                format!("How many {subject} {}?", per[1]),
                format!("Count {subject} {}.", per[2]),
            ],
            format!("COUNT(*) AS {alias}"),
            alias,
        )
    } else {
        let m = pick(f, ce.measures)?;
        let (func, prefix, words) = pick(f, AGGS)?;
        let word = *pick(f, words)?;
        let alias = format!("{prefix}_{}", ident(m.noun));
        (
            vec![
                format!("{} {} of {subject} {}.", cap(word), m.noun, per[0]),
                format!("What is the {word} {} of {subject} {}?", m.noun, per[1]),
                format!("{} {} of {subject} {}.", cap(word), m.noun, per[2]),
            ],
            format!("{func}({ca}{}) AS {alias}", m.col),
            alias,
        )
    };
    let order = format!("{alias} DESC");
    Some((
        qs,
        format!("SELECT {g}, {select} FROM {from}{wher} GROUP BY {g} ORDER BY {order}"),
    ))
}

/// One join pair of a random link and shape; `None` when the drawn link
/// lacks what the shape needs (the caller draws again).
pub(crate) fn make(f: &mut Fill) -> Option<Composed> {
    let l = pick(f, LINKS)?;
    let (ce, pe) = (entity(l.child)?, entity(l.parent)?);
    let (cn, pn) = (*pick(f, ce.nouns)?, *pick(f, pe.nouns)?);
    let via = *pick(f, l.via)?;
    let (ca, pa) = (format!("{}.", l.ca), format!("{}.", l.pa));
    let count_alias = ident(ce.nouns[0]);
    let shape = f.rng.random_range(0..7);
    // The parents-with-children shape reads from the parent, as the split
    // does; the others from either side, as the split also does.
    let from_child = shape != 5 && f.rng.random_range(0..2) == 0;
    let from = from_clause(l, from_child);
    match shape {
        0..=2 => {
            let (pp, w) = filter_on(f, pe, pn, &pa, None)?;
            let subject = format!("{cn} {via} {pp}");
            match shape {
                0 => Some((
                    vec![
                        format!("How many {subject} are there?"),
                        format!("Number of {subject}?"),
                        format!("Count the {subject}."),
                    ],
                    format!("SELECT COUNT(*) AS {count_alias} FROM {from} WHERE {w}"),
                )),
                1 => {
                    let order = format!("{ca}{}", ce.order);
                    Some((
                        vec![
                            format!("List the {subject}."),
                            format!("Show {subject}."),
                            format!("Which {cn} are there {via} {pp}?"),
                        ],
                        format!(
                            "SELECT {}, {pa}{} FROM {from} WHERE {w} ORDER BY {order}",
                            qualify(l.ca, ce.list),
                            l.show
                        ),
                    ))
                }
                _ => {
                    let m = pick(f, ce.measures)?;
                    let (func, alias, words) = pick(f, AGGS)?;
                    let w2 = *pick(f, words)?;
                    Some((
                        vec![
                            format!("{} {} of {subject}.", cap(w2), m.noun),
                            format!("What is the {w2} {} of {subject}?", m.noun),
                        ],
                        format!(
                            "SELECT {func}({ca}{}) AS {alias}_{} FROM {from} WHERE {w}",
                            m.col,
                            ident(m.noun)
                        ),
                    ))
                }
            }
        }
        3 | 4 => {
            let (g, gn) = *pick(f, pe.groups)?;
            // Half of them count or sum only some children.
            let cf = if f.rng.random_range(0..2) == 0 {
                Some(filter_on(f, ce, cn, &ca, Some(l.key.0))?)
            } else {
                None
            };
            let subject = cf.as_ref().map_or(cn.to_string(), |c| c.0.clone());
            let per = if gn.starts_with(l.sing) {
                // "project type", not "project project type"
                [
                    format!("per {gn}"),
                    format!("in each {gn}"),
                    format!("by {gn}"),
                ]
            } else {
                [
                    format!("per {} {gn}", l.sing),
                    format!("in each {} {gn}", l.sing),
                    format!("by {gn} of the {}", l.sing),
                ]
            };
            let gr = Grouping {
                ce,
                ca: &ca,
                from: &from,
                g: format!("{pa}{g}"),
                subject: &subject,
                per,
                w: cf.map(|c| c.1),
                count: shape == 3,
            };
            grouped(f, gr)
        }
        6 => {
            // Per a column of the child, only for some parents: "hours
            // per role on active projects".
            let (g, gn) = *pick(f, ce.groups)?;
            let (pp, w) = filter_on(f, pe, pn, &pa, None)?;
            let tail = format!("{via} {pp}");
            let per = [
                format!("per {gn} {tail}"),
                format!("for each {gn} {tail}"),
                format!("by {gn} {tail}"),
            ];
            let gr = Grouping {
                ce,
                ca: &ca,
                from: &from,
                g: format!("{ca}{g}"),
                subject: cn,
                per,
                w: Some(w),
                count: f.rng.random_range(0..2) == 0,
            };
            grouped(f, gr)
        }
        _ => {
            let (cp, w) = filter_on(f, ce, cn, &ca, Some(l.key.0))?;
            let order = format!("{pa}{}", pe.order);
            Some((
                vec![
                    format!("{} {} {cp}.", cap(pn), l.with),
                    format!("Which {pn} {} {cp}?", l.have),
                ],
                format!(
                    "SELECT DISTINCT {} FROM {from} WHERE {w} ORDER BY {order}",
                    qualify(l.pa, pe.list)
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_reads_from_either_side_with_the_on_from_the_joined_table() {
        assert_eq!(
            from_clause(&LINKS[0], true),
            "PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code"
        );
        assert_eq!(
            from_clause(&LINKS[5], false),
            "PAC_MNT_RESOURCES r JOIN PAC_MNT_PROJECTS p ON p.Manager_Code = r.Resource_Code"
        );
    }

    #[test]
    fn every_link_joins_two_known_entities() {
        for l in LINKS {
            assert!(entity(l.child).is_some() && entity(l.parent).is_some());
        }
    }
}
