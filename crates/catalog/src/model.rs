use crate::{ident_eq, SqlType};
use serde::{Deserialize, Serialize};

/// A database schema: the tables a question may be answered from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Secondary indexes created explicitly (not those backing a PRIMARY
    /// KEY or UNIQUE constraint, which every engine names differently).
    pub indexes: Vec<Index>,
    /// Table-level CHECK constraints, as SQL text.
    pub checks: Vec<String>,
    /// Known only from a live database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: SqlType,
    pub nullable: bool,
    pub unique: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Values allowed by a `CHECK (col IN (...))` constraint: the column's
    /// vocabulary, which the validator and constrained decoding rely on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

impl Schema {
    /// Finds a table by name, case-insensitively (SQL's rule for unquoted
    /// identifiers, and what makes PostgreSQL's folded names match).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| ident_eq(&t.name, name))
    }

    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|t| t.name.as_str())
    }

    /// The same schema with every identifier lower-cased and tables,
    /// foreign keys and indexes sorted: two sources describe the same
    /// schema exactly when their canonical forms are equal.
    pub fn canonical(&self) -> Schema {
        let mut tables: Vec<Table> = self.tables.iter().map(Table::canonical).collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Schema { tables }
    }

    /// Same schema regardless of spelling case and declaration order;
    /// row counts are data, not schema, and are ignored.
    pub fn same_structure(&self, other: &Schema) -> bool {
        let strip = |s: &Schema| {
            let mut c = s.canonical();
            c.tables.iter_mut().for_each(|t| t.row_count = None);
            c
        };
        strip(self) == strip(other)
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| ident_eq(&c.name, name))
    }

    pub fn is_primary_key(&self, column: &str) -> bool {
        self.primary_key.len() == 1 && ident_eq(&self.primary_key[0], column)
    }

    /// Whether `column` alone is unique in this table (single-column PK or UNIQUE).
    pub fn is_unique_column(&self, column: &str) -> bool {
        self.is_primary_key(column) || self.column(column).is_some_and(|c| c.unique)
    }

    fn canonical(&self) -> Table {
        let lower = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>();
        let mut foreign_keys: Vec<ForeignKey> = self
            .foreign_keys
            .iter()
            .map(|fk| ForeignKey {
                columns: lower(&fk.columns),
                ref_table: fk.ref_table.to_ascii_lowercase(),
                ref_columns: lower(&fk.ref_columns),
            })
            .collect();
        foreign_keys.sort_by(|a, b| (&a.columns, &a.ref_table).cmp(&(&b.columns, &b.ref_table)));
        let mut indexes: Vec<Index> = self
            .indexes
            .iter()
            .map(|i| Index {
                name: i.name.to_ascii_lowercase(),
                columns: lower(&i.columns),
                unique: i.unique,
            })
            .collect();
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        Table {
            name: self.name.to_ascii_lowercase(),
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.to_ascii_lowercase(),
                    ..c.clone()
                })
                .collect(),
            primary_key: lower(&self.primary_key),
            foreign_keys,
            indexes,
            // CHECK text is printed differently by every engine; the
            // vocabularies extracted into `allowed_values` carry its meaning.
            checks: Vec::new(),
            row_count: self.row_count,
        }
    }
}
