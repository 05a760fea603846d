//! The Schema Analyzer on the ERP: DDL model, relationships, join paths,
//! glossary hits, table linking and prompt rendering.

use glrl_catalog::{parse_ddl, Dialect};
use glrl_erp::{DemoConfig, GLOSSARY_TOML, LINKING_QUESTIONS_JSONL, SCHEMA_SQL};
use glrl_schema_analyzer::{approx_tokens, Glossary, Origin, RenderOptions, SchemaAnalyzer};
use std::sync::OnceLock;

fn glossary() -> Glossary {
    Glossary::from_toml(GLOSSARY_TOML, "erp glossary").unwrap()
}

/// The analyzer over the demo database (values indexed), built once.
fn analyzer() -> &'static SchemaAnalyzer {
    static A: OnceLock<SchemaAnalyzer> = OnceLock::new();
    A.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("erp.db");
        glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).unwrap();
        let db = glrl_db::connect(path.to_str().unwrap()).unwrap();
        SchemaAnalyzer::from_database(db.as_ref(), glossary(), 200).unwrap()
    })
}

#[test]
fn reference_ddl_model() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let s = parse_ddl(SCHEMA_SQL, dialect).unwrap();
        let cols: Vec<(&str, usize)> = s
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.columns.len()))
            .collect();
        assert_eq!(
            cols,
            [
                ("PAC_MNT_RESOURCES", 11),
                ("PAC_MNT_PROJECTS", 12),
                ("SRM_COMPANIES", 10),
                ("SRM_CONTACTS", 8),
                ("PROJSTAFF", 9),
                ("PROJCNTRTS", 11)
            ]
        );
        let p = s.table("PAC_MNT_PROJECTS").unwrap();
        let names: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Project_Code",
                "Project_Name",
                "Project_Type",
                "Status",
                "Department",
                "Region",
                "Manager_Code",
                "Start_Date",
                "End_Date",
                "Budget_Amount",
                "Actual_Cost",
                "Currency_Code"
            ]
        );
        assert_eq!(
            p.column("Status")
                .unwrap()
                .allowed_values
                .as_ref()
                .unwrap()
                .len(),
            5
        );
        assert!(p.column("End_Date").unwrap().nullable);
        assert_eq!(s.tables.iter().map(|t| t.indexes.len()).sum::<usize>(), 6);
    }
}

#[test]
fn the_six_relationships_of_the_readme() {
    let a = SchemaAnalyzer::from_ddl(SCHEMA_SQL, Dialect::Sqlite, glossary()).unwrap();
    let mut got: Vec<String> = a
        .relationships()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}={} {:?}",
                r.parent_table,
                r.cardinality,
                r.child_table,
                r.child_columns.join(","),
                r.parent_columns.join(","),
                r.origin
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "PAC_MNT_PROJECTS 1:N PROJCNTRTS Project_Code=Project_Code Declared",
            "PAC_MNT_PROJECTS 1:N PROJSTAFF Project_Code=Project_Code Declared",
            "PAC_MNT_RESOURCES 1:N PAC_MNT_PROJECTS Manager_Code=Resource_Code Declared",
            "PAC_MNT_RESOURCES 1:N PROJSTAFF Resource_Code=Resource_Code Declared",
            "SRM_COMPANIES 1:N PROJCNTRTS Company_Code=Company_Code Declared",
            "SRM_COMPANIES 1:N SRM_CONTACTS Company_Code=Company_Code Declared",
        ]
    );
}

#[test]
fn keys_are_inferred_when_not_declared() {
    let stripped: String = SCHEMA_SQL
        .lines()
        .map(|l| match l.find("REFERENCES") {
            Some(i) => format!("{},", l[..i].trim_end()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let a = SchemaAnalyzer::from_ddl(&stripped, Dialect::Sqlite, glossary()).unwrap();
    let rels = a.relationships();
    assert!(rels.iter().all(|r| r.origin == Origin::Inferred));
    let mut got: Vec<String> = rels
        .iter()
        .map(|r| {
            format!(
                "{}.{}->{}",
                r.child_table, r.child_columns[0], r.parent_table
            )
        })
        .collect();
    got.sort();
    // Manager_Code plays a role; its name alone cannot tell where it points.
    assert_eq!(
        got,
        [
            "PROJCNTRTS.Company_Code->SRM_COMPANIES",
            "PROJCNTRTS.Project_Code->PAC_MNT_PROJECTS",
            "PROJSTAFF.Project_Code->PAC_MNT_PROJECTS",
            "PROJSTAFF.Resource_Code->PAC_MNT_RESOURCES",
            "SRM_CONTACTS.Company_Code->SRM_COMPANIES"
        ]
    );
}

#[test]
fn join_paths() {
    let a = analyzer();
    let p = a
        .join_path(&["PAC_MNT_PROJECTS", "PAC_MNT_RESOURCES"])
        .unwrap();
    assert_eq!(p.steps.len(), 1);
    assert_eq!(
        p.steps[0].on,
        "PAC_MNT_PROJECTS.Manager_Code = PAC_MNT_RESOURCES.Resource_Code"
    );
    // With staffing asked for, projects meet resources through PROJSTAFF.
    let p = a
        .join_path(&["PAC_MNT_PROJECTS", "PAC_MNT_RESOURCES", "PROJSTAFF"])
        .unwrap();
    assert_eq!(
        p.from_clause(),
        "FROM PAC_MNT_PROJECTS\n\
        JOIN PROJSTAFF ON PROJSTAFF.Project_Code = PAC_MNT_PROJECTS.Project_Code\n\
        JOIN PAC_MNT_RESOURCES ON PROJSTAFF.Resource_Code = PAC_MNT_RESOURCES.Resource_Code"
    );
    // A bridge is found: contacts to projects through companies and contracts.
    let p = a.join_path(&["SRM_CONTACTS", "PAC_MNT_PROJECTS"]).unwrap();
    assert_eq!(
        p.tables(),
        [
            "SRM_CONTACTS",
            "SRM_COMPANIES",
            "PROJCNTRTS",
            "PAC_MNT_PROJECTS"
        ]
    );
    assert!(p.steps[0].meaning.contains("1:N"));
    // Deterministic: the same answer every time.
    assert_eq!(
        p,
        a.join_path(&["SRM_CONTACTS", "PAC_MNT_PROJECTS"]).unwrap()
    );
    assert!(a.join_path(&["NOPE"]).is_err());
}

#[test]
fn glossary_hits() {
    let a = analyzer();
    let link = a.link("Which suppliers in Germany have live contracts over budget?");
    let terms: Vec<&str> = link
        .glossary_hits
        .iter()
        .filter(|h| h.kind != "entity")
        .map(|h| h.term.as_str())
        .collect();
    assert_eq!(terms, ["supplier", "live contract", "over budget"]);
    let over = link
        .glossary_hits
        .iter()
        .find(|h| h.term == "over budget")
        .unwrap();
    assert_eq!(over.sql.as_deref(), Some("Actual_Cost > Budget_Amount"));
    let germany = link.values.iter().find(|v| v.value == "Germany").unwrap();
    assert_eq!(
        (germany.table.as_str(), germany.column.as_str()),
        ("SRM_COMPANIES", "Country")
    );
    let mut tables = link.tables.clone();
    tables.sort();
    assert_eq!(tables, ["PAC_MNT_PROJECTS", "PROJCNTRTS", "SRM_COMPANIES"]);

    let link = a.link("Total outstanding amount of blocked vendors' contracts");
    assert!(link
        .values
        .iter()
        .any(|v| v.column == "Status" && v.value == "Blocked"));
    assert!(link.glossary_hits.iter().any(|h| h.term == "outstanding"));
    // "contractor" is a kind of resource, not a contract.
    let link = a.link("How many contractors do we have?");
    assert_eq!(link.tables, ["PAC_MNT_RESOURCES"]);
    // Short upper-case values match only as written: "it" is not the IT department.
    let link = a.link("Is it true that projects overran?");
    assert!(!link.values.iter().any(|v| v.value == "IT"));
    assert!(a
        .link("Projects of the IT department")
        .values
        .iter()
        .any(|v| v.value == "IT"));
    // Codes point at their table's key.
    let link = a.link("Who manages PRJ-0010?");
    assert!(link
        .values
        .iter()
        .any(|v| v.column == "Project_Code" && v.value == "PRJ-0010"));
}

#[derive(serde::Deserialize)]
struct Gold {
    question: String,
    tables: Vec<String>,
}

#[test]
fn table_linking_recall_on_the_question_set() {
    let a = analyzer();
    let gold: Vec<Gold> = LINKING_QUESTIONS_JSONL
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(gold.len() >= 100);
    let mut hits = 0;
    let mut linked = 0;
    let mut misses = Vec::new();
    for g in &gold {
        let link = a.link(&g.question);
        linked += link.tables.len();
        if g.tables.iter().all(|t| link.tables.contains(t)) {
            hits += 1;
        } else {
            misses.push(format!(
                "{} -> {:?} (gold {:?})",
                g.question, link.tables, g.tables
            ));
        }
    }
    let recall = hits as f64 / gold.len() as f64;
    let mean = linked as f64 / gold.len() as f64;
    let gold_mean = gold.iter().map(|g| g.tables.len()).sum::<usize>() as f64 / gold.len() as f64;
    println!("linking recall {recall:.3} ({hits}/{}), mean linked tables {mean:.2} (gold {gold_mean:.2})", gold.len());
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(recall >= 0.95, "recall {recall:.3} below 0.95");
    assert!(
        mean <= gold_mean + 1.0,
        "linked sets too large: {mean:.2} tables on average"
    );
}

#[test]
fn rendering_respects_the_budget() {
    let a = analyzer();
    let link = a.link("Which suppliers in Germany have live contracts over budget?");
    let full = a.render(
        &link,
        &RenderOptions {
            token_budget: 10_000,
            ..Default::default()
        },
        &approx_tokens,
    );
    assert!(full.dropped_columns.is_empty());
    assert!(full.text.contains("CREATE TABLE SRM_COMPANIES"));
    assert!(!full.text.contains("SRM_CONTACTS"));
    assert!(full.text.contains("'Supplier' | 'Client' | 'Partner'"));
    assert!(full
        .text
        .contains("'Germany' -> SRM_COMPANIES.Country = 'Germany'"));
    assert!(full.text.contains("Actual_Cost > Budget_Amount"));
    let small = a.render(
        &link,
        &RenderOptions {
            token_budget: full.tokens * 2 / 3,
            ..Default::default()
        },
        &approx_tokens,
    );
    assert!(
        small.tokens <= full.tokens * 2 / 3,
        "{} tokens",
        small.tokens
    );
    assert!(!small.over_budget);
    assert!(!small.dropped_columns.is_empty());
    // What the question needs survives: keys, matched and glossary columns.
    for keep in [
        "Company_Code",
        "Country",
        "Actual_Cost",
        "Budget_Amount",
        "Project_Code",
    ] {
        assert!(small.text.contains(keep), "{keep} dropped");
    }
    let tiny = a.render(
        &link,
        &RenderOptions {
            token_budget: 10,
            ..Default::default()
        },
        &approx_tokens,
    );
    assert!(tiny.over_budget);
}
