//! Finds libfwinfer for the linker.
//!
//! 1. FWINFER_LIB_DIR: the directory holding libfwinfer.so (a build tree's
//!    `build/lib`, or an install prefix's lib directory);
//! 2. otherwise `pkg-config --libs-only-L fwinfer` (which prefers
//!    fwinfer-uninstalled.pc, e.g. with
//!    PKG_CONFIG_PATH=<repo>/build/meson-uninstalled);
//! 3. otherwise only `-lfwinfer`, and the system linker paths decide.
//!
//! The directory found is also put in the run-time search path (rpath) of
//! this crate's own tests and examples, so `cargo test` runs without
//! LD_LIBRARY_PATH; set FWINFER_NO_RPATH=1 to leave it out.  Programs that
//! depend on this crate find the library as any shared library (install it,
//! or set LD_LIBRARY_PATH).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn pkg_config_dirs() -> Vec<PathBuf> {
    let out = match Command::new("pkg-config")
        .args(["--libs-only-L", "fwinfer"])
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => return Vec::new(),
    };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("-L"))
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FWINFER_LIB_DIR");
    println!("cargo:rerun-if-env-changed=FWINFER_NO_RPATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let dirs: Vec<PathBuf> = match env::var_os("FWINFER_LIB_DIR") {
        Some(d) if !d.is_empty() => vec![PathBuf::from(d)],
        _ => pkg_config_dirs(),
    };
    let unix = env::var("CARGO_CFG_TARGET_FAMILY").map_or(false, |f| f == "unix");
    let rpath = unix && env::var_os("FWINFER_NO_RPATH").map_or(true, |v| v.is_empty());
    for d in &dirs {
        println!("cargo:rustc-link-search=native={}", d.display());
        if rpath {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", d.display());
        }
    }
    if dirs.is_empty() {
        println!(
            "cargo:warning=libfwinfer: neither FWINFER_LIB_DIR nor pkg-config named a \
             directory; relying on the linker's default paths"
        );
    }
    println!("cargo:rustc-link-lib=dylib=fwinfer");
}
