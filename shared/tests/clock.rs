//! One clock (`shared/src/clock.rs`): no code of the domain crate or of a function reads
//! the operating system's time itself, so a test that sets the clock sets it everywhere.
//! Unit-test modules (after `#[cfg(test)]`) may.

use std::path::Path;

/// Without the parentheses: `unwrap_or_else(Date::today)` reads the time too. (`SystemTime`
/// is not here: the daily job measures the Lambda runtime's deadline, which is real time,
/// not the product's.)
const READS_OF_THE_TIME: [&str; 5] = [
    "Timestamp::now",
    "Date::today",
    "Utc::now",
    "Local::now",
    "OffsetDateTime::now",
];

fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn only_the_clock_reads_the_time() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let mut files = Vec::new();
    rust_files(&root.join("shared/src"), &mut files);
    for function in std::fs::read_dir(root.join("functions")).expect("functions/") {
        rust_files(&function.expect("a function").path().join("src"), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let allowed = ["shared/src/clock.rs", "shared/src/time.rs"];
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(root)
            .expect("under the workspace")
            .to_string_lossy()
            .replace('\\', "/");
        if allowed.contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read a source file");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            if READS_OF_THE_TIME.iter().any(|read| line.contains(read)) {
                offenders.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the time through the Store's clock (`store.clock().now()`), not directly:\n{}",
        offenders.join("\n")
    );
}
