//! The pieces every page shares: the layout, consistency badges (a colour and a word,
//! never colour alone), figures in words, and the per-job chart drawn as inline SVG by
//! the server (no script, no chart library).

use maud::{html, Markup, PreEscaped, DOCTYPE};
use umbra_jobs::state::RunRecord;

/// A whole page. `csrf` goes into a meta tag for the console's script.
pub fn page(title: &str, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(token) = csrf { meta name="csrf-token" content=(token); }
                title { (title) " · umbra" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "umbra" }
                    nav {
                        a href="/" { "Jobs" }
                        a href="/snapshots" { "Snapshots" }
                        a href="/diff" { "Diff" }
                        a href="/health" { "Repository" }
                        a href="/tasks" { "Console tasks" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A consistency level as a badge: its word, coloured by how good it is.
pub fn level_badge(level: &str) -> Markup {
    let class = match level {
        "app-consistent" | "writers-frozen" => "good",
        "volume-snapshot" | "file-atomic" => "fair",
        "direct-unchanged" | "stream" => "weak",
        "changed-while-read" => "bad",
        _ => "none",
    };
    html! { span class={"badge " (class)} title=(describe_level(level)) { (level) } }
}

/// What a level means, for the badge's title.
fn describe_level(level: &str) -> &'static str {
    match level {
        "app-consistent" => "applications were brought to a consistent point for the snapshot",
        "writers-frozen" => "every writer was held still while the files were captured",
        "volume-snapshot" => "the whole volume was captured at one instant (crash-consistent)",
        "file-atomic" => "each file was captured at one instant, not all at the same one",
        "direct-unchanged" => "read live; no file changed while it was read",
        "stream" => "a stream, stored as its writer wrote it",
        "changed-while-read" => "read live, and files changed while they were read",
        _ => "no consistency record (written by another program)",
    }
}

/// A run's result as a badge.
pub fn status_badge(status: &str) -> Markup {
    let class = match status {
        "success" => "good",
        "incomplete" | "running" => "fair",
        _ => "bad",
    };
    html! { span class={"badge " (class)} { (status) } }
}

pub fn bytes(n: u64) -> String {
    umbra_core::units::human_bytes(n)
}

pub fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

/// A time stamp as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn when(ts: &str) -> String {
    ts.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ts.to_string())
}

/// Duration, bytes added and downtime of the last runs (oldest left), as three small
/// bar charts in one SVG.
pub fn chart(runs: &[RunRecord]) -> Markup {
    let runs: Vec<&RunRecord> = runs.iter().rev().collect();
    if runs.is_empty() {
        return html! {};
    }
    type Series<'a> = (&'a str, Vec<f64>, fn(f64) -> String);
    let series: [Series; 3] = [
        (
            "duration",
            runs.iter().map(|r| r.seconds).collect(),
            seconds,
        ),
        (
            "bytes added",
            runs.iter()
                .map(|r| r.backup.as_ref().map_or(0.0, |b| b.bytes_added as f64))
                .collect(),
            |v| bytes(v as u64),
        ),
        (
            "downtime",
            runs.iter()
                .map(|r| r.downtime_seconds.unwrap_or(0.0))
                .collect(),
            seconds,
        ),
    ];
    let (w, h, gap) = (300.0, 40.0, 18.0);
    let mut svg = String::new();
    let total_h = 3.0 * (h + gap);
    svg.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {total_h}\" width=\"{w}\" height=\"{total_h}\" role=\"img\" aria-label=\"last runs\">"
    ));
    for (i, (name, values, fmt)) in series.iter().enumerate() {
        let top = i as f64 * (h + gap);
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        // Slots for the most runs shown, so that one run is one thin bar, not a block.
        let bar_w = w / values.len().max(crate::jobs::RUNS_SHOWN) as f64;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" class=\"label\">{name}: max {}</text>",
            top + 11.0,
            escape(&fmt(max))
        ));
        for (j, v) in values.iter().enumerate() {
            let bh = if max > 0.0 {
                (v / max) * (h - 2.0)
            } else {
                0.0
            };
            let status = runs[j].status.as_str();
            let class = if status == "success" { "ok" } else { "ko" };
            svg.push_str(&format!(
                "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {}</title></rect>",
                j as f64 * bar_w + 1.0,
                top + 14.0 + (h - bh),
                (bar_w - 2.0).max(1.0),
                bh.max(1.0),
                escape(&runs[j].started),
                escape(&fmt(*v)),
            ));
        }
    }
    svg.push_str("</svg>");
    html! { (PreEscaped(svg)) }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A URL query value, percent-encoded.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An error as a page section.
pub fn error_box(err: &umbra_core::UmbraError) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { "Error: " } (err.message()) }
            @if !err.hint().is_empty() { p.hint { (err.hint()) } }
        }
    }
}
