//! SQLite: `PRAGMA integrity_check` and `PRAGMA foreign_key_check` on each restored
//! database, and the job's queries for it.
//!
//! The restored copy is opened read-write (it is a scratch copy): a database restored
//! with its `-wal` file needs that to replay the WAL, exactly as the application would on
//! its first open after a restore.

use std::path::Path;
use std::time::Instant;

use super::{original_path, CheckRecord, Prove, QueryRecord};

/// SQLite's 16-byte header.
pub const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// True when `path` starts with SQLite's header.
#[must_use]
pub fn is_database(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == HEADER
}

/// Proves one restored database.
pub fn prove(db: &Path, p: &Prove<'_>) -> CheckRecord {
    let t = Instant::now();
    let source = original_path(p.restored, db);
    let mut rec = CheckRecord::new(&source, "sqlite");
    let conn = match rusqlite::Connection::open(db) {
        Ok(c) => c,
        Err(e) => {
            rec.fail(format!("cannot open the restored database: {e}"));
            rec.seconds = t.elapsed().as_secs_f64();
            return rec;
        }
    };
    let rows = |sql: &str| -> Result<Vec<String>, String> {
        let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut cols = Vec::with_capacity(n);
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    cols.push(match v {
                        rusqlite::types::Value::Null => "NULL".to_string(),
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Real(f) => f.to_string(),
                        rusqlite::types::Value::Text(s) => s,
                        rusqlite::types::Value::Blob(b) => format!("<{} bytes>", b.len()),
                    });
                }
                Ok(cols.join("|"))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    };
    match rows("PRAGMA integrity_check") {
        Ok(r) if r == ["ok"] => rec.detail.push("integrity_check ok".into()),
        Ok(r) => {
            let problems: Vec<String> = r
                .iter()
                .flat_map(|row| row.lines())
                .map(str::to_string)
                .collect();
            rec.fail(format!(
                "integrity_check found {} problem(s), first: {}",
                problems.len(),
                problems.into_iter().take(3).collect::<Vec<_>>().join("; ")
            ));
        }
        Err(e) => rec.fail(format!("integrity_check could not run: {e}")),
    }
    match rows("PRAGMA foreign_key_check") {
        Ok(r) if r.is_empty() => rec.detail.push("foreign_key_check ok".into()),
        Ok(r) => rec.fail(format!(
            "foreign_key_check: {} violation(s), first: {}",
            r.len(),
            r[0]
        )),
        Err(e) => rec.fail(format!("foreign_key_check could not run: {e}")),
    }
    let file_name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (key, list) in p.queries {
        if *key != source && *key != file_name {
            continue;
        }
        p.matched(key);
        for sql in list {
            let q = match rows(sql) {
                Ok(r) => QueryRecord::result(key, sql, r.join("\n")),
                Err(e) => QueryRecord::error(key, sql, e),
            };
            rec.query(q);
        }
    }
    rec.seconds = t.elapsed().as_secs_f64();
    rec
}
