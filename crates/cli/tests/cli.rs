//! The `glrl` binary end to end, as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn glrl(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glrl"))
        .args(args)
        .env("GLRL_HOME", home)
        .env_remove("GLRL_CONFIG")
        .env_remove("GLRL_DATABASE__URL")
        .current_dir(home)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn demo_db_then_sql_in_three_formats() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("erp.db");
    let db_s = db.to_str().unwrap();
    let out = ok(&glrl(home.path(), &["demo-db", "--out", db_s]));
    assert!(out.contains("PROJSTAFF"), "{out}");
    // Never overwrite silently.
    let again = glrl(home.path(), &["demo-db", "--out", db_s]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(&glrl(home.path(), &["demo-db", "--out", db_s, "--force"]));

    let q = "SELECT Company_Type, COUNT(*) AS n FROM SRM_COMPANIES GROUP BY 1 ORDER BY 1";
    let table = ok(&glrl(home.path(), &["sql", q, "--db", db_s]));
    assert!(
        table.contains("Supplier") && table.contains("3 rows"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&glrl(
        home.path(),
        &["sql", q, "--db", db_s, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["row_count"], 3);
    assert_eq!(json["rows"][0]["Company_Type"], "Client");
    let csv = ok(&glrl(
        home.path(),
        &["sql", q, "--db", db_s, "--format", "csv"],
    ));
    assert_eq!(csv.lines().next(), Some("Company_Type,n"));

    let write = glrl(home.path(), &["sql", "DELETE FROM PROJSTAFF", "--db", db_s]);
    assert!(!write.status.success());
    assert!(String::from_utf8_lossy(&write.stderr).contains("read-only"));
    let bad = glrl(home.path(), &["sql", "SELECT * FROM NOPE", "--db", db_s]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such table"));
}

#[test]
fn schema_and_linking_on_the_default_database() {
    let home = tempfile::tempdir().unwrap();
    // First use creates the embedded demo database under GLRL_HOME.
    let out = ok(&glrl(home.path(), &["schema", "--json"]));
    assert!(home.path().join("demo/erp.db").exists());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tables"].as_array().unwrap().len(), 6);
    assert_eq!(v["relationships"].as_array().unwrap().len(), 6);

    let out = ok(&glrl(
        home.path(),
        &[
            "schema",
            "--question",
            "Which blocked vendors have contracts?",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tables: Vec<&str> = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tables, ["SRM_COMPANIES", "PROJCNTRTS"]);
    assert!(v["prompt_schema"]["text"]
        .as_str()
        .unwrap()
        .contains("'Blocked'"));

    let text = ok(&glrl(home.path(), &["schema"]));
    assert!(text.contains("PROJSTAFF.Project_Code = PAC_MNT_PROJECTS.Project_Code"));
}

#[test]
fn schema_from_a_ddl_file() {
    let home = tempfile::tempdir().unwrap();
    let ddl = home.path().join("shop.sql");
    std::fs::write(
        &ddl,
        "CREATE TABLE customers (customer_id INT PRIMARY KEY, country TEXT);\n\
        CREATE TABLE orders (order_id INT PRIMARY KEY, customer_id INT, total DECIMAL(10,2));",
    )
    .unwrap();
    let out = ok(&glrl(
        home.path(),
        &[
            "schema",
            "--ddl",
            ddl.to_str().unwrap(),
            "--question",
            "total of orders per customer",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut tables: Vec<&str> = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tables.sort();
    assert_eq!(tables, ["customers", "orders"]);
    assert_eq!(v["join_path"]["steps"][0]["origin"], "inferred");
    let bad = glrl(home.path(), &["schema", "--ddl", "/no/such.sql"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/no/such.sql"));
}

#[test]
fn config_show_applies_file_env_and_flags() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("glrl.toml"),
        "[database]\nmax_rows = 77\nstatement_timeout_ms = 1234\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_glrl"))
        .args(["config", "show", "--db", "other.db"])
        .env("GLRL_HOME", home.path())
        .env("GLRL_DATABASE__STATEMENT_TIMEOUT_MS", "999")
        .current_dir(home.path())
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("max_rows = 77"), "{text}");
    assert!(text.contains("statement_timeout_ms = 999"), "{text}");
    assert!(text.contains("url = \"other.db\""), "{text}");
    std::fs::write(home.path().join("glrl.toml"), "[databse]\n").unwrap();
    let bad = glrl(home.path(), &["config", "show"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("databse"));
}

#[test]
fn postgres_demo_and_schema() {
    let Ok(url) = std::env::var("GLRL_TEST_POSTGRES_URL") else {
        eprintln!(
            "SKIPPED: PostgreSQL CLI test needs GLRL_TEST_POSTGRES_URL (bash .ci/run sets it)"
        );
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let schema = format!("glrl_cli_{}", std::process::id());
    ok(&glrl(
        home.path(),
        &["demo-db", "--postgres", &url, "--pg-schema", &schema],
    ));
    ok(&glrl(
        home.path(),
        &["demo-db", "--postgres", &url, "--pg-schema", &schema],
    ));
    let db = format!("{url}?schema={schema}");
    let out = ok(&glrl(
        home.path(),
        &[
            "sql",
            "SELECT COUNT(*) AS n FROM PROJCNTRTS",
            "--db",
            &db,
            "--format",
            "csv",
        ],
    ));
    let n: usize = out.lines().nth(1).unwrap().parse().unwrap();
    assert!(n >= 300);
    let out = ok(&glrl(
        home.path(),
        &[
            "schema",
            "--db",
            &db,
            "-q",
            "suppliers in Germany",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tables"][0], "srm_companies");
    if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
        let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    }
}

#[test]
fn remote_backend_is_chosen_by_configuration_and_fails_clearly() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("glrl.toml"),
        "[model]\nbackend = \"remote\"\n[model.remote]\nurl = \"http://127.0.0.1:9/v1\"\nretries = 1\napi_key = \"s3cret\"\n",
    )
    .unwrap();
    let shown = ok(&glrl(home.path(), &["config", "show"]));
    assert!(
        shown.contains("backend = \"remote\"") && !shown.contains("s3cret"),
        "{shown}"
    );
    let out = glrl(home.path(), &["model", "generate", "Count the projects."]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach http://127.0.0.1:9/v1/completions")
            && err.contains("2 attempts"),
        "{err}"
    );
    std::fs::write(
        home.path().join("glrl.toml"),
        "[model]\nbackend = \"cloud\"\n",
    )
    .unwrap();
    let out = glrl(home.path(), &["model", "generate", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither local nor remote"));
}

#[test]
fn train_export_writes_trl_conversational_jsonl() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("trl");
    let text = ok(&glrl(
        home.path(),
        &["train", "export", "--out", out.to_str().unwrap()],
    ));
    assert!(
        text.contains("sft.jsonl: ") && text.contains("grpo.jsonl: "),
        "{text}"
    );
    let read = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (sft, grpo) = (read("sft.jsonl"), read("grpo.jsonl"));
    assert_eq!(sft.len(), glrl_erp::TRAIN_JSONL.lines().count());
    assert_eq!(sft.len(), grpo.len());
    let roles: Vec<&str> = sft[0]["prompt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    let completion = sft[0]["completion"][0]["content"].as_str().unwrap();
    assert!(
        completion.starts_with("<think>") && completion.contains("</think>\nSELECT"),
        "{completion}"
    );
    assert!(grpo[0]["gold_sql"].as_str().unwrap().starts_with("SELECT"));
    assert_eq!(
        sft[0]["prompt"], grpo[0]["prompt"],
        "one prompt builder for both"
    );
}

/// The embedded model from the shared cache (`$GLRL_HOME` or
/// `~/.cache/glrl`), fetched on first use; `None` under `GLRL_OFFLINE=1`.
fn embedded_model() -> Option<std::path::PathBuf> {
    if std::env::var("GLRL_OFFLINE").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: GLRL_OFFLINE=1, the embedded model is not fetched");
        return None;
    }
    let cache = std::env::var_os("GLRL_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/glrl")
        });
    Some(
        glrl_model::fetch::ensure_embedded(&cache, &mut |_, _| {})
            .expect("fetch the embedded model"),
    )
}

#[test]
fn ask_and_generate_run_the_whole_pipeline_on_the_embedded_model() {
    let Some(model) = embedded_model() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("glrl.toml"),
        format!(
            "[model]\npath = \"{}\"\n[generator]\nmax_new_tokens = 160\n",
            model.display()
        ),
    )
    .unwrap();
    let out = ok(&glrl(
        home.path(),
        &["ask", "How many projects are active?", "--json", "-n", "2"],
    ));
    let a: serde_json::Value = serde_json::from_str(&out).unwrap();
    let status = a["status"].as_str().unwrap();
    assert!(["answered", "unsure", "abstained"].contains(&status), "{a}");
    assert!(a["session"].as_str().is_some_and(|s| s.len() == 32));
    assert!(a["timings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["stage"] == "generation"));
    if status != "abstained" {
        // Only validated SQL that ran is an answer.
        assert!(a["sql"].as_str().unwrap().contains("SELECT"), "{a}");
        assert!(a["result"]["rows"].is_array());
        assert!(a["confidence"].as_f64().is_some());
    } else {
        assert!(a["sql"].is_null() && a["result"].is_null());
    }
    // An unsafe request is refused before any SQL exists.
    let out = ok(&glrl(
        home.path(),
        &["ask", "delete all blocked suppliers", "--json"],
    ));
    let a: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(a["status"], "refused");
    assert!(a["sql"].is_null());
    // Batch: one line out per line in, a bad line becomes an error line.
    let input = home.path().join("q.jsonl");
    std::fs::write(
        &input,
        "{\"id\": 1, \"question\": \"How many companies are blocked?\"}\nnot json\n",
    )
    .unwrap();
    let output = home.path().join("p.jsonl");
    ok(&glrl(
        home.path(),
        &[
            "generate",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "-n",
            "1",
        ],
    ));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], 1);
    assert!(lines[0]["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(lines[1]["sql"].is_null() && lines[1]["error"].as_str().unwrap().contains("line 2"));
}
