use anyhow::bail;
use clap::Subcommand;
use glrl_config::Config;
use glrl_dataset::{generate, parse_jsonl, skeleton, write_jsonl, Family, GenerateOptions, Pair};
use glrl_validator::Validator;
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Action {
    /// Generate verified training pairs from templates with slot values drawn from the database.
    Generate {
        /// Output JSONL file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Number of pairs to keep.
        #[arg(long, default_value_t = 3000)]
        count: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Which generator: `templates` (hand-written templates, mostly
        /// filtered and joined queries), `shapes` (single-table queries
        /// composed from parts: count, list, aggregate, per group, top-N,
        /// threshold, year, each with or without a filter), `joins`
        /// (two tables along a foreign key: children filtered by their
        /// parent, counted or aggregated per a parent column or per a
        /// column of their own for filtered parents, parents that have
        /// some children) or `advanced` (HAVING, COUNT DISTINCT, CASE
        /// shares and bands, above-average subqueries, UNION / INTERSECT /
        /// EXCEPT, window functions, NOT EXISTS, correlated aggregates,
        /// CTEs of per-parent totals).
        #[arg(long, value_enum, default_value_t = FamilyArg::Templates)]
        family: FamilyArg,
        /// Overwrite an existing output file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FamilyArg {
    Templates,
    Shapes,
    Joins,
    Advanced,
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    let Action::Generate {
        out,
        count,
        seed,
        family,
        force,
    } = action;
    if out.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it",
            out.display()
        );
    }
    let db = crate::context::open_db(config)?;
    let analyzer = crate::context::analyzer(config, db.as_ref())?;
    let validator =
        Validator::new(&analyzer, db.dialect()).with_rules(super::validate::rules(config)?);
    // Generated pairs never take a dev question's SQL shape.
    let dev: Vec<Pair> = parse_jsonl(glrl_erp::DEV_JSONL, "the ERP dev split")?;
    let avoid: HashSet<String> = dev.iter().map(|p| skeleton(&p.sql)).collect();
    let bar = indicatif::ProgressBar::new(count as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} verified pairs, {per_sec}, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let opts = GenerateOptions {
        count,
        seed,
        family: match family {
            FamilyArg::Templates => Family::Templates,
            FamilyArg::Shapes => Family::Shapes,
            FamilyArg::Joins => Family::Joins,
            FamilyArg::Advanced => Family::Advanced,
        },
        ..GenerateOptions::default()
    };
    let pairs = generate(db.as_ref(), &validator, &opts, &avoid, &mut |kept, _| {
        bar.set_position(kept as u64)
    })?;
    bar.finish_and_clear();
    write_jsonl(&out, &pairs)?;
    println!("wrote {} verified pairs to {}", pairs.len(), out.display());
    if pairs.len() < count {
        eprintln!(
            "note: the templates yielded only {} distinct verified pairs of the {count} asked",
            pairs.len()
        );
    }
    Ok(())
}
