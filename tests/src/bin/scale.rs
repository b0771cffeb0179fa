//! The federation-scale bench (issue 14 §1, docs/SCALING.md): one table row per size.
//!
//! ```text
//! cargo run -p credfed-tests --bin scale [-- 10,30,100]
//! ```
//!
//! Every city is a separate `credfed-node` process on loopback (see `credfed_tests::scale`).
//! Knobs: `CREDFED_SCALE_IDLE_S` (idle window, default 20), `CREDFED_SCALE_RECORDS` (records
//! per origin, default 10).

use credfed_tests::scale::{growth, row, run, Opts, HEADER};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "10,30,100".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    println!("{HEADER}");
    let mut done = Vec::new();
    for n in sizes {
        let mut o = Opts::for_size(n);
        o.idle = std::time::Duration::from_secs(env("CREDFED_SCALE_IDLE_S", 20));
        o.records_per_origin = env("CREDFED_SCALE_RECORDS", 10) as usize;
        let f = run(&o).await?;
        println!("{}", row(&f));
        done.push(f);
    }
    for w in done.windows(2) {
        println!("growth {}", growth(&w[0], &w[1]));
    }
    if let (Some(a), Some(b)) = (done.first(), done.last()) {
        if done.len() > 2 {
            println!("growth {}", growth(a, b));
        }
    }
    Ok(())
}
