//! Shards of a scenario run (`verify --shard I/N`) and their merge (`unrollcheck merge`).
//!
//! A scenario's instances are numbered `0..total` in grid order
//! ([`crate::scenario::Scenario::specs`]); shard `I` of `N` (1-based) runs the contiguous
//! slice `[⌊(I−1)·total/N⌋, ⌊I·total/N⌋)` with the instances' global indices, so each
//! instance is computed exactly as in a single run (same seed, same horizon, the same
//! "first instance of its grid point" that carries the figure data). A shard writes its
//! results only, as [`ShardFile`]: CBOR (every `f64` bit for bit, NaN and infinities
//! included) plus the scenario text it ran. The merge checks that the shards belong
//! together — one scenario text, one seed, one mode, one binary version, one shard count,
//! each index once and none missing — and concatenates them into the
//! [`ScenarioResults`] of the single run, which the one report layer renders: the merged
//! `report.md`, `results.json` and figures are the single run's, byte for byte.
//!
//! `shard.cbor` holds the CBOR of the [`ShardFile`] as one byte string and its SHA-256
//! (`Sealed`); the merge checks the digest before it decodes anything else, so a shard
//! file damaged on the way (a bad disk, a truncated copy, an artifact store) or edited by
//! hand is refused instead of merged into a report whose numbers no run computed. The
//! digest is no signature: whoever edits the results and writes the digest of the edited
//! bytes is not detected.

use super::Scenario;
pub use super::runner::ShardSpec;
use super::runner::{InstanceResult, ScenarioResults};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file of shard data inside a shard directory.
pub const DATA_FILE: &str = "shard.cbor";

/// What `shard.cbor` holds: the CBOR of a [`ShardFile`] (`payload`) and the SHA-256 of
/// those bytes, checked before the payload is decoded.
#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    /// SHA-256 of `payload`.
    sha256: serde_bytes::ByteBuf,
    /// The CBOR of the [`ShardFile`].
    payload: serde_bytes::ByteBuf,
}

/// What a shard writes: its results and everything the merge checks them against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardFile {
    /// The version of the binary that ran it (shards of different versions are not merged).
    pub version: String,
    /// The scenario file's path as given on the command line (printed in the report).
    pub path: String,
    /// The scenario file's text (the merge re-reads the scenario from it).
    pub text: String,
    /// The seed used.
    pub seed: u64,
    /// `--quick`.
    pub quick: bool,
    /// Which shard.
    pub shard: ShardSpec,
    /// Instances of the whole run.
    pub total: usize,
    /// The shard's instances (global indices `shard.range(total)`), in order.
    pub instances: Vec<InstanceResult>,
}

impl ShardFile {
    /// The shard's part of a run.
    pub fn new(sc: &Scenario, res: ScenarioResults, shard: ShardSpec, total: usize) -> Self {
        ShardFile {
            version: env!("CARGO_PKG_VERSION").to_string(),
            path: sc.path.clone(),
            text: sc.text.clone(),
            seed: res.seed,
            quick: res.quick,
            shard,
            total,
            instances: res.instances,
        }
    }

    /// The bytes of `shard.cbor`: the CBOR of `self`, sealed with its SHA-256 (`Sealed`).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let encoding = |e: ciborium::ser::Error<std::io::Error>| Error::Numerical(format!("shard encoding: {e}"));
        let mut payload = Vec::new();
        ciborium::into_writer(self, &mut payload).map_err(encoding)?;
        let sealed =
            Sealed { sha256: serde_bytes::ByteBuf::from(Sha256::digest(&payload).to_vec()), payload: payload.into() };
        let mut out = Vec::new();
        ciborium::into_writer(&sealed, &mut out).map_err(encoding)?;
        Ok(out)
    }

    /// Reads `dir/shard.cbor`: refuses it, as damaged or edited, unless its payload has the
    /// SHA-256 recorded beside it, then decodes it and checks it against itself (instance
    /// count and indices).
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(DATA_FILE);
        let shown = path.display().to_string();
        let bad = |message: String| Error::Input { location: shown.clone(), message };
        let bytes = std::fs::read(&path).map_err(|e| Error::Io { path: shown.clone(), message: e.to_string() })?;
        let rerun = "rerun that shard";
        let sealed: Sealed = ciborium::from_reader(bytes.as_slice()).map_err(|e| {
            bad(format!("damaged or edited, or not a shard file of this unrollcheck ({e}): not merged; {rerun}"))
        })?;
        let digest = Sha256::digest(&sealed.payload);
        if digest.as_slice() != sealed.sha256.as_slice() {
            return Err(bad(format!(
                "damaged or edited since the shard wrote it: its results have SHA-256 {digest:x}, the shard recorded \
                 {}: not merged; {rerun}",
                hex(&sealed.sha256)
            )));
        }
        let s: ShardFile = ciborium::from_reader(sealed.payload.as_slice())
            .map_err(|e| bad(format!("not a shard file of unrollcheck: {e}")))?;
        if s.shard.index == 0 || s.shard.index > s.shard.count {
            return Err(bad(format!("shard {}/{} is not I/N with 1 <= I <= N", s.shard.index, s.shard.count)));
        }
        let (lo, hi) = s.shard.range(s.total);
        let indices: Vec<usize> = s.instances.iter().map(|i| i.index).collect();
        if indices != (lo..hi).collect::<Vec<_>>() {
            return Err(bad(format!(
                "shard {}/{} of {} instances must hold instances {lo}..{hi}; it holds {} instances{}",
                s.shard.index,
                s.shard.count,
                s.total,
                indices.len(),
                indices.first().map_or(String::new(), |f| format!(" from {f}"))
            )));
        }
        Ok(s)
    }
}

/// `bytes` in lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The shard directories under `roots`: each root that holds a `shard.cbor`, and each
/// directory directly inside a root that holds one; sorted, each once.
pub fn find(roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for root in roots {
        if root.join(DATA_FILE).is_file() {
            out.push(root.clone());
            continue;
        }
        let entries = std::fs::read_dir(root)
            .map_err(|e| Error::Io { path: root.display().to_string(), message: e.to_string() })?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let p = entry.path();
            if p.join(DATA_FILE).is_file() {
                found.push(p);
            }
        }
        if found.is_empty() {
            return Err(Error::Input {
                location: root.display().to_string(),
                message: format!("no shard here (no {DATA_FILE} in it or in a directory directly inside it)"),
            });
        }
        out.extend(found);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One scenario's shards, merged: the scenario (re-read from the shards' text) and the
/// results of the single run.
#[derive(Debug)]
pub struct Merged {
    /// The scenario.
    pub scenario: Scenario,
    /// The results, as one run would have produced them.
    pub results: ScenarioResults,
}

/// Groups shards by scenario name and merges each group. Refuses (exit 2, naming the shard
/// directory) shards of one name but another scenario text, path, seed, mode, binary
/// version or shard count, a shard index twice, and a missing index.
pub fn merge(shards: Vec<(PathBuf, ShardFile)>) -> Result<Vec<Merged>> {
    let mut groups: Vec<(String, Vec<(PathBuf, ShardFile)>)> = Vec::new();
    for (dir, s) in shards {
        let sc = Scenario::parse(&s.path, &s.text)
            .map_err(|e| Error::Input { location: dir.display().to_string(), message: format!("its scenario: {e}") })?;
        let name = sc.file.name.clone();
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, g)) => g.push((dir, s)),
            None => groups.push((name, vec![(dir, s)])),
        }
    }
    groups.into_iter().map(|(_, g)| merge_one(g)).collect()
}

fn merge_one(mut group: Vec<(PathBuf, ShardFile)>) -> Result<Merged> {
    group.sort_by_key(|(_, s)| s.shard.index);
    let (first_dir, first) = &group[0];
    let refuse = |dir: &Path, message: String| Error::Input { location: dir.display().to_string(), message };
    let version = env!("CARGO_PKG_VERSION");
    for (dir, s) in &group {
        let differs = [
            (s.version != version, format!("was written by unrollcheck {}, this is {version}", s.version)),
            (
                s.text != first.text || s.path != first.path,
                format!("ran another scenario text than {}", first_dir.display()),
            ),
            (s.seed != first.seed, format!("ran seed {}, {} ran seed {}", s.seed, first_dir.display(), first.seed)),
            (
                s.quick != first.quick,
                format!("quick = {}, {} has quick = {}", s.quick, first_dir.display(), first.quick),
            ),
            (
                s.shard.count != first.shard.count || s.total != first.total,
                format!(
                    "is one of {} shards of {} instances, {} one of {} of {}",
                    s.shard.count,
                    s.total,
                    first_dir.display(),
                    first.shard.count,
                    first.total
                ),
            ),
        ];
        if let Some((_, why)) = differs.into_iter().find(|(bad, _)| *bad) {
            return Err(refuse(dir, format!("not merged with the other shards: it {why}")));
        }
    }
    for pair in group.windows(2) {
        if pair[0].1.shard.index == pair[1].1.shard.index {
            return Err(refuse(
                &pair[1].0,
                format!(
                    "shard {}/{} given twice (also {})",
                    pair[1].1.shard.index,
                    first.shard.count,
                    pair[0].0.display()
                ),
            ));
        }
    }
    let present: Vec<usize> = group.iter().map(|(_, s)| s.shard.index).collect();
    let missing: Vec<String> = (1..=first.shard.count)
        .filter(|i| !present.contains(i))
        .map(|i| format!("{i}/{}", first.shard.count))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(first_dir, format!("shards missing from the merge: {}", missing.join(", "))));
    }
    let scenario = Scenario::parse(&first.path, &first.text)?;
    let (seed, quick) = (first.seed, first.quick);
    let config = scenario.config(quick);
    let instances: Vec<InstanceResult> = group.into_iter().flat_map(|(_, s)| s.instances).collect();
    Ok(Merged { scenario, results: ScenarioResults { seed, quick, config, instances } })
}
