use super::*;
use crate::command::CommandLine;

fn err(text: &str) -> String {
    match Config::parse(Path::new("/etc/umbra/umbra.toml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.message().to_string(),
    }
}

const GOOD: &str = r#"
[repository]
path = "/backups/repo"
password_file = "/etc/umbra/password"

[jobs.db]
sources = [{ path = "/srv/pgdata", open_files = "required" }, "/etc"]
exclude = ["*.tmp"]
tags = ["db"]
schedule = "*-*-* 02:30:00"
keep = { daily = 7, weekly = 4, monthly = 12 }
hook_timeout = "2m"

[jobs.db.hooks]
before = ["systemctl stop postgresql"]
after_snapshot = [["systemctl", "start", "postgresql"]]
on_failure = [{ run = "logger -t umbra 'db backup failed'", timeout = 10, on_error = "ignore" }]
"#;

#[test]
fn the_example_loads() {
    let c = Config::parse(Path::new("/etc/umbra/umbra.toml"), GOOD).expect("valid");
    let db = c.job("db").expect("job db");
    assert_eq!(db.sources.len(), 2);
    assert_eq!(db.sources[0].open_files, OpenFiles::Required);
    assert_eq!(db.sources[1].open_files, OpenFiles::Auto);
    assert_eq!(db.hooks.before[0].on_error, OnError::Fail);
    assert_eq!(db.hooks.before[0].timeout, Duration::from_secs(120));
    assert_eq!(db.hooks.on_failure[0].timeout, Duration::from_secs(10));
    assert_eq!(db.hooks.on_failure[0].on_error, OnError::Ignore);
    assert!(matches!(db.hooks.on_failure[0].line, CommandLine::Shell(_)));
    assert_eq!(db.sources[0].origin.line, 7);
}

#[test]
fn unknown_key() {
    let text = GOOD.replace("after_snapshot =", "after_snapshto =");
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:16: jobs.db.hooks.after_snapshto: unknown key `after_snapshto`, expected one of `before`, `after_snapshot`, `after`, `on_failure`, `finally`"
    );
}

#[test]
fn wrong_type() {
    let text = GOOD.replace("daily = 7", "daily = \"7\"");
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:11: jobs.db.keep.daily: invalid type: string \"7\", expected a whole number"
    );
}

#[test]
fn bad_enum_value() {
    let text = GOOD.replace("\"required\"", "\"always\"");
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:7: jobs.db.sources[0].open_files: unknown variant `always`, expected one of `auto`, `required`, `off`"
    );
}

#[test]
fn bad_schedule() {
    let text = GOOD.replace("*-*-* 02:30:00", "daily 02:30");
    assert!(err(&text).starts_with(
        "/etc/umbra/umbra.toml:10: jobs.db.schedule: `daily 02:30` is not a systemd calendar expression: `daily` stands alone"
    ), "{}", err(&text));
}

#[test]
fn bad_duration() {
    let text = GOOD.replace("\"2m\"", "\"2 minutes\"");
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:12: jobs.db.hook_timeout: invalid value: string \"2 minutes\", expected a duration like \"30s\", \"5m\" or \"1h\" (or whole seconds)"
    );
}

#[test]
fn exclude_flags_of_restic_in_a_job() {
    let text = GOOD.replace(
        "exclude = [\"*.tmp\"]",
        "exclude = [\"*.tmp\"]\niexclude = [\"*.LOG\"]\nexclude_if_present = [\".nobackup\"]\nexclude_larger_than = \"2G\"",
    );
    let c = Config::parse(Path::new("/etc/umbra/umbra.toml"), &text).expect("valid");
    let db = c.job("db").expect("job db");
    assert_eq!(db.iexclude, vec!["*.LOG".to_string()]);
    assert_eq!(db.exclude_if_present, vec![".nobackup".to_string()]);
    assert_eq!(db.exclude_larger_than, Some(2 << 30));
    let text = text.replace("\"2G\"", "\"big\"");
    assert!(
        err(&text).starts_with(
            "/etc/umbra/umbra.toml:11: jobs.db.exclude_larger_than: `big` is not a size"
        ),
        "{}",
        err(&text)
    );
}

#[test]
fn missing_sources() {
    let text = GOOD.replace(
        "sources = [{ path = \"/srv/pgdata\", open_files = \"required\" }, \"/etc\"]",
        "",
    );
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:6: jobs.db: missing key `sources`"
    );
}

#[test]
fn relative_source() {
    let text = GOOD.replace("\"/etc\"]", "\"etc\"]");
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:7: jobs.db.sources[1]: the source etc is relative; expected an absolute path"
    );
}

#[test]
fn syntax_error() {
    let text = GOOD.replace("tags = [\"db\"]", "tags = [\"db\"");
    assert_eq!(err(&text), "/etc/umbra/umbra.toml:10: not valid TOML: missing comma between array elements, expected `,`");
}

#[test]
fn bad_job_name() {
    let text = GOOD
        .replace("[jobs.db]", "[jobs.\"my db\"]")
        .replace("[jobs.db.hooks]", "[jobs.\"my db\".hooks]");
    assert!(
        err(&text).starts_with("/etc/umbra/umbra.toml:6: jobs.my db: a job name may hold only"),
        "{}",
        err(&text)
    );
}

#[test]
fn empty_command() {
    let text = GOOD.replace(
        "after_snapshot = [[\"systemctl\", \"start\", \"postgresql\"]]",
        "after_snapshot = [[]]",
    );
    assert_eq!(
        err(&text),
        "/etc/umbra/umbra.toml:16: jobs.db.hooks.after_snapshot[0]: the argument array is empty; expected at least the program"
    );
}

#[test]
fn missing_paths_are_listed() {
    let c = Config::parse(Path::new("/etc/umbra/umbra.toml"), GOOD).expect("valid");
    let missing: Vec<String> = c
        .missing_paths()
        .iter()
        .map(|e| e.message().to_string())
        .collect();
    assert!(
        missing.contains(
            &"/etc/umbra/umbra.toml:7: jobs.db.sources[0]: the source /srv/pgdata does not exist; expected an existing path"
                .to_string()
        ),
        "{missing:?}"
    );
    assert!(!missing.iter().any(|m| m.contains("/etc does not exist")));
}

#[test]
fn quiescer_tables() {
    let base = "[jobs.db]\nsources = [\"/srv/db\"]\n\n[[jobs.db.quiesce]]\n";
    let ok = Config::parse(
        Path::new("/u.toml"),
        &format!("{base}type = \"postgres\"\nconnection = \"host=/run/postgresql\"\n"),
    )
    .expect("valid");
    assert!(matches!(
        ok.jobs["db"].quiesce[0].kind,
        QuiesceKind::Postgres { .. }
    ));
    assert!(
        ok.jobs["db"].quiesce[0].covers.is_empty(),
        "postgres names its own data directory"
    );
    assert_eq!(ok.jobs["db"].freeze_timeout, DEFAULT_FREEZE_TIMEOUT);
    assert_eq!(
        err(&format!("{base}type = \"command\"\nfreeze = \"app freeze\"\n")),
        "/etc/umbra/umbra.toml:4: jobs.db.quiesce[0]: a quiescer of type \"command\" needs `freeze` and `thaw`; `thaw` is missing"
    );
    assert_eq!(
        err(&format!("{base}type = \"sqlite\"\nconnection = \"x\"\n")),
        "/etc/umbra/umbra.toml:6: jobs.db.quiesce[0].connection: `connection` belongs to quiescers of type \"postgres\", not \"sqlite\""
    );
    assert_eq!(
        err(&format!("{base}type = \"oracle\"\n")),
        "/etc/umbra/umbra.toml:5: jobs.db.quiesce[0].type: unknown variant `oracle`, expected one of `command`, `sqlite`, `postgres`, `mysql`, `freeze`"
    );
}

#[test]
fn freeze_quiescer_tables() {
    let base = "[jobs.web]\nsources = [\"/srv/web\"]\n\n[[jobs.web.quiesce]]\ntype = \"freeze\"\n";
    let ok = Config::parse(
        Path::new("/u.toml"),
        &format!("{base}unit = \"nginx.service\"\ncontainer = [\"db\", \"cache\"]\ncgroup = \"/sys/fs/cgroup/app\"\n"),
    )
    .expect("valid");
    let q = &ok.jobs["web"].quiesce[0];
    let QuiesceKind::Freeze(t) = &q.kind else {
        panic!("a freeze quiescer: {:?}", q.kind);
    };
    assert_eq!(t.units, ["nginx.service"]);
    assert_eq!(t.containers, ["db", "cache"]);
    assert_eq!(t.cgroups, [Path::new("/sys/fs/cgroup/app")]);
    assert_eq!(
        q.covers,
        [Path::new("/srv/web")],
        "all the sources by default"
    );
    assert_eq!(q.name, "freeze-1");
    assert_eq!(
        err(base),
        "/etc/umbra/umbra.toml:4: jobs.web.quiesce[0]: a quiescer of type \"freeze\" needs what to freeze: `unit`, `container` or `cgroup`"
    );
    assert_eq!(
        err(&format!("{base}cgroup = \"app\"\n")),
        "/etc/umbra/umbra.toml:6: jobs.web.quiesce[0].cgroup: app is relative; expected an absolute path"
    );
    assert_eq!(
        err(&base.replace("freeze", "command").replace("type = \"command\"\n", "type = \"command\"\nunit = \"x.service\"\n")),
        "/etc/umbra/umbra.toml:6: jobs.web.quiesce[0].unit: `unit` belongs to quiescers of type \"freeze\", not \"command\""
    );
}

#[test]
fn chunking_and_keep_base_per_job_and_per_source() {
    let text = GOOD.replace(
        "exclude = [\"*.tmp\"]",
        "exclude = [\"*.tmp\"]\nchunking = \"fixed:128KiB\"\nkeep_base = \"never\"",
    );
    let text = text.replace(
        "{ path = \"/srv/pgdata\", open_files = \"required\" }",
        "{ path = \"/srv/pgdata\", open_files = \"required\", chunking = \"content\" }",
    );
    let c = Config::parse(Path::new("/etc/umbra/umbra.toml"), &text).expect("valid");
    let db = c.job("db").expect("job db");
    assert_eq!(db.sources[0].chunking, Chunking::Content);
    assert_eq!(db.sources[1].chunking, Chunking::Fixed(128 << 10));
    assert_eq!(db.keep_base, KeepBase::Never);
    let defaults = Config::parse(Path::new("/etc/umbra/umbra.toml"), GOOD).expect("valid");
    let db = defaults.job("db").expect("job db");
    assert_eq!(db.sources[0].chunking, Chunking::Auto);
    assert_eq!(db.keep_base, KeepBase::Auto);

    let bad = text.replace("\"fixed:128KiB\"", "\"fixed:100\"");
    assert!(
        err(&bad).starts_with(
            "/etc/umbra/umbra.toml:9: jobs.db.chunking: `fixed:100` is not a chunking policy"
        ),
        "{}",
        err(&bad)
    );
    let bad = text.replace("chunking = \"content\"", "chunking = \"rabin\"");
    assert!(
        err(&bad).contains("jobs.db.sources[0].chunking: `rabin` is not a chunking policy"),
        "{}",
        err(&bad)
    );
    let bad = text.replace("\"never\"", "\"sometimes\"");
    assert!(
        err(&bad).starts_with(
            "/etc/umbra/umbra.toml:10: jobs.db.keep_base: `sometimes` is not a keep_base policy"
        ),
        "{}",
        err(&bad)
    );
}

#[test]
fn notify_targets_merge_file_and_job_tables() {
    let text = r#"
[notify]
ntfy = "https://ntfy.example.org/all"
webhook = "https://ops.example.org/all"

[metrics]
textfile = "umbra.prom"

[jobs.db]
sources = ["/srv/db"]
max_age = "26h"

[jobs.db.notify]
healthchecks = "https://hc-ping.com/0f4c5d1e"
ntfy = { url = "https://ntfy.example.org/db", on = ["failure"] }

[jobs.etc]
sources = ["/etc"]
"#;
    let c = Config::parse(Path::new("/etc/umbra/umbra.toml"), text).expect("valid");
    let db = c.job("db").expect("db");
    let labels: Vec<String> = db.notify.iter().map(NotifySpec::label).collect();
    // The job's ntfy replaces the file's; the file's webhook stays.
    assert_eq!(
        labels,
        [
            "webhook https://ops.example.org/all",
            "healthchecks https://hc-ping.com/0f4c…",
            "ntfy https://ntfy.example.org/db"
        ]
    );
    use umbra_notify::EventKind as E;
    assert_eq!(db.notify[0].on, [E::Failure, E::Warning]);
    assert_eq!(
        db.notify[1].on,
        [E::Start, E::Success, E::Warning, E::Failure]
    );
    assert_eq!(db.notify[2].on, [E::Failure]);
    assert_eq!(db.max_age, Some(Duration::from_secs(26 * 3600)));
    assert_eq!(c.job("etc").expect("etc").notify.len(), 2);
    assert_eq!(
        c.metrics_textfile.as_deref(),
        Some(Path::new("/etc/umbra/umbra.prom"))
    );
    // A URL that is not http(s) is refused, and shown redacted.
    let e = err("[jobs.a]\nsources = [\"/a\"]\nnotify = { ntfy = \"ftp://h/secret-topic\" }\n");
    assert!(
        e.contains("jobs.a.notify.ntfy") && e.contains("ftp://h/secr…"),
        "{e}"
    );
    assert!(!e.contains("secret-topic"), "{e}");
}

#[test]
fn threads_caps_the_readers_and_zero_is_refused() {
    let c = Config::parse(
        Path::new("/etc/umbra/umbra.toml"),
        "[jobs.a]\nsources = [\"/a\"]\nthreads = 2\n",
    )
    .expect("valid");
    assert_eq!(c.job("a").expect("a").threads, Some(2));
    let e = err("[jobs.a]\nsources = [\"/a\"]\nthreads = 0\n");
    assert!(e.contains("umbra.toml:3: jobs.a.threads"), "{e}");
}

#[test]
fn resources_default_to_low_and_bad_values_name_their_line() {
    use crate::priority::Priority;
    let c = Config::parse(
        Path::new("/etc/umbra/umbra.toml"),
        "[jobs.a]\nsources = [\"/a\"]\n[jobs.b]\nsources = [\"/b\"]\npriority = \"normal\"\nlimit_read = 0.5\n\
         [jobs.b.systemd]\nCPUQuota = \"50%\"\nMemoryMax = \"2G\"\nRemainAfterExit = false\n",
    )
    .expect("valid");
    let a = &c.job("a").expect("a").resources;
    assert_eq!((a.priority, a.limit_read), (Priority::Low, None));
    let b = &c.job("b").expect("b").resources;
    assert_eq!(
        (b.priority, b.limit_read),
        (Priority::Normal, Some(500_000))
    );
    assert_eq!(
        b.systemd,
        [
            ("CPUQuota".to_string(), "50%".to_string()),
            ("MemoryMax".to_string(), "2G".to_string()),
            ("RemainAfterExit".to_string(), "no".to_string()),
        ]
    );
    let e = err("[jobs.a]\nsources = [\"/a\"]\npriority = \"idle\"\n");
    assert!(
        e.starts_with("/etc/umbra/umbra.toml:3: jobs.a.priority: `idle` is not a priority"),
        "{e}"
    );
    let e = err("[jobs.a]\nsources = [\"/a\"]\nlimit_read = 0\n");
    assert!(e.contains("umbra.toml:3: jobs.a.limit_read"), "{e}");
    let e = err("[jobs.a]\nsources = [\"/a\"]\n[jobs.a.systemd]\nExecStart = \"/bin/sh\"\n");
    assert!(
        e.contains("umbra.toml:4: jobs.a.systemd.ExecStart: umbra writes `ExecStart=` itself"),
        "{e}"
    );
    let e = err("[jobs.a]\nsources = [\"/a\"]\n[jobs.a.systemd]\n\"Bad Key\" = \"x\"\n");
    assert!(e.contains("is not a systemd setting name"), "{e}");
}

#[test]
fn compression_is_auto_unless_named_and_a_bad_one_names_its_line() {
    use umbra_repo::compression::Compression;
    let c = Config::parse(
        Path::new("/etc/umbra/umbra.toml"),
        "[jobs.a]\nsources = [\"/a\"]\n[jobs.b]\nsources = [\"/b\"]\ncompression = \"max\"\n\
         [jobs.c]\nsources = [\"/c\"]\ncompression = \"7\"\n",
    )
    .expect("valid");
    let level = |job: &str| c.job(job).expect(job).resources.compression;
    assert_eq!(level("a"), Compression::Auto);
    assert_eq!(level("b"), Compression::Max);
    assert_eq!(level("c"), Compression::Level(7));
    let e = err("[jobs.a]\nsources = [\"/a\"]\ncompression = \"zip\"\n");
    assert!(
        e.starts_with("/etc/umbra/umbra.toml:3: jobs.a.compression: `zip` is not a compression"),
        "{e}"
    );
}
