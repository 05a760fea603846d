//! The attack corpus (every statement rejected by the security layer) and
//! the legitimate corpus (no statement rejected, each runs on the demo
//! database): `corpus/attacks.sql` and `corpus/legit.sql`.

mod common;
use glrl_db::ExecOptions;
use glrl_validator::LayerName;

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("-- "))
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

#[test]
fn every_attack_is_rejected_by_the_security_layer() {
    let attacks = lines(include_str!("../corpus/attacks.sql"));
    assert!(attacks.len() >= 200, "{} attacks", attacks.len());
    let v = common::validator();
    let mut slipped = Vec::new();
    for sql in &attacks {
        let r = v.validate(sql);
        if r.valid || r.layer(LayerName::Security).is_none_or(|l| l.passed) {
            slipped.push(format!(
                "{sql}  => {:?}",
                r.findings().map(|f| f.code.as_str()).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        slipped.is_empty(),
        "{} of {} attacks not rejected by security:\n{}",
        slipped.len(),
        attacks.len(),
        slipped.join("\n")
    );
}

#[test]
fn no_legitimate_query_is_rejected() {
    let legit = lines(include_str!("../corpus/legit.sql"));
    assert!(legit.len() >= 200, "{} queries", legit.len());
    let e = common::erp();
    let v = common::validator();
    let mut rejected = Vec::new();
    for sql in &legit {
        let r = v.validate(sql);
        if !r.valid {
            rejected.push(format!(
                "{sql}\n   {:?}",
                r.errors()
                    .map(|f| (&f.code, &f.message))
                    .collect::<Vec<_>>()
            ));
        }
        if let Err(err) = e.db.query(sql, &ExecOptions::default()) {
            rejected.push(format!("{sql}\n   does not run: {err}"));
        }
    }
    assert!(
        rejected.is_empty(),
        "{} of {} rejected:\n{}",
        rejected.len(),
        legit.len(),
        rejected.join("\n")
    );
}
