//! Builds a [`Schema`] from DDL text with sqlparser.

use crate::{Column, Dialect, ForeignKey, Index, Schema, SqlType, Table};
use sqlparser::ast::{
    CharacterLength, ColumnOption, CreateIndex, CreateTable, DataType, ExactNumberInfo, Expr,
    InTarget, ObjectName, Statement, TableConstraint, Value,
};
use sqlparser::parser::Parser;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DdlError {
    #[error("the DDL does not parse as {dialect}: {message}")]
    Parse { dialect: Dialect, message: String },
    #[error("CREATE INDEX {index} refers to table {table}, which the DDL does not create")]
    UnknownIndexTable { index: String, table: String },
    #[error("table {0} is created twice")]
    DuplicateTable(String),
    #[error("the DDL creates no table")]
    NoTables,
}

/// Reads `CREATE TABLE` and `CREATE INDEX` statements; other statements
/// (INSERTs in a dump, comments, pragmas) are skipped, since a user's DDL
/// file often carries them.
pub fn parse_ddl(sql: &str, dialect: Dialect) -> Result<Schema, DdlError> {
    let statements =
        Parser::parse_sql(dialect.parser_dialect().as_ref(), sql).map_err(|e| DdlError::Parse {
            dialect,
            message: e.to_string(),
        })?;
    let mut schema = Schema::default();
    let mut indexes = Vec::new();
    for statement in statements {
        match statement {
            Statement::CreateTable(ct) => {
                let table = table_from_ast(&ct);
                if schema.table(&table.name).is_some() {
                    return Err(DdlError::DuplicateTable(table.name));
                }
                schema.tables.push(table);
            }
            Statement::CreateIndex(ci) => indexes.push(ci),
            _ => {}
        }
    }
    if schema.tables.is_empty() {
        return Err(DdlError::NoTables);
    }
    for ci in indexes {
        attach_index(&mut schema, &ci)?;
    }
    Ok(schema)
}

/// The last part of a possibly qualified name (`schema.table` → `table`).
pub fn last_ident(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.clone())
        .unwrap_or_else(|| name.to_string())
}

fn attach_index(schema: &mut Schema, ci: &CreateIndex) -> Result<(), DdlError> {
    let table_name = last_ident(&ci.table_name);
    let index_name = ci.name.as_ref().map(last_ident).unwrap_or_default();
    let table = schema
        .tables
        .iter_mut()
        .find(|t| t.name.eq_ignore_ascii_case(&table_name))
        .ok_or_else(|| DdlError::UnknownIndexTable {
            index: index_name.clone(),
            table: table_name,
        })?;
    table.indexes.push(Index {
        name: index_name,
        columns: ci
            .columns
            .iter()
            .map(|c| expr_name(&c.column.expr))
            .collect(),
        unique: ci.unique,
    });
    Ok(())
}

fn expr_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(parts) => {
            parts.last().map(|i| i.value.clone()).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

fn table_from_ast(ct: &CreateTable) -> Table {
    let mut table = Table {
        name: last_ident(&ct.name),
        columns: Vec::new(),
        primary_key: Vec::new(),
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        checks: Vec::new(),
        row_count: None,
    };
    for def in &ct.columns {
        let name = def.name.value.clone();
        let mut column = Column {
            name: name.clone(),
            data_type: sql_type(&def.data_type),
            nullable: true,
            unique: false,
            default: None,
            allowed_values: None,
        };
        for opt in &def.options {
            match &opt.option {
                ColumnOption::NotNull => column.nullable = false,
                ColumnOption::Default(e) => column.default = Some(e.to_string()),
                ColumnOption::PrimaryKey(_) => {
                    table.primary_key = vec![name.clone()];
                    column.nullable = false;
                }
                ColumnOption::Unique(_) => column.unique = true,
                ColumnOption::ForeignKey(fk) => table.foreign_keys.push(ForeignKey {
                    columns: vec![name.clone()],
                    ref_table: last_ident(&fk.foreign_table),
                    ref_columns: fk
                        .referred_columns
                        .iter()
                        .map(|i| i.value.clone())
                        .collect(),
                }),
                ColumnOption::Check(check) => {
                    if let Some(values) = in_list_values(&check.expr, &name) {
                        column.allowed_values = Some(values);
                    } else {
                        table.checks.push(check.expr.to_string());
                    }
                }
                _ => {}
            }
        }
        table.columns.push(column);
    }
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                table.primary_key = pk
                    .columns
                    .iter()
                    .map(|c| expr_name(&c.column.expr))
                    .collect();
            }
            TableConstraint::ForeignKey(fk) => table.foreign_keys.push(ForeignKey {
                columns: fk.columns.iter().map(|i| i.value.clone()).collect(),
                ref_table: last_ident(&fk.foreign_table),
                ref_columns: fk
                    .referred_columns
                    .iter()
                    .map(|i| i.value.clone())
                    .collect(),
            }),
            TableConstraint::Unique(u) if u.columns.len() == 1 => {
                let col = expr_name(&u.columns[0].column.expr);
                if let Some(c) = table
                    .columns
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(&col))
                {
                    c.unique = true;
                }
            }
            TableConstraint::Check(check) => table.checks.push(check.expr.to_string()),
            _ => {}
        }
    }
    // A primary key column is never NULL, whichever way it was declared.
    for pk in table.primary_key.clone() {
        if let Some(c) = table
            .columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(&pk))
        {
            c.nullable = false;
        }
    }
    table
}

/// `col IN ('a','b')` → the vocabulary; anything else is not one.
pub(crate) fn in_list_values(expr: &Expr, column: &str) -> Option<Vec<String>> {
    let expr = match expr {
        Expr::Nested(inner) => inner.as_ref(),
        e => e,
    };
    let Expr::In {
        expr: lhs,
        target: InTarget::List(list),
        negated: false,
        ..
    } = expr
    else {
        return None;
    };
    if !expr_name(lhs).eq_ignore_ascii_case(column) {
        return None;
    }
    list.iter()
        .map(|item| match item {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => Some(s.clone()),
                Value::Number(n, _) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn char_len(len: &Option<CharacterLength>) -> Option<u32> {
    match len {
        Some(CharacterLength::IntegerLength { length, .. }) => u32::try_from(*length).ok(),
        _ => None,
    }
}

fn sql_type(dt: &DataType) -> SqlType {
    match dt {
        DataType::SmallInt(_) | DataType::Int2(_) => SqlType::SmallInt,
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => SqlType::Integer,
        DataType::BigInt(_) | DataType::Int8(_) => SqlType::BigInt,
        DataType::Decimal(info) | DataType::Numeric(info) => {
            let (precision, scale) = match info {
                ExactNumberInfo::None => (None, None),
                ExactNumberInfo::Precision(p) => (u32::try_from(*p).ok(), None),
                ExactNumberInfo::PrecisionAndScale(p, s) => {
                    (u32::try_from(*p).ok(), u32::try_from(*s).ok())
                }
            };
            SqlType::Decimal { precision, scale }
        }
        DataType::Real | DataType::Float4 => SqlType::Real,
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float8 | DataType::Float(_) => {
            SqlType::Double
        }
        DataType::Varchar(l) | DataType::CharacterVarying(l) | DataType::Nvarchar(l) => {
            SqlType::Varchar {
                length: char_len(l),
            }
        }
        DataType::Char(l) | DataType::Character(l) => SqlType::Char {
            length: char_len(l),
        },
        DataType::Text => SqlType::Text,
        DataType::Date => SqlType::Date,
        DataType::Timestamp(..) | DataType::Datetime(_) => SqlType::Timestamp,
        DataType::Boolean | DataType::Bool => SqlType::Boolean,
        DataType::Blob(_) | DataType::Bytea => SqlType::Blob,
        other => SqlType::from_declared(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDL: &str = "CREATE TABLE a (id INTEGER PRIMARY KEY, kind VARCHAR(10) NOT NULL CHECK (kind IN ('x','y')), \
        amount DECIMAL(15,2) DEFAULT 0, b_id INT REFERENCES b (id), CHECK (amount >= 0));
        CREATE TABLE b (id INT, name TEXT UNIQUE, PRIMARY KEY (id));
        CREATE INDEX idx_a_b ON a (b_id);
        INSERT INTO b VALUES (1, 'n');";

    #[test]
    fn reads_tables_keys_checks_and_indexes() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let s = parse_ddl(DDL, dialect).unwrap();
            let a = s.table("A").unwrap();
            assert_eq!(a.primary_key, vec!["id"]);
            assert_eq!(
                a.column("kind").unwrap().allowed_values.as_deref(),
                Some(&["x".to_string(), "y".to_string()][..])
            );
            assert!(!a.column("kind").unwrap().nullable);
            assert_eq!(
                a.column("amount").unwrap().data_type,
                SqlType::Decimal {
                    precision: Some(15),
                    scale: Some(2)
                }
            );
            assert_eq!(a.foreign_keys[0].ref_table, "b");
            assert_eq!(a.checks, vec!["amount >= 0"]);
            assert_eq!(a.indexes[0].columns, vec!["b_id"]);
            let b = s.table("b").unwrap();
            assert_eq!(b.primary_key, vec!["id"]);
            assert!(b.column("name").unwrap().unique);
        }
    }

    #[test]
    fn bad_ddl_is_an_error_not_a_panic() {
        assert!(matches!(
            parse_ddl("CREATE TABLE (", Dialect::Sqlite),
            Err(DdlError::Parse { .. })
        ));
        assert!(matches!(
            parse_ddl("SELECT 1", Dialect::Sqlite),
            Err(DdlError::NoTables)
        ));
        assert!(matches!(
            parse_ddl(
                "CREATE TABLE a (x INT); CREATE INDEX i ON zz (x);",
                Dialect::Sqlite
            ),
            Err(DdlError::UnknownIndexTable { .. })
        ));
    }
}
