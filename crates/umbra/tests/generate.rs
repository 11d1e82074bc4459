//! Completions and man pages are generated from the command line; the copies kept in
//! `contrib/` must be what the current command line generates, and `contrib/install.sh`
//! must install them where bash, zsh, fish and man look.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::Env;

#[test]
fn contrib_holds_what_the_command_line_generates_now() {
    let env = Env::new();
    let fresh = env.path("fresh");
    let (c, m) = (fresh.join("completions"), fresh.join("man"));
    env.ok(&[
        "generate",
        "--completions-dir",
        c.to_str().expect("utf8"),
        "--man-dir",
        m.to_str().expect("utf8"),
    ]);
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib");
    for sub in ["completions", "man"] {
        let mut names: Vec<_> = fs::read_dir(fresh.join(sub))
            .expect("read")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert!(!names.is_empty());
        for name in &names {
            let ours = fs::read(fresh.join(sub).join(name)).expect("read");
            let kept = fs::read(contrib.join(sub).join(name)).unwrap_or_default();
            assert!(
                ours == kept,
                "contrib/{sub}/{} is stale: run `umbra generate --completions-dir \
                 contrib/completions --man-dir contrib/man`",
                name.to_string_lossy()
            );
        }
        let kept = fs::read_dir(contrib.join(sub)).expect("contrib").count();
        assert_eq!(
            kept,
            names.len(),
            "contrib/{sub} holds pages of removed commands"
        );
    }
    let restore = fs::read_to_string(m.join("umbra-restore.1")).expect("page");
    assert!(
        restore.contains("overwrite"),
        "the restore page documents its flags"
    );

    let root = env.path("root");
    let st = Command::new("bash")
        .arg(contrib.join("install.sh"))
        .env("DESTDIR", &root)
        .status()
        .expect("install.sh");
    assert!(st.success());
    for path in [
        "usr/share/bash-completion/completions/umbra",
        "usr/share/zsh/vendor-completions/_umbra",
        "usr/share/fish/vendor_completions.d/umbra.fish",
        "usr/local/share/man/man1/umbra.1",
        "usr/local/share/man/man1/umbra-restore.1",
    ] {
        assert!(root.join(path).is_file(), "{path} installed");
    }
    if common::have("bash") {
        // bash can load the completion script, and it completes a subcommand.
        let script = format!(
            "source {}; COMP_WORDS=(umbra rest); COMP_CWORD=1; _umbra umbra rest umbra; echo ${{COMPREPLY[@]}}",
            root.join("usr/share/bash-completion/completions/umbra").display()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
            .expect("bash");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("restore"),
            "bash completes `rest` to restore: {text}"
        );
    }
    let version = env.ok(&["--version"]);
    assert!(
        version.contains(env!("CARGO_PKG_VERSION"))
            && version.contains("rustic_core")
            && version.contains("backends: local"),
        "{version}"
    );
    let out = env.run(&["generate"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing to generate is an error"
    );
}
