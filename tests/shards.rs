//! Campaigns in shards: `verify --shard I/N` runs a slice of the instances and writes its
//! results only; `unrollcheck merge` turns the shards into the report of the single run,
//! byte for byte (NaN verdicts, not-applicable verdicts and controls included), and refuses
//! shards that do not belong together, naming the shard.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCENARIO: &str = r#"name = "shards"
seed = 11
instances = 3
claims = ["thm7.bound", "lem6.gamma", "sec41.trunc_fwd_rev", "thm2.rate"]
controls = true
k_max = 80
allow_numerical_failure = true
[grid]
family = ["ridge_weight", "huber_targets"]
method = ["gd", "heavy_ball", "chebyshev"]
m = [6]
n = [3]
step = ["2/(L+m)"]
x0 = [10.0]
[[custom]]
id = "nan_rhs"
statement = "e[k] <= e[0]*(0/0)"
"#;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unrollcheck")).current_dir(dir).args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory with the scenario file `s.toml`.
fn workdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unrollcheck-shards-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("s.toml"), SCENARIO).expect("scenario");
    dir
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).expect("inside").to_path_buf(), std::fs::read(&p).expect("file")));
            }
        }
    }
    out.sort();
    out
}

fn shard(dir: &Path, spec: &str, out: &str, extra: &[&str]) {
    let mut args = vec!["verify", "s.toml", "--shard", spec, "--out", out];
    args.extend_from_slice(extra);
    let o = run(dir, &args);
    assert_eq!(o.status.code(), Some(0), "shard {spec}: {}", stderr(&o));
}

#[test]
fn merged_shards_equal_the_single_run_byte_for_byte() {
    let dir = workdir("equal");
    let single = run(&dir, &["verify", "s.toml", "--out", "single"]);
    assert_eq!(single.status.code(), Some(0), "{}", stderr(&single));
    // Uneven shards, different thread counts, one shard holding a single grid point's tail.
    for (i, jobs) in [(1, "1"), (2, "2"), (3, "1"), (4, "2"), (5, "1")] {
        shard(&dir, &format!("{i}/5"), &format!("s{i}"), &["--jobs", jobs]);
    }
    let merged = run(&dir, &["merge", "s1", "s2", "s3", "s4", "s5", "--out", "merged"]);
    assert_eq!(merged.status.code(), single.status.code(), "{}", stderr(&merged));
    let (a, b) = (tree(&dir.join("single")), tree(&dir.join("merged")));
    assert_eq!(a.iter().map(|f| &f.0).collect::<Vec<_>>(), b.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{} differs between the single run and the merge", path.display());
    }
    let report =
        String::from_utf8_lossy(&a.iter().find(|f| f.0.ends_with("report.md")).expect("report").1).into_owned();
    assert!(report.contains("## Numerical failures"), "the NaN verdicts went through the shards");
    assert!(report.contains("A2.1"), "not-applicable verdicts went through the shards");
    // The merge finds shards inside a directory as well as given directly.
    for i in 2..=5 {
        std::fs::rename(dir.join(format!("s{i}/shards.shard-{i}-of-5")), dir.join(format!("s1/shards.shard-{i}-of-5")))
            .expect("move");
    }
    let again = run(&dir, &["merge", "s1", "--out", "again"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(tree(&dir.join("again")), a);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Three shards of the scenario in `dir/sh`.
fn three_shards(dir: &Path) {
    for i in 1..=3 {
        shard(dir, &format!("{i}/3"), "sh", &["--quick"]);
    }
}

fn refused(dir: &Path, args: &[&str], names: &str, says: &str) {
    let o = run(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?} must be refused: {err}");
    assert!(err.contains(names), "{args:?}: the error must name {names}: {err}");
    assert!(err.contains(says), "{args:?}: the error must say `{says}`: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("merged").exists(), "{args:?}: nothing is written on refusal");
}

#[test]
fn merge_refuses_gaps_duplicates_and_shards_of_other_runs() {
    let dir = workdir("refuse");
    three_shards(&dir);
    let sh = |i: usize| format!("sh/shards.shard-{i}-of-3");
    // A gap.
    refused(&dir, &["merge", &sh(1), &sh(3), "--out", "merged"], "shards.shard-1-of-3", "missing from the merge: 2/3");
    // A duplicate: the same shard under two directories.
    std::fs::create_dir_all(dir.join("copy")).expect("dir");
    std::fs::create_dir_all(dir.join("copy/shards.shard-2-of-3")).expect("dir");
    for f in ["shard.cbor", "results.json"] {
        std::fs::copy(dir.join(sh(2)).join(f), dir.join("copy/shards.shard-2-of-3").join(f)).expect("copy");
    }
    refused(&dir, &["merge", "sh", "copy", "--out", "merged"], "shards.shard-2-of-3", "given twice");
    // Another seed.
    shard(&dir, "2/3", "seed", &["--quick", "--seed", "12"]);
    refused(&dir, &["merge", &sh(1), "seed", &sh(3), "--out", "merged"], "seed/shards.shard-2-of-3", "ran seed 12");
    // Another mode.
    shard(&dir, "2/3", "full", &[]);
    refused(&dir, &["merge", &sh(1), "full", &sh(3), "--out", "merged"], "full/shards.shard-2-of-3", "quick = false");
    // Another shard count.
    shard(&dir, "2/4", "four", &["--quick"]);
    refused(&dir, &["merge", &sh(1), "four", &sh(3), "--out", "merged"], "four/shards.shard-2-of-4", "one of 4 shards");
    // Another scenario text under the same name.
    std::fs::write(dir.join("s.toml"), SCENARIO.replace("instances = 3", "instances = 2")).expect("edit");
    shard(&dir, "2/3", "edited", &["--quick"]);
    refused(&dir, &["merge", &sh(1), "edited", &sh(3), "--out", "merged"], "shards.shard-2-of-3", "another scenario");
    // A damaged shard file.
    std::fs::write(dir.join(sh(3)).join("shard.cbor"), b"not cbor").expect("damage");
    refused(&dir, &["merge", "sh", "--out", "merged"], "shards.shard-3-of-3/shard.cbor", "not a shard file");
    // A directory without shards.
    std::fs::create_dir_all(dir.join("empty")).expect("dir");
    refused(&dir, &["merge", "empty", "--out", "merged"], "empty", "no shard here");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shard_arguments_and_targets_are_checked_before_anything_runs() {
    let dir = workdir("args");
    for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
        let o = run(&dir, &["verify", "s.toml", "--shard", bad, "--out", "out"]);
        assert_eq!(o.status.code(), Some(2), "--shard {bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("I/N"), "--shard {bad}: {}", stderr(&o));
    }
    // Trend files are run whole.
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("verify/trends.toml"), dir.join("trends.toml"))
        .expect("copy");
    refused(&dir, &["verify", "trends.toml", "--shard", "1/2", "--out", "merged"], "trends.toml", "cannot be sharded");
    // A foreign directory where a shard or a merged report would go is left alone.
    std::fs::create_dir_all(dir.join("out/shards.shard-1-of-2")).expect("dir");
    std::fs::write(dir.join("out/shards.shard-1-of-2/mine.txt"), "user data").expect("file");
    refused(&dir, &["verify", "s.toml", "--shard", "1/2", "--out", "out"], "shards.shard-1-of-2", "not written by");
    shard(&dir, "1/2", "sh", &["--quick"]);
    shard(&dir, "2/2", "sh", &["--quick"]);
    std::fs::create_dir_all(dir.join("foreign/shards")).expect("dir");
    std::fs::write(dir.join("foreign/shards/mine.txt"), "user data").expect("file");
    let o = run(&dir, &["merge", "sh", "--out", "foreign"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.join("foreign/shards/mine.txt")).expect("kept"), "user data");
    assert_eq!(std::fs::read_to_string(dir.join("out/shards.shard-1-of-2/mine.txt")).expect("kept"), "user data");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies the three shards of `dir/sh` to `dir/<to>/` (one directory per shard).
fn copy_shards(dir: &Path, to: &str) {
    for i in 1..=3 {
        let name = format!("shards.shard-{i}-of-3");
        std::fs::create_dir_all(dir.join(to).join(&name)).expect("dir");
        for f in ["shard.cbor", "results.json"] {
            std::fs::copy(dir.join("sh").join(&name).join(f), dir.join(to).join(&name).join(f)).expect("copy");
        }
    }
}

/// The offsets of the last byte of CBOR doubles (`0xfb` and 8 bytes) in `bytes` that read
/// as a plain number (finite, not an integer, between 1e-3 and 1e6 in magnitude): values
/// of the results, where one flipped bit changes a number the report prints.
fn float_offsets(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len().saturating_sub(9))
        .filter(|&i| bytes[i] == 0xfb)
        .filter(|&i| {
            let v = f64::from_be_bytes(bytes[i + 1..i + 9].try_into().expect("8 bytes"));
            v.is_finite() && v.fract() != 0.0 && (1e-3..1e6).contains(&v.abs())
        })
        .map(|i| i + 8)
        .collect()
}

/// Issue: `merge` used a `shard.cbor` whose bytes were changed after the shard wrote it
/// (100 of 150 single-bit flips were merged, 33 of them changed the report, e.g. a witness
/// that `replay` does not reproduce). The shard now records the SHA-256 of its payload and
/// the merge refuses, naming the file, any shard whose bytes no longer match it: one byte
/// changed anywhere (inside a double of the results, in the scenario text, at the start, at
/// the end) and the file cut short. Control: the same shards untouched are merged.
#[test]
fn a_shard_file_changed_in_any_byte_is_refused_as_damaged() {
    let dir = workdir("damaged");
    three_shards(&dir);
    let target = "shards.shard-2-of-3/shard.cbor";
    let original = std::fs::read(dir.join("sh").join(target)).expect("shard");
    let floats = float_offsets(&original);
    assert!(floats.len() >= 10, "the test expects doubles in the shard file, found {}", floats.len());
    let text = original.windows(7).position(|w| w == b"[grid]\n").expect("the scenario text is in the shard") + 3;
    let len = original.len();
    let mut offsets = vec![0, 1, 2, text, len / 3, len / 2, 2 * len / 3, len - 1];
    offsets.extend([floats[0], floats[floats.len() / 2], floats[floats.len() - 1]]);
    let mut cases: Vec<(String, Vec<u8>)> = offsets
        .into_iter()
        .map(|at| {
            let mut b = original.clone();
            b[at] ^= 0x01;
            (format!("byte {at} of {len} flipped"), b)
        })
        .collect();
    cases.push((format!("cut to {} of {len} bytes", len / 2), original[..len / 2].to_vec()));
    for (what, bytes) in cases {
        let _ = std::fs::remove_dir_all(dir.join("t"));
        copy_shards(&dir, "t");
        std::fs::write(dir.join("t").join(target), &bytes).expect("tamper");
        let o = run(&dir, &["merge", "t", "--out", "merged"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: the merge must refuse the changed shard file: {err}");
        assert!(err.contains(target), "{what}: the error must name {target}: {err}");
        assert!(err.contains("damaged or edited"), "{what}: the error must say `damaged or edited`: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(!dir.join("merged").exists(), "{what}: nothing is written on refusal");
    }
    // Control: the same copy, untouched, is merged.
    let _ = std::fs::remove_dir_all(dir.join("t"));
    copy_shards(&dir, "t");
    let o = run(&dir, &["merge", "t", "--out", "merged"]);
    assert_ne!(o.status.code(), Some(2), "untouched shards must merge: {}", stderr(&o));
    assert!(dir.join("merged/shards/report.md").is_file(), "the control wrote no report");
    let _ = std::fs::remove_dir_all(&dir);
}
