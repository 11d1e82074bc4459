//! `[[jobs.NAME.quiesce]]` tables: each type takes its own keys, and a key of another
//! type is an error that says which type it belongs to.

use std::path::PathBuf;
use std::time::Duration;

use umbra_core::Result;

use super::locate::{KeyPath, Locator};
use super::raw::{self, RawCommand, RawQuiesce};
use super::{absolute, commands, CommandDefaults, Origin};
use crate::command::HookCommand;
use crate::quiesce::mysql::MysqlConnection;

/// One quiescer of a job.
#[derive(Debug, Clone)]
pub struct QuiesceSpec {
    pub name: String,
    pub covers: Vec<PathBuf>,
    pub kind: QuiesceKind,
    pub origin: Origin,
}

/// The commands of a `command` quiescer.
#[derive(Debug, Clone)]
pub struct CommandSteps {
    pub prepare: Option<HookCommand>,
    pub freeze: HookCommand,
    pub thaw: HookCommand,
    pub finish: Option<HookCommand>,
}

/// A quiescer's type, with what only that type has.
#[derive(Debug, Clone)]
pub enum QuiesceKind {
    /// The user's own freeze and thaw commands.
    Command(Box<CommandSteps>),
    /// SQLite databases: listed, or found under `covers` by their header.
    Sqlite { databases: Vec<PathBuf> },
    /// A PostgreSQL server, reached with a libpq connection string.
    Postgres {
        connection: String,
        os_user: Option<String>,
        password_file: Option<PathBuf>,
    },
    /// A MariaDB or MySQL server, reached with the client's options.
    Mysql(crate::quiesce::mysql::MysqlConnection),
    /// Services, containers or cgroups held still by the cgroup freezer.
    Freeze(crate::quiesce::FreezeTargets),
}

/// The default bound on the freeze window.
pub const DEFAULT_FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

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
    use raw::RawQuiesceKind as K;
    let type_name = match q.kind {
        K::Command => "command",
        K::Sqlite => "sqlite",
        K::Postgres => "postgres",
        K::Mysql => "mysql",
        K::Freeze => "freeze",
    };
    // Each type's own keys; a key set for another type is named, with its owner.
    let owned: [(&str, bool, &[&str]); 15] = [
        ("unit", q.unit.is_some(), &["freeze"]),
        ("container", q.container.is_some(), &["freeze"]),
        ("cgroup", q.cgroup.is_some(), &["freeze"]),
        ("prepare", q.prepare.is_some(), &["command"]),
        ("freeze", q.freeze.is_some(), &["command"]),
        ("thaw", q.thaw.is_some(), &["command"]),
        ("finish", q.finish.is_some(), &["command"]),
        ("databases", q.databases.is_some(), &["sqlite"]),
        ("connection", q.connection.is_some(), &["postgres"]),
        ("os_user", q.os_user.is_some(), &["postgres"]),
        ("password_file", q.password_file.is_some(), &["postgres"]),
        ("socket", q.socket.is_some(), &["mysql"]),
        ("host", q.host.is_some(), &["mysql"]),
        ("port", q.port.is_some(), &["mysql"]),
        (
            "user",
            q.user.is_some() || q.defaults_file.is_some(),
            &["mysql"],
        ),
    ];
    if let Some((key, _, owners)) = owned
        .iter()
        .find(|(_, set, owners)| *set && !owners.contains(&type_name))
    {
        let key = if *key == "user" && q.user.is_none() {
            "defaults_file"
        } else {
            key
        };
        return Err(loc.error(
            &at.key(key),
            format!(
                "`{key}` belongs to quiescers of type \"{}\", not \"{type_name}\"",
                owners[0]
            ),
        ));
    }
    // Database servers cover their data directory, which they name once connected.
    let server = matches!(q.kind, K::Postgres | K::Mysql);
    let covers = q
        .covers
        .unwrap_or_else(|| if server { Vec::new() } else { sources.to_vec() });
    for (key, paths) in [
        ("covers", &covers),
        ("databases", &q.databases.clone().unwrap_or_default()),
    ] {
        if let Some(rel) = paths.iter().find(|p| !p.is_absolute()) {
            return Err(loc.error(
                &at.key(key),
                format!("{} is relative; expected an absolute path", rel.display()),
            ));
        }
    }
    let name = q
        .name
        .unwrap_or_else(|| format!("{type_name}-{}", index + 1));
    let kind = match q.kind {
        K::Freeze => {
            let targets = crate::quiesce::FreezeTargets {
                units: q.unit.map(raw::OneOrMany::into_vec).unwrap_or_default(),
                containers: q
                    .container
                    .map(raw::OneOrMany::into_vec)
                    .unwrap_or_default(),
                cgroups: q.cgroup.map(raw::OneOrMany::into_vec).unwrap_or_default(),
            };
            if targets == crate::quiesce::FreezeTargets::default() {
                return Err(loc.error(
                    at,
                    "a quiescer of type \"freeze\" needs what to freeze: `unit`, `container` or `cgroup`",
                ));
            }
            if let Some(rel) = targets.cgroups.iter().find(|p| !p.is_absolute()) {
                return Err(loc.error(
                    &at.key("cgroup"),
                    format!("{} is relative; expected an absolute path", rel.display()),
                ));
            }
            if cfg!(windows) {
                return Err(loc.error(
                    at,
                    "a quiescer of type \"freeze\" freezes Linux cgroups, which Windows does not have",
                )
                .with_hint(
                    "On Windows, stop and start the service with a quiescer of type \"command\" \
                     (`freeze = \"net stop NAME\"`, `thaw = \"net start NAME\"`).",
                ));
            }
            QuiesceKind::Freeze(targets)
        }
        K::Sqlite => QuiesceKind::Sqlite {
            databases: q.databases.unwrap_or_default(),
        },
        K::Postgres => QuiesceKind::Postgres {
            connection: q.connection.unwrap_or_else(|| "dbname=postgres".into()),
            os_user: q.os_user,
            password_file: q.password_file.map(|p| absolute(d.base, &p)),
        },
        K::Mysql => QuiesceKind::Mysql(MysqlConnection {
            socket: q.socket.map(|p| absolute(d.base, &p)),
            host: q.host,
            port: q.port,
            user: q.user,
            defaults_file: q.defaults_file.map(|p| absolute(d.base, &p)),
        }),
        K::Command => {
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
            QuiesceKind::Command(Box::new(CommandSteps {
                prepare: one_command(q.prepare, &at.key("prepare"), d, loc)?,
                freeze,
                thaw,
                finish: one_command(q.finish, &at.key("finish"), d, loc)?,
            }))
        }
    };
    Ok(QuiesceSpec {
        name,
        covers,
        kind,
        origin: loc.origin(at),
    })
}
