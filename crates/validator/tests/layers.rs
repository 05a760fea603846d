//! Each layer on the ERP: what passes, and each finding code produced by a
//! query that deserves it.

mod common;
use glrl_validator::{LayerName, Severity};

fn codes(sql: &str) -> Vec<String> {
    let r = common::validator().validate(sql);
    r.findings().map(|f| f.code.clone()).collect()
}

fn assert_valid(sql: &str) {
    let r = common::validator().validate(sql);
    assert!(r.valid, "{sql}\n{:#?}", r.errors().collect::<Vec<_>>());
}

#[test]
fn good_queries_pass_all_layers() {
    for sql in [
        "SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Country = 'Germany' AND Company_Type = 'Supplier'",
        "SELECT p.Currency_Code, SUM(p.Budget_Amount) AS total FROM PAC_MNT_PROJECTS p GROUP BY p.Currency_Code",
        "WITH over AS (SELECT Project_Code, Actual_Cost - Budget_Amount AS overrun FROM PAC_MNT_PROJECTS WHERE Actual_Cost > Budget_Amount) \
         SELECT o.Project_Code, o.overrun FROM over o ORDER BY o.overrun DESC LIMIT 10",
        "SELECT c.Company_Name, t.Contract_Number FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code \
         WHERE t.Status = 'Active' LIMIT 50",
        "SELECT r.Resource_Code, r.Last_Name FROM PAC_MNT_RESOURCES r WHERE NOT EXISTS \
         (SELECT 1 FROM PROJSTAFF s WHERE s.Resource_Code = r.Resource_Code)",
        "SELECT Project_Code, Budget_Amount, RANK() OVER (PARTITION BY Department ORDER BY Budget_Amount DESC) AS rk FROM PAC_MNT_PROJECTS LIMIT 20",
        "SELECT Company_Code FROM SRM_COMPANIES WHERE Status = 'Blocked' UNION SELECT Company_Code FROM PROJCNTRTS WHERE Status = 'Terminated'",
        "SELECT Project_Code, Actual_Cost / NULLIF(Budget_Amount, 0) AS burn FROM PAC_MNT_PROJECTS WHERE Status IN ('Active', 'On Hold')",
        "SELECT x.Department, x.n FROM (SELECT Department, COUNT(*) AS n FROM PAC_MNT_RESOURCES GROUP BY Department) x WHERE x.n > 5",
        "SELECT s.Project_Code, COUNT(DISTINCT s.Resource_Code) AS headcount FROM PROJSTAFF s GROUP BY s.Project_Code HAVING COUNT(DISTINCT s.Resource_Code) > 10",
        "SELECT p.Project_Code, p.Project_Name, r.First_Name FROM PAC_MNT_PROJECTS p JOIN PAC_MNT_RESOURCES r ON p.Manager_Code = r.Resource_Code",
        "SELECT Department, COUNT(*) FROM PAC_MNT_PROJECTS GROUP BY 1 ORDER BY 2 DESC",
    ] {
        assert_valid(sql);
    }
}

#[test]
fn syntax_errors_point_at_the_place() {
    let r = common::validator().validate("SELECT Project_Code\nFROM FROM PAC_MNT_PROJECTS");
    assert!(!r.valid);
    let f = r
        .layer(LayerName::Syntax)
        .unwrap()
        .findings
        .first()
        .unwrap();
    assert_eq!(f.code, "SYNTAX_ERROR");
    assert_eq!(f.span.map(|s| s.line), Some(2));
    assert!(r.layer(LayerName::Schema).unwrap().skipped);
    assert!(codes("   ;").contains(&"SYNTAX_EMPTY".to_string()));
}

#[test]
fn schema_findings_with_suggestions() {
    let r = common::validator().validate("SELECT Budget_Amt FROM PAC_MNT_PROJECTS");
    let f = r
        .findings()
        .find(|f| f.code == "SCHEMA_UNKNOWN_COLUMN")
        .unwrap();
    assert_eq!(f.suggestion.as_deref(), Some("did you mean Budget_Amount?"));
    assert_eq!(f.span.map(|s| (s.line, s.column)), Some((1, 8)));
    let r = common::validator().validate("SELECT Country FROM PAC_MNT_PROJECTS");
    let f = r
        .findings()
        .find(|f| f.code == "SCHEMA_UNKNOWN_COLUMN")
        .unwrap();
    assert!(
        f.suggestion.as_deref().unwrap().contains("SRM_COMPANIES"),
        "{f:?}"
    );
    let r = common::validator().validate("SELECT * FROM PROJSTAF");
    assert_eq!(
        r.findings()
            .find(|f| f.code == "SCHEMA_UNKNOWN_TABLE")
            .unwrap()
            .suggestion
            .as_deref(),
        Some("did you mean PROJSTAFF?")
    );
    assert!(codes(
        "SELECT Project_Code FROM PROJSTAFF s JOIN PROJCNTRTS t ON t.Project_Code = s.Project_Code"
    )
    .contains(&"SCHEMA_AMBIGUOUS_COLUMN".into()));
    let r = common::validator()
        .validate("SELECT PAC_MNT_PROJECTS.Project_Code FROM PAC_MNT_PROJECTS p");
    let f = r
        .findings()
        .find(|f| f.code == "SCHEMA_UNKNOWN_QUALIFIER")
        .unwrap();
    assert!(f.suggestion.as_deref().unwrap().contains("use p."));
    assert!(
        codes("SELECT p.Nope FROM PAC_MNT_PROJECTS p").contains(&"SCHEMA_UNKNOWN_COLUMN".into())
    );
    // Scopes: CTE columns, derived tables, correlated references, set operations.
    assert!(codes(
        "WITH a AS (SELECT Project_Code AS pc FROM PAC_MNT_PROJECTS) SELECT Project_Code FROM a"
    )
    .contains(&"SCHEMA_UNKNOWN_COLUMN".into()));
    assert!(
        codes("SELECT x.zz FROM (SELECT Project_Code FROM PAC_MNT_PROJECTS) x")
            .contains(&"SCHEMA_UNKNOWN_COLUMN".into())
    );
    assert!(codes("SELECT Project_Code FROM PAC_MNT_PROJECTS UNION SELECT Project_Code, Company_Code FROM PROJCNTRTS").contains(&"SCHEMA_SET_OPERATION_ARITY".into()));
    let r = common::validator().validate("SELECT SUM(Company_Name) FROM SRM_COMPANIES");
    assert!(r
        .findings()
        .any(|f| f.code == "SCHEMA_TYPE_MISMATCH" && f.severity == Severity::Warning));
    assert!(
        codes("SELECT Project_Code FROM PAC_MNT_PROJECTS WHERE Start_Date > 2020")
            .contains(&"SCHEMA_TYPE_MISMATCH".into())
    );
}

#[test]
fn business_rules() {
    let r = common::validator()
        .validate("SELECT Department, Status, COUNT(*) FROM PAC_MNT_PROJECTS GROUP BY Department");
    assert!(r
        .findings()
        .any(|f| f.code == "BUSINESS_GROUP_BY_MISSING" && f.message.contains("Status")));
    // Grouping by the primary key determines the other columns.
    assert_valid("SELECT p.Project_Code, p.Project_Name, COUNT(*) FROM PAC_MNT_PROJECTS p JOIN PROJSTAFF s ON s.Project_Code = p.Project_Code GROUP BY p.Project_Code");
    // Over one table alone, grouping by its key leaves one row a group
    // (a warning: it answers something).
    for bad in [
        "SELECT Resource_Code, COUNT(DISTINCT Resource_Code) AS n FROM PAC_MNT_RESOURCES GROUP BY Resource_Code",
        "SELECT Company_Code, AVG(Credit_Limit) FROM SRM_COMPANIES c GROUP BY c.Company_Code",
    ] {
        assert!(codes(bad).contains(&"BUSINESS_GROUP_BY_KEY".into()), "{bad}");
    }
    assert_valid("SELECT Department, COUNT(*) FROM PAC_MNT_RESOURCES GROUP BY Department");
    assert!(codes("SELECT SUM(Budget_Amount) FROM PAC_MNT_PROJECTS")
        .contains(&"BUSINESS_MIXED_CURRENCY".into()));
    assert!(
        !codes("SELECT SUM(Budget_Amount) FROM PAC_MNT_PROJECTS WHERE Currency_Code = 'EUR'")
            .contains(&"BUSINESS_MIXED_CURRENCY".into())
    );
    let r = common::validator()
        .validate("SELECT Company_Code FROM SRM_COMPANIES WHERE Status = 'blocked'");
    let f = r
        .findings()
        .find(|f| f.code == "BUSINESS_UNKNOWN_VALUE")
        .unwrap();
    assert_eq!(f.suggestion.as_deref(), Some("did you mean 'Blocked'?"));
    assert!(!r.valid);
    assert!(codes(
        "SELECT Company_Code FROM SRM_COMPANIES WHERE Country IN ('Germany', 'Deutschland')"
    )
    .contains(&"BUSINESS_UNKNOWN_VALUE".into()));
    assert!(
        codes("SELECT Actual_Cost / Budget_Amount FROM PAC_MNT_PROJECTS")
            .contains(&"BUSINESS_UNGUARDED_DIVISION".into())
    );
    let r = common::validator()
        .validate("SELECT c.Company_Code, p.Project_Code FROM SRM_COMPANIES c, PAC_MNT_PROJECTS p");
    assert!(r
        .findings()
        .any(|f| f.code == "BUSINESS_CARTESIAN_PRODUCT" && f.severity == Severity::Error));
    assert!(
        codes("SELECT p.Project_Code FROM PAC_MNT_PROJECTS p CROSS JOIN SRM_COMPANIES c")
            .contains(&"BUSINESS_CARTESIAN_PRODUCT".into())
    );
    assert!(codes("SELECT p.Project_Code FROM PAC_MNT_PROJECTS p JOIN PAC_MNT_RESOURCES r ON r.Department = p.Department").contains(&"BUSINESS_UNRELATED_JOIN".into()));
    assert!(!codes("SELECT p.Project_Code FROM PAC_MNT_PROJECTS p, PROJSTAFF s WHERE s.Project_Code = p.Project_Code").contains(&"BUSINESS_CARTESIAN_PRODUCT".into()));
}

#[test]
fn performance_from_the_real_plan() {
    let r = common::validator().validate("SELECT * FROM PROJSTAFF");
    assert!(r.valid, "warnings only");
    let c: Vec<String> = r.findings().map(|f| f.code.clone()).collect();
    assert!(
        c.contains(&"PERF_SELECT_STAR".into()) && c.contains(&"PERF_UNBOUNDED_RESULT".into()),
        "{c:?}"
    );
    assert!(r.estimated_cost.unwrap() >= 1000.0);
    let search = common::validator()
        .validate("SELECT Assignment_Id FROM PROJSTAFF WHERE Project_Code = 'PRJ-0001'");
    assert!(search.estimated_cost.unwrap() < r.estimated_cost.unwrap());
    // An index exists, but wrapping the column in a function defeats it.
    let scan = common::validator().validate(
        "SELECT Assignment_Id FROM PROJSTAFF WHERE lower(Project_Code) = 'prj-0001' LIMIT 5",
    );
    assert!(scan.estimated_cost.unwrap() > search.estimated_cost.unwrap());
    assert!(codes("SELECT p.Project_Code, (SELECT COUNT(*) FROM PROJSTAFF s WHERE s.Project_Code = p.Project_Code) AS n FROM PAC_MNT_PROJECTS p")
        .contains(&"PERF_CORRELATED_SUBQUERY".into()));
    assert!(!codes("SELECT COUNT(*) FROM PROJSTAFF").contains(&"PERF_UNBOUNDED_RESULT".into()));
    // Without a database the static layers still run, with no plan.
    let e = common::erp();
    let v = glrl_validator::Validator::new(&e.analyzer, glrl_catalog::Dialect::Sqlite);
    assert_eq!(
        v.validate("SELECT COUNT(*) FROM PROJSTAFF").estimated_cost,
        None
    );
    // The plan's database time is reported apart (callers count it as
    // database time): some with a database, none without or when the
    // query never reaches the planner.
    let (report, planning) = common::validator().validate_timed("SELECT COUNT(*) FROM PROJSTAFF");
    assert!(report.estimated_cost.is_some() && planning > std::time::Duration::ZERO);
    assert_eq!(
        v.validate_timed("SELECT COUNT(*) FROM PROJSTAFF").1,
        std::time::Duration::ZERO
    );
    let (bad, t) = common::validator().validate_timed("SELECT Nope FROM PROJSTAFF");
    assert!(!bad.valid && bad.estimated_cost.is_none());
    assert_eq!(t, std::time::Duration::ZERO);
}

#[test]
fn security_gate() {
    for (sql, code) in [
        ("DELETE FROM PROJSTAFF", "SECURITY_NOT_READ_ONLY"),
        (
            "SELECT 1; DROP TABLE PROJSTAFF",
            "SECURITY_MULTIPLE_STATEMENTS",
        ),
        ("SELECT name FROM sqlite_master", "SECURITY_SYSTEM_CATALOG"),
        ("SELECT * FROM users", "SECURITY_TABLE_NOT_ALLOWED"),
        ("SELECT load_extension('x')", "SECURITY_FORBIDDEN_FUNCTION"),
        (
            "SELECT Company_Code FROM SRM_COMPANIES WHERE Company_Code = 'x' OR 1 = 1",
            "SECURITY_TAUTOLOGY",
        ),
        (
            "SELECT Company_Code FROM SRM_COMPANIES /* UNION SELECT sql FROM sqlite_master */",
            "SECURITY_COMMENT_SMUGGLING",
        ),
        ("PRAGMA query_only = 0", "SECURITY_NOT_READ_ONLY"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "SECURITY_NOT_READ_ONLY"),
    ] {
        let r = common::validator().validate(sql);
        assert!(!r.valid, "{sql}");
        assert!(
            r.has_code(code),
            "{sql}: {:?}",
            r.findings().map(|f| &f.code).collect::<Vec<_>>()
        );
        assert!(!r.layer(LayerName::Security).unwrap().passed);
    }
    // Narrowed allow-list: a tenant that may not read contacts.
    let e = common::erp();
    let v = glrl_validator::Validator::new(&e.analyzer, glrl_catalog::Dialect::Sqlite)
        .allow_tables(vec!["SRM_COMPANIES".into()]);
    assert!(v
        .validate("SELECT Email FROM SRM_CONTACTS")
        .has_code("SECURITY_TABLE_NOT_ALLOWED"));
    assert!(v.validate("SELECT Company_Code FROM SRM_COMPANIES").valid);
}

#[test]
fn severity_overrides_are_data() {
    let e = common::erp();
    let mut rules = common::rules();
    rules.extend(
        glrl_validator::Rules::from_toml(
            "[severity]\nBUSINESS_UNKNOWN_VALUE = \"warning\"\nPERF_SELECT_STAR = \"off\"\n",
        )
        .unwrap(),
    );
    let v = glrl_validator::Validator::new(&e.analyzer, glrl_catalog::Dialect::Sqlite)
        .with_rules(rules);
    let r = v.validate("SELECT * FROM SRM_COMPANIES WHERE Status = 'Frozen'");
    assert!(r.valid);
    assert!(!r.has_code("PERF_SELECT_STAR"));
    assert!(r
        .findings()
        .any(|f| f.code == "BUSINESS_UNKNOWN_VALUE" && f.severity == Severity::Warning));
}
