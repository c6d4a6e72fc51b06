//! What the benchmarks (`bench/`) measure with: a deterministic generator for their seed
//! data, and this process's CPU time and memory from `/proc` (Linux).

/// A small deterministic generator: the same rows every run.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// A `/proc/self/status` figure in KiB (`VmRSS:`, `VmHWM:`); 0 where there is none.
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak-RSS mark (Linux: `5` to clear_refs), so VmHWM is what follows's own peak.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's CPU time (user + system), in seconds: the work measured, without the
/// emulator's (another process).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The `--rounds N` argument of a benchmark (3 when absent); anything else prints the usage
/// line of `program` and exits 2.
pub fn rounds_argument(program: &str) -> usize {
    let mut args = std::env::args().skip(1);
    let parsed = match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => Some(3),
        (Some("--rounds"), Some(n), None) => n.parse().ok().filter(|n| *n > 0),
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        eprintln!("usage: {program} [--rounds N]");
        std::process::exit(2)
    })
}

/// The middle value (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
