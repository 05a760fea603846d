//! Prometheus metrics the gateway exports at `/metrics`. Names are the
//! contract the alert rules and the dashboard in `deploy/` rely on (a test
//! checks that every metric they use is exported here).

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub stage_seconds: HistogramVec,
    pub answers: IntCounterVec,
    pub candidates: Histogram,
    pub confidence: Histogram,
    pub validations: IntCounterVec,
    pub cache: IntCounterVec,
    pub model_tokens_per_second: Gauge,
    resident_memory: Gauge,
    memory_limit: Gauge,
}

/// Every metric name exported (for the deploy/ consistency test).
pub const NAMES: &[&str] = &[
    "glrl_http_requests_total",
    "glrl_http_request_duration_seconds",
    "glrl_stage_duration_seconds",
    "glrl_answers_total",
    "glrl_candidates",
    "glrl_confidence",
    "glrl_validations_total",
    "glrl_cache_requests_total",
    "glrl_model_tokens_per_second",
    "glrl_process_resident_memory_bytes",
    "glrl_process_memory_limit_bytes",
];

fn latency_buckets() -> Vec<f64> {
    vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ]
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "glrl_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("glrl_http_request_duration_seconds", "HTTP request latency")
                .buckets(latency_buckets()),
            &["route"],
        )?;
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new("glrl_stage_duration_seconds", "Pipeline stage latency")
                .buckets(latency_buckets()),
            &["stage"],
        )?;
        let answers = IntCounterVec::new(
            Opts::new("glrl_answers_total", "Pipeline answers by status"),
            &["status"],
        )?;
        let candidates = Histogram::with_opts(
            HistogramOpts::new("glrl_candidates", "Candidates generated per question")
                .buckets(vec![1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 15.0, 20.0]),
        )?;
        let confidence = Histogram::with_opts(
            HistogramOpts::new("glrl_confidence", "Confidence of answered questions")
                .buckets(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        )?;
        let validations = IntCounterVec::new(
            Opts::new("glrl_validations_total", "SQL validations by outcome"),
            &["outcome"],
        )?;
        let cache = IntCounterVec::new(
            Opts::new(
                "glrl_cache_requests_total",
                "Answer cache lookups by level and result",
            ),
            &["level", "result"],
        )?;
        let model_tokens_per_second = Gauge::new(
            "glrl_model_tokens_per_second",
            "Generated tokens per second of model time, last question",
        )?;
        let resident_memory = Gauge::new(
            "glrl_process_resident_memory_bytes",
            "Resident memory of the process",
        )?;
        let memory_limit = Gauge::new(
            "glrl_process_memory_limit_bytes",
            "Memory available to the process (cgroup limit, else physical memory)",
        )?;
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(stage_seconds.clone()),
            Box::new(answers.clone()),
            Box::new(candidates.clone()),
            Box::new(confidence.clone()),
            Box::new(validations.clone()),
            Box::new(cache.clone()),
            Box::new(model_tokens_per_second.clone()),
            Box::new(resident_memory.clone()),
            Box::new(memory_limit.clone()),
        ] {
            registry.register(c)?;
        }
        Ok(Metrics {
            registry,
            requests,
            request_seconds,
            stage_seconds,
            answers,
            candidates,
            confidence,
            validations,
            cache,
            model_tokens_per_second,
            resident_memory,
            memory_limit,
        })
    }

    /// One SQL validation's outcome.
    pub fn validation(&self, valid: bool) {
        let outcome = if valid { "valid" } else { "invalid" };
        self.validations.with_label_values(&[outcome]).inc();
    }

    /// The text exposition, with memory read at scrape time.
    pub fn render(&self) -> String {
        if let Some(rss) = resident_bytes() {
            self.resident_memory.set(rss as f64);
        }
        if let Some(limit) = memory_limit_bytes() {
            self.memory_limit.set(limit as f64);
        }
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn memory_limit_bytes() -> Option<u64> {
    if let Some(v) = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        return Some(v);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
