use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// One typed cell of a result row. Dates and timestamps arrive as ISO-8601
/// text, as the ERP stores them in SQLite.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// The value as a user would type it (no quotes; NULL as empty).
    pub fn to_plain_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(d) => d.to_string().parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Text(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            // JSON numbers lose decimal precision in many readers; money
            // stays exact as a numeric literal only if it fits an f64.
            Value::Decimal(d) => match d.to_string().parse::<f64>() {
                Ok(x) if x.is_finite() => s.serialize_f64(x),
                _ => s.serialize_str(&d.to_string()),
            },
            Value::Text(t) => s.serialize_str(t),
            Value::Bytes(b) => s.serialize_str(&format!("<{} bytes>", b.len())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnMeta {
    pub name: String,
    /// The declared or wire type, when the engine reports one.
    pub type_name: Option<String>,
}

/// What a read-only query returned.
#[derive(Debug, Clone, Serialize)]
pub struct ResultSet {
    pub columns: Vec<ColumnMeta>,
    pub rows: Vec<Vec<Value>>,
    /// More rows existed than the row cap allowed.
    pub truncated: bool,
    #[serde(serialize_with = "ser_ms")]
    pub elapsed: Duration,
}

fn ser_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}
