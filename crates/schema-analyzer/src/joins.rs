//! Join paths: the cheapest tree of relationships connecting a set of
//! tables (a Steiner tree, grown greedily from shortest paths), with
//! deterministic tie-breaks and ON clauses that say what they mean.

use crate::relationships::{Origin, Relationship};
use glrl_catalog::{ident_eq, Schema};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum JoinError {
    #[error("unknown table {0}")]
    UnknownTable(String),
    #[error("no chain of relationships connects {from} to {to}")]
    Disconnected { from: String, to: String },
}

/// One JOIN: add `table` with `on`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinStep {
    pub table: String,
    pub on: String,
    pub meaning: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinPath {
    /// The first table of the FROM clause.
    pub root: String,
    pub steps: Vec<JoinStep>,
}

impl JoinPath {
    pub fn tables(&self) -> Vec<&str> {
        std::iter::once(self.root.as_str())
            .chain(self.steps.iter().map(|s| s.table.as_str()))
            .collect()
    }

    /// `FROM A JOIN B ON … JOIN C ON …`, one join a line.
    pub fn from_clause(&self) -> String {
        let mut s = format!("FROM {}", self.root);
        for step in &self.steps {
            s.push_str(&format!("\nJOIN {} ON {}", step.table, step.on));
        }
        s
    }
}

/// Edge costs in thousandths: natural keys 1000, role keys 1050 (so the
/// bridge table wins a tie against a role key: projects ↔ resources via
/// staffing, not via the manager, when staffing is asked for), inferred
/// keys +100.
fn cost(r: &Relationship) -> u64 {
    let mut c = if r.is_natural() { 1000 } else { 1050 };
    if r.origin == Origin::Inferred {
        c += 100;
    }
    c
}

pub(crate) struct JoinGraph {
    tables: Vec<String>,
    /// adjacency: (neighbour index, relationship index, cost)
    adj: Vec<Vec<(usize, usize, u64)>>,
    relationships: Vec<Relationship>,
}

impl JoinGraph {
    pub fn new(schema: &Schema, relationships: &[Relationship]) -> JoinGraph {
        let tables: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
        let idx = |name: &str| tables.iter().position(|t| ident_eq(t, name));
        let mut adj = vec![Vec::new(); tables.len()];
        for (ri, r) in relationships.iter().enumerate() {
            if let (Some(p), Some(c)) = (idx(&r.parent_table), idx(&r.child_table)) {
                adj[p].push((c, ri, cost(r)));
                adj[c].push((p, ri, cost(r)));
            }
        }
        for a in &mut adj {
            // Cheapest first, then by table order: the tie-break is stable.
            a.sort_by_key(|&(n, ri, c)| (c, n, ri));
        }
        JoinGraph {
            tables,
            adj,
            relationships: relationships.to_vec(),
        }
    }

    fn index(&self, name: &str) -> Result<usize, JoinError> {
        self.tables
            .iter()
            .position(|t| ident_eq(t, name))
            .ok_or_else(|| JoinError::UnknownTable(name.to_string()))
    }

    /// Connects `tables` (any order; duplicates ignored). The root is the
    /// first of them in the given order.
    pub fn path(&self, tables: &[&str]) -> Result<JoinPath, JoinError> {
        let mut required = Vec::new();
        for t in tables {
            let i = self.index(t)?;
            if !required.contains(&i) {
                required.push(i);
            }
        }
        let Some(&root) = required.first() else {
            return Err(JoinError::UnknownTable(String::new()));
        };
        let n = self.tables.len();
        let mut in_tree = vec![false; n];
        in_tree[root] = true;
        let mut steps = Vec::new();
        loop {
            let missing: Vec<usize> = required.iter().copied().filter(|&r| !in_tree[r]).collect();
            if missing.is_empty() {
                break;
            }
            // Multi-source Dijkstra from the whole tree to the nearest
            // missing table; heap order (cost, table index) makes ties stable.
            let mut dist = vec![u64::MAX; n];
            let mut prev: Vec<Option<(usize, usize)>> = vec![None; n];
            let mut heap = BinaryHeap::new();
            for (i, &t) in in_tree.iter().enumerate() {
                if t {
                    dist[i] = 0;
                    heap.push(Reverse((0u64, i)));
                }
            }
            let mut reached = None;
            while let Some(Reverse((d, u))) = heap.pop() {
                if d > dist[u] {
                    continue;
                }
                if !in_tree[u] && missing.contains(&u) {
                    reached = Some(u);
                    break;
                }
                for &(v, ri, c) in &self.adj[u] {
                    let nd = d + c;
                    if nd < dist[v] {
                        dist[v] = nd;
                        prev[v] = Some((u, ri));
                        heap.push(Reverse((nd, v)));
                    }
                }
            }
            let Some(target) = reached else {
                return Err(JoinError::Disconnected {
                    from: self.tables[root].clone(),
                    to: self.tables[missing[0]].clone(),
                });
            };
            // Walk back to the tree, then add the new tables outward.
            let mut chain = Vec::new();
            let mut v = target;
            while !in_tree[v] {
                let Some((u, ri)) = prev[v] else { break };
                chain.push((v, ri));
                v = u;
            }
            for (v, ri) in chain.into_iter().rev() {
                in_tree[v] = true;
                let r = &self.relationships[ri];
                steps.push(JoinStep {
                    table: self.tables[v].clone(),
                    on: r.on_clause(),
                    meaning: r.describe(),
                    origin: r.origin,
                });
            }
        }
        Ok(JoinPath {
            root: self.tables[root].clone(),
            steps,
        })
    }
}
