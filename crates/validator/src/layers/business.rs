use super::{Context, Layer, LayerOutput};
use crate::finding::{nearest, Finding, LayerName, Severity};
use crate::scope::{ColKey, JoinKind};
use glrl_catalog::ident_eq;

/// Layer 3: the query means something a finance team would accept — joins
/// follow known relationships, no accidental cartesian products, complete
/// GROUP BY, no sums across currencies, literals from the real vocabulary,
/// guarded divisions.
pub struct Business;

fn f(sev: Severity, code: &str, msg: String) -> Finding {
    Finding::new(LayerName::Business, sev, code, msg)
}

fn related(cx: &Context, a: &ColKey, b: &ColKey) -> bool {
    cx.relationships.iter().any(|r| {
        let child = |k: &ColKey| {
            ident_eq(&r.child_table, &k.0) && r.child_columns.iter().any(|c| ident_eq(c, &k.1))
        };
        let parent = |k: &ColKey| {
            ident_eq(&r.parent_table, &k.0) && r.parent_columns.iter().any(|c| ident_eq(c, &k.1))
        };
        (child(a) && parent(b)) || (child(b) && parent(a))
    })
}

/// A SELECT that reads one table and groups it by a column unique in it
/// makes every group one row: its totals are each row's own values
/// (`SELECT Resource_Code, COUNT(DISTINCT Resource_Code) … GROUP BY
/// Resource_Code` answered "Total number of people on record?"). With a
/// join the same grouping counts the other table's rows, as it should.
fn grouped_by_key(cx: &Context, s: &crate::scope::SelectFacts) -> Option<Finding> {
    let [table] = s.base_tables.as_slice() else {
        return None;
    };
    if !s.aggregated || s.relations != 1 {
        return None;
    }
    let t = cx.schema.table(table)?;
    let (_, text) = s.group_by.iter().find(|(k, _)| {
        k.as_ref()
            .is_some_and(|k| ident_eq(&k.0, table) && t.is_unique_column(&k.1))
    })?;
    Some(
        f(
            Severity::Warning,
            crate::fix::GROUP_BY_KEY,
            format!("grouping {table} by {text}, a key, makes every group one row: the totals are each row's own values"),
        )
        .suggest(Some(format!("drop the GROUP BY {text} to total over all rows, or group by a column rows share"))),
    )
}

impl Layer for Business {
    fn name(&self) -> LayerName {
        LayerName::Business
    }

    fn check(&self, cx: &Context) -> LayerOutput {
        let Some(a) = cx.analysis else {
            return LayerOutput::default();
        };
        let mut out = Vec::new();

        for j in &a.joins {
            match j.kind {
                JoinKind::Cross | JoinKind::Comma if j.pairs.is_empty() => {
                    // A cartesian product of base tables multiplies rows; with a
                    // CTE or subquery (often one row) it can be intended.
                    let sev = if j.right_table.is_some() {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    out.push(
                        f(sev, "BUSINESS_CARTESIAN_PRODUCT", format!("{} is joined without any condition: every row pairs with every other row", j.right))
                            .at(j.span)
                            .suggest(Some("add an ON condition along a known relationship".into())),
                    );
                }
                JoinKind::On | JoinKind::Comma => {
                    let base: Vec<_> = j
                        .pairs
                        .iter()
                        .filter(|(x, y)| !ident_eq(&x.0, &y.0))
                        .collect();
                    if !base.is_empty() && !base.iter().any(|(x, y)| related(cx, x, y)) {
                        let (x, y) = base[0];
                        let known: Vec<String> = cx
                            .relationships
                            .iter()
                            .filter(|r| r.involves(&x.0) && r.involves(&y.0))
                            .map(|r| r.on_clause())
                            .collect();
                        out.push(
                            f(Severity::Warning, "BUSINESS_UNRELATED_JOIN",
                              format!("{}.{} = {}.{} follows no known relationship between these tables", x.0, x.1, y.0, y.1))
                                .at(j.span)
                                .suggest(known.first().map(|k| format!("the known relationship is {k}"))),
                        );
                    }
                    if j.pairs.is_empty() && j.kind == JoinKind::On && j.right_table.is_some() {
                        out.push(
                            f(
                                Severity::Warning,
                                "BUSINESS_JOIN_WITHOUT_KEY",
                                format!(
                                    "the join condition of {} compares no key columns",
                                    j.right
                                ),
                            )
                            .at(j.span),
                        );
                    }
                }
                _ => {}
            }
        }

        for s in &a.selects {
            if let Some(f) = grouped_by_key(cx, s) {
                out.push(f);
            }
            if s.aggregated {
                for pc in &s.plain_columns {
                    let (key, text, span) = (&pc.key, &pc.text, &pc.span);
                    let short = |t: &str| t.rsplit('.').next().unwrap_or(t).to_string();
                    let grouped = s.group_by.iter().any(|(gk, gt)| {
                        (key.is_some() && gk == key)
                            || ident_eq(gt, text)
                            || ident_eq(&short(gt), &short(text))
                            || ident_eq(gt, &pc.item)
                    });
                    // Grouping by a table's primary key makes its other columns determined.
                    let determined = key.as_ref().is_some_and(|k| {
                        cx.schema.table(&k.0).is_some_and(|t| {
                            t.primary_key.len() == 1
                                && s.group_by.iter().any(|(gk, _)| {
                                    gk.as_ref().is_some_and(|g| {
                                        ident_eq(&g.0, &k.0) && ident_eq(&g.1, &t.primary_key[0])
                                    })
                                })
                        })
                    });
                    if !grouped && !determined {
                        out.push(
                            f(Severity::Error, crate::fix::GROUP_BY_MISSING,
                              format!("{text} is shown next to totals but is not in GROUP BY, so its value would be arbitrary"))
                                .at(*span)
                                .suggest(Some(format!("add {text} to GROUP BY, or aggregate it"))),
                        );
                    }
                }
            }
            for (k, span) in &s.summed {
                let Some(rule) = cx.rules.money.iter().find(|m| {
                    ident_eq(&m.table, &k.0) && m.amounts.iter().any(|c| ident_eq(c, &k.1))
                }) else {
                    continue;
                };
                let cur = (k.0.clone(), rule.currency.clone());
                let by_currency = s.group_by.iter().any(|(g, _)| {
                    g.as_ref()
                        .is_some_and(|g| ident_eq(&g.0, &cur.0) && ident_eq(&g.1, &cur.1))
                }) || s
                    .equality_filters
                    .iter()
                    .any(|g| ident_eq(&g.0, &cur.0) && ident_eq(&g.1, &cur.1));
                if !by_currency {
                    out.push(
                        f(
                            Severity::Warning,
                            "BUSINESS_MIXED_CURRENCY",
                            format!(
                                "{}.{} is added up across rows in different currencies",
                                k.0, k.1
                            ),
                        )
                        .at(*span)
                        .suggest(Some(format!(
                            "group by {}.{} or filter on one currency",
                            cur.0, cur.1
                        ))),
                    );
                }
            }
        }

        for c in &a.comparisons {
            let vocab: Option<Vec<String>> = cx
                .schema
                .table(&c.column.0)
                .and_then(|t| t.column(&c.column.1))
                .and_then(|col| col.allowed_values.clone())
                .or_else(|| {
                    cx.values
                        .values_of(&c.column.0, &c.column.1)
                        .map(|v| v.to_vec())
                });
            let Some(vocab) = vocab else { continue };
            if vocab.iter().any(|v| v == &c.literal) {
                continue;
            }
            let suggestion = vocab
                .iter()
                .find(|v| v.eq_ignore_ascii_case(&c.literal))
                .map(String::as_str)
                .or_else(|| nearest(&c.literal, vocab.iter().map(String::as_str)))
                .map(|v| format!("did you mean '{v}'?"));
            let listed = if vocab.len() <= 12 {
                format!(" (known values: {})", vocab.join(", "))
            } else {
                String::new()
            };
            out.push(
                f(
                    Severity::Error,
                    "BUSINESS_UNKNOWN_VALUE",
                    format!(
                        "'{}' is not a value of {}.{}{listed}",
                        c.literal, c.column.0, c.column.1
                    ),
                )
                .at(c.span)
                .suggest(suggestion),
            );
        }

        for (text, span) in &a.unguarded_divisions {
            out.push(
                f(
                    Severity::Warning,
                    "BUSINESS_UNGUARDED_DIVISION",
                    format!("{text} divides without guarding against zero"),
                )
                .at(*span)
                .suggest(Some("divide by NULLIF(divisor, 0)".into())),
            );
        }
        out.into()
    }
}
