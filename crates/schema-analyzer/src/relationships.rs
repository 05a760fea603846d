//! Relationship discovery: declared foreign keys, plus keys inferred from
//! naming (a column with the same name and type family as another table's
//! single-column primary key), each with its cardinality.

use glrl_catalog::{ident_eq, Schema};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Declared,
    Inferred,
}

/// `parent` (the referenced, "one" side) relates to `child` (the table
/// holding the key, "many" side unless the key is unique there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relationship {
    pub parent_table: String,
    pub parent_columns: Vec<String>,
    pub child_table: String,
    pub child_columns: Vec<String>,
    /// "1:N" or "1:1", read from parent to child.
    pub cardinality: &'static str,
    pub origin: Origin,
}

impl Relationship {
    /// The join condition, child side first: `PROJSTAFF.Project_Code = PAC_MNT_PROJECTS.Project_Code`.
    pub fn on_clause(&self) -> String {
        self.child_columns
            .iter()
            .zip(&self.parent_columns)
            .map(|(c, p)| format!("{}.{} = {}.{}", self.child_table, c, self.parent_table, p))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Whether the key keeps its name across the tables (`Project_Code` =
    /// `Project_Code`) rather than playing a role (`Manager_Code` →
    /// `Resource_Code`). Join-path search prefers the former on ties.
    pub fn is_natural(&self) -> bool {
        self.child_columns
            .iter()
            .zip(&self.parent_columns)
            .all(|(c, p)| ident_eq(c, p))
    }

    /// A sentence saying what the join means.
    pub fn describe(&self) -> String {
        let many = if self.cardinality == "1:1" {
            "one"
        } else {
            "many"
        };
        let role = if self.is_natural() {
            String::new()
        } else {
            format!(" through {}", self.child_columns.join(", "))
        };
        format!(
            "each {} row has {many} {} rows{role} ({}, {})",
            self.parent_table,
            self.child_table,
            self.cardinality,
            match self.origin {
                Origin::Declared => "declared foreign key",
                Origin::Inferred => "inferred from column names",
            }
        )
    }

    pub fn involves(&self, table: &str) -> bool {
        ident_eq(&self.parent_table, table) || ident_eq(&self.child_table, table)
    }
}

/// Declared foreign keys first (in table order), then inferred ones.
pub fn discover(schema: &Schema) -> Vec<Relationship> {
    let mut out = Vec::new();
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let parent = schema.table(&fk.ref_table);
            // `REFERENCES t` without columns means t's primary key.
            let parent_columns = if fk.ref_columns.is_empty() {
                parent.map(|p| p.primary_key.clone()).unwrap_or_default()
            } else {
                fk.ref_columns.clone()
            };
            let unique = fk.columns.len() == 1 && t.is_unique_column(&fk.columns[0]);
            out.push(Relationship {
                parent_table: parent
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| fk.ref_table.clone()),
                parent_columns,
                child_table: t.name.clone(),
                child_columns: fk.columns.clone(),
                cardinality: if unique { "1:1" } else { "1:N" },
                origin: Origin::Declared,
            });
        }
    }
    for child in &schema.tables {
        for col in &child.columns {
            for parent in &schema.tables {
                if ident_eq(&parent.name, &child.name) || !parent.is_primary_key(&col.name) {
                    continue;
                }
                let Some(pk) = parent.column(&col.name) else {
                    continue;
                };
                if pk.data_type.family() != col.data_type.family() {
                    continue;
                }
                // Two tables sharing a primary key name are peers, not parent
                // and child; without a declared key we cannot tell which.
                if child.is_primary_key(&col.name) {
                    continue;
                }
                let covered = out.iter().any(|r: &Relationship| {
                    ident_eq(&r.child_table, &child.name)
                        && r.child_columns.len() == 1
                        && ident_eq(&r.child_columns[0], &col.name)
                });
                if covered {
                    continue;
                }
                out.push(Relationship {
                    parent_table: parent.name.clone(),
                    parent_columns: vec![pk.name.clone()],
                    child_table: child.name.clone(),
                    child_columns: vec![col.name.clone()],
                    cardinality: if child.is_unique_column(&col.name) {
                        "1:1"
                    } else {
                        "1:N"
                    },
                    origin: Origin::Inferred,
                });
            }
        }
    }
    out
}
