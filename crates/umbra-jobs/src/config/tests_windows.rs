//! Job files as Windows users write them: drive-letter paths, `cmd` strings, and the
//! quiescers Windows can run.

use super::*;
use crate::command::CommandLine;

const FILE: &str = r"C:\ProgramData\umbra\umbra.toml";

const GOOD: &str = r#"
[repository]
path = 'D:\backups\repo'
password_file = 'C:\ProgramData\umbra\repo.password'

[jobs.db]
sources = [{ path = 'C:\srv\pgdata', open_files = "required", snapshot = "vss" }, 'C:\Users\app']

[jobs.db.hooks]
before = ["net stop postgresql-x64-16"]
after_snapshot = [["net", "start", "postgresql-x64-16"]]
"#;

#[test]
fn a_windows_job_file_loads_with_its_drive_paths_and_cmd_strings() {
    let c = Config::parse(Path::new(FILE), GOOD).expect("valid");
    let db = c.job("db").expect("job db");
    assert_eq!(db.sources.len(), 2);
    assert_eq!(db.sources[0].path, PathBuf::from(r"C:\srv\pgdata"));
    assert_eq!(db.sources[0].open_files, OpenFiles::Required);
    assert_eq!(db.sources[0].snapshot, Some(Method::Vss));
    assert!(matches!(
        db.hooks.before[0].line,
        CommandLine::Shell(ref s) if s == "net stop postgresql-x64-16"
    ));
    assert!(matches!(
        db.hooks.after_snapshot[0].line,
        CommandLine::Argv(_)
    ));
}

#[test]
fn a_freeze_quiescer_is_refused_with_what_to_use_instead() {
    let text = format!("{GOOD}\n[[jobs.db.quiesce]]\ntype = \"freeze\"\nunit = \"postgresql\"\n");
    let e = Config::parse(Path::new(FILE), &text)
        .err()
        .expect("refused");
    assert!(e.message().contains("Linux cgroups"), "{}", e.message());
    assert!(
        e.message().contains("umbra.toml:"),
        "names the file and line: {}",
        e.message()
    );
    assert!(e.hint().contains("net stop"), "{}", e.hint());
}

#[test]
fn a_relative_source_is_refused() {
    let text = GOOD.replace(r"'C:\Users\app'", r"'Users\app'");
    let e = Config::parse(Path::new(FILE), &text)
        .err()
        .expect("refused");
    assert!(e.message().contains("relative"), "{}", e.message());
}
