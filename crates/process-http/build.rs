//! Records the commit processd is built from, for `processd --version`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `sha(true)`: git's short, unique abbreviation; `dirty(false)`: untracked files do not
    // count as changes.
    let git = vergen_gitcl::GitclBuilder::default()
        .sha(true)
        .dirty(false)
        .build()?;
    // Outside a git checkout (a source tarball) the values are placeholders and a warning is
    // printed; the version then says `unknown`.
    vergen_gitcl::Emitter::default()
        .add_instructions(&git)?
        .emit_and_set()?;
    let sha = std::env::var("VERGEN_GIT_SHA").unwrap_or_default();
    let commit = if sha.len() >= 7 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
        let dirty = std::env::var("VERGEN_GIT_DIRTY").is_ok_and(|d| d == "true");
        format!("{sha}{}", if dirty { "-dirty" } else { "" })
    } else {
        "unknown".to_owned()
    };
    println!("cargo:rustc-env=PROCESSD_GIT_COMMIT={commit}");
    Ok(())
}
