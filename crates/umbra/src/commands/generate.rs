//! `generate`: shell completions and man pages from the command line's own definition, so
//! they cannot drift from it (a test compares the copies in `contrib/` with a fresh run).

use std::path::Path;

use clap::CommandFactory;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::cli::Cli;
use crate::output::Output;
use crate::Finished;

pub fn run(completions: Option<&Path>, man: Option<&Path>, out: &Output) -> Result<Finished> {
    if completions.is_none() && man.is_none() {
        return Err(crate::invalid("nothing to generate")
            .with_hint("Give --completions-dir DIR, --man-dir DIR, or both."));
    }
    if let Some(dir) = completions {
        create(dir)?;
        for (shell, name) in [
            (clap_complete::Shell::Bash, "umbra.bash"),
            (clap_complete::Shell::Zsh, "_umbra"),
            (clap_complete::Shell::Fish, "umbra.fish"),
        ] {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "umbra", &mut text);
            write(&dir.join(name), &text)?;
        }
        out.line(format!(
            "wrote completions for bash, zsh and fish to {}",
            dir.display()
        ));
    }
    if let Some(dir) = man {
        create(dir)?;
        let mut n = 0;
        let cmd = Cli::command();
        write_man(&cmd, "umbra", dir, &mut n)?;
        out.line(format!("wrote {n} man page(s) to {}", dir.display()));
    }
    Ok(Finished::Ok)
}

/// The page of `cmd` (named `name`) and of each of its subcommands, recursively.
fn write_man(cmd: &clap::Command, name: &str, dir: &Path, n: &mut usize) -> Result<()> {
    let cmd = cmd.clone().name(name.to_string());
    let mut text = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut text)
        .map_err(|e| UmbraError::new(ErrorKind::Io, "cannot render a man page").with_source(e))?;
    write(&dir.join(format!("{name}.1")), &text)?;
    *n += 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_man(sub, &format!("{name}-{}", sub.get_name()), dir, n)?;
    }
    Ok(())
}

fn create(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| UmbraError::io("cannot create", dir, e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| UmbraError::io("cannot write", path, e))
}
