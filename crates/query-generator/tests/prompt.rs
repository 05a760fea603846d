//! The shared prompt on the ERP demo database.

mod common;
use common::analyzer;

use glrl_dataset::{parse_jsonl, Pair};
use glrl_query_generator::{PromptBuilder, PromptOptions, Retriever, Turn};

#[test]
fn shared_system_message_hints_examples_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let a = analyzer(dir.path());
    let train: Vec<Pair> = parse_jsonl(glrl_erp::TRAIN_JSONL, "train.jsonl").unwrap();
    let b = PromptBuilder::new(&a, Retriever::new(train.clone()), PromptOptions::default());
    let p1 = b.build(
        "Which suppliers in Germany have live contracts over budget?",
        &[],
        None,
    );
    let p2 = b.build("How many projects are active?", &[], None);
    // The system message is the same for every question: one cached prefix.
    assert_eq!(p1.messages[0].content, p2.messages[0].content);
    assert_eq!(p1.shared_messages, 1);
    for t in glrl_erp::TABLES {
        assert!(b.system().contains(&format!("\n{t}(")), "{t}");
    }
    let user = &p1.messages[1].content;
    assert!(user.ends_with("Question: Which suppliers in Germany have live contracts over budget?"));
    assert!(
        user.contains("'Germany' means SRM_COMPANIES.Country = 'Germany'"),
        "{user}"
    );
    assert!(
        b.system().contains("Status 'Active'|'Inactive'|'Blocked'"),
        "{}",
        b.system()
    );
    assert!(b.system().contains("Joins: "));
    assert!(user.contains("PROJCNTRTS: Status = 'Active'"), "{user}");
    assert!(
        user.contains("Join: FROM SRM_COMPANIES JOIN PROJCNTRTS"),
        "{user}"
    );
    assert_eq!(
        user.matches("\nSQL: ").count() + user.starts_with("SQL: ") as usize,
        PromptOptions::default().examples,
        "{user}"
    );
    // A training pair never sees itself as an example.
    let own = &train[0];
    let p = b.build(&own.question, &[], Some(&own.id));
    assert!(!p.messages[1]
        .content
        .contains(&format!("Q: {}\n", own.question)));
    // A follow-up carries the previous exchange.
    let f = b.build(
        "only the active ones",
        &[Turn {
            question: "List suppliers".into(),
            sql: "SELECT * FROM SRM_COMPANIES".into(),
        }],
        None,
    );
    assert!(f.messages[1]
        .content
        .contains("Previous SQL: SELECT * FROM SRM_COMPANIES"));
    assert_eq!(
        PromptBuilder::target("r", "SELECT 1"),
        "<think>r</think>\nSELECT 1"
    );
}
