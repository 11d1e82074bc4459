//! `umbra serve` and `umbra daemon --web`: the web console (crate `umbra-web`, behind the
//! default-on `web` feature). This module resolves the command line into the console's
//! options (where to listen, how to open the repository, how to start `umbra` for runs
//! and restores) and prints the login link; the console itself is umbra-web's.

#[cfg(not(feature = "web"))]
use {
    crate::cli::WebArgs, crate::output::Output, crate::settings::Settings, crate::Finished,
    umbra_core::Result,
};

#[cfg(not(feature = "web"))]
pub fn serve(_args: &WebArgs, _settings: &Settings, _out: &Output) -> Result<Finished> {
    Err(without_web())
}

#[cfg(not(feature = "web"))]
pub fn start_beside_daemon(_args: &WebArgs, _settings: &Settings, _out: &Output) -> Result<()> {
    Err(without_web())
}

#[cfg(not(feature = "web"))]
fn without_web() -> umbra_core::UmbraError {
    umbra_core::UmbraError::new(
        umbra_core::ErrorKind::InvalidInput,
        "this umbra was built without its web console",
    )
    .with_hint("Build it with the `web` feature (on by default): cargo build --release -p umbra.")
}

#[cfg(feature = "web")]
pub use enabled::{serve, start_beside_daemon};

#[cfg(feature = "web")]
mod enabled {
    use std::ffi::OsString;
    use std::io::IsTerminal;
    use std::sync::Arc;

    use umbra_core::{ErrorKind, Monitor, Result, UmbraError};
    use umbra_repo::{OpenOptions, Repo, RepoLocation};
    use umbra_web::tasks::ChildCommand;
    use umbra_web::{ConsoleOptions, Listen, RepoSource};

    use crate::cli::WebArgs;
    use crate::output::Output;
    use crate::settings::Settings;
    use crate::Finished;

    /// The repository as the CLI opens it, without a lock.
    struct CliRepo {
        location: RepoLocation,
        settings: Settings,
        password: Option<String>,
        monitor: Arc<dyn Monitor>,
    }

    impl RepoSource for CliRepo {
        fn open(&self) -> Result<Repo> {
            let password = match &self.password {
                Some(p) => p.clone(),
                None => self.settings.password()?.ok_or_else(|| {
                    UmbraError::new(
                        ErrorKind::PasswordMissing,
                        "the console has no password for the repository",
                    )
                    .with_hint("Start it with --password-file, --password-command or UMBRA_PASSWORD (it cannot ask: it serves in the background).")
                })?,
            };
            Repo::open(
                &self.location,
                &password,
                OpenOptions {
                    lock: None,
                    bypass_cache: false,
                },
                Arc::clone(&self.monitor),
            )
        }

        fn describe(&self) -> String {
            self.location.to_string()
        }
    }

    /// The console's options from the command line; asks for the password once, now, if
    /// no source gives one and there is a terminal to ask on.
    fn options(args: &WebArgs, settings: &Settings, out: &Output) -> Result<ConsoleOptions> {
        let listen = Listen {
            addr: args.listen,
            tls: args.tls_cert.clone().zip(args.tls_key.clone()),
            insecure_http: args.insecure_http,
        };
        listen.validate()?;
        let mut password = settings.password()?;
        let location = settings.repo.location().clone();
        if password.is_none()
            && matches!(settings.repo, crate::settings::RepoChoice::Explicit(_))
            && !args.print_url
            && std::io::stdin().is_terminal()
        {
            password = Some(settings.password_or_prompt(&format!("password for {location}: "))?);
        }
        let exe = std::env::current_exe().map_err(|e| {
            UmbraError::new(ErrorKind::Io, "cannot find umbra's own path").with_source(e)
        })?;
        let config_file = super::super::absolute(&settings.config_file)?;
        let mut global_args: Vec<OsString> = vec!["-c".into(), config_file.clone().into()];
        if let crate::settings::RepoChoice::Explicit(l) = &settings.repo {
            global_args.push("-r".into());
            global_args.push(l.to_string().into());
        }
        let mut env = Vec::new();
        if let Some(p) = &password {
            env.push(("UMBRA_PASSWORD".to_string(), p.clone()));
        }
        let dir = umbra_snapshot::registry::state_dir()?.join("web");
        Ok(ConsoleOptions {
            listen,
            host_names: args.host_names.clone(),
            metrics_public: args.metrics_public,
            read_only_token: args.read_only_token,
            allow_edit: args.allow_edit,
            config_file,
            dir,
            repository: Box::new(CliRepo {
                location,
                settings: settings.clone(),
                password,
                monitor: out.monitor(),
            }),
            child: ChildCommand {
                exe,
                global_args,
                env,
            },
        })
    }

    /// What to print once the console listens: the login link on a terminal (or always
    /// with --print-url), else only the address and where the token is.
    fn announce<'a>(args: &'a WebArgs, out: &'a Output) -> impl FnOnce(&str, &str) + 'a {
        move |url: &str, token_file: &str| {
            if args.insecure_http && !args.listen.ip().is_loopback() {
                out.error_line(format!(
                    "warning: serving plain HTTP on {}: the access token and every page cross the network in the clear",
                    args.listen
                ));
            }
            let address = url.split("/login").next().unwrap_or(url);
            if std::io::stderr().is_terminal() {
                out.summary(format!("umbra console: {url}"));
            } else {
                out.summary(format!(
                    "umbra console listening on {address}; the access token is in {token_file} (`umbra serve --print-url` prints the login link)"
                ));
            }
        }
    }

    /// `umbra serve`.
    pub fn serve(args: &WebArgs, settings: &Settings, out: &Output) -> Result<Finished> {
        let opts = options(args, settings, out)?;
        if args.print_url {
            let (app, listen) = umbra_web::server::App::new(opts)?;
            out.line(app.login_url(listen.scheme()));
            if let Some(ro) = app.tokens.read_only() {
                let admin = app.tokens.admin().to_string();
                out.line(app.login_url(listen.scheme()).replace(&admin, ro));
            }
            return Ok(Finished::Ok);
        }
        umbra_web::serve(opts, announce(args, out))?;
        Ok(Finished::Ok)
    }

    /// `umbra daemon --web`: the console on a thread of the daemon's process.
    pub fn start_beside_daemon(args: &WebArgs, settings: &Settings, out: &Output) -> Result<()> {
        let opts = options(args, settings, out)?;
        let (tx, rx) = std::sync::mpsc::channel::<std::result::Result<String, UmbraError>>();
        let err_tx = tx.clone();
        std::thread::Builder::new()
            .name("umbra-console".into())
            .spawn(move || {
                let served = umbra_web::serve(opts, |url, _| {
                    let _ = tx.send(Ok(url.split("/login").next().unwrap_or(url).to_string()));
                });
                if let Err(e) = served {
                    let _ = err_tx.send(Err(e));
                }
            })
            .map_err(|e| {
                UmbraError::new(ErrorKind::Internal, "cannot start the console's thread")
                    .with_source(e)
            })?;
        match rx.recv() {
            Ok(Ok(address)) => {
                out.summary(format!("umbra console listening on {address}"));
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(UmbraError::new(
                ErrorKind::Internal,
                "the console stopped before it listened",
            )),
        }
    }
}
