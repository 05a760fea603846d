//! The generator of further training pairs: question phrasings with slots
//! filled from the database (statuses, countries, codes, years, amounts).
//! Four families: hand-written templates (combined filters, joins with
//! aggregates, consistent output columns: code + name), single-table
//! shapes composed from parts (`shapes.rs`), two-table joins composed
//! from the same parts (`joins.rs`) and the constructs past them —
//! HAVING, CASE, subqueries, set operations, windows, CTEs
//! (`advanced.rs`). Every pair is verified — the
//! validator finds no error and the query returns rows — before it is kept.
//! Generated pairs are for training only: their ids start with `gen-` and
//! any SQL skeleton of the dev split is refused.

use crate::advanced;
use crate::joins;
use crate::reasoning;
use crate::shapes::{self, shape_key};
use crate::{skeleton, DatasetError, Pair};
use glrl_db::{Database, ExecOptions};
use glrl_validator::Validator;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub count: usize,
    pub family: Family,
    pub seed: u64,
    /// Templates tried per pair kept before giving up (duplicates and
    /// empty results are discarded).
    pub max_attempts_factor: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            count: 3000,
            family: Family::Templates,
            seed: 7,
            max_attempts_factor: 20,
        }
    }
}

/// Which generator makes the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// Hand-written templates, mostly filtered and joined queries
    /// (run 1 of the built-in adapter was trained on them).
    #[default]
    Templates,
    /// Single-table queries composed from parts (`shapes.rs`).
    Shapes,
    /// Two-table queries along a foreign key, from the same parts
    /// (`joins.rs`).
    Joins,
    /// HAVING, CASE, subqueries, set operations, windows, NOT EXISTS and
    /// CTEs over the same parts (`advanced.rs`).
    Advanced,
}

/// Values the templates draw from, read from the database.
struct Slots {
    v: BTreeMap<&'static str, Vec<String>>,
}

impl Slots {
    fn load(db: &dyn Database) -> Result<Slots, DatasetError> {
        let mut v = BTreeMap::new();
        let q = |sql: &str| -> Result<Vec<String>, DatasetError> {
            let rs = db.query(
                sql,
                &ExecOptions {
                    max_rows: 500,
                    ..ExecOptions::default()
                },
            )?;
            Ok(rs
                .rows
                .iter()
                .filter_map(|r| r.first())
                .map(|x| x.to_plain_string())
                .collect())
        };
        for (key, sql) in [
            (
                "project_status",
                "SELECT DISTINCT Status FROM PAC_MNT_PROJECTS",
            ),
            (
                "project_type",
                "SELECT DISTINCT Project_Type FROM PAC_MNT_PROJECTS",
            ),
            ("region", "SELECT DISTINCT Region FROM PAC_MNT_PROJECTS"),
            (
                "department",
                "SELECT DISTINCT Department FROM PAC_MNT_PROJECTS",
            ),
            (
                "currency",
                "SELECT DISTINCT Currency_Code FROM PAC_MNT_PROJECTS",
            ),
            (
                "company_type",
                "SELECT DISTINCT Company_Type FROM SRM_COMPANIES",
            ),
            ("country", "SELECT DISTINCT Country FROM SRM_COMPANIES"),
            ("industry", "SELECT DISTINCT Industry FROM SRM_COMPANIES"),
            (
                "company_status",
                "SELECT DISTINCT Status FROM SRM_COMPANIES",
            ),
            ("terms", "SELECT DISTINCT Payment_Terms FROM SRM_COMPANIES"),
            ("role", "SELECT DISTINCT Role FROM PROJSTAFF"),
            (
                "resource_department",
                "SELECT DISTINCT Department FROM PAC_MNT_RESOURCES",
            ),
            ("contact_title", "SELECT DISTINCT Title FROM SRM_CONTACTS"),
            (
                "contact_company",
                "SELECT DISTINCT Company_Code FROM SRM_CONTACTS",
            ),
            (
                "contract_type",
                "SELECT DISTINCT Contract_Type FROM PROJCNTRTS",
            ),
            ("contract_status", "SELECT DISTINCT Status FROM PROJCNTRTS"),
            (
                "job_title",
                "SELECT DISTINCT Job_Title FROM PAC_MNT_RESOURCES",
            ),
            (
                "resource_type",
                "SELECT DISTINCT Resource_Type FROM PAC_MNT_RESOURCES",
            ),
            ("project_code", "SELECT Project_Code FROM PAC_MNT_PROJECTS"),
            (
                "resource_code",
                "SELECT DISTINCT Resource_Code FROM PROJSTAFF",
            ),
            (
                "company_code",
                "SELECT DISTINCT Company_Code FROM PROJCNTRTS",
            ),
        ] {
            v.insert(key, q(sql)?);
        }
        v.insert("year", (2019..=2025).map(|y| y.to_string()).collect());
        v.insert(
            "amount",
            ["50000", "100000", "250000", "500000", "1000000", "2000000"]
                .map(String::from)
                .to_vec(),
        );
        v.insert("n", ["3", "5", "10", "15", "20"].map(String::from).to_vec());
        Ok(Slots { v })
    }
}

pub(crate) struct Fill<'a> {
    pub(crate) rng: &'a mut ChaCha8Rng,
    slots: &'a Slots,
}

impl Fill<'_> {
    pub(crate) fn pick(&mut self, key: &str) -> String {
        self.slots
            .v
            .get(key)
            .and_then(|v| v.choose(self.rng))
            .cloned()
            .unwrap_or_default()
    }
}

pub(crate) fn lc(s: &str) -> String {
    s.to_lowercase()
}

/// (questions, sql, reasoning, difficulty, constructs)
pub(crate) type Made = (Vec<String>, String, String, &'static str, Vec<&'static str>);

/// (questions, sql) of a composed family: the reasoning, difficulty and
/// constructs follow from the SQL and the question asked, as the split's
/// do (`reasoning::derive`).
pub(crate) type Composed = (Vec<String>, String);

fn templates() -> Vec<fn(&mut Fill) -> Made> {
    vec![
        |f| {
            let (s, r) = (f.pick("project_status"), f.pick("region"));
            (vec![format!("List {} projects in {r}.", lc(&s)), format!("Which {r} projects are {}?", lc(&s)), format!("Show projects with status {s} in the {r} region.")],
             format!("SELECT Project_Code, Project_Name FROM PAC_MNT_PROJECTS WHERE Status = '{s}' AND Region = '{r}' ORDER BY Project_Code"),
             format!("Projects live in PAC_MNT_PROJECTS; filter Status = '{s}' and Region = '{r}', show code and name."), "simple", vec![])
        },
        |f| {
            let (t, d) = (f.pick("project_type"), f.pick("department"));
            (vec![format!("How many {} projects does {d} run?", lc(&t)), format!("Count {d} projects of type {t}.")],
             format!("SELECT COUNT(*) AS projects FROM PAC_MNT_PROJECTS WHERE Project_Type = '{t}' AND Department = '{d}'"),
             format!("Count PAC_MNT_PROJECTS rows with Project_Type = '{t}' and Department = '{d}'."), "simple", vec!["aggregation"])
        },
        |f| {
            let (c, y) = (f.pick("currency"), f.pick("year"));
            (vec![format!("Total budget of {c} projects started in {y}."), format!("Sum of budgets for projects in {c} that began in {y}.")],
             format!("SELECT SUM(Budget_Amount) AS total_budget FROM PAC_MNT_PROJECTS WHERE Currency_Code = '{c}' AND Start_Date BETWEEN '{y}-01-01' AND '{y}-12-31'"),
             format!("Sum PAC_MNT_PROJECTS.Budget_Amount in one currency ({c}) for Start_Date within {y}."), "simple", vec!["aggregation"])
        },
        |f| {
            let s = f.pick("project_status");
            (vec![format!("Which {} projects are over budget?", lc(&s)), format!("Over-budget projects with status {s}."), format!("{s} projects whose actual cost exceeds the budget.")],
             format!("SELECT Project_Code, Project_Name, Budget_Amount, Actual_Cost FROM PAC_MNT_PROJECTS WHERE Status = '{s}' AND Actual_Cost > Budget_Amount ORDER BY Project_Code"),
             format!("Over budget means Actual_Cost > Budget_Amount on PAC_MNT_PROJECTS; also filter Status = '{s}'."), "simple", vec![])
        },
        |f| {
            let (t, c) = (f.pick("company_type"), f.pick("country"));
            let kind = match t.as_str() {
                "Supplier" => "suppliers",
                "Client" => "clients",
                _ => "partners",
            };
            (vec![format!("List {kind} in {c}."), format!("Which {kind} are based in {c}?"), format!("Show our {kind} from {c}.")],
             format!("SELECT Company_Code, Company_Name FROM SRM_COMPANIES WHERE Company_Type = '{t}' AND Country = '{c}' ORDER BY Company_Code"),
             format!("{kind} are SRM_COMPANIES with Company_Type = '{t}'; filter Country = '{c}'."), "simple", vec![])
        },
        |f| {
            let (i, st) = (f.pick("industry"), f.pick("company_status"));
            (vec![format!("How many {} {i} companies are there?", lc(&st)), format!("Count {i} companies with status {st}.")],
             format!("SELECT COUNT(*) AS companies FROM SRM_COMPANIES WHERE Industry = '{i}' AND Status = '{st}'"),
             format!("Count SRM_COMPANIES rows with Industry = '{i}' and Status = '{st}'."), "simple", vec!["aggregation"])
        },
        |f| {
            let (d, t) = (f.pick("department"), f.pick("resource_type"));
            (vec![format!("Average hourly rate of {}s in {d}.", lc(&t)), format!("What does a {} in {d} cost per hour on average?", lc(&t))],
             format!("SELECT AVG(Hourly_Rate) AS average_rate FROM PAC_MNT_RESOURCES WHERE Department = '{d}' AND Resource_Type = '{t}'"),
             format!("Average PAC_MNT_RESOURCES.Hourly_Rate for Department = '{d}' and Resource_Type = '{t}'."), "simple", vec!["aggregation"])
        },
        |f| {
            let (cs, ct) = (f.pick("contract_status"), f.pick("contract_type"));
            (vec![format!("List {} {} contracts.", lc(&cs), lc(&ct)), format!("Which {ct} contracts have status {cs}?")],
             format!("SELECT Contract_Number, Contract_Value, Currency_Code FROM PROJCNTRTS WHERE Status = '{cs}' AND Contract_Type = '{ct}' ORDER BY Contract_Number"),
             format!("Filter PROJCNTRTS on Status = '{cs}' and Contract_Type = '{ct}'; show number, value and currency."), "simple", vec![])
        },
        |f| {
            let p = f.pick("project_code");
            (vec![format!("Who is staffed on {p}?"), format!("List the people assigned to {p} with their roles.")],
             format!("SELECT s.Resource_Code, r.First_Name, r.Last_Name, s.Role FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code WHERE s.Project_Code = '{p}' ORDER BY s.Resource_Code"),
             format!("Assignments are in PROJSTAFF; join PAC_MNT_RESOURCES on Resource_Code for names; filter Project_Code = '{p}'."), "medium", vec!["join"])
        },
        |f| {
            let (c, cs) = (f.pick("country"), f.pick("contract_status"));
            (vec![format!("Total {} contract value with companies in {c}, per currency.", lc(&cs)), format!("How much is contracted with {c} companies in {} contracts, by currency?", lc(&cs))],
             format!("SELECT t.Currency_Code, SUM(t.Contract_Value) AS total_value FROM PROJCNTRTS t JOIN SRM_COMPANIES c ON c.Company_Code = t.Company_Code WHERE c.Country = '{c}' AND t.Status = '{cs}' GROUP BY t.Currency_Code ORDER BY t.Currency_Code"),
             format!("Join PROJCNTRTS to SRM_COMPANIES on Company_Code; filter Country = '{c}' and contract Status = '{cs}'; sum Contract_Value per Currency_Code."), "medium", vec!["join", "aggregation", "group_by"])
        },
        |f| {
            let (r, s) = (f.pick("role"), f.pick("project_status"));
            (vec![format!("Total hours worked by {}s on {} projects.", lc(&r), lc(&s)), format!("Hours booked in the {r} role on projects with status {s}.")],
             format!("SELECT SUM(s.Hours_Worked) AS hours FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE s.Role = '{r}' AND p.Status = '{s}'"),
             format!("Join PROJSTAFF to PAC_MNT_PROJECTS on Project_Code; filter Role = '{r}' and project Status = '{s}'; sum Hours_Worked."), "medium", vec!["join", "aggregation"])
        },
        |f| {
            let d = f.pick("department");
            (vec![format!("Labour cost per project for {d} projects."), format!("What did staff cost on each {d} project?")],
             format!("SELECT s.Project_Code, SUM(s.Hours_Worked * r.Hourly_Rate) AS labour_cost FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE p.Department = '{d}' GROUP BY s.Project_Code ORDER BY labour_cost DESC"),
             format!("Labour cost is PROJSTAFF.Hours_Worked * PAC_MNT_RESOURCES.Hourly_Rate; join both and PAC_MNT_PROJECTS to filter Department = '{d}'; group by project."), "medium", vec!["join", "multi_join", "aggregation", "group_by"])
        },
        |f| {
            let (t, n) = (f.pick("company_type"), f.pick("n"));
            (vec![format!("Top {n} {} companies by number of contracts.", lc(&t)), format!("Which {n} {}s hold the most contracts?", lc(&t))],
             format!("SELECT c.Company_Code, c.Company_Name, COUNT(*) AS contracts FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code WHERE c.Company_Type = '{t}' GROUP BY c.Company_Code, c.Company_Name ORDER BY contracts DESC LIMIT {n}"),
             format!("Join SRM_COMPANIES to PROJCNTRTS on Company_Code; Company_Type = '{t}'; count contracts per company, top {n}."), "medium", vec!["join", "aggregation", "group_by"])
        },
        |f| {
            let (cur, a) = (f.pick("currency"), f.pick("amount"));
            (vec![format!("Companies with more than {a} outstanding in {cur}."), format!("Which counterparties have over {a} {cur} still to invoice?")],
             format!("SELECT c.Company_Code, c.Company_Name, SUM(t.Contract_Value - t.Invoiced_Amount) AS outstanding FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code WHERE t.Currency_Code = '{cur}' GROUP BY c.Company_Code, c.Company_Name HAVING SUM(t.Contract_Value - t.Invoiced_Amount) > {a} ORDER BY outstanding DESC"),
             format!("Outstanding is Contract_Value - Invoiced_Amount in PROJCNTRTS; join SRM_COMPANIES; one currency ({cur}); keep companies above {a}."), "medium", vec!["join", "aggregation", "group_by", "having"])
        },
        |f| {
            let s = f.pick("contract_status");
            (vec![format!("Projects without any {} contract.", lc(&s)), format!("Which projects have no contract with status {s}?")],
             format!("SELECT p.Project_Code, p.Project_Name FROM PAC_MNT_PROJECTS p WHERE NOT EXISTS (SELECT 1 FROM PROJCNTRTS t WHERE t.Project_Code = p.Project_Code AND t.Status = '{s}') ORDER BY p.Project_Code"),
             format!("Anti-join: PAC_MNT_PROJECTS where NOT EXISTS a PROJCNTRTS row for the project with Status = '{s}'."), "complex", vec!["anti_join", "correlated_subquery"])
        },
        |f| {
            let r = f.pick("role");
            (vec![format!("Resources who have never worked as {}.", lc(&r)), format!("Which people never held the {r} role?")],
             format!("SELECT r.Resource_Code, r.First_Name, r.Last_Name FROM PAC_MNT_RESOURCES r WHERE r.Resource_Code NOT IN (SELECT s.Resource_Code FROM PROJSTAFF s WHERE s.Role = '{r}') ORDER BY r.Resource_Code"),
             format!("PAC_MNT_RESOURCES not in the set of PROJSTAFF.Resource_Code with Role = '{r}'."), "medium", vec!["anti_join", "subquery"])
        },
        |f| {
            let d = f.pick("department");
            (vec![format!("Rank {d} resources by hourly rate."), format!("Hourly rate ranking inside {d}.")],
             format!("SELECT Resource_Code, Hourly_Rate, RANK() OVER (ORDER BY Hourly_Rate DESC) AS rate_rank FROM PAC_MNT_RESOURCES WHERE Department = '{d}' ORDER BY rate_rank"),
             format!("Filter PAC_MNT_RESOURCES to Department = '{d}'; RANK() OVER (ORDER BY Hourly_Rate DESC)."), "complex", vec!["window"])
        },
        |f| {
            let cur = f.pick("currency");
            (vec![format!("Running total of {cur} budgets by project start date."), format!("Cumulative {cur} project budget over time.")],
             format!("SELECT Project_Code, Start_Date, SUM(Budget_Amount) OVER (ORDER BY Start_Date, Project_Code) AS running_budget FROM PAC_MNT_PROJECTS WHERE Currency_Code = '{cur}' ORDER BY Start_Date, Project_Code"),
             format!("One currency ({cur}) of PAC_MNT_PROJECTS; SUM(Budget_Amount) OVER (ORDER BY Start_Date) gives the running total."), "complex", vec!["window", "aggregation"])
        },
        |f| {
            let (t, n) = (f.pick("project_type"), f.pick("n"));
            (vec![format!("Top {n} {} projects by headcount.", lc(&t)), format!("Which {n} {t} projects have the largest teams?")],
             format!("WITH teams AS (SELECT Project_Code, COUNT(DISTINCT Resource_Code) AS headcount FROM PROJSTAFF GROUP BY Project_Code) SELECT p.Project_Code, p.Project_Name, t.headcount FROM PAC_MNT_PROJECTS p JOIN teams t ON t.Project_Code = p.Project_Code WHERE p.Project_Type = '{t}' ORDER BY t.headcount DESC LIMIT {n}"),
             format!("Headcount is COUNT(DISTINCT Resource_Code) per project in PROJSTAFF (a CTE); join PAC_MNT_PROJECTS and keep Project_Type = '{t}'."), "complex", vec!["cte", "join", "aggregation", "group_by"])
        },
        |f| {
            let (a, b) = (f.pick("role"), f.pick("role"));
            (vec![format!("People who worked both as {} and as {}.", lc(&a), lc(&b)), format!("Resources with assignments in the {a} role and in the {b} role.")],
             format!("SELECT Resource_Code FROM PROJSTAFF WHERE Role = '{a}' INTERSECT SELECT Resource_Code FROM PROJSTAFF WHERE Role = '{b}' ORDER BY Resource_Code"),
             format!("INTERSECT the PROJSTAFF resources with Role = '{a}' and those with Role = '{b}'."), "complex", vec!["set_operation"])
        },
        |f| {
            let s = f.pick("project_status");
            (vec![format!("Budget health of {} projects.", lc(&s)), format!("Classify {} projects as over budget, at risk or on track.", lc(&s))],
             format!("SELECT Project_Code, CASE WHEN Actual_Cost > Budget_Amount THEN 'over budget' WHEN Actual_Cost > 0.9 * Budget_Amount THEN 'at risk' ELSE 'on track' END AS health FROM PAC_MNT_PROJECTS WHERE Status = '{s}' ORDER BY Project_Code"),
             format!("CASE on PAC_MNT_PROJECTS: Actual_Cost > Budget_Amount is over budget, above 90% at risk; filter Status = '{s}'."), "medium", vec!["case"])
        },
        |f| {
            let p = f.pick("company_code");
            (vec![format!("Contracts of {p} with their project names."), format!("What has {p} contracted, and on which projects?")],
             format!("SELECT t.Contract_Number, p.Project_Name, t.Contract_Value FROM PROJCNTRTS t JOIN PAC_MNT_PROJECTS p ON p.Project_Code = t.Project_Code WHERE t.Company_Code = '{p}' ORDER BY t.Contract_Number"),
             format!("PROJCNTRTS rows of Company_Code = '{p}', joined to PAC_MNT_PROJECTS on Project_Code for the name."), "medium", vec!["join"])
        },
        |f| {
            let p = f.pick("project_code");
            (vec![format!("What is the budget and actual cost of {p}?"), format!("Budget versus spend for {p}."), format!("How much has {p} spent against its budget?")],
             format!("SELECT Project_Code, Budget_Amount, Actual_Cost, Currency_Code FROM PAC_MNT_PROJECTS WHERE Project_Code = '{p}'"),
             format!("One row of PAC_MNT_PROJECTS, Project_Code = '{p}': Budget_Amount, Actual_Cost and the currency."), "simple", vec![])
        },
        |f| {
            let p = f.pick("project_code");
            (vec![format!("Who manages {p}?"), format!("Name the project manager of {p}."), format!("Which resource leads {p}?")],
             format!("SELECT r.Resource_Code, r.First_Name, r.Last_Name FROM PAC_MNT_PROJECTS p JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = p.Manager_Code WHERE p.Project_Code = '{p}'"),
             format!("The manager is PAC_MNT_PROJECTS.Manager_Code = PAC_MNT_RESOURCES.Resource_Code; filter Project_Code = '{p}'."), "medium", vec!["join"])
        },
        |f| {
            let p = f.pick("project_code");
            (vec![format!("Headcount of {p}."), format!("How many distinct people work on {p}?"), format!("Team size of {p}.")],
             format!("SELECT COUNT(DISTINCT Resource_Code) AS headcount FROM PROJSTAFF WHERE Project_Code = '{p}'"),
             format!("Headcount is COUNT(DISTINCT Resource_Code) over PROJSTAFF rows of Project_Code = '{p}'."), "simple", vec!["aggregation"])
        },
        |f| {
            let p = f.pick("project_code");
            (vec![format!("Billable amount of {p}."), format!("What has {p} billed in total?"), format!("Total billings on {p}.")],
             format!("SELECT SUM(Hours_Worked * Bill_Rate) AS billable_amount FROM PROJSTAFF WHERE Project_Code = '{p}'"),
             format!("Billable amount is Hours_Worked * Bill_Rate summed over PROJSTAFF for Project_Code = '{p}'."), "simple", vec!["aggregation"])
        },
        |f| {
            let c = f.pick("company_code");
            (vec![format!("Outstanding amount on {c}'s contracts, per currency."), format!("How much is left to invoice with {c}, by currency?"), format!("Uninvoiced value of {c}'s contracts per currency.")],
             format!("SELECT Currency_Code, SUM(Contract_Value - Invoiced_Amount) AS outstanding FROM PROJCNTRTS WHERE Company_Code = '{c}' GROUP BY Currency_Code ORDER BY Currency_Code"),
             format!("Outstanding is Contract_Value - Invoiced_Amount in PROJCNTRTS; Company_Code = '{c}'; per Currency_Code."), "medium", vec!["aggregation", "group_by"])
        },
        |f| {
            let c = f.pick("company_code");
            (vec![format!("Contacts of {c} with email."), format!("Who are our contacts at {c}?"), format!("List the contact people of {c}.")],
             format!("SELECT Contact_Id, First_Name, Last_Name, Email FROM SRM_CONTACTS WHERE Company_Code = '{c}' ORDER BY Contact_Id"),
             format!("SRM_CONTACTS rows with Company_Code = '{c}'."), "simple", vec![])
        },
        |f| {
            let r = f.pick("resource_code");
            (vec![format!("Projects {r} works on."), format!("Which projects is {r} assigned to?"), format!("List {r}'s projects with names.")],
             format!("SELECT DISTINCT p.Project_Code, p.Project_Name FROM PROJSTAFF s JOIN PAC_MNT_PROJECTS p ON p.Project_Code = s.Project_Code WHERE s.Resource_Code = '{r}' ORDER BY p.Project_Code"),
             format!("PROJSTAFF rows of Resource_Code = '{r}' joined to PAC_MNT_PROJECTS on Project_Code for names."), "medium", vec!["join"])
        },
        |f| {
            let r = f.pick("resource_code");
            (
                vec![
                    format!("Total hours worked by {r}."),
                    format!("How many hours has {r} booked?"),
                    format!("Sum of {r}'s hours across assignments."),
                ],
                format!(
                    "SELECT SUM(Hours_Worked) AS hours FROM PROJSTAFF WHERE Resource_Code = '{r}'"
                ),
                format!("Sum PROJSTAFF.Hours_Worked for Resource_Code = '{r}'."),
                "simple",
                vec!["aggregation"],
            )
        },
        |f| {
            let r = f.pick("resource_code");
            (vec![format!("Margin earned on {r}'s assignments."), format!("What profit do {r}'s assignments make?")],
             format!("SELECT s.Assignment_Id, s.Hours_Worked * (s.Bill_Rate - r.Hourly_Rate) AS margin FROM PROJSTAFF s JOIN PAC_MNT_RESOURCES r ON r.Resource_Code = s.Resource_Code WHERE s.Resource_Code = '{r}' ORDER BY s.Assignment_Id"),
             format!("Margin is Hours_Worked * (Bill_Rate - Hourly_Rate): PROJSTAFF joined to PAC_MNT_RESOURCES; Resource_Code = '{r}'."), "medium", vec!["join"])
        },
        |f| {
            let (y, ct, cur) = (f.pick("year"), f.pick("contract_type"), f.pick("currency"));
            (vec![format!("{ct} contracts signed in {y} in {cur}."), format!("Which {cur} {} contracts were signed during {y}?", lc(&ct))],
             format!("SELECT Contract_Number, Contract_Value FROM PROJCNTRTS WHERE Contract_Type = '{ct}' AND Currency_Code = '{cur}' AND Sign_Date BETWEEN '{y}-01-01' AND '{y}-12-31' ORDER BY Contract_Number"),
             format!("PROJCNTRTS with Contract_Type = '{ct}', Currency_Code = '{cur}' and Sign_Date within {y}."), "simple", vec![])
        },
    ]
}

fn phrase_choice(f: &mut Fill, questions: &[String]) -> String {
    let i = f.rng.random_range(0..questions.len().max(1));
    questions.get(i).cloned().unwrap_or_default()
}

/// Generates up to `opts.count` verified pairs. `avoid` holds SQL skeletons
/// (the dev split's) that must not appear — for the shapes family not
/// even under other aliases; `progress` sees (kept, target).
pub fn generate(
    db: &dyn Database,
    validator: &Validator,
    opts: &GenerateOptions,
    avoid: &HashSet<String>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Pair>, DatasetError> {
    let slots = Slots::load(db)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let all = templates();
    let avoid_keys: HashSet<String> = avoid.iter().map(|s| shape_key(s)).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let exec = ExecOptions {
        max_rows: 1,
        ..ExecOptions::default()
    };
    // The composed families make a pair or decline the draw; templates
    // always make one.
    let composed: Option<fn(&mut Fill) -> Option<Composed>> = match opts.family {
        Family::Templates => None,
        Family::Shapes => Some(shapes::make),
        Family::Joins => Some(joins::make),
        Family::Advanced => Some(advanced::make),
    };
    for _ in 0..opts.count.saturating_mul(opts.max_attempts_factor) {
        if out.len() >= opts.count {
            break;
        }
        let mut f = Fill {
            rng: &mut rng,
            slots: &slots,
        };
        let (question, sql, reasoning, difficulty, constructs) = match composed {
            Some(make) => {
                let Some((questions, sql)) = make(&mut f) else {
                    continue;
                };
                let question = phrase_choice(&mut f, &questions);
                let (r, c, d) = reasoning::derive(&question, &sql);
                (question, sql, r, d, c)
            }
            None => {
                // Drawn before the fill, as when there was one family, so a
                // seed gives the same template pairs as before.
                let t = all[f.rng.random_range(0..all.len())];
                let (questions, sql, r, d, c) = t(&mut f);
                (phrase_choice(&mut f, &questions), sql, r, d, c)
            }
        };
        let sk = skeleton(&sql);
        let taken = match composed {
            None => avoid.contains(&sk),
            Some(_) => avoid_keys.contains(&shape_key(&sk)),
        };
        if !seen.insert((question.clone(), sql.clone())) || taken {
            continue;
        }
        if !validator.validate_static(&sql).valid {
            continue;
        }
        match db.query(&sql, &exec) {
            Ok(rs) if !rs.rows.is_empty() => {}
            _ => continue,
        }
        let tables = glrl_erp::TABLES
            .iter()
            .filter(|t| sql.contains(*t))
            .map(|t| t.to_string())
            .collect();
        out.push(Pair {
            id: format!("gen-{:05}", out.len() + 1),
            question,
            sql,
            difficulty: difficulty.to_string(),
            tables,
            constructs: constructs.iter().map(|c| c.to_string()).collect(),
            reasoning,
            follows: None,
        });
        progress(out.len(), opts.count);
    }
    Ok(out)
}
