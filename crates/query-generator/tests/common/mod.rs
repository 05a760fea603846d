//! The ERP demo database and its Schema Analyzer, for the tests.

use glrl_erp::DemoConfig;
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};

pub fn analyzer(dir: &std::path::Path) -> SchemaAnalyzer {
    let path = dir.join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).unwrap();
    let db = glrl_db::connect(&path.display().to_string()).unwrap();
    let glossary = Glossary::from_toml(glrl_erp::GLOSSARY_TOML, "erp").unwrap();
    SchemaAnalyzer::from_database(db.as_ref(), glossary, 200).unwrap()
}
