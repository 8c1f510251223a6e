//! The soak's summary, in Markdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::SoakArgs;
use super::check::Check;
use super::device::{Device, Shared};
use super::office::{Importer, Poller};
use crate::percentile;

/// One kill of the faulty instance.
pub struct Kill {
    pub at: Duration,
    pub import_in_flight: bool,
    pub push_in_flight: bool,
    pub down: Duration,
    pub restart: Duration,
}

/// The memory of both instances at one minute of the load.
pub struct Sample {
    pub minute: u64,
    /// The median of the steady instance's samples in the minute (to its end), and their
    /// lowest and highest.
    pub steady: Option<f64>,
    pub steady_range: Option<(f64, f64)>,
    /// The median of the faulty instance's samples in the minute while it was up.
    pub faulty: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
pub fn report(
    args: &SoakArgs,
    shared: &Shared,
    kills: &[Kill],
    samples: &[Sample],
    devices: &[Device],
    pollers: &[Poller],
    importer: &Importer,
    checks: &[Check],
) {
    let fleet = &shared.fleet;
    let (answered, cut, later, errors) = fleet.stats.totals();
    let secs = (args.minutes * 60).max(1) as f64;
    println!(
        "\n### Soak with faults: {} minutes, {} devices, seed {}\n",
        args.minutes,
        devices.len(),
        args.seed
    );
    println!("| | |\n|---|---|");
    println!(
        "| requests answered | {answered} ({:.1}/s) |",
        answered as f64 / secs
    );
    println!("| errors | {errors} |");
    println!("| cut connections of the killed instance (sent again until answered) | {cut} |");
    println!("| 503 retry-later answers (sent again) | {later} |");
    println!(
        "| kills of the faulty instance (SIGKILL) | {} ({} with an import in flight through it, {} with a push) |",
        kills.len(),
        kills.iter().filter(|k| k.import_in_flight).count(),
        kills.iter().filter(|k| k.push_in_flight).count()
    );
    let members = shared.next_member.load(Ordering::Relaxed);
    let pushed: usize = devices.iter().map(|d| d.members.len()).sum();
    let forms: usize = devices.iter().map(|d| d.forms.len()).sum();
    println!(
        "| written | {pushed} members pushed, {forms} information forms with a photo, {} members imported in {} imports ({members} roster rows used) |",
        importer.imported.len(),
        importer.imports
    );
    let mut woken: Vec<Duration> = pollers
        .iter()
        .flat_map(|p| p.woken.iter().copied())
        .collect();
    woken.sort();
    println!(
        "| long-polls woken by a push (from its acknowledgement to the poll's answer) | {} wake-ups, p50 {:.1} ms, p99 {:.1} ms |",
        woken.len(),
        percentile(&woken, 0.5),
        percentile(&woken, 0.99)
    );

    println!(
        "\n| request | answered | cut (sent again) | 503 (sent again) | errors | p50 ms | p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (kind, mut k) in fleet.stats.kinds() {
        k.latencies.sort();
        println!(
            "| {kind} | {} | {} | {} | {} | {:.1} | {:.1} |",
            k.ok,
            k.cut,
            k.later,
            k.errors,
            percentile(&k.latencies, 0.5),
            percentile(&k.latencies, 0.99)
        );
    }

    println!("\n| kill | at minute | in flight through it | down | starting again took |");
    println!("|---|---|---|---|---|");
    for (i, k) in kills.iter().enumerate() {
        println!(
            "| {} | {:.1} | {} | {:.1} s | {:.1} s |",
            i + 1,
            k.at.as_secs_f64() / 60.0,
            match (k.import_in_flight, k.push_in_flight) {
                (true, true) => "an import, a push",
                (true, false) => "an import",
                (false, true) => "a push",
                (false, false) => "—",
            },
            k.down.as_secs_f64(),
            k.restart.as_secs_f64()
        );
    }

    println!(
        "\nResident memory (VmRSS, MiB) sampled every 5 s: each minute's median (the minute ending there), the steady instance's lowest–highest, and the faulty instance's median while it was up:\n"
    );
    println!("| minute | steady | steady: lowest–highest | faulty |\n|---|---|---|---|");
    for s in samples {
        let f = |m: Option<f64>| m.map_or_else(|| "—".to_owned(), |m| format!("{m:.1}"));
        let range = s
            .steady_range
            .map_or_else(|| "—".to_owned(), |(lo, hi)| format!("{lo:.1}–{hi:.1}"));
        println!(
            "| {} | {} | {range} | {} |",
            s.minute,
            f(s.steady),
            f(s.faulty)
        );
    }

    let notes = fleet.stats.notes();
    if !notes.is_empty() {
        println!();
        for (what, n) in notes {
            println!("- {what}: {n}");
        }
    }

    println!("\n| check | result | detail |\n|---|---|---|");
    for c in checks {
        println!(
            "| {} | {} | {} |",
            c.name,
            if c.passed { "passed" } else { "**failed**" },
            c.detail
        );
    }
    let messages = fleet.stats.messages();
    if !messages.is_empty() {
        println!("\nErrors (the first {}):\n", messages.len());
        for m in messages {
            println!("- {m}");
        }
    }
}
