//! Embeds every case file under `../cases` into the binary, so an installed
//! `wsharness` works anywhere (`--cases DIR` adds or replaces them at run time).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            println!("cargo:rerun-if-changed={}", path.display());
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let cases = manifest.join("..").join("cases");
    let mut files = Vec::new();
    collect(&cases, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Case files embedded at build time: (name, contents).\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let rel = f.strip_prefix(&cases).unwrap_or(f).to_string_lossy().replace('\\', "/");
        writeln!(code, "    ({:?}, include_str!({:?})),", format!("cases/{rel}"), f.display().to_string())
            .expect("writing to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_cases.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
    // the case library's version in `wsharness --version`: its files and a fingerprint of their names and bytes
    println!("cargo:rustc-env=WSHARNESS_CASE_FILES={}", files.len());
    println!("cargo:rustc-env=WSHARNESS_CASES_FINGERPRINT={:016x}", fingerprint(&cases, &files));
}

/// FNV-1a (64 bits) over each file's path and contents: any edit to the library changes it.
fn fingerprint(root: &Path, files: &[PathBuf]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(f).to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(f).unwrap_or_default();
        for b in rel.bytes().chain([0]).chain(bytes).chain([0]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}
