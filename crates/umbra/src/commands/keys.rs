//! `umbra key add|list|remove`.

use umbra_core::Result;
use umbra_repo::lock::LockKind;

use crate::cli::KeyCommand;
use crate::output::Output;
use crate::settings::{prompt_password, read_password_file, Settings};
use crate::Finished;

pub fn run(command: KeyCommand, settings: &Settings, out: &Output) -> Result<Finished> {
    match command {
        KeyCommand::Add { new_password_file } => {
            let new = match new_password_file {
                Some(f) => read_password_file(&f)?,
                None => {
                    let a = prompt_password("new password: ")?;
                    if a != prompt_password("repeat the new password: ")? {
                        return Err(crate::invalid("the two passwords differ"));
                    }
                    a
                }
            };
            let repo = super::open(settings, Some(LockKind::Shared), out)?;
            let id = repo.add_key(&new)?;
            out.summary(format!("added key {}", &id[..8]));
            out.json(&serde_json::json!({"message_type": "key_added", "id": id}));
        }
        KeyCommand::List => {
            let repo = super::open(settings, Some(LockKind::Shared), out)?;
            let keys = repo.keys()?;
            if out.mode.json {
                out.json(&serde_json::to_value(&keys).unwrap_or_default());
            } else {
                out.line(format!(
                    " {:<8}  {:<12}  {:<16}  {}",
                    "ID", "User", "Host", "Created"
                ));
                for k in keys {
                    out.line(format!(
                        "{}{:<8}  {:<12}  {:<16}  {}",
                        if k.current { "*" } else { " " },
                        &k.id[..8],
                        k.username.unwrap_or_default(),
                        k.hostname.unwrap_or_default(),
                        k.created.unwrap_or_default()
                    ));
                }
            }
        }
        KeyCommand::Remove { id } => {
            let repo = super::open(settings, Some(LockKind::Exclusive), out)?;
            let removed = repo.remove_key(&id)?;
            out.summary(format!("removed key {}", &removed[..8]));
        }
    }
    Ok(Finished::Ok)
}
