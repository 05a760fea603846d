//! The ERP demo database and analyzer shared by the validator's tests.

use glrl_erp::{DemoConfig, GLOSSARY_TOML};
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::Rules;
use std::sync::OnceLock;

pub struct Erp {
    _dir: tempfile::TempDir,
    pub db: Box<dyn glrl_db::Database>,
    pub analyzer: SchemaAnalyzer,
}

pub fn erp() -> &'static Erp {
    static E: OnceLock<Erp> = OnceLock::new();
    E.get_or_init(|| {
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
        Erp {
            _dir: dir,
            db,
            analyzer,
        }
    })
}

pub fn rules() -> Rules {
    Rules::from_toml(glrl_erp::RULES_TOML).unwrap()
}

#[allow(dead_code)]
pub fn validator() -> glrl_validator::Validator<'static> {
    let e = erp();
    glrl_validator::Validator::new(&e.analyzer, glrl_catalog::Dialect::Sqlite)
        .with_rules(rules())
        .with_database(e.db.as_ref())
}
