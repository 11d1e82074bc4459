#!/usr/bin/env bash
# Installs umbra's shell completions (bash, zsh, fish) and man pages from contrib/.
#   sudo bash contrib/install.sh              # system-wide
#   DESTDIR=/tmp/pkg bash contrib/install.sh  # into a staging root (packaging)
# Regenerate the files after changing the command line:
#   umbra generate --completions-dir contrib/completions --man-dir contrib/man
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${DESTDIR:-}"
install -Dm644 "$here/completions/umbra.bash" "$root/usr/share/bash-completion/completions/umbra"
install -Dm644 "$here/completions/_umbra" "$root/usr/share/zsh/vendor-completions/_umbra"
install -Dm644 "$here/completions/umbra.fish" "$root/usr/share/fish/vendor_completions.d/umbra.fish"
install -d "$root/usr/local/share/man/man1"
install -m644 "$here"/man/*.1 "$root/usr/local/share/man/man1/"
echo "installed completions for bash, zsh and fish, and $(ls "$here"/man/*.1 | wc -l) man pages under ${root:-/}"
