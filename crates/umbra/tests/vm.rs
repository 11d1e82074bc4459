//! LVM and ZFS snapshots, for real, inside a VM booted from Debian's kernel under qemu:
//! the kernel of CI's machines has neither device-mapper nor ZFS. The guest scripts are in
//! `tests/vm/` at the top of the repository; the guest runs this build's umbra binary,
//! copied into its share directory with the scripts' helpers. `.ci/run` builds the ZFS
//! module first (`tests/vm/zfs-setup.sh`).
//!
//! The two VMs run one after the other: each uses both cores.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static ONE_VM_AT_A_TIME: Mutex<()> = Mutex::new(());

fn vm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vm")
}

fn work_dir() -> PathBuf {
    std::env::var_os("WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("umbra-vm"))
}

fn run_in_vm(script: &str, pass_line: &str) {
    let _one = ONE_VM_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let vm = vm_dir();
    // The guest mounts its own /tmp, so the binary and the helpers travel in its share
    // directory, wherever this checkout lives.
    let bin = Path::new(env!("CARGO_BIN_EXE_umbra"));
    let share = format!("{} {}", bin.display(), vm.join("lib.sh").display());
    let out = Command::new("bash")
        .arg(vm.join("run-in-vm.sh"))
        .arg(vm.join(script))
        .arg("/vmshare/umbra")
        .arg("/vmshare")
        .env("VM_SHARE_FILES", share)
        .output()
        .expect("run-in-vm.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(pass_line),
        "{script} failed in the VM ({:?})\n--- guest output\n{stdout}\n--- host\n{stderr}",
        out.status.code()
    );
    // Keep the measured snapshot times visible in the test log.
    for line in stdout
        .lines()
        .filter(|l| l.contains("snapshot created in") || l.starts_with("==="))
    {
        eprintln!("{line}");
    }
}

#[test]
fn lvm_snapshots_thick_thin_overflow_and_cleanup() {
    if !common::require(common::is_root(), "root, to run the LVM tests in a VM") {
        return;
    }
    run_in_vm("lvm.sh", "LVM TESTS: PASS");
}

#[test]
fn zfs_snapshots_recursive_and_cleanup() {
    if !common::require(common::is_root(), "root, to run the ZFS tests in a VM") {
        return;
    }
    let modules = work_dir().join("kernel/lib/modules");
    let prepared = std::fs::read_dir(&modules)
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|k| k.path().join("updates/dkms/zfs.ko").exists())
        })
        .unwrap_or(false);
    if !common::require(
        prepared,
        "the ZFS module for the VM's kernel (bash tests/vm/zfs-setup.sh, about 5 minutes)",
    ) {
        return;
    }
    run_in_vm("zfs.sh", "ZFS TESTS: PASS");
}
