//! The Spider benchmark's format (`dev.json` questions, `tables.json`
//! schemas) for the bring-your-own-schema path: each database's schema as
//! DDL, so an empty database can be built and predictions checked for
//! syntax and schema compliance (Spider's database files are not shipped).

use crate::DatasetError;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct SpiderQuestion {
    pub db_id: String,
    pub question: String,
    /// The gold SQL.
    pub query: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpiderSchema {
    pub db_id: String,
    pub table_names_original: Vec<String>,
    /// `[table index, column name]`; index -1 is Spider's `*`.
    pub column_names_original: Vec<(i64, String)>,
    pub column_types: Vec<String>,
    /// Column indices; an entry may be a list (a composite key).
    #[serde(default)]
    pub primary_keys: Vec<serde_json::Value>,
    /// `[column, referenced column]` pairs.
    #[serde(default)]
    pub foreign_keys: Vec<(usize, usize)>,
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| DatasetError::Parse {
        path: path.display().to_string(),
        line: e.line(),
        message: e.to_string(),
    })
}

/// `DIR/dev.json` and `DIR/tables.json`.
pub fn read_spider(dir: &Path) -> Result<(Vec<SpiderQuestion>, Vec<SpiderSchema>), DatasetError> {
    Ok((
        read(&dir.join("dev.json"))?,
        read(&dir.join("tables.json"))?,
    ))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl SpiderSchema {
    /// SQLite DDL: one CREATE TABLE per table with Spider's column types
    /// mapped (number → NUMERIC, boolean → BOOLEAN, the rest TEXT),
    /// primary keys and foreign keys.
    pub fn ddl(&self) -> String {
        let mut out = String::new();
        for (ti, table) in self.table_names_original.iter().enumerate() {
            let mut parts = Vec::new();
            let mut names = Vec::new();
            for (ci, (t, col)) in self.column_names_original.iter().enumerate() {
                if *t != ti as i64 {
                    continue;
                }
                let ty = match self.column_types.get(ci).map(String::as_str) {
                    Some("number") => "NUMERIC",
                    Some("boolean") => "BOOLEAN",
                    _ => "TEXT",
                };
                parts.push(format!("{} {ty}", quote(col)));
                names.push((ci, col.clone()));
            }
            if parts.is_empty() {
                continue;
            }
            let key_cols: Vec<String> = self
                .primary_keys
                .iter()
                .flat_map(|k| match k {
                    serde_json::Value::Number(n) => n.as_u64().into_iter().collect::<Vec<_>>(),
                    serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_u64()).collect(),
                    _ => Vec::new(),
                })
                .filter_map(|ci| names.iter().find(|(i, _)| *i as u64 == ci))
                .map(|(_, n)| quote(n))
                .collect();
            if !key_cols.is_empty() {
                parts.push(format!("PRIMARY KEY ({})", key_cols.join(", ")));
            }
            for (from, to) in &self.foreign_keys {
                let Some((_, fcol)) = names.iter().find(|(i, _)| i == from) else {
                    continue;
                };
                let Some((tt, tcol)) = self.column_names_original.get(*to) else {
                    continue;
                };
                let Some(ttable) = usize::try_from(*tt)
                    .ok()
                    .and_then(|i| self.table_names_original.get(i))
                else {
                    continue;
                };
                parts.push(format!(
                    "FOREIGN KEY ({}) REFERENCES {} ({})",
                    quote(fcol),
                    quote(ttable),
                    quote(tcol)
                ));
            }
            out.push_str(&format!(
                "CREATE TABLE {} (\n  {}\n);\n",
                quote(table),
                parts.join(",\n  ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spider_schema_to_ddl() {
        let s: SpiderSchema = serde_json::from_str(
            r#"{"db_id": "x", "table_names_original": ["singer", "concert"],
                "column_names_original": [[-1, "*"], [0, "Singer_ID"], [0, "Name"], [1, "ID"], [1, "Singer_ID"]],
                "column_types": ["text", "number", "text", "number", "number"],
                "primary_keys": [1, [3]], "foreign_keys": [[4, 1]]}"#,
        )
        .unwrap();
        let ddl = s.ddl();
        assert!(ddl.contains("CREATE TABLE \"singer\" (\n  \"Singer_ID\" NUMERIC,\n  \"Name\" TEXT,\n  PRIMARY KEY (\"Singer_ID\")\n);"), "{ddl}");
        assert!(
            ddl.contains("FOREIGN KEY (\"Singer_ID\") REFERENCES \"singer\" (\"Singer_ID\")"),
            "{ddl}"
        );
        assert!(ddl.contains("PRIMARY KEY (\"ID\")"));
    }
}
