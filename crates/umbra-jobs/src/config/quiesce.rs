//! `[[jobs.NAME.quiesce]]` tables: each type takes its own keys, and a key of another
//! type is an error that says which type it belongs to.

use std::path::PathBuf;

use umbra_core::Result;

use super::locate::{KeyPath, Locator};
use super::raw::{self, RawCommand, RawQuiesce};
use super::{absolute, commands, CommandDefaults, CommandSteps, QuiesceKind, QuiesceSpec};
use crate::command::HookCommand;

fn one_command(
    raw: Option<RawCommand>,
    at: &KeyPath,
    d: &CommandDefaults<'_>,
    loc: &Locator<'_>,
) -> Result<Option<HookCommand>> {
    Ok(match raw {
        None => None,
        Some(c) => commands(vec![c], at, d, loc)?.pop(),
    })
}

pub(super) fn resolve(
    q: RawQuiesce,
    index: usize,
    at: &KeyPath,
    sources: &[PathBuf],
    d: &CommandDefaults<'_>,
    loc: &Locator<'_>,
) -> Result<QuiesceSpec> {
    let postgres = matches!(q.kind, raw::RawQuiesceKind::Postgres);
    // PostgreSQL covers its data directory, which it names itself when connected.
    let covers = q.covers.unwrap_or_else(|| {
        if postgres {
            Vec::new()
        } else {
            sources.to_vec()
        }
    });
    if let Some(rel) = covers.iter().find(|p| !p.is_absolute()) {
        return Err(loc.error(
            &at.key("covers"),
            format!("{} is relative; expected an absolute path", rel.display()),
        ));
    }
    let pg_only = [
        ("connection", q.connection.is_some()),
        ("os_user", q.os_user.is_some()),
        ("password_file", q.password_file.is_some()),
    ];
    if postgres {
        if let Some(key) = [
            ("prepare", q.prepare.is_some()),
            ("freeze", q.freeze.is_some()),
            ("thaw", q.thaw.is_some()),
            ("finish", q.finish.is_some()),
            ("databases", q.databases.is_some()),
        ]
        .iter()
        .find_map(|(k, set)| set.then_some(*k))
        {
            return Err(loc.error(
                &at.key(key),
                "type \"postgres\" takes `connection`, `os_user`, `password_file` and `covers`",
            ));
        }
        return Ok(QuiesceSpec {
            name: q.name.unwrap_or_else(|| format!("postgres-{}", index + 1)),
            covers,
            kind: QuiesceKind::Postgres {
                connection: q.connection.unwrap_or_else(|| "dbname=postgres".into()),
                os_user: q.os_user,
                password_file: q.password_file.map(|p| absolute(d.base, &p)),
            },
            origin: loc.origin(at),
        });
    }
    if let Some((key, _)) = pg_only.iter().find(|(_, set)| *set) {
        return Err(loc.error(
            &at.key(key),
            format!("`{key}` belongs to quiescers of type \"postgres\""),
        ));
    }
    if let raw::RawQuiesceKind::Sqlite = q.kind {
        let databases = q.databases.unwrap_or_default();
        if let Some(rel) = databases.iter().find(|p| !p.is_absolute()) {
            return Err(loc.error(
                &at.key("databases"),
                format!("{} is relative; expected an absolute path", rel.display()),
            ));
        }
        for key in ["prepare", "freeze", "thaw", "finish"] {
            let set = match key {
                "prepare" => q.prepare.is_some(),
                "freeze" => q.freeze.is_some(),
                "thaw" => q.thaw.is_some(),
                _ => q.finish.is_some(),
            };
            if set {
                return Err(loc.error(
                    &at.key(key),
                    "commands belong to quiescers of type \"command\"; type \"sqlite\" takes `databases` and `covers`",
                ));
            }
        }
        return Ok(QuiesceSpec {
            name: q.name.unwrap_or_else(|| format!("sqlite-{}", index + 1)),
            covers,
            kind: QuiesceKind::Sqlite { databases },
            origin: loc.origin(at),
        });
    }
    if q.databases.is_some() {
        return Err(loc.error(
            &at.key("databases"),
            "`databases` belongs to quiescers of type \"sqlite\"",
        ));
    }
    let need = |c: Option<HookCommand>, key: &str| {
        c.ok_or_else(|| {
            loc.error(
                at,
                format!(
                    "a quiescer of type \"command\" needs `freeze` and `thaw`; `{key}` is missing"
                ),
            )
        })
    };
    let freeze = need(one_command(q.freeze, &at.key("freeze"), d, loc)?, "freeze")?;
    let thaw = need(one_command(q.thaw, &at.key("thaw"), d, loc)?, "thaw")?;
    Ok(QuiesceSpec {
        name: q.name.unwrap_or_else(|| format!("command-{}", index + 1)),
        covers,
        kind: QuiesceKind::Command(Box::new(CommandSteps {
            prepare: one_command(q.prepare, &at.key("prepare"), d, loc)?,
            freeze,
            thaw,
            finish: one_command(q.finish, &at.key("finish"), d, loc)?,
        })),
        origin: loc.origin(at),
    })
}
