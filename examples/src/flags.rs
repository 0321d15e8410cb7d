//! Parsers of the examples' command-line values: each checks its range when the flags are
//! parsed (before any training), and says what is allowed.

use std::path::{Path, PathBuf};

/// A count of at least 1 (splits, epochs, samples, inducing points).
///
/// # Example
/// ```
/// use vi_examples::flags::count;
/// assert_eq!(count("3"), Ok(3));
/// assert!(count("0").unwrap_err().contains("at least 1"));
/// ```
pub fn count(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("0 is out of range: it must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{value}` is not a whole number ≥ 1")),
    }
}

fn real(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("`{value}` is not a number"))
}

/// A finite number `> 0` (a precision `τ`, a learning rate).
///
/// # Example
/// ```
/// use vi_examples::flags::positive;
/// assert_eq!(positive("0.5"), Ok(0.5));
/// assert!(positive("NaN").is_err() && positive("-1").is_err() && positive("inf").is_err());
/// ```
pub fn positive(value: &str) -> Result<f64, String> {
    let v = real(value)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: it must be finite and > 0"))
    }
}

/// A probability in `[0, 1)` (a dropout rate).
///
/// # Example
/// ```
/// use vi_examples::flags::probability;
/// assert_eq!(probability("0"), Ok(0.0));
/// assert!(probability("-0.1").unwrap_err().contains("[0, 1)"));
/// assert!(probability("1").is_err());
/// ```
pub fn probability(value: &str) -> Result<f64, String> {
    let v = real(value)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: it must be in [0, 1)"))
    }
}

/// A fraction in `(0, 1)` (the share of rows held out for testing).
///
/// # Example
/// ```
/// use vi_examples::flags::fraction;
/// assert_eq!(fraction("0.2"), Ok(0.2));
/// assert!(fraction("0").is_err() && fraction("1.5").is_err());
/// ```
pub fn fraction(value: &str) -> Result<f64, String> {
    let v = real(value)?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: it must be in (0, 1)"))
    }
}

/// A file the example will write at the end (`--json`, `--plot`), checked now: its folder
/// exists and takes a new file, and the path is not a folder. A probe file is created beside it
/// and removed; the file itself is not touched.
///
/// # Example
/// ```
/// use vi_examples::flags::output_file;
/// let dir = std::env::temp_dir();
/// assert!(output_file(dir.join("results.json").to_str().unwrap()).is_ok());
/// let error = output_file("/no/such/folder/results.json").unwrap_err();
/// assert!(error.contains("/no/such/folder"), "{error}");
/// assert!(output_file(dir.to_str().unwrap()).is_err()); // a folder
/// ```
pub fn output_file(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.is_dir() {
        return Err(format!("{} is a folder, not a file", path.display()));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            folder.display()
        ));
    }
    probe(&folder).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Creates and removes a file in `folder`.
fn probe(folder: &Path) -> std::io::Result<()> {
    let file = folder.join(format!(".vi-write-probe-{}", std::process::id()));
    std::fs::File::create(&file)?;
    std::fs::remove_file(&file)
}

/// A folder the example will write files into (`--plot-dir`), checked now: it exists and takes
/// a new file.
///
/// # Example
/// ```
/// use vi_examples::flags::output_folder;
/// assert!(output_folder(std::env::temp_dir().to_str().unwrap()).is_ok());
/// assert!(output_folder("/no/such/folder").unwrap_err().contains("does not exist"));
/// ```
pub fn output_folder(value: &str) -> Result<PathBuf, String> {
    let folder = PathBuf::from(value);
    if !folder.is_dir() {
        return Err(format!("the folder {} does not exist", folder.display()));
    }
    probe(&folder).map_err(|e| format!("cannot write into {}: {e}", folder.display()))?;
    Ok(folder)
}

/// The message with which an example refuses `argv` (the program's name first): clap's error
/// while parsing, else the error of `checks` — what the example runs on the parsed flags before
/// any work — or `None` when both accept. For the examples' tests of their flags.
///
/// # Example
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Args {
///     #[arg(long, value_parser = vi_examples::flags::count)]
///     epochs: usize,
/// }
/// let refusal = |argv: &[&str]| vi_examples::flags::refusal(argv, |_: Args| Ok::<(), String>(()));
/// assert!(refusal(&["toy", "--epochs", "0"]).unwrap().contains("at least 1"));
/// assert_eq!(refusal(&["toy", "--epochs", "3"]), None);
/// ```
pub fn refusal<A: clap::Parser, E: std::fmt::Display>(
    argv: &[&str],
    checks: impl FnOnce(A) -> Result<(), E>,
) -> Option<String> {
    match A::try_parse_from(argv) {
        Err(error) => Some(error.to_string()),
        Ok(args) => checks(args).err().map(|error| error.to_string()),
    }
}
