//! The Orchestrator over the real ERP demo database, validator and
//! reward evaluator. The model is replaced by a scripted generator so each
//! test controls what the candidates are (the pipeline's decisions are
//! under test here; the real model runs in the CLI's integration tests).

use glrl_db::Database;
use glrl_erp::DemoConfig;
use glrl_model::backend::{Completion, Generator, Request};
use glrl_model::generate::{FinishReason, LogitsProcessor};
use glrl_model::ModelError;
use glrl_orchestrator::{Intent, Orchestrator, Progress, Question, SessionStore, Settings, Status};
use glrl_query_generator::{
    GeneratorSettings, PromptBuilder, PromptOptions, QueryGenerator, Retriever,
};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::{Rules, Validator};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Answers each `complete` call with the next scripted batch.
struct Scripted {
    batches: Mutex<VecDeque<Result<Vec<String>, String>>>,
    requests: Mutex<Vec<Request>>,
}

impl Scripted {
    fn new(batches: Vec<Result<Vec<&str>, &str>>) -> Scripted {
        Scripted {
            batches: Mutex::new(
                batches
                    .into_iter()
                    .map(|b| {
                        b.map(|v| v.into_iter().map(str::to_string).collect())
                            .map_err(str::to_string)
                    })
                    .collect(),
            ),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn user_message(&self, call: usize) -> String {
        self.requests.lock().unwrap()[call].messages[1]
            .content
            .clone()
    }
}

impl Generator for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }

    fn complete(
        &self,
        req: &Request,
        _: Option<&mut dyn LogitsProcessor>,
    ) -> Result<Vec<Completion>, ModelError> {
        self.requests.lock().unwrap().push(req.clone());
        let batch = self
            .batches
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err("no scripted batch left".into()));
        // A bug anywhere below the orchestrator, as a scripted error.
        if batch.as_ref().is_err_and(|e| e == "panic") {
            panic!("scripted panic");
        }
        let batch = batch.map_err(ModelError::Generation)?;
        Ok(batch
            .into_iter()
            .map(|t| Completion {
                text: t,
                logprobs: vec![-0.1; 8],
                finish: FinishReason::Stop,
            })
            .collect())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Box<dyn Database>,
    analyzer: SchemaAnalyzer,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).unwrap();
    let db = glrl_db::connect(&path.display().to_string()).unwrap();
    let glossary = Glossary::from_toml(glrl_erp::GLOSSARY_TOML, "erp").unwrap();
    let analyzer = SchemaAnalyzer::from_database(db.as_ref(), glossary, 200).unwrap();
    Fixture {
        _dir: dir,
        db,
        analyzer,
    }
}

/// Runs `f` with an orchestrator over the fixture and `script`.
fn with<T>(
    fx: &Fixture,
    script: &Scripted,
    sessions: &SessionStore,
    f: impl FnOnce(&Orchestrator) -> T,
) -> T {
    let validator = Validator::new(&fx.analyzer, fx.db.dialect())
        .with_rules(Rules::from_toml(glrl_erp::RULES_TOML).unwrap())
        .with_database(fx.db.as_ref());
    let evaluator = RewardEvaluator::new(&validator, fx.db.as_ref(), fx.analyzer.schema());
    let builder = PromptBuilder::new(
        &fx.analyzer,
        Retriever::new(Vec::new()),
        PromptOptions::default(),
    );
    let generator =
        QueryGenerator::new(builder, script, &fx.analyzer, GeneratorSettings::default());
    let o = Orchestrator {
        analyzer: &fx.analyzer,
        evaluator: &evaluator,
        generator: &generator,
        db: fx.db.as_ref(),
        sessions,
        settings: Settings::default(),
    };
    f(&o)
}

fn ask(o: &Orchestrator, q: &str, session: Option<&str>) -> glrl_orchestrator::Answer {
    o.ask(&Question {
        text: q.into(),
        session: session.map(str::to_string),
        ..Question::default()
    })
}

const ACTIVE: &str = "<think>PAC_MNT_PROJECTS, Status = 'Active'.</think>\nSELECT COUNT(*) AS n FROM PAC_MNT_PROJECTS WHERE Status = 'Active'";

#[test]
fn the_agreeing_majority_wins_and_is_explained() {
    let fx = fixture();
    let script = Scripted::new(vec![Ok(vec![
        "<think>Count all projects.</think>\nSELECT COUNT(*) AS n FROM PAC_MNT_PROJECTS",
        ACTIVE,
        // Same rows, written differently: the same vote.
        "<think>PAC_MNT_PROJECTS filtered on Status.</think>\nSELECT COUNT(Project_Code) AS n FROM PAC_MNT_PROJECTS WHERE Status = 'Active'",
        ACTIVE,
        "<think>Guess.</think>\nSELECT COUNT(*) AS n FROM SRM_COMPANIES",
    ])]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    let a = with(&fx, &script, &sessions, |o| {
        ask(o, "How many projects are active?", None)
    });
    assert_eq!(a.intent, Intent::Data);
    assert!(
        matches!(a.status, Status::Answered | Status::Unsure),
        "{a:?}"
    );
    assert_eq!(
        a.raw_sql.as_deref(),
        Some("SELECT COUNT(*) AS n FROM PAC_MNT_PROJECTS WHERE Status = 'Active'")
    );
    let expected = fx
        .db
        .query(
            "SELECT COUNT(*) FROM PAC_MNT_PROJECTS WHERE Status = 'Active'",
            &Default::default(),
        )
        .unwrap();
    assert_eq!(a.result.as_ref().unwrap().rows, expected.rows);
    // Three of five agree: confidence near 3/5 × reward × probability.
    let c = a.confidence.unwrap();
    assert!(c > 0.4 && c < 0.6, "{c}");
    assert_eq!(
        a.candidates
            .iter()
            .filter(|c| c.group == a.candidates[1].group)
            .count(),
        3
    );
    assert_eq!(
        a.explanation.as_deref(),
        Some("Counts the rows from PAC_MNT_PROJECTS where Status = 'Active'.")
    );
    assert_eq!(a.tables, vec!["PAC_MNT_PROJECTS".to_string()]);
    assert!(a.timings.iter().any(|t| t.stage == "generation"));
    assert!(a.total_ms >= a.model_ms);
    // Building the prompt is the pipeline's work: the model's time is the
    // backend's call alone, inside the generation stage.
    let generation_ms: f64 = a
        .timings
        .iter()
        .filter(|t| matches!(t.stage, "generation" | "repair"))
        .map(|t| t.ms)
        .sum();
    assert!(a.model_ms < generation_ms, "{a:?}");
    // The repeated text reuses its twin's score; the plans and the
    // executions are database time, not overhead.
    assert_eq!(a.candidates[3].reward, a.candidates[1].reward);
    assert!(a.candidates.iter().all(|c| c.valid));
    assert!(a.database_ms > 0.0);
    assert!(
        (a.overhead_ms - (a.total_ms - a.model_ms - a.database_ms)).abs() < 1e-9,
        "{a:?}"
    );
}

#[test]
fn invalid_candidates_go_back_with_findings_then_abstain() {
    let fx = fixture();
    let bad = "<think>x</think>\nSELECT Budget_Total FROM PAC_MNT_PROJECTS";
    let script = Scripted::new(vec![
        Ok(vec![bad, bad]),
        Ok(vec![ACTIVE]),
        Ok(vec![bad]),
        Ok(vec![bad]),
    ]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    with(&fx, &script, &sessions, |o| {
        let a = ask(o, "How many projects are active?", None);
        assert_eq!(a.repairs, 1);
        assert_eq!(
            a.raw_sql.as_deref(),
            Some("SELECT COUNT(*) AS n FROM PAC_MNT_PROJECTS WHERE Status = 'Active'")
        );
        let repair = script.user_message(1);
        assert!(
            repair.contains("A previous answer was rejected"),
            "{repair}"
        );
        assert!(repair.contains("Budget_Total"), "{repair}");
        // Nothing validates in either round: no SQL, no rows, no answer.
        let a = ask(o, "How many projects are active?", None);
        assert_eq!(a.status, Status::Abstained);
        assert!(a.sql.is_none() && a.result.is_none());
        assert_eq!(a.repairs, 1);
    });
    assert_eq!(script.calls(), 4);
}

#[test]
fn a_missing_group_by_is_added_by_the_validator_without_a_repair_round() {
    let fx = fixture();
    let ungrouped = "<think>PAC_MNT_PROJECTS per Status.</think>\nSELECT Status, COUNT(*) AS n FROM PAC_MNT_PROJECTS";
    let script = Scripted::new(vec![Ok(vec![ungrouped, ungrouped])]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    let a = with(&fx, &script, &sessions, |o| {
        ask(o, "How many projects are there per status?", None)
    });
    assert_eq!(script.calls(), 1);
    assert_eq!(a.repairs, 0);
    let grouped = "SELECT Status, COUNT(*) AS n FROM PAC_MNT_PROJECTS GROUP BY Status";
    assert_eq!(a.raw_sql.as_deref(), Some(grouped), "{a:?}");
    let expected = fx.db.query(grouped, &Default::default()).unwrap();
    assert_eq!(a.result.as_ref().unwrap().rows, expected.rows);
    // The model's candidates stay as they were, the fixes follow them.
    assert_eq!(a.candidates.len(), 4);
    for (i, c) in a.candidates.iter().enumerate() {
        if i < 2 {
            assert!(!c.valid && c.fixed_from.is_none());
            assert!(
                c.errors[0].starts_with("BUSINESS_GROUP_BY_MISSING"),
                "{c:?}"
            );
        } else {
            assert!(c.valid && c.fixed_from == Some(i - 2), "{c:?}");
        }
    }
    assert!(a.warnings.iter().any(|w| w.starts_with("GROUP_BY_ADDED")));
    // Two generated candidates, both behind the answer: the fixes add no
    // votes of their own.
    let c = a.raw_confidence.unwrap();
    assert!(c > 0.5 && c <= 1.0, "{c}");
}

/// An observer hears each round's candidate text before the stage that
/// generated it ends, then the stages in order; `ask` without one gives
/// the same answer.
#[test]
fn an_observer_hears_candidate_text_and_stages_as_they_happen() {
    let fx = fixture();
    let bad = "<think>x</think>\nSELECT Budget_Total FROM PAC_MNT_PROJECTS";
    let script = Scripted::new(vec![Ok(vec![bad, bad]), Ok(vec![ACTIVE])]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    let mut events: Vec<String> = Vec::new();
    let a = with(&fx, &script, &sessions, |o| {
        o.ask_observed(
            &Question {
                text: "How many projects are active?".into(),
                ..Question::default()
            },
            &mut |p| {
                events.push(match p {
                    Progress::Stage(t) => format!("stage {}", t.stage),
                    Progress::Text {
                        round,
                        candidate,
                        text,
                    } => format!("text {round}/{candidate} {text}"),
                })
            },
        )
    });
    assert_eq!(a.repairs, 1);
    assert_eq!(
        events,
        vec![
            "stage input".to_string(),
            "stage context".into(),
            "stage schema".into(),
            format!("text 0/0 {bad}"),
            format!("text 0/1 {bad}"),
            "stage generation".into(),
            "stage validation".into(),
            format!("text 1/0 {ACTIVE}"),
            "stage repair".into(),
            "stage validation".into(),
            "stage selection".into(),
            "stage answer".into(),
        ]
    );
}

#[test]
fn model_failures_become_coded_errors() {
    let fx = fixture();
    let script = Scripted::new(vec![Err("server down")]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    let a = with(&fx, &script, &sessions, |o| {
        ask(o, "How many projects are active?", None)
    });
    assert_eq!(a.status, Status::Error);
    assert_eq!(a.error.as_ref().unwrap().code, "MODEL_ERROR");
    assert!(a.result.is_none());
    let a = with(&fx, &script, &sessions, |o| ask(o, "   ", None));
    assert_eq!(a.error.as_ref().unwrap().code, "EMPTY_QUESTION");
    let a = with(&fx, &script, &sessions, |o| {
        ask(o, "How many?", Some("nope"))
    });
    assert_eq!(a.error.as_ref().unwrap().code, "SESSION_NOT_FOUND");
}

/// A panic inside the pipeline ends its question with a coded error,
/// and the orchestrator answers the next question.
#[test]
fn a_panic_becomes_a_coded_error_and_the_next_question_is_answered() {
    let fx = fixture();
    let script = Scripted::new(vec![Err("panic"), Ok(vec![ACTIVE; 5])]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    with(&fx, &script, &sessions, |o| {
        let a = ask(o, "How many projects are active?", None);
        assert_eq!(a.status, Status::Error);
        let e = a.error.as_ref().unwrap();
        assert_eq!(e.code, "INTERNAL_ERROR");
        assert!(e.message.contains("scripted panic"), "{}", e.message);
        assert!(a.sql.is_none() && a.result.is_none());
        let a = ask(o, "How many projects are active?", None);
        assert!(
            matches!(a.status, Status::Answered | Status::Unsure),
            "{a:?}"
        );
    });
}

#[test]
fn unsafe_schema_and_off_topic_requests_get_no_sql() {
    let fx = fixture();
    let script = Scripted::new(vec![]);
    let sessions = SessionStore::in_memory(Duration::from_secs(60));
    with(&fx, &script, &sessions, |o| {
        for q in [
            "delete all blocked suppliers",
            "Please update the budget of project P-1001 to 0",
            "Remove the contacts of Acme",
            "SELECT 1; DROP TABLE SRM_COMPANIES",
        ] {
            let a = ask(o, q, None);
            assert_eq!(a.status, Status::Refused, "{q}");
            assert!(a.sql.is_none());
        }
        let a = ask(o, "What tables are there?", None);
        assert_eq!(a.status, Status::SchemaInfo);
        assert!(a.message.contains("PROJCNTRTS"));
        for q in ["Tell me a joke", "What is the weather in Paris tomorrow?"] {
            assert_eq!(ask(o, q, None).status, Status::OutOfScope, "{q}");
        }
        // "add up" reads data.
        assert_ne!(
            ask(o, "Add up the contract values per currency", None).intent,
            Intent::Unsafe
        );
    });
}

#[test]
fn follow_ups_carry_the_session_context() {
    let fx = fixture();
    let script = Scripted::new(vec![
        Ok(vec![
            "<think>PAC_MNT_PROJECTS.</think>\nSELECT Project_Code, Status FROM PAC_MNT_PROJECTS",
        ]),
        Ok(vec![ACTIVE]),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.db");
    let sessions = SessionStore::persistent(&file, Duration::from_secs(600)).unwrap();
    let id = with(&fx, &script, &sessions, |o| {
        let a = ask(o, "List the projects with their status", None);
        let id = a.session.clone().unwrap();
        let b = ask(o, "only the active ones", Some(&id));
        assert_eq!(b.intent, Intent::FollowUp);
        assert_eq!(b.session.as_deref(), Some(id.as_str()));
        id
    });
    let second = script.user_message(1);
    assert!(
        second.contains("Previous question: List the projects with their status"),
        "{second}"
    );
    assert!(second.contains("Previous SQL: SELECT Project_Code, Status FROM PAC_MNT_PROJECTS"));
    // The session survives a restart, holds both turns, and is listed.
    drop(sessions);
    let reopened = SessionStore::persistent(&file, Duration::from_secs(600)).unwrap();
    let s = reopened.get(&id, None).unwrap().unwrap();
    assert_eq!(s.turns.len(), 2);
    assert_eq!(reopened.list(None).unwrap().len(), 1);
    // Another tenant does not see it.
    assert!(reopened.get(&id, Some("other")).unwrap().is_none());
    // With a zero TTL it expires (after the clock's one-second grain),
    // from memory and from the file.
    drop(reopened);
    std::thread::sleep(Duration::from_millis(1100));
    let short = SessionStore::persistent(&file, Duration::from_secs(0)).unwrap();
    short.expire().unwrap();
    assert!(short.get(&id, None).unwrap().is_none());
    drop(short);
    let again = SessionStore::persistent(&file, Duration::from_secs(600)).unwrap();
    assert!(again.get(&id, None).unwrap().is_none());
}
