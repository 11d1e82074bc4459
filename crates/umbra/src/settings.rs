//! Resolving the global flags and environment into what a command needs: which
//! repository, which password, and how to talk to the user.
//!
//! The password never comes from a command-line argument (it would show in `ps` and in
//! shell history). Its sources, first match wins: `--password-file`/`UMBRA_PASSWORD_FILE`,
//! `--password-command`/`UMBRA_PASSWORD_COMMAND`, `UMBRA_PASSWORD`, the job file's
//! `password_file` or `password_command`, restic's `RESTIC_PASSWORD_FILE`,
//! `RESTIC_PASSWORD_COMMAND` and `RESTIC_PASSWORD` (so that an existing restic setup works
//! unchanged), the default repository's password file, and a prompt when stdin is a
//! terminal. The repository, likewise: `-r`/`UMBRA_REPOSITORY`, the job file's, restic's
//! `RESTIC_REPOSITORY`/`RESTIC_REPOSITORY_FILE`, the default repository.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use umbra_core::{ErrorKind, Result, UmbraError};
use umbra_repo::RepoLocation;

use crate::cli::GlobalArgs;

/// Where the default repository and its password live for this user.
#[derive(Debug, Clone)]
pub struct DefaultRepo {
    pub location: RepoLocation,
    pub password_file: PathBuf,
}

fn is_root() -> bool {
    umbra_core::os::is_privileged()
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

impl DefaultRepo {
    /// root: `/var/lib/umbra/repo`, password in `/etc/umbra/repo.password`.
    /// Others: `$XDG_DATA_HOME/umbra/repo` and `$XDG_CONFIG_HOME/umbra/repo.password`.
    pub fn for_this_user() -> Result<Self> {
        let missing_home = || {
            UmbraError::new(
                ErrorKind::InvalidInput,
                "cannot find a place for the default repository: HOME is not set",
            )
            .with_hint("Set HOME, or name a repository with -r/--repo.")
        };
        let (data, config) = if let Some(dir) = umbra_core::os::windows_data_dir() {
            (dir.clone(), dir)
        } else if is_root() {
            (PathBuf::from("/var/lib/umbra"), PathBuf::from("/etc/umbra"))
        } else {
            let data = match std::env::var_os("XDG_DATA_HOME") {
                Some(d) => PathBuf::from(d),
                None => home().ok_or_else(missing_home)?.join(".local/share"),
            };
            let config = match std::env::var_os("XDG_CONFIG_HOME") {
                Some(d) => PathBuf::from(d),
                None => home().ok_or_else(missing_home)?.join(".config"),
            };
            (data.join("umbra"), config.join("umbra"))
        };
        Ok(Self {
            location: RepoLocation::local(data.join("repo")),
            password_file: config.join("repo.password"),
        })
    }

    /// Generates a password and writes it, mode 0600, to the password file. Refuses to
    /// overwrite an existing file: that password may protect a repository.
    pub fn create_password(&self) -> Result<String> {
        let mut bytes = [0u8; 24];
        rand::fill(&mut bytes[..]);
        let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if let Some(dir) = self.password_file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| UmbraError::io("cannot create", dir, e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.password_file).map_err(|e| {
            UmbraError::io("cannot create the password file", &self.password_file, e)
        })?;
        writeln!(file, "{password}")
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                UmbraError::io("cannot write the password file", &self.password_file, e)
            })?;
        Ok(password)
    }
}

/// Which repository a command works on.
#[derive(Debug, Clone)]
pub enum RepoChoice {
    Explicit(RepoLocation),
    Default(DefaultRepo),
}

impl RepoChoice {
    pub fn location(&self) -> &RepoLocation {
        match self {
            Self::Explicit(l) => l,
            Self::Default(d) => &d.location,
        }
    }
}

/// How much to tell the user, and in which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputMode {
    pub json: bool,
    /// -1 quiet, 0 normal, 1+ verbose.
    pub verbosity: i8,
    /// Progress bars: only on a terminal, and neither quiet nor JSON.
    pub progress: bool,
}

/// The resolved global settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub repo: RepoChoice,
    password_file: Option<PathBuf>,
    password_command: Option<String>,
    /// The job file's password source, used after the flags and environment.
    config_password_file: Option<PathBuf>,
    config_password_command: Option<String>,
    pub output: OutputMode,
    /// The job file: `-c`, or the default location.
    pub config_file: PathBuf,
    /// Read without taking a lock (`--no-lock`; read-only media).
    pub no_lock: bool,
    /// restic's `--host/--tag/--path` of the command, for `latest` and lists.
    pub filter: umbra_repo::snapshots::SnapshotFilter,
    /// Remove old caches of other repositories when a repository is opened.
    pub cleanup_cache: bool,
    /// The password once found: a run opens its repository more than once, and the user
    /// types it (or its command runs) only the first time.
    known_password: std::sync::OnceLock<String>,
}

impl Settings {
    /// Resolves the flags. With `read_config`, the job file (named with -c, or at its
    /// default place if it exists) supplies the repository when -r does not.
    pub fn resolve(args: &GlobalArgs, read_config: bool) -> Result<Self> {
        let config_file = match &args.config {
            Some(c) => c.clone(),
            None => umbra_jobs::config::default_path().unwrap_or_default(),
        };
        let mut config_password_file = None;
        let mut config_password_command = None;
        let mut from_config = None;
        if args.repo.is_none() && read_config && (args.config.is_some() || config_file.is_file()) {
            let config = umbra_jobs::Config::load(&config_file)?;
            if let Some(r) = config.repository {
                let location = location_of(&r)?;
                from_config = Some(RepoChoice::Explicit(location));
                config_password_file = r.password_file;
                config_password_command = r.password_command;
            }
        }
        let mut repo = match (&args.repo, from_config) {
            (Some(spec), _) => RepoChoice::Explicit(RepoLocation::parse(spec)?),
            (None, Some(choice)) => choice,
            (None, None) => match restic_repository()? {
                Some(spec) => RepoChoice::Explicit(RepoLocation::parse(&spec)?),
                None => RepoChoice::Default(DefaultRepo::for_this_user()?),
            },
        };
        for option in &args.options {
            let Some((key, value)) = option.split_once('=') else {
                return Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("-o {option}: expected KEY=VALUE"),
                )
                .with_hint("For example `-o rest.timeout=30s`."));
            };
            match &mut repo {
                RepoChoice::Explicit(location) => location.set_option(key, value)?,
                RepoChoice::Default(_) => {
                    return Err(UmbraError::new(
                        ErrorKind::InvalidInput,
                        format!("-o {key}: the default repository is a local directory; options are for remote ones"),
                    ))
                }
            }
        }
        umbra_repo::throttle::set_limits(umbra_repo::throttle::Limits {
            upload: args.limit_upload.map(|k| k * 1024),
            download: args.limit_download.map(|k| k * 1024),
        });
        if args.no_cache {
            umbra_repo::repo::set_cache(umbra_repo::repo::CacheChoice::None);
        } else if let Some(dir) = &args.cache_dir {
            umbra_repo::repo::set_cache(umbra_repo::repo::CacheChoice::Dir(dir.clone()));
        }
        let verbosity = if args.quiet {
            -1
        } else {
            i8::try_from(args.verbose).unwrap_or(i8::MAX)
        };
        let output = OutputMode {
            json: args.json,
            verbosity,
            progress: !args.json && verbosity >= 0 && std::io::stderr().is_terminal(),
        };
        Ok(Self {
            repo,
            password_file: args.password_file.clone(),
            password_command: args.password_command.clone(),
            config_password_file,
            config_password_command,
            output,
            config_file,
            no_lock: args.no_lock,
            filter: umbra_repo::snapshots::SnapshotFilter::default(),
            cleanup_cache: args.cleanup_cache,
            known_password: std::sync::OnceLock::new(),
        })
    }

    /// These settings, for a command with restic's `--host/--tag/--path`.
    #[must_use]
    pub fn with_filter(mut self, filter: umbra_repo::snapshots::SnapshotFilter) -> Self {
        self.filter = filter;
        self
    }

    /// The password, from the first source that has one. `None` when no source is set.
    pub fn password(&self) -> Result<Option<String>> {
        if let Some(file) = &self.password_file {
            return read_password_file(file).map(Some);
        }
        if let Some(command) = &self.password_command {
            return run_password_command(command).map(Some);
        }
        if let Ok(pw) = std::env::var("UMBRA_PASSWORD") {
            if pw.is_empty() {
                return Err(UmbraError::new(
                    ErrorKind::PasswordMissing,
                    "UMBRA_PASSWORD is set but empty: an empty password is not a password",
                )
                .with_hint(
                    "Set a password in UMBRA_PASSWORD, or unset it and use another source.",
                ));
            }
            return Ok(Some(pw));
        }
        if let Some(file) = &self.config_password_file {
            return read_password_file(file).map(Some);
        }
        if let Some(command) = &self.config_password_command {
            return run_password_command(command).map(Some);
        }
        // restic's own variables, for an existing restic setup.
        if let Some(file) = non_empty_var("RESTIC_PASSWORD_FILE") {
            return read_password_file(Path::new(&file)).map(Some);
        }
        if let Some(command) = non_empty_var("RESTIC_PASSWORD_COMMAND") {
            return run_password_command(&command).map(Some);
        }
        if let Some(pw) = non_empty_var("RESTIC_PASSWORD") {
            return Ok(Some(pw));
        }
        if let RepoChoice::Default(d) = &self.repo {
            if d.password_file.exists() {
                return read_password_file(&d.password_file).map(Some);
            }
        }
        Ok(None)
    }

    /// The password, asking on the terminal as a last resort.
    pub fn password_or_prompt(&self, prompt: &str) -> Result<String> {
        if let Some(pw) = self.known_password.get() {
            return Ok(pw.clone());
        }
        let pw = self.find_or_prompt(prompt)?;
        Ok(self.known_password.get_or_init(|| pw).clone())
    }

    fn find_or_prompt(&self, prompt: &str) -> Result<String> {
        if let Some(pw) = self.password()? {
            return Ok(pw);
        }
        let pw = prompt_password(prompt)?;
        if pw.is_empty() {
            return Err(UmbraError::new(
                ErrorKind::PasswordMissing,
                "an empty password is not a password",
            ));
        }
        Ok(pw)
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// restic's repository variables: `RESTIC_REPOSITORY`, else the first line of the file
/// `RESTIC_REPOSITORY_FILE` names.
fn restic_repository() -> Result<Option<String>> {
    if let Some(spec) = non_empty_var("RESTIC_REPOSITORY") {
        return Ok(Some(spec));
    }
    let Some(file) = non_empty_var("RESTIC_REPOSITORY_FILE") else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| UmbraError::io("cannot read RESTIC_REPOSITORY_FILE", Path::new(&file), e))?;
    Ok(text
        .lines()
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from))
}

/// Reads a password from a terminal; fails clearly when there is none.
pub fn prompt_password(prompt: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(UmbraError::new(
            ErrorKind::PasswordMissing,
            "no password given, and no terminal to ask for one",
        ));
    }
    rpassword::prompt_password(prompt).map_err(|e| {
        UmbraError::new(ErrorKind::Io, "cannot read the password from the terminal").with_source(e)
    })
}

pub fn read_password_file(path: &Path) -> Result<String> {
    warn_if_others_can_read(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        UmbraError::io("cannot read the password file", path, e)
            .with_hint("Check the path given with --password-file or UMBRA_PASSWORD_FILE.")
    })?;
    let pw = text.lines().next().unwrap_or_default().to_string();
    if pw.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::PasswordMissing,
            format!("the password file {} is empty", path.display()),
        )
        .with_hint("Put the password on the file's first line."));
    }
    Ok(pw)
}

/// Runs a password command (`--password-command`, `UMBRA_PASSWORD_COMMAND`, the job file's
/// `password_command` or `RESTIC_PASSWORD_COMMAND`); errors quote the command.
pub fn run_password_command(command: &str) -> Result<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            UmbraError::new(
                ErrorKind::Io,
                format!("cannot run the password command `{command}`"),
            )
            .with_source(e)
        })?;
    if !out.status.success() {
        return Err(UmbraError::new(
            ErrorKind::PasswordMissing,
            format!("the password command `{command}` failed ({})", out.status),
        )
        .with_hint("Run the command by hand to see why; it must print the password on stdout."));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let pw = text.lines().next().unwrap_or_default().to_string();
    if pw.is_empty() {
        return Err(UmbraError::new(
            ErrorKind::PasswordMissing,
            format!("the password command `{command}` printed no password"),
        ));
    }
    Ok(pw)
}

/// Warns (once per file) when a password file is readable by others, as ssh does for keys.
///
/// Windows: a file's readers are in its ACL, which umbra does not read yet; no warning.
#[cfg(windows)]
fn warn_if_others_can_read(_path: &Path) {}

#[cfg(unix)]
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    static WARNED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let Ok(m) = std::fs::metadata(path) else {
        return;
    };
    if m.mode() & 0o077 == 0 {
        return;
    }
    if let Ok(mut warned) = WARNED.lock() {
        if warned.iter().any(|p| p == path) {
            return;
        }
        warned.push(path.to_path_buf());
    }
    eprintln!(
        "warning: the password file {} can be read by other users (mode {:o}); anyone who \
         can read it can read every backup. Run `chmod 600 {}`.",
        path.display(),
        m.mode() & 0o7777,
        path.display()
    );
}

/// The location a job file's repository table names, with its options; errors point to
/// the file, line and key.
pub fn location_of(r: &umbra_jobs::config::RepositorySpec) -> Result<RepoLocation> {
    let mut location = RepoLocation::parse(&r.path).map_err(|e| {
        UmbraError::new(ErrorKind::Config, format!("{}: {}", r.origin, e.message()))
            .with_hint(e.hint().to_string())
    })?;
    for (key, value, at) in &r.options {
        location.set_option(key, value).map_err(|e| {
            UmbraError::new(ErrorKind::Config, format!("{at}: {}", e.message()))
                .with_hint(e.hint().to_string())
        })?;
    }
    Ok(location)
}
