//! The frozen appendix-C reference (`tests/data/appendix_c_subset.json`, see
//! `tests/data/README.md`), shared by `tests/engine.rs` and `tests/reproduce.rs`.
#![allow(dead_code)]

use serde::Deserialize;
use std::collections::BTreeMap;

/// `tests/data/appendix_c_subset.json` (see `tests/data/README.md`).
#[derive(Debug, Deserialize)]
pub struct RefFile {
    pub omega: usize,
    #[serde(rename = "M")]
    pub m: usize,
    pub instances: Vec<RefInstance>,
}

#[derive(Debug, Deserialize)]
pub struct RefInstance {
    #[serde(rename = "N")]
    pub n: usize,
    pub run: usize,
    #[serde(rename = "A")]
    pub a: Vec<Vec<f64>>,
    pub b: Vec<f64>,
    #[serde(rename = "vA")]
    pub va: Vec<Vec<f64>>,
    pub vb: Vec<f64>,
    pub w: Vec<f64>,
    #[serde(rename = "L")]
    pub l: f64,
    pub m: f64,
    #[serde(rename = "K")]
    pub k: usize,
    #[serde(rename = "Ts")]
    pub ts: Vec<usize>,
    pub alphas: BTreeMap<String, f64>,
    pub results: BTreeMap<String, Vec<RefRow>>,
}

#[derive(Debug, Deserialize)]
pub struct RefRow {
    #[serde(rename = "T")]
    pub t: usize,
    #[serde(rename = "Tprime")]
    pub t_prime: usize,
    #[serde(rename = "Kprime")]
    pub k_prime: usize,
    pub fwd_err: f64,
    pub rev_err: f64,
    pub iter_err: f64,
    #[serde(rename = "wJv_fwd")]
    pub wjv_fwd: f64,
    #[serde(rename = "wJv_rev")]
    pub wjv_rev: f64,
}

pub fn reference() -> RefFile {
    serde_json::from_str(include_str!("../data/appendix_c_subset.json")).expect("reference parses")
}
