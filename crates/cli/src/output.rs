//! Printing query results as a table, JSON or CSV.

use glrl_db::{ResultSet, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub fn table(rs: &ResultSet) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(rs.columns.iter().map(|c| c.name.clone()));
    for row in &rs.rows {
        t.add_row(row.iter().map(|v| match v {
            Value::Null => "NULL".to_string(),
            other => other.to_string(),
        }));
    }
    let mut s = t.to_string();
    s.push_str(&format!(
        "\n{} row{}{} in {:.1} ms\n",
        rs.rows.len(),
        if rs.rows.len() == 1 { "" } else { "s" },
        if rs.truncated {
            " (truncated at the row limit)"
        } else {
            ""
        },
        rs.elapsed.as_secs_f64() * 1000.0
    ));
    s
}

pub fn json(rs: &ResultSet) -> anyhow::Result<String> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = rs
        .rows
        .iter()
        .map(|r| {
            rs.columns
                .iter()
                .zip(r)
                .map(|(c, v)| Ok((c.name.clone(), serde_json::to_value(v)?)))
                .collect::<Result<_, serde_json::Error>>()
        })
        .collect::<Result<_, _>>()?;
    Ok(serde_json::to_string_pretty(&serde_json::json!({
        "columns": rs.columns,
        "rows": rows,
        "row_count": rs.rows.len(),
        "truncated": rs.truncated,
        "elapsed_ms": rs.elapsed.as_secs_f64() * 1000.0,
    }))?)
}

pub fn csv(rs: &ResultSet) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(rs.columns.iter().map(|c| c.name.as_str()))?;
    for row in &rs.rows {
        w.write_record(row.iter().map(Value::to_plain_string))?;
    }
    Ok(String::from_utf8(
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
    )?)
}
