//! The Reward Evaluator on the ERP demo database: execution accuracy,
//! partial credit, the security gate, and candidates that game one
//! dimension not outscoring a correct one.

use glrl_catalog::Dialect;
use glrl_erp::{DemoConfig, GLOSSARY_TOML, RULES_TOML};
use glrl_reward_evaluator::{RewardEvaluator, Weights};
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::{Rules, Validator};

struct Fixture {
    _dir: tempfile::TempDir,
    db: Box<dyn glrl_db::Database>,
    analyzer: SchemaAnalyzer,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).unwrap();
    let db = glrl_db::connect(path.to_str().unwrap()).unwrap();
    let analyzer = SchemaAnalyzer::from_database(
        db.as_ref(),
        Glossary::from_toml(GLOSSARY_TOML, "erp").unwrap(),
        200,
    )
    .unwrap();
    Fixture {
        _dir: dir,
        db,
        analyzer,
    }
}

const GOLD: &str = "SELECT c.Company_Code, c.Company_Name FROM SRM_COMPANIES c \
    WHERE c.Country = 'Germany' AND c.Company_Type = 'Supplier' ORDER BY c.Company_Code";
const REASONED: &str = "<think>Suppliers are SRM_COMPANIES rows with Company_Type = 'Supplier'; \
    filter Country = 'Germany' and list Company_Code with Company_Name.</think>\n";

#[test]
fn correct_partial_wrong_and_gated() {
    let f = fixture();
    let v = Validator::new(&f.analyzer, Dialect::Sqlite)
        .with_rules(Rules::from_toml(RULES_TOML).unwrap())
        .with_database(f.db.as_ref());
    let r = RewardEvaluator::new(&v, f.db.as_ref(), f.analyzer.schema());
    let gold = r.gold(GOLD);

    let correct = r.score(&format!("{REASONED}{GOLD}"), Some(&gold));
    assert_eq!(
        correct.dimension("accuracy").unwrap().score,
        1.0,
        "{}",
        correct.explanation()
    );
    assert!(correct.total > 0.95, "{}", correct.explanation());
    for name in [
        "syntax",
        "schema",
        "business",
        "performance",
        "reasoning",
        "accuracy",
    ] {
        assert!(correct.explanation().contains(name));
    }
    let weights: f64 = correct.dimensions.iter().map(|d| d.weight).sum();
    assert!((weights - 1.0).abs() < 1e-9);

    // Columns in another order, without ORDER BY: same rows, order lost.
    let reordered = r.score(&format!("{REASONED}SELECT Company_Name, Company_Code FROM SRM_COMPANIES WHERE Company_Type = 'Supplier' AND Country = 'Germany'"), Some(&gold));
    assert!(reordered.dimension("accuracy").unwrap().score >= 0.7);
    // The right rows with an extra column: partial credit.
    let extra = r.score(&format!("{REASONED}SELECT Company_Code, Company_Name, City FROM SRM_COMPANIES WHERE Country = 'Germany' AND Company_Type = 'Supplier' ORDER BY Company_Code"), Some(&gold));
    assert_eq!(
        extra.dimension("accuracy").unwrap().score,
        0.8,
        "{}",
        extra.explanation()
    );
    // Valid but wrong: France instead of Germany.
    let wrong = r.score(&format!("{REASONED}SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'France' AND Company_Type = 'Supplier' ORDER BY Company_Code"), Some(&gold));
    assert_eq!(wrong.dimension("accuracy").unwrap().score, 0.0);
    assert!(wrong.total < correct.total);
    // A write is gated to zero whatever else it does well.
    let evil = r.score(
        &format!("{REASONED}SELECT Company_Code FROM SRM_COMPANIES; DELETE FROM SRM_CONTACTS"),
        Some(&gold),
    );
    assert_eq!(evil.total, 0.0);
    assert!(evil.gate.as_deref().unwrap().contains("SECURITY"));
    // An invented value: the business layer catches it, accuracy is not tried.
    let invented = r.score(
        &format!("{REASONED}SELECT Company_Code FROM SRM_COMPANIES WHERE Country = 'Deutschland'"),
        Some(&gold),
    );
    assert_eq!(invented.dimension("business").unwrap().score, 0.0);
    assert!(invented
        .dimension("accuracy")
        .unwrap()
        .note
        .contains("not executed"));
}

#[test]
fn gaming_one_dimension_does_not_beat_a_correct_query() {
    let f = fixture();
    let v = Validator::new(&f.analyzer, Dialect::Sqlite)
        .with_rules(Rules::from_toml(RULES_TOML).unwrap())
        .with_database(f.db.as_ref());
    let r = RewardEvaluator::new(&v, f.db.as_ref(), f.analyzer.schema());
    let gold = r.gold(GOLD);
    let correct = r.score(&format!("{REASONED}{GOLD}"), Some(&gold)).total;
    let games = [
        // No reasoning at all.
        GOLD.to_string(),
        // Degenerate reasoning.
        format!("<think>{}</think>{GOLD}", "SRM_COMPANIES ".repeat(30)),
        // Everything, unfiltered.
        format!("{REASONED}SELECT * FROM SRM_COMPANIES"),
        // A trivially valid query that answers nothing.
        format!("{REASONED}SELECT 1"),
        // Reasoning that names everything, SQL that answers something else.
        "<think>SRM_COMPANIES Company_Code Company_Name Country Company_Type Supplier Germany</think>SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Status = 'Blocked'".to_string(),
    ];
    for g in games {
        let s = r.score(&g, Some(&gold));
        assert!(
            s.total < correct,
            "gamed {:.3} >= correct {correct:.3}:\n{}",
            s.total,
            s.explanation()
        );
    }
}

#[test]
fn weights_are_configurable_and_normalised() {
    let f = fixture();
    let v = Validator::new(&f.analyzer, Dialect::Sqlite).with_database(f.db.as_ref());
    let w = Weights {
        syntax: 1.0,
        schema: 1.0,
        business: 1.0,
        performance: 1.0,
        reasoning: 0.0,
        accuracy: 0.0,
    };
    let r = RewardEvaluator::new(&v, f.db.as_ref(), f.analyzer.schema()).with_weights(w);
    let s = r.score(GOLD, None);
    assert!((s.total - 1.0).abs() < 1e-9, "{}", s.explanation());
    assert_eq!(s.dimension("syntax").unwrap().weight, 0.25);
    // Without a gold query accuracy does not count, and static scoring needs no database.
    let st = RewardEvaluator::new(&v, f.db.as_ref(), f.analyzer.schema())
        .score_static(&format!("{REASONED}{GOLD}"));
    assert_eq!(st.dimension("accuracy").unwrap().weight, 0.0);
    assert!(st.report.estimated_cost.is_none());
}

#[test]
fn rescoring_with_an_earlier_report_gives_the_full_scores_reward() {
    let f = fixture();
    let v = Validator::new(&f.analyzer, Dialect::Sqlite)
        .with_rules(Rules::from_toml(RULES_TOML).unwrap())
        .with_database(f.db.as_ref());
    let r = RewardEvaluator::new(&v, f.db.as_ref(), f.analyzer.schema());
    let first = r.score(&format!("{REASONED}{GOLD}"), None);
    // Same SQL, another reasoning (here none): only that dimension moves.
    for text in [
        format!("{REASONED}{GOLD}"),
        format!("<think>The question needs SRM_COMPANIES.</think>\n{GOLD}"),
        GOLD.to_string(),
        format!("{REASONED}SELECT Nope FROM SRM_COMPANIES"),
    ] {
        let full = r.score(&text, None);
        let again = r.rescore(&text, full.report.clone());
        assert_eq!(again.total, full.total, "{text}");
        assert_eq!(again.explanation(), full.explanation(), "{text}");
        assert_eq!(again.gate, full.gate);
        assert_eq!(again.database_time, std::time::Duration::ZERO);
    }
    let none = r.rescore(GOLD, first.report.clone());
    assert!(none.total < first.total, "{}", none.explanation());
    assert!(none.dimension("reasoning").unwrap().score < 0.5);
}
