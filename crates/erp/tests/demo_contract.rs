//! The demo data contract of `shared/erp/README.md`, checked point by point
//! with SQL against a freshly written SQLite demo database.

use glrl_db::{Database, ExecOptions, SqliteDatabase, Value};
use glrl_erp::{generate, reference_schema, DemoConfig, SCHEMA_SQL};
use std::collections::BTreeSet;

fn demo_db() -> (tempfile::TempDir, SqliteDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).unwrap();
    let db = SqliteDatabase::open(&path).unwrap();
    (dir, db)
}

fn scalar(db: &SqliteDatabase, sql: &str) -> f64 {
    let rs = db
        .query(sql, &ExecOptions::default())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rs.rows[0][0]
        .as_f64()
        .unwrap_or_else(|| panic!("{sql} returned {:?}", rs.rows[0][0]))
}

fn strings(db: &SqliteDatabase, sql: &str) -> BTreeSet<String> {
    let rs = db
        .query(
            sql,
            &ExecOptions {
                max_rows: 100_000,
                ..Default::default()
            },
        )
        .unwrap();
    rs.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(Value::to_plain_string)
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn volumes_and_codes() {
    let (_d, db) = demo_db();
    for (table, min) in [
        ("PAC_MNT_RESOURCES", 300.0),
        ("PAC_MNT_PROJECTS", 120.0),
        ("SRM_COMPANIES", 80.0),
        ("SRM_CONTACTS", 240.0),
        ("PROJSTAFF", 1200.0),
        ("PROJCNTRTS", 300.0),
    ] {
        assert!(
            scalar(&db, &format!("SELECT COUNT(*) FROM {table}")) >= min,
            "{table} below {min} rows"
        );
    }
    for (table, col, glob) in [
        (
            "PAC_MNT_RESOURCES",
            "Resource_Code",
            "RES-[0-9][0-9][0-9][0-9]",
        ),
        (
            "PAC_MNT_PROJECTS",
            "Project_Code",
            "PRJ-[0-9][0-9][0-9][0-9]",
        ),
        ("SRM_COMPANIES", "Company_Code", "CMP-[0-9][0-9][0-9]"),
        (
            "PROJCNTRTS",
            "Contract_Number",
            "CTR-20[12][0-9]-[0-9][0-9][0-9][0-9]",
        ),
    ] {
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT COUNT(*) FROM {table} WHERE {col} NOT GLOB '{glob}'")
            ),
            0.0
        );
    }
    assert_eq!(scalar(&db, "SELECT MIN(Resource_Code) = 'RES-0001' AND MIN(Project_Code) = 'PRJ-0001' FROM PAC_MNT_RESOURCES, PAC_MNT_PROJECTS"), 1.0);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM PROJCNTRTS WHERE substr(Contract_Number, 5, 4) <> substr(Sign_Date, 1, 4)"), 0.0);
    for (table, col) in [
        ("SRM_CONTACTS", "Contact_Id"),
        ("PROJSTAFF", "Assignment_Id"),
    ] {
        assert_eq!(scalar(&db, &format!("SELECT MIN({col}) FROM {table}")), 1.0);
        assert_eq!(
            scalar(&db, &format!("SELECT MAX({col}) = COUNT(*) FROM {table}")),
            1.0
        );
    }
}

#[test]
fn every_check_vocabulary_value_occurs() {
    let (_d, db) = demo_db();
    for table in &reference_schema().tables {
        for col in &table.columns {
            let Some(allowed) = &col.allowed_values else {
                continue;
            };
            let seen = strings(
                &db,
                &format!("SELECT DISTINCT {} FROM {}", col.name, table.name),
            );
            let allowed: BTreeSet<String> = allowed.iter().cloned().collect();
            assert_eq!(seen, allowed, "{}.{}", table.name, col.name);
        }
    }
    assert_eq!(
        strings(
            &db,
            "SELECT DISTINCT Rating FROM SRM_COMPANIES WHERE Rating IS NOT NULL"
        ),
        set(&["1", "2", "3", "4", "5"])
    );
}

#[test]
fn fixed_lists_of_the_contract() {
    let (_d, db) = demo_db();
    let departments = set(&[
        "Finance",
        "Engineering",
        "IT",
        "Operations",
        "Sales",
        "Marketing",
        "Human Resources",
        "Legal",
        "Procurement",
        "Research",
    ]);
    assert_eq!(
        strings(&db, "SELECT DISTINCT Department FROM PAC_MNT_RESOURCES"),
        departments
    );
    assert_eq!(
        strings(&db, "SELECT DISTINCT Department FROM PAC_MNT_PROJECTS"),
        departments
    );
    assert_eq!(
        strings(&db, "SELECT DISTINCT Country, City FROM SRM_COMPANIES"),
        set(&[
            "United States|New York",
            "United States|Chicago",
            "United States|San Francisco",
            "Canada|Toronto",
            "Brazil|Sao Paulo",
            "United Kingdom|London",
            "United Kingdom|Manchester",
            "Germany|Berlin",
            "Germany|Munich",
            "France|Paris",
            "Netherlands|Amsterdam",
            "Japan|Tokyo",
            "Japan|Osaka",
            "Singapore|Singapore",
            "India|Bangalore",
            "India|Mumbai",
            "Australia|Sydney"
        ])
    );
    assert_eq!(
        strings(&db, "SELECT DISTINCT Industry FROM SRM_COMPANIES"),
        set(&[
            "Manufacturing",
            "Software",
            "Construction",
            "Logistics",
            "Consulting",
            "Energy",
            "Healthcare",
            "Financial Services",
            "Telecommunications",
            "Retail"
        ])
    );
    let titles = strings(&db, "SELECT DISTINCT Job_Title FROM PAC_MNT_RESOURCES");
    for t in [
        "Project Manager",
        "Software Engineer",
        "Business Analyst",
        "Consultant",
        "Data Engineer",
        "QA Engineer",
        "Solution Architect",
        "Accountant",
    ] {
        assert!(titles.contains(t), "job title {t} missing");
    }
}

#[test]
fn dates_and_open_ends() {
    let (_d, db) = demo_db();
    for (table, cols) in [
        ("PAC_MNT_RESOURCES", &["Hire_Date"][..]),
        ("PAC_MNT_PROJECTS", &["Start_Date", "End_Date"][..]),
        ("PROJSTAFF", &["Start_Date", "End_Date"][..]),
        ("PROJCNTRTS", &["Sign_Date", "Start_Date", "End_Date"][..]),
    ] {
        for c in cols {
            let bad = scalar(&db, &format!(
                "SELECT COUNT(*) FROM {table} WHERE {c} IS NOT NULL AND ({c} < '2019-01-01' OR {c} > '2025-12-31' OR date({c}) IS NOT {c})"));
            assert_eq!(bad, 0.0, "{table}.{c} out of range or not ISO");
        }
    }
    for (table, min) in [
        ("PAC_MNT_PROJECTS", 0.15),
        ("PROJSTAFF", 0.20),
        ("PROJCNTRTS", 0.10),
    ] {
        let share = scalar(&db, &format!("SELECT AVG(End_Date IS NULL) FROM {table}"));
        assert!(share >= min, "{table}: only {share:.3} open-ended");
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT COUNT(*) FROM {table} WHERE End_Date < Start_Date")
            ),
            0.0
        );
    }
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM PROJCNTRTS WHERE Start_Date < Sign_Date"
        ),
        0.0
    );
}

#[test]
fn business_shape() {
    let (_d, db) = demo_db();
    assert!(
        scalar(
            &db,
            "SELECT AVG(Actual_Cost > Budget_Amount) FROM PAC_MNT_PROJECTS"
        ) >= 0.15
    );
    assert!(scalar(&db, "SELECT AVG(Rating IS NULL) FROM SRM_COMPANIES") >= 0.10);
    let per_company = "SELECT c.Company_Code, COUNT(k.Contact_Id) AS n, SUM(k.Is_Primary = 'Y') AS p \
                       FROM SRM_COMPANIES c LEFT JOIN SRM_CONTACTS k ON k.Company_Code = c.Company_Code GROUP BY 1";
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT COUNT(*) FROM ({per_company}) WHERE n < 1 OR n > 6 OR p > 1")
        ),
        0.0
    );
    assert!(scalar(&db, "SELECT COUNT(*) FROM SRM_COMPANIES c WHERE NOT EXISTS (SELECT 1 FROM PROJCNTRTS t WHERE t.Company_Code = c.Company_Code)") > 0.0);
    assert!(scalar(&db, "SELECT COUNT(*) FROM PAC_MNT_RESOURCES r WHERE NOT EXISTS (SELECT 1 FROM PROJSTAFF s WHERE s.Resource_Code = r.Resource_Code)") > 0.0);
    let staff = "SELECT p.Project_Code, COUNT(s.Assignment_Id) AS n FROM PAC_MNT_PROJECTS p LEFT JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code GROUP BY 1";
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT COUNT(*) FROM ({staff}) WHERE n < 2 OR n > 20")
        ),
        0.0
    );
    let contracts = "SELECT p.Project_Code, COUNT(t.Contract_Number) AS n FROM PAC_MNT_PROJECTS p LEFT JOIN PROJCNTRTS t ON t.Project_Code = p.Project_Code GROUP BY 1";
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT COUNT(*) FROM ({contracts}) WHERE n > 6")
        ),
        0.0
    );
    assert!(
        scalar(
            &db,
            &format!("SELECT COUNT(*) FROM ({contracts}) WHERE n = 0")
        ) > 0.0
    );
    assert!(scalar(&db, "SELECT COUNT(*) FROM (SELECT Project_Code, Resource_Code FROM PROJSTAFF GROUP BY 1, 2 HAVING COUNT(*) > 1)") > 0.0);
}

#[test]
fn realistic_magnitudes() {
    let (_d, db) = demo_db();
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM PAC_MNT_RESOURCES WHERE Hourly_Rate < 25 OR Hourly_Rate > 250"
        ),
        0.0
    );
    assert!(scalar(&db, "SELECT AVG(s.Bill_Rate > r.Hourly_Rate) FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code") > 0.75);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM PAC_MNT_PROJECTS WHERE Budget_Amount < 10000 OR Budget_Amount > 5000000"), 0.0);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM PROJCNTRTS WHERE Contract_Value < 5000 OR Contract_Value > 2000000"), 0.0);
    let over = scalar(
        &db,
        "SELECT COUNT(*) FROM PROJCNTRTS WHERE Invoiced_Amount > Contract_Value",
    );
    assert!(
        (1.0..=10.0).contains(&over),
        "{over} over-invoiced contracts: should be a few"
    );
    assert!(scalar(&db, "SELECT COUNT(*) FROM PAC_MNT_PROJECTS p JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = p.Manager_Code") > 100.0);
}

#[test]
fn same_seed_same_bytes_other_seed_other_rows() {
    let a = generate(&DemoConfig::default());
    assert_eq!(a, generate(&DemoConfig::default()));
    assert_ne!(
        a,
        generate(&DemoConfig {
            seed: 7,
            ..DemoConfig::default()
        })
    );
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2) = (dir.path().join("a.db"), dir.path().join("b.db"));
    glrl_db::load::write_sqlite(&p1, SCHEMA_SQL, &a).unwrap();
    glrl_db::load::write_sqlite(&p2, SCHEMA_SQL, &a).unwrap();
    assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
}
