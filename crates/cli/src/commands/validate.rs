use anyhow::Context;
use glrl_config::Config;
use glrl_validator::{Report, Rules, Severity, Validator};

#[derive(clap::Args)]
pub struct Args {
    /// The SQL to check. Nothing is executed: only EXPLAIN (the plan) runs, and only after the security layer passed.
    sql: String,
    /// Print the report as JSON (`valid`, `layers` with name, passed, findings).
    #[arg(long)]
    json: bool,
    /// Static layers only: do not ask the database for a plan.
    #[arg(long = "static")]
    static_only: bool,
}

pub fn rules(config: &Config) -> anyhow::Result<Rules> {
    let mut rules = if config.validator.erp_rules {
        Rules::from_toml(glrl_erp::RULES_TOML).map_err(|e| anyhow::anyhow!("the ERP rules: {e}"))?
    } else {
        Rules::default()
    };
    for path in &config.validator.rules {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        rules.extend(
            Rules::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        );
    }
    Ok(rules)
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let db = crate::context::open_db(config)?;
    let analyzer = crate::context::analyzer(config, db.as_ref())?;
    let validator = Validator::new(&analyzer, db.dialect())
        .with_rules(rules(config)?)
        .with_database(db.as_ref());
    let report = if args.static_only {
        validator.validate_static(&args.sql)
    } else {
        validator.validate(&args.sql)
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if !report.valid {
        // A failed validation is an answer, not a crash: say so in the exit code.
        std::process::exit(2);
    }
    Ok(())
}

fn print_report(r: &Report) {
    println!("{}", if r.valid { "valid" } else { "NOT valid" });
    for l in &r.layers {
        let mark = if l.skipped {
            "skipped"
        } else if l.passed {
            "passed"
        } else {
            "FAILED"
        };
        println!("  {:<12} {mark}", l.name.to_string());
        for f in &l.findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let at = f
                .span
                .map(|s| format!(" (line {}, column {})", s.line, s.column))
                .unwrap_or_default();
            println!("    {sev:<7} {}: {}{at}", f.code, f.message);
            if let Some(s) = &f.suggestion {
                println!("            fix: {s}");
            }
        }
    }
}
