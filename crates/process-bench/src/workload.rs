//! The scripts the scenarios run: this same binary, called with a hidden first argument, so
//! the benchmark needs nothing but cargo (no python, no shell).

use std::io::Write;

/// Bytes per line written by `emit-lines`, newline included.
pub const LINE_BYTES: usize = 81;

/// Runs a workload if `args[1]` names one; returns its exit code.
pub fn dispatch(args: &[String]) -> Option<i32> {
    let (name, arg) = (args.get(1)?, args.get(2));
    let n = || arg.and_then(|a| a.parse::<u64>().ok());
    let result = match name.as_str() {
        "emit-lines" => emit_lines(&mut std::io::stdout().lock(), n()?),
        "emit-file" => emit_file(n()?),
        _ => return None,
    };
    Some(match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
    })
}

/// `n` lines of 80 bytes (plus the newline): a sequence number and filler.
pub fn emit_lines(out: &mut impl Write, n: u64) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, out);
    const FILLER: &str = "the quick brown fox jumps over the lazy dog; pack my box with five dozen";
    for i in 0..n {
        // 8 digits, a space and 71 characters of filler: 80 bytes.
        writeln!(w, "{:08} {}", i % 100_000_000, &FILLER[..71])?;
    }
    w.flush()
}

/// A file of `bytes` bytes named blob.bin in `$PROCESS_OUTPUT_DIR` (or the current directory).
fn emit_file(bytes: u64) -> std::io::Result<()> {
    let dir = std::env::var_os("PROCESS_OUTPUT_DIR").unwrap_or_else(|| ".".into());
    let path = std::path::Path::new(&dir).join("blob.bin");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    // Not all zeros, so that no layer can take a shortcut on it.
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        w.write_all(&block[..n])?;
        left -= n as u64;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_eighty_bytes_and_numbered() {
        let mut out = Vec::new();
        emit_lines(&mut out, 3).expect("writing to a Vec");
        assert_eq!(out.len(), 3 * LINE_BYTES);
        let text = String::from_utf8(out).expect("ascii");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() == LINE_BYTES - 1));
        assert!(lines[2].starts_with("00000002 the quick"));
    }
}
