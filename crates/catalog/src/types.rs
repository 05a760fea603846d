use serde::{Deserialize, Serialize};
use std::fmt;

/// A column type normalised across dialects, so that `VARCHAR(20)` read
/// from DDL, from SQLite's declared type and from PostgreSQL's
/// `character varying` (max length 20) compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    Decimal {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Real,
    Double,
    Varchar {
        length: Option<u32>,
    },
    Char {
        length: Option<u32>,
    },
    Text,
    Date,
    Timestamp,
    Boolean,
    Blob,
    Other {
        name: String,
    },
}

/// What a type means for analysis (type sanity checks, value sampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeFamily {
    Integer,
    Numeric,
    Text,
    Temporal,
    Boolean,
    Binary,
    Unknown,
}

impl SqlType {
    pub fn family(&self) -> TypeFamily {
        match self {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => TypeFamily::Integer,
            SqlType::Decimal { .. } | SqlType::Real | SqlType::Double => TypeFamily::Numeric,
            SqlType::Varchar { .. } | SqlType::Char { .. } | SqlType::Text => TypeFamily::Text,
            SqlType::Date | SqlType::Timestamp => TypeFamily::Temporal,
            SqlType::Boolean => TypeFamily::Boolean,
            SqlType::Blob => TypeFamily::Binary,
            SqlType::Other { .. } => TypeFamily::Unknown,
        }
    }

    /// Parses a declared type name as SQLite stores it (`VARCHAR(20)`,
    /// `DECIMAL(15,2)`) or as PostgreSQL's `format_type` prints it
    /// (`character varying(20)`, `numeric(15,2)`).
    pub fn from_declared(decl: &str) -> SqlType {
        let decl = decl.trim();
        let (base, args) = match decl.find('(') {
            Some(i) => {
                let inner = decl[i + 1..].trim_end_matches(')');
                let args: Vec<u32> = inner
                    .split(',')
                    .filter_map(|a| a.trim().parse::<u32>().ok())
                    .collect();
                (decl[..i].trim(), args)
            }
            None => (decl, Vec::new()),
        };
        let base = base.to_ascii_lowercase();
        let first = args.first().copied();
        match base.as_str() {
            "smallint" | "int2" => SqlType::SmallInt,
            "int" | "integer" | "int4" | "mediumint" => SqlType::Integer,
            "bigint" | "int8" => SqlType::BigInt,
            "decimal" | "numeric" => SqlType::Decimal {
                precision: first,
                scale: args.get(1).copied(),
            },
            "real" | "float4" => SqlType::Real,
            "double" | "double precision" | "float8" | "float" => SqlType::Double,
            "varchar" | "character varying" | "nvarchar" => SqlType::Varchar { length: first },
            "char" | "character" | "bpchar" | "nchar" => SqlType::Char { length: first },
            "text" | "clob" => SqlType::Text,
            "date" => SqlType::Date,
            "timestamp"
            | "datetime"
            | "timestamp without time zone"
            | "timestamp with time zone"
            | "timestamptz" => SqlType::Timestamp,
            "boolean" | "bool" => SqlType::Boolean,
            "blob" | "bytea" => SqlType::Blob,
            "" => SqlType::Other {
                name: String::new(),
            },
            _ => SqlType::Other {
                name: decl.to_string(),
            },
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::SmallInt => f.write_str("SMALLINT"),
            SqlType::Integer => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Decimal {
                precision: Some(p),
                scale: Some(s),
            } => write!(f, "DECIMAL({p},{s})"),
            SqlType::Decimal {
                precision: Some(p),
                scale: None,
            } => write!(f, "DECIMAL({p})"),
            SqlType::Decimal { .. } => f.write_str("DECIMAL"),
            SqlType::Real => f.write_str("REAL"),
            SqlType::Double => f.write_str("DOUBLE PRECISION"),
            SqlType::Varchar { length: Some(n) } => write!(f, "VARCHAR({n})"),
            SqlType::Varchar { length: None } => f.write_str("VARCHAR"),
            SqlType::Char { length: Some(n) } => write!(f, "CHAR({n})"),
            SqlType::Char { length: None } => f.write_str("CHAR"),
            SqlType::Text => f.write_str("TEXT"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Blob => f.write_str("BLOB"),
            SqlType::Other { name } => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_from_both_dialects_agree() {
        assert_eq!(
            SqlType::from_declared("VARCHAR(20)"),
            SqlType::from_declared("character varying(20)")
        );
        assert_eq!(
            SqlType::from_declared("DECIMAL(15,2)"),
            SqlType::from_declared("numeric(15,2)")
        );
        assert_eq!(
            SqlType::from_declared("CHAR(3)"),
            SqlType::from_declared("character(3)")
        );
        assert_eq!(
            SqlType::from_declared("INTEGER"),
            SqlType::from_declared("integer")
        );
        assert_eq!(
            SqlType::from_declared("DECIMAL(15,2)").to_string(),
            "DECIMAL(15,2)"
        );
        assert_eq!(
            SqlType::from_declared("geometry").family(),
            TypeFamily::Unknown
        );
    }
}
