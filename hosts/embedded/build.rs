//! Puts `memory.x` where the linker finds it and links with cortex-m-rt's
//! `link.x` (only for the bare-metal target; host builds of the library for
//! its unit tests link normally).

use std::path::PathBuf;
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS")? != "none" {
        return Ok(());
    }
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::copy("memory.x", out.join("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    // Only the firmware binary: the library is linked into host tests too.
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    Ok(())
}
