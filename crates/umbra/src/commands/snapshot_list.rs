//! `snapshots`: the list, filtered, grouped (restic's `--group-by`), cut to the newest
//! (`--latest`), as a table or as restic's JSON.

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::SnapshotInfo;

use super::snapshots::{consistency_short, short_time};
use crate::output::Output;
use crate::settings::Settings;
use crate::Finished;

/// The newest `n` snapshots of each host and set of paths, in the list's own order (as
/// restic's `FilterLatestSnapshots` keeps them: the paths joined with commas).
fn latest_per_host_and_paths(snaps: Vec<SnapshotInfo>, n: usize) -> Vec<SnapshotInfo> {
    let key = |s: &SnapshotInfo| {
        let paths: Vec<String> = s.paths.iter().map(|p| p.display().to_string()).collect();
        format!("{}{}", s.hostname, paths.join(","))
    };
    // Times as instants (restic writes local offsets); ties keep the later one first.
    let at: Vec<Option<jiff::Timestamp>> = snaps.iter().map(|s| s.time.parse().ok()).collect();
    let mut newest_first: Vec<usize> = (0..snaps.len()).collect();
    newest_first.sort_by(|a, b| at[*b].cmp(&at[*a]).then(b.cmp(a)));
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut keep = vec![false; snaps.len()];
    for i in newest_first {
        let count = seen.entry(key(&snaps[i])).or_default();
        if *count < n {
            *count += 1;
            keep[i] = true;
        }
    }
    snaps
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

/// restic's `--group-by`: which of host, paths and tags make a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct GroupBy {
    host: bool,
    paths: bool,
    tags: bool,
}

impl GroupBy {
    fn parse(spec: &str) -> Result<Self> {
        let mut g = Self::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" | "hosts" => g.host = true,
                "path" | "paths" => g.paths = true,
                "tag" | "tags" => g.tags = true,
                other => return Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("--group-by {spec}: `{other}` is not something to group by"),
                )
                .with_hint(
                    "Group by host, paths and/or tags, comma-separated: `--group-by host,paths`.",
                )),
            }
        }
        Ok(g)
    }

    /// restic's group key: the chosen fields, the others empty; paths and tags sorted.
    fn key(self, s: &SnapshotInfo) -> serde_json::Value {
        let mut paths: Vec<String> = s.paths.iter().map(|p| p.display().to_string()).collect();
        paths.sort();
        let mut tags = s.tags.clone();
        tags.sort();
        serde_json::json!({
            "hostname": if self.host { s.hostname.clone() } else { String::new() },
            "paths": if self.paths { Some(paths) } else { None },
            "tags": if self.tags { Some(tags) } else { None },
        })
    }
}

/// The group's title, as restic prints it: `snapshots for (host [h], paths [/a, /b]):`.
fn group_title(key: &serde_json::Value) -> String {
    let list = |v: &serde_json::Value| {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let mut parts = Vec::new();
    if let Some(h) = key["hostname"].as_str().filter(|h| !h.is_empty()) {
        parts.push(format!("host [{h}]"));
    }
    if let Some(p) = list(&key["paths"]) {
        parts.push(format!("paths [{p}]"));
    }
    if let Some(t) = list(&key["tags"]) {
        parts.push(format!("tags [{t}]"));
    }
    format!("snapshots for ({}):", parts.join(", "))
}

pub fn list(
    filter: &umbra_repo::snapshots::SnapshotFilter,
    args: &crate::cli::SnapshotsArgs,
    settings: &Settings,
    out: &Output,
) -> Result<Finished> {
    let group_by = args.group_by.as_deref().map(GroupBy::parse).transpose()?;
    let repo = super::open(settings, super::read_lock(settings), out)?;
    let snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|s| filter.matches(s))
        .collect();
    // Groups in the order of their first snapshot; `--latest` applies within each, as
    // restic applies it.
    let mut groups: Vec<(serde_json::Value, Vec<SnapshotInfo>)> = Vec::new();
    for s in snaps {
        let key = group_by.map_or(serde_json::Value::Null, |g| g.key(&s));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(s),
            None => groups.push((key, vec![s])),
        }
    }
    if let Some(n) = args.latest {
        for (_, list) in &mut groups {
            *list = latest_per_host_and_paths(std::mem::take(list), n);
        }
    }
    if out.mode.json {
        let value = if group_by.is_some() {
            serde_json::Value::Array(
                groups
                    .iter()
                    .map(|(k, list)| serde_json::json!({ "group_key": k, "snapshots": list }))
                    .collect(),
            )
        } else {
            serde_json::to_value(groups.iter().flat_map(|(_, l)| l).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        out.json(&value);
        return Ok(Finished::Ok);
    }
    let mut total = 0;
    for (n, (key, list)) in groups.iter().enumerate() {
        if group_by.is_some() {
            if n > 0 {
                out.line("");
            }
            out.line(group_title(key));
        }
        snapshot_table(list, args.compact, out);
        if group_by.is_some() {
            out.line(format!("{} snapshot(s)", list.len()));
        }
        total += list.len();
    }
    if groups.is_empty() {
        snapshot_table(&[], args.compact, out);
    }
    out.summary(format!("{total} snapshot(s)"));
    Ok(Finished::Ok)
}

fn snapshot_table(snaps: &[SnapshotInfo], compact: bool, out: &Output) {
    if compact {
        out.line(format!(
            "{:<8}  {:<19}  {:<12}  {:<24}  Tags",
            "ID", "Time (UTC)", "Host", "Consistency"
        ));
    } else {
        out.line(format!(
            "{:<8}  {:<19}  {:<12}  {:<24}  {:<12}  {}",
            "ID", "Time (UTC)", "Host", "Consistency", "Tags", "Paths"
        ));
    }
    for s in snaps {
        let tags = s.tags.join(",");
        if compact {
            out.line(format!(
                "{:<8}  {:<19}  {:<12}  {:<24}  {tags}",
                s.short_id,
                short_time(&s.time),
                s.hostname,
                consistency_short(s),
            ));
            continue;
        }
        out.line(format!(
            "{:<8}  {:<19}  {:<12}  {:<24}  {:<12}  {}",
            s.short_id,
            short_time(&s.time),
            s.hostname,
            consistency_short(s),
            tags,
            s.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}
