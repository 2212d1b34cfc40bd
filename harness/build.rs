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
}
