//! Splitting a model's answer into its `<think>` reasoning and its SQL.

/// The reasoning (inside `<think>…</think>`, if any) and the SQL that
/// follows it, with Markdown code fences removed.
pub fn split_output(text: &str) -> (Option<String>, String) {
    let (reasoning, rest) = match (text.find("<think>"), text.find("</think>")) {
        (Some(a), Some(b)) if b > a => (Some(text[a + 7..b].trim().to_string()), &text[b + 8..]),
        // An unclosed tag: everything after it is reasoning, no SQL.
        (Some(a), None) => return (Some(text[a + 7..].trim().to_string()), String::new()),
        _ => (None, text),
    };
    let mut sql = rest.trim();
    if let Some(start) = sql.find("```") {
        let after = &sql[start + 3..];
        let after = after
            .strip_prefix("sql")
            .or_else(|| after.strip_prefix("SQL"))
            .unwrap_or(after);
        sql = match after.find("```") {
            Some(end) => &after[..end],
            None => after,
        };
    }
    (
        reasoning,
        sql.trim().trim_end_matches(';').trim().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::split_output;

    #[test]
    fn splits() {
        let (r, s) = split_output("<think>Use PROJSTAFF.</think>\n```sql\nSELECT 1;\n```");
        assert_eq!(r.as_deref(), Some("Use PROJSTAFF."));
        assert_eq!(s, "SELECT 1");
        assert_eq!(split_output("SELECT 2;"), (None, "SELECT 2".to_string()));
        assert_eq!(
            split_output("<think>never closed"),
            (Some("never closed".into()), String::new())
        );
    }
}
