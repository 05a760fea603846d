//! Word-level normalisation shared by glossary, value and name matching:
//! lower-case words, split on anything not alphanumeric, light stemming so
//! that "projects" meets "project" and "companies" meets "company".

/// A word of the question with its byte span in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub stem: String,
    pub start: usize,
    pub end: usize,
}

/// Plural and possessive endings only: enough to match table, column and
/// glossary words without a language model, never so much that distinct
/// business words collapse ("contractor" stays apart from "contract").
pub fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    let w = w.strip_suffix("'s").unwrap_or(&w).to_string();
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..w.len() - 3]);
    }
    if n > 4
        && (w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes"))
    {
        return w[..w.len() - 2].to_string();
    }
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return w[..w.len() - 1].to_string();
    }
    w
}

/// Splits text into stemmed words with spans.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let is_word = c.is_alphanumeric() || c == '\'';
        match (is_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                push_word(&mut out, text, s, i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        push_word(&mut out, text, s, text.len());
    }
    out
}

fn push_word(out: &mut Vec<Word>, text: &str, start: usize, end: usize) {
    let raw = text[start..end].trim_matches('\'');
    if !raw.is_empty() {
        out.push(Word {
            stem: stem(raw),
            start,
            end,
        });
    }
}

/// The stems of a phrase, for matching it against question words.
pub fn phrase(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.stem).collect()
}

/// Splits an identifier into words: `PAC_MNT_PROJECTS` → pac, mnt, project;
/// `hourlyRate` → hourly, rate.
pub fn identifier_words(ident: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in ident.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase();
        cur.push(c);
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts.iter().map(|p| stem(p)).collect()
}

/// Words that carry no schema meaning on their own.
pub fn is_stopword(stem: &str) -> bool {
    const STOP: &[&str] = &[
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "and", "or", "not",
        "no", "is", "are", "was", "were", "be", "been", "do", "doe", "did", "have", "has", "had",
        "what", "which", "who", "whom", "whose", "how", "many", "much", "show", "list", "give",
        "me", "all", "each", "every", "per", "their", "there", "they", "them", "it", "its", "that",
        "this", "these", "those", "from", "than", "more", "most", "less", "least", "top", "total",
        "average", "avg", "sum", "count", "number", "any", "some", "our", "we", "us", "i", "my",
        "still", "only", "also", "both", "versus", "v", "vs", "between", "after", "before",
        "above", "below", "over", "under", "into", "where", "when", "whether", "should", "can",
        "could", "would", "highest", "lowest", "largest", "smallest", "biggest", "name", "id",
        "code", "value", "amount", "type", "yet", "ever", "never", "same", "other", "one", "two",
        "three", "as", "if", "then", "so", "up", "out", "about", "within", "without", "against",
        "across", "while", "compare", "rank", "find", "get", "tell",
    ];
    STOP.contains(&stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_splits() {
        assert_eq!(stem("Companies"), "company");
        assert_eq!(stem("projects"), "project");
        assert_eq!(stem("contractors"), "contractor");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("department's"), "department");
        assert_eq!(
            identifier_words("PAC_MNT_PROJECTS"),
            vec!["pac", "mnt", "project"]
        );
        assert_eq!(identifier_words("hourlyRate"), vec!["hourly", "rate"]);
        let w = words("Which suppliers in Germany? over-budget");
        assert_eq!(
            w.iter().map(|w| w.stem.as_str()).collect::<Vec<_>>(),
            ["which", "supplier", "in", "germany", "over", "budget"]
        );
        assert_eq!(
            &"Which suppliers in Germany? over-budget"[w[3].start..w[3].end],
            "Germany"
        );
    }
}
