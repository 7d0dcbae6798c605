//! Embeds every school migration (`migrations/tenant/NNNN_name.sql`) into the crate.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../migrations/tenant");
    println!("cargo:rerun-if-changed={}", dir.display());
    // sqlx::migrate! embeds the platform migrations but does not notice a new file by itself.
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("../migrations/platform").display()
    );

    let mut files: Vec<(i64, String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("migrations/tenant exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 file name")
                .to_owned();
            let (version, name) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("{stem}: school migrations are named NNNN_name.sql"));
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("{stem}: the part before '_' must be a number"));
            println!("cargo:rerun-if-changed={}", path.display());
            (version, name.to_owned(), path)
        })
        .collect();
    files.sort();
    for pair in files.windows(2) {
        assert!(
            pair[0].0 != pair[1].0,
            "two school migrations share version {}",
            pair[0].0
        );
    }

    let mut out = String::from("&[\n");
    for (version, name, path) in &files {
        writeln!(
            out,
            "    EmbeddedMigration {{ version: {version}, name: {name:?}, sql: include_str!({path:?}) }},",
            path = path.canonicalize().expect("migration path").display().to_string()
        )
        .expect("writing to a String");
    }
    out.push(']');
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("tenant_migrations.rs");
    std::fs::write(target, out).expect("writing the generated migration list");
}
