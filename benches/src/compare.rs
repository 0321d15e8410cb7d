//! `vi-bench compare`: our timings next to the peers', with the speed-up over the faster peer.
//!
//! A peer's bench named like one of ours plus `_loop` or `_scan` (NumPyro's two ways of running an
//! epoch) is shown beside ours as its own column, `peer (loop)` and `peer (scan)`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

type Key = (String, String, String, u64, u64, u64, u64, u64);

fn key(row: &Value) -> Key {
    let s = |k: &str| row[k].as_str().unwrap_or("").to_string();
    let u = |k: &str| row[k].as_u64().unwrap_or(0);
    (
        s("suite"),
        s("bench"),
        s("dtype"),
        u("threads"),
        u("B"),
        u("n"),
        u("k"),
        u("M"),
    )
}

fn read(path: &Path) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for (line, l) in text.lines().enumerate() {
        let l = l.trim();
        if !l.starts_with('{') {
            continue;
        }
        let row: Value =
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), line + 1))?;
        if row["bench"] != "_meta" {
            rows.push(row);
        }
    }
    Ok(rows)
}

fn fmt(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

pub fn run(peers: &Path, ours: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut by_key: BTreeMap<Key, BTreeMap<String, f64>> = BTreeMap::new();
    for row in read(peers)? {
        if let Some(t) = row["median_s"].as_f64() {
            let peer = row["peer"].as_str().unwrap_or("?").to_string();
            by_key.entry(key(&row)).or_default().insert(peer, t);
        }
    }
    let ours: Vec<(Value, BTreeMap<String, f64>)> = read(ours)?
        .into_iter()
        .map(|row| {
            let k = key(&row);
            let mut peers = by_key.get(&k).cloned().unwrap_or_default();
            for variant in ["loop", "scan"] {
                let mut kv = k.clone();
                kv.1 = format!("{}_{variant}", k.1);
                for (peer, &t) in by_key.get(&kv).into_iter().flatten() {
                    peers.insert(format!("{peer} ({variant})"), t);
                }
            }
            (row, peers)
        })
        .collect();
    let peer_names: Vec<String> = {
        let mut names: Vec<String> = ours.iter().flat_map(|(_, m)| m.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    };
    println!(
        "| bench | dtype | threads | size | ours | {} | speed-up vs faster peer |",
        peer_names.join(" | ")
    );
    println!(
        "|---|---|---|---|---|{}---|",
        "---|".repeat(peer_names.len())
    );
    for (row, peers) in &ours {
        let k = key(row);
        let Some(ours_t) = row["median_s"].as_f64() else {
            continue;
        };
        let best = peers.values().cloned().fold(f64::INFINITY, f64::min);
        let size = if k.7 > 0 {
            format!("N={}, M={}", row["N"], k.7)
        } else if k.6 > 0 {
            format!("B={}, n={}, k={}", k.4, k.5, k.6)
        } else if k.4 > 0 || k.5 > 0 {
            format!("B={}, n={}", k.4, k.5)
        } else {
            format!("N={}", row["N"])
        };
        let cells: Vec<String> = peer_names
            .iter()
            .map(|p| peers.get(p).map_or("–".into(), |&t| fmt(t)))
            .collect();
        let ratio = if best.is_finite() {
            format!("{:.2}×", best / ours_t)
        } else {
            "–".into()
        };
        println!(
            "| {} | {} | {} | {size} | {} | {} | {ratio} |",
            k.1,
            k.2,
            k.3,
            fmt(ours_t),
            cells.join(" | ")
        );
    }
    Ok(())
}
