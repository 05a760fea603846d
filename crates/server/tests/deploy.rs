//! The deployment files in `deploy/` parse, and every metric the alert
//! rules and the Grafana dashboard query is one the gateway exports.

use glrl_server::metrics::{Metrics, NAMES};
use std::path::PathBuf;

fn deploy(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(rel)
}

/// `glrl_*` identifiers in a PromQL expression, histogram suffixes removed.
fn metrics_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("glrl_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        out.push(base.to_string());
        rest = &tail[end..];
    }
    out
}

fn assert_exported(expr: &str, what: &str) {
    let found = metrics_in(expr);
    assert!(!found.is_empty(), "{what}: no glrl_ metric in {expr}");
    for m in found {
        assert!(
            NAMES.contains(&m.as_str()),
            "{what} uses {m}, which the gateway does not export"
        );
    }
}

#[test]
fn exported_names_are_what_metrics_renders() {
    let m = Metrics::new().unwrap();
    m.requests.with_label_values(&["/v1/query", "200"]).inc();
    m.request_seconds
        .with_label_values(&["/v1/query"])
        .observe(0.1);
    m.stage_seconds
        .with_label_values(&["generation"])
        .observe(1.0);
    m.answers.with_label_values(&["answered"]).inc();
    m.validations.with_label_values(&["valid"]).inc();
    m.cache.with_label_values(&["l1", "hit"]).inc();
    m.candidates.observe(5.0);
    m.confidence.observe(0.7);
    let text = m.render();
    for n in NAMES {
        assert!(
            text.contains(&format!("# TYPE {n} ")),
            "{n} is not rendered"
        );
    }
}

#[test]
fn alert_rules_cover_the_architecture_and_use_exported_metrics() {
    let text = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let rules = doc["groups"][0]["rules"].as_sequence().unwrap();
    let names: Vec<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    for want in [
        "GlrlSlowResponses",
        "GlrlHighErrorRate",
        "GlrlLowCacheHitRate",
        "GlrlHighMemory",
        "GlrlLowConfidence",
    ] {
        assert!(names.contains(&want), "missing alert {want}");
    }
    for r in rules {
        let expr = r["expr"].as_str().unwrap();
        assert_exported(expr, r["alert"].as_str().unwrap());
    }
    let slow = rules
        .iter()
        .find(|r| r["alert"] == "GlrlSlowResponses")
        .unwrap();
    assert!(slow["expr"].as_str().unwrap().ends_with("> 5"));
}

#[test]
fn dashboard_queries_exported_metrics() {
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(deploy("grafana/dashboard.json")).unwrap())
            .unwrap();
    let mut n = 0;
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            assert_exported(t["expr"].as_str().unwrap(), p["title"].as_str().unwrap());
            n += 1;
        }
    }
    assert!(n >= 10, "{n} queries");
}

#[test]
fn kubernetes_manifests_parse_with_probes_replicas_and_autoscaling() {
    let docs = |f: &str| -> Vec<serde_yaml::Value> {
        let text = std::fs::read_to_string(deploy(f)).unwrap();
        serde_yaml::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect()
    };
    let dep = docs("k8s/deployment.yaml");
    let d = dep.iter().find(|d| d["kind"] == "Deployment").unwrap();
    assert_eq!(d["spec"]["replicas"], 3);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(dep.iter().any(|d| d["kind"] == "Service"));
    let hpa = &docs("k8s/hpa.yaml")[0];
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 10);
    assert_eq!(docs("k8s/pvc.yaml")[0]["kind"], "PersistentVolumeClaim");
    assert_eq!(docs("k8s/configmap.yaml")[0]["kind"], "ConfigMap");
    let cm = docs("k8s/configmap.yaml")[0]["data"]["glrl.toml"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("glrl.toml");
    std::fs::write(&file, cm).unwrap();
    let config = glrl_config::Config::load_from(Some(&file), Vec::new())
        .expect("the ConfigMap's glrl.toml is a valid glrl configuration");
    assert_eq!(config.server.bind, "0.0.0.0:8080");
    assert_eq!(docs("k8s/secret.yaml")[0]["kind"], "Secret");
    let dockerfile = std::fs::read_to_string(deploy("Dockerfile")).unwrap();
    assert_eq!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .count(),
        2,
        "multi-stage"
    );
}
