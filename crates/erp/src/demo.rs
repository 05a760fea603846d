//! Deterministic demo data meeting the demo data contract of
//! `shared/erp/README.md`. Same seed and config → identical rows (ChaCha8
//! with a fixed seed; no clock, no hash-map iteration order).

use crate::names::*;
use chrono::{Datelike, Duration, NaiveDate};
use glrl_db::load::TableData;
use glrl_db::Value;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

pub const DEFAULT_SEED: u64 = 42;

/// Volumes of the demo database; the defaults exceed the contract's minima.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    pub seed: u64,
    pub resources: usize,
    pub projects: usize,
    pub companies: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: DEFAULT_SEED,
            resources: 320,
            projects: 130,
            companies: 90,
        }
    }
}

const MIN_CONTACTS: usize = 240;
const MIN_ASSIGNMENTS: usize = 1200;
const MIN_CONTRACTS: usize = 300;

struct Gen {
    rng: ChaCha8Rng,
}

fn day0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default()
}
fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default()
}

impl Gen {
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo..=hi)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // Callers pass the fixed non-empty lists above.
        items.choose(&mut self.rng).expect("non-empty list")
    }
    fn weighted<'a>(&mut self, items: &[(&'a str, u32)]) -> &'a str {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
    /// `n` draws from a weighted vocabulary in which every value occurs at
    /// least once (the contract), in random order.
    fn deck<'a>(&mut self, n: usize, items: &[(&'a str, u32)]) -> Vec<&'a str> {
        let mut out: Vec<&str> = items.iter().map(|(v, _)| *v).collect();
        while out.len() < n {
            out.push(self.weighted(items));
        }
        out.truncate(n.max(items.len()));
        out.shuffle(&mut self.rng);
        out
    }
    /// Log-uniform money in [lo, hi], rounded to `step`, as cents.
    fn money(&mut self, lo: f64, hi: f64, step: f64) -> i64 {
        let x = (lo.ln() + self.rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
        (((x / step).round() * step).clamp(lo, hi) * 100.0).round() as i64
    }
    fn date_between(&mut self, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
        let span = (hi - lo).num_days().max(0);
        lo + Duration::days(self.int(0, span))
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}
fn money(cents: i64) -> Value {
    Value::Decimal(Decimal::new(cents, 2))
}
fn date(d: NaiveDate) -> Value {
    Value::Text(d.format("%Y-%m-%d").to_string())
}
fn opt_date(d: Option<NaiveDate>) -> Value {
    d.map(date).unwrap_or(Value::Null)
}
fn flag(b: bool) -> Value {
    text(if b { "Y" } else { "N" })
}
/// A name as it may appear in an e-mail address.
fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'ü' => Some('u'),
            ' ' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}
fn table(name: &str, columns: &[&str]) -> TableData {
    TableData {
        table: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: Vec::new(),
    }
}

struct Resource {
    code: String,
    title: &'static str,
    rate_cents: i64,
}

struct Project {
    code: String,
    start: NaiveDate,
    end: Option<NaiveDate>,
    status: &'static str,
    currency: &'static str,
    manager: Option<usize>,
}

/// Generates all six tables in foreign-key order.
pub fn generate(cfg: &DemoConfig) -> Vec<TableData> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(cfg.seed),
    };
    let (resources_t, resources) = gen_resources(&mut g, cfg.resources);
    let (projects_t, projects) = gen_projects(&mut g, cfg.projects, &resources);
    let (companies_t, company_countries) = gen_companies(&mut g, cfg.companies);
    let contacts_t = gen_contacts(&mut g, &companies_t, &company_countries);
    let staff_t = gen_staff(&mut g, &projects, &resources);
    let contracts_t = gen_contracts(&mut g, &projects, cfg.companies);
    vec![
        resources_t,
        projects_t,
        companies_t,
        contacts_t,
        staff_t,
        contracts_t,
    ]
}

fn gen_resources(g: &mut Gen, n: usize) -> (TableData, Vec<Resource>) {
    let mut t = table(
        "PAC_MNT_RESOURCES",
        &[
            "Resource_Code",
            "First_Name",
            "Last_Name",
            "Job_Title",
            "Department",
            "Resource_Type",
            "Hourly_Rate",
            "Cost_Center",
            "Email",
            "Hire_Date",
            "Is_Active",
        ],
    );
    let types = g.deck(n, &[("Employee", 3), ("Contractor", 1)]);
    let titles: Vec<(&str, u32)> = JOB_TITLES
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, if i < 8 { 3 } else { 1 }))
        .collect();
    let titles = g.deck(n, &titles);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let code = format!("RES-{:04}", i + 1);
        let first = *g.pick(&FIRST_NAMES);
        let last = *g.pick(&LAST_NAMES);
        let dept_idx = g.int(0, DEPARTMENTS.len() as i64 - 1) as usize;
        let contractor = types[i] == "Contractor";
        let rate = if contractor {
            g.money(60.0, 250.0, 0.5)
        } else {
            g.money(25.0, 180.0, 0.5)
        };
        let email_local = format!("{}.{}", slug(first), slug(last));
        t.rows.push(vec![
            text(&code),
            text(first),
            text(last),
            text(titles[i]),
            text(DEPARTMENTS[dept_idx]),
            text(types[i]),
            money(rate),
            text(format!("CC-{}", 100 + dept_idx * 10 + g.int(0, 3) as usize)),
            text(format!("{email_local}.{:04}@erp-demo.example", i + 1)),
            date(g.date_between(
                day0(),
                NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            )),
            flag(g.chance(0.88)),
        ]);
        out.push(Resource {
            code,
            title: titles[i],
            rate_cents: rate,
        });
    }
    (t, out)
}

fn gen_projects(g: &mut Gen, n: usize, resources: &[Resource]) -> (TableData, Vec<Project>) {
    let mut t = table(
        "PAC_MNT_PROJECTS",
        &[
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
            "Currency_Code",
        ],
    );
    let types = g.deck(
        n,
        &[
            ("Capital", 2),
            ("Operational", 3),
            ("Research", 2),
            ("Consulting", 2),
            ("Maintenance", 1),
        ],
    );
    let statuses = g.deck(
        n,
        &[
            ("Planned", 2),
            ("Active", 5),
            ("On Hold", 1),
            ("Completed", 4),
            ("Cancelled", 1),
        ],
    );
    let regions = g.deck(n, &[("EMEA", 2), ("APAC", 1), ("AMER", 2)]);
    let managers: Vec<usize> = (0..resources.len())
        .filter(|&i| resources[i].title == "Project Manager")
        .collect();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let code = format!("PRJ-{:04}", i + 1);
        let status = statuses[i];
        let currency = match regions[i] {
            "EMEA" => *g.pick(&["EUR", "EUR", "GBP"]),
            "APAC" => *g.pick(&["JPY", "SGD"]),
            _ => "USD",
        };
        let start = g.date_between(
            day0(),
            NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
        );
        let finished = matches!(status, "Completed" | "Cancelled");
        // Open projects are often open-ended; finished ones always have an end.
        let end = if !finished && g.chance(0.45) {
            None
        } else {
            let end = start + Duration::days(g.int(60, 900));
            Some(end.min(last_day()))
        };
        let budget = g.money(10_000.0, 5_000_000.0, 500.0);
        let actual = match status {
            "Planned" => budget * g.int(0, 5) / 100,
            _ if g.chance(0.24) => budget * g.int(101, 135) / 100,
            "Cancelled" => budget * g.int(5, 60) / 100,
            _ => budget * g.int(25, 99) / 100,
        };
        // A few projects await a manager; the rest are led by a resource,
        // usually one whose job title is Project Manager.
        let manager = if g.chance(0.05) {
            None
        } else if !managers.is_empty() && g.chance(0.8) {
            Some(*g.pick(&managers))
        } else {
            Some(g.int(0, resources.len() as i64 - 1) as usize)
        };
        t.rows.push(vec![
            text(&code),
            text(format!(
                "{} {}",
                g.pick(&PROJECT_WORDS),
                g.pick(&PROJECT_SUBJECTS)
            )),
            text(types[i]),
            text(status),
            text(*g.pick(&DEPARTMENTS)),
            text(regions[i]),
            manager
                .map(|m| text(&resources[m].code))
                .unwrap_or(Value::Null),
            date(start),
            opt_date(end),
            money(budget),
            money(actual),
            text(currency),
        ]);
        out.push(Project {
            code,
            start,
            end,
            status,
            currency,
            manager,
        });
    }
    (t, out)
}

fn gen_companies(g: &mut Gen, n: usize) -> (TableData, Vec<usize>) {
    let mut t = table(
        "SRM_COMPANIES",
        &[
            "Company_Code",
            "Company_Name",
            "Company_Type",
            "Industry",
            "Country",
            "City",
            "Credit_Limit",
            "Payment_Terms",
            "Rating",
            "Status",
        ],
    );
    let types = g.deck(n, &[("Supplier", 5), ("Client", 3), ("Partner", 2)]);
    let terms = g.deck(
        n,
        &[
            ("NET15", 1),
            ("NET30", 4),
            ("NET45", 2),
            ("NET60", 2),
            ("NET90", 1),
        ],
    );
    let statuses = g.deck(n, &[("Active", 15), ("Inactive", 3), ("Blocked", 2)]);
    let industries: Vec<(&str, u32)> = INDUSTRIES.iter().map(|i| (*i, 1)).collect();
    let industries = g.deck(n, &industries);
    let countries: Vec<usize> = {
        let mut c: Vec<usize> = (0..COUNTRIES.len()).collect();
        while c.len() < n {
            c.push(g.int(0, COUNTRIES.len() as i64 - 1) as usize);
        }
        c.shuffle(&mut g.rng);
        c
    };
    // Every city of the contract appears: walk each country's cities in turn.
    let mut city_turn = [0usize; COUNTRIES.len()];
    let mut stems: Vec<&str> = COMPANY_STEMS.to_vec();
    stems.shuffle(&mut g.rng);
    for i in 0..n {
        let (country, cities, _) = COUNTRIES[countries[i]];
        let city = cities[city_turn[countries[i]] % cities.len()];
        city_turn[countries[i]] += 1;
        let suffix = match country {
            "Germany" => "GmbH",
            "France" => "SA",
            "Netherlands" => "BV",
            "Japan" => "KK",
            "United Kingdom" => "Ltd",
            "India" | "Singapore" => "Pvt Ltd",
            _ => "Inc",
        };
        let stem = stems[i % stems.len()];
        let round = if i >= stems.len() {
            format!(
                " {}",
                ["Group", "Partners", "Holdings"][(i / stems.len() - 1) % 3]
            )
        } else {
            String::new()
        };
        let industry = industries[i];
        let rating = if g.chance(0.13) {
            Value::Null
        } else {
            Value::Int(g.int(1, 5))
        };
        t.rows.push(vec![
            text(format!("CMP-{:03}", i + 1)),
            text(format!("{stem} {industry}{round} {suffix}")),
            text(types[i]),
            text(industry),
            text(country),
            text(city),
            money(g.money(50_000.0, 5_000_000.0, 10_000.0)),
            text(terms[i]),
            rating,
            text(statuses[i]),
        ]);
    }
    (t, countries)
}

fn gen_contacts(g: &mut Gen, companies: &TableData, countries: &[usize]) -> TableData {
    let mut t = table(
        "SRM_CONTACTS",
        &[
            "Contact_Id",
            "Company_Code",
            "First_Name",
            "Last_Name",
            "Title",
            "Email",
            "Phone",
            "Is_Primary",
        ],
    );
    let n = companies.rows.len();
    let mut counts: Vec<usize> = (0..n).map(|_| g.int(1, 6) as usize).collect();
    // Top up to the contract's minimum, never past six a company.
    let mut i = 0;
    while counts.iter().sum::<usize>() < MIN_CONTACTS && counts.iter().any(|&c| c < 6) {
        if counts[i % n] < 6 {
            counts[i % n] += 1;
        }
        i += 7;
    }
    let mut id = 0i64;
    for (c, row) in companies.rows.iter().enumerate() {
        let code = row[0].to_plain_string();
        let name = row[1].to_plain_string();
        let domain = slug(name.split(' ').next().unwrap_or("company"));
        // Most companies name one primary contact; some name none.
        let primary = if g.chance(0.9) {
            Some(g.int(0, counts[c] as i64 - 1) as usize)
        } else {
            None
        };
        let prefix = COUNTRIES[countries[c]].2;
        for k in 0..counts[c] {
            id += 1;
            let first = *g.pick(&FIRST_NAMES);
            let last = *g.pick(&LAST_NAMES);
            let phone = if g.chance(0.1) {
                Value::Null
            } else {
                text(format!("{prefix} {} {:04}", g.int(20, 99), g.int(0, 9999)))
            };
            t.rows.push(vec![
                Value::Int(id),
                text(&code),
                text(first),
                text(last),
                text(*g.pick(&CONTACT_TITLES)),
                text(format!("{}.{}@{domain}.example", slug(first), slug(last))),
                phone,
                flag(primary == Some(k)),
            ]);
        }
    }
    t
}

fn gen_staff(g: &mut Gen, projects: &[Project], resources: &[Resource]) -> TableData {
    let mut t = table(
        "PROJSTAFF",
        &[
            "Assignment_Id",
            "Project_Code",
            "Resource_Code",
            "Role",
            "Start_Date",
            "End_Date",
            "Allocation_Pct",
            "Hours_Worked",
            "Bill_Rate",
        ],
    );
    // About one resource in twelve is on the bench: never assigned, so
    // anti-joins ("resources without assignments") return rows.
    let staffed: Vec<usize> = (0..resources.len()).filter(|_| !g.chance(0.08)).collect();
    let mut counts: Vec<usize> = projects.iter().map(|_| g.int(2, 20) as usize).collect();
    let mut i = 0;
    while counts.iter().sum::<usize>() < MIN_ASSIGNMENTS {
        let k = i % counts.len();
        counts[k] = (counts[k] + 1).min(20);
        i += 1;
    }
    let roles = [
        "Project Manager",
        "Developer",
        "Analyst",
        "Consultant",
        "Engineer",
        "Tester",
        "Architect",
    ];
    let mut id = 0i64;
    for (p, project) in projects.iter().enumerate() {
        let mut on_project: Vec<usize> = Vec::new();
        let horizon = project.end.unwrap_or(last_day());
        for k in 0..counts[p] {
            id += 1;
            let (res, role) = match project.manager {
                // Most managers also hold the Project Manager assignment; some
                // manage without being staffed on the project.
                Some(m) if k == 0 && g.chance(0.85) => (m, "Project Manager"),
                // Sometimes the same person again, in another role or period.
                _ if !on_project.is_empty() && g.chance(0.08) => {
                    (*g.pick(&on_project), *g.pick(&roles[1..]))
                }
                _ => (*g.pick(&staffed), *g.pick(&roles)),
            };
            on_project.push(res);
            let start = g.date_between(project.start, horizon);
            let open = project.end.is_none() || project.status == "Active";
            let end = if open && g.chance(0.45) {
                None
            } else {
                Some((start + Duration::days(g.int(30, 540))).min(horizon))
            };
            let days = (end.unwrap_or(last_day()) - start).num_days().max(1);
            let alloc = *g.pick(&[10i64, 20, 25, 40, 50, 60, 75, 80, 100]);
            let hours_cents = (days * 5 / 7 * 8 * alloc) * g.int(60, 100) / 100;
            let rate = resources[res].rate_cents;
            // Most assignments bill above cost; some internal ones below.
            let bill = if g.chance(0.9) {
                rate * g.int(120, 200) / 100
            } else {
                rate * g.int(70, 99) / 100
            };
            t.rows.push(vec![
                Value::Int(id),
                text(&project.code),
                text(&resources[res].code),
                text(role),
                date(start),
                opt_date(end),
                money(alloc * 100),
                money(hours_cents),
                money(bill),
            ]);
        }
    }
    t
}

fn gen_contracts(g: &mut Gen, projects: &[Project], n_companies: usize) -> TableData {
    let mut t = table(
        "PROJCNTRTS",
        &[
            "Contract_Number",
            "Project_Code",
            "Company_Code",
            "Contract_Type",
            "Contract_Value",
            "Invoiced_Amount",
            "Currency_Code",
            "Sign_Date",
            "Start_Date",
            "End_Date",
            "Status",
        ],
    );
    // Some companies never contract (anti-join rows).
    let contracting: Vec<usize> = (0..n_companies).filter(|_| !g.chance(0.12)).collect();
    let mut counts: Vec<usize> = projects.iter().map(|_| g.int(0, 6) as usize).collect();
    let mut i = 0;
    while counts.iter().sum::<usize>() < MIN_CONTRACTS {
        let k = (i * 13) % counts.len();
        counts[k] = (counts[k] + 1).min(6);
        i += 1;
    }
    let total: usize = counts.iter().sum();
    let types = g.deck(
        total,
        &[
            ("Fixed Price", 3),
            ("Time and Materials", 3),
            ("Cost Plus", 1),
            ("Retainer", 1),
        ],
    );
    // A handful of contracts are deliberately invoiced beyond their value.
    let mut over: Vec<bool> = (0..total).map(|i| i < 5).collect();
    over.shuffle(&mut g.rng);
    let mut per_year = std::collections::BTreeMap::<i32, u32>::new();
    let mut rows = Vec::with_capacity(total);
    let mut c = 0;
    for (p, project) in projects.iter().enumerate() {
        for _ in 0..counts[p] {
            let sign = g
                .date_between(
                    project.start - Duration::days(60),
                    project.end.unwrap_or(last_day()),
                )
                .max(day0());
            let start = (sign + Duration::days(g.int(0, 45))).min(last_day());
            let status = match project.status {
                "Planned" => *g.pick(&["Draft", "Draft", "Active"]),
                "Completed" => *g.pick(&["Closed", "Closed", "Closed", "Terminated"]),
                "Cancelled" => *g.pick(&["Terminated", "Closed"]),
                _ => *g.pick(&[
                    "Active",
                    "Active",
                    "Active",
                    "Draft",
                    "Closed",
                    "Terminated",
                ]),
            };
            let end = if status == "Active" && g.chance(0.35) || status == "Draft" && g.chance(0.5)
            {
                None
            } else {
                Some((start + Duration::days(g.int(30, 730))).min(last_day()))
            };
            let value = g.money(5_000.0, 2_000_000.0, 100.0);
            let invoiced = if over[c] {
                value * g.int(104, 120) / 100
            } else {
                match status {
                    "Draft" => 0,
                    "Closed" => value * g.int(92, 100) / 100,
                    "Terminated" => value * g.int(10, 80) / 100,
                    _ => value * g.int(0, 90) / 100,
                }
            };
            rows.push((
                sign,
                project.code.clone(),
                contracting[g.int(0, contracting.len() as i64 - 1) as usize],
                types[c],
                value,
                invoiced,
                project.currency,
                start,
                end,
                status,
            ));
            c += 1;
        }
    }
    // Numbers run per signing year, in signing order: CTR-2023-0001, …
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (sign, project, company, ty, value, invoiced, currency, start, end, status) in rows {
        let seq = per_year.entry(sign.year()).or_insert(0);
        *seq += 1;
        t.rows.push(vec![
            text(format!("CTR-{}-{:04}", sign.year(), seq)),
            text(project),
            text(format!("CMP-{:03}", company + 1)),
            text(ty),
            money(value),
            money(invoiced),
            text(currency),
            date(sign),
            date(start),
            opt_date(end),
            text(status),
        ]);
    }
    t
}
