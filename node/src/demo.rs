//! `credfed-node demo`: a local federation on loopback for a newcomer (DESIGN §8).
//!
//! Creates the cities under DIR (default: a new temporary directory, kept), starts each as a
//! separate `credfed-node run --config DIR/<region>/node.toml` child process (logs in
//! `DIR/<region>/node.log`), writes `DIR/demo.json`, then keeps sample records flowing — a
//! penalty, a licence, a repair after the minimum period, an objection — until Ctrl-C or
//! SIGTERM, when the children are stopped with SIGTERM.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use credfed_protocol::RegionId;
use serde_json::{json, Value};

use crate::setup::{self, City, DEMO_CITIES};

/// Minimal HTTP/1.1 JSON client over loopback (the demo's only HTTP needs).
pub async fn http(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut b = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let data = body.map(|v| v.to_string()).unwrap_or_default();
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let resp = client.request(b.body(Full::new(bytes::Bytes::from(data)))?).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

struct Children(Vec<(RegionId, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        }
        for (_, c) in &mut self.0 {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the demo until `shutdown` resolves.
///
/// # Errors
/// Setup or start-up failures.
pub async fn run(
    dir: Option<PathBuf>,
    cities: usize,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if !(2..=DEMO_CITIES.len()).contains(&cities) {
        anyhow::bail!("--cities must be 2..={} (got {cities})", DEMO_CITIES.len());
    }
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("credfed-demo-{}", std::process::id())),
    };
    if dir.join("demo.json").exists() {
        anyhow::bail!("{} already holds a demo (demo.json); choose an empty --dir", dir.display());
    }
    let regions: Vec<RegionId> = DEMO_CITIES[..cities].iter().map(|r| r.parse().expect("valid ids")).collect();
    let d = dir.clone();
    let list = tokio::task::spawn_blocking(move || setup::create(&d, &regions, 2_000)).await??;
    let exe = std::env::current_exe().context("locating credfed-node")?;
    let mut children = Children(Vec::new());
    for c in &list {
        let log = std::fs::File::create(c.dir.join("node.log"))?;
        let child = Command::new(&exe)
            .arg("run")
            .arg("--config")
            .arg(&c.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", c.region))?;
        children.0.push((c.region.clone(), child));
    }
    for c in &list {
        wait_healthy(c).await?;
    }
    let manifest = json!({
        "dir": dir,
        "cities": list.iter().zip(&children.0).map(|(c, (_, child))| json!({
            "region": c.region,
            "api": format!("http://{}", c.api),
            "p2p": c.p2p,
            "config": c.config,
            "pid": child.id(),
            "tokens": {
                "submit": c.access.tokens.submit, "query": c.access.tokens.query,
                "audit": c.access.tokens.audit, "admin": c.access.tokens.admin,
            },
        })).collect::<Vec<_>>(),
    });
    crate::keyfile::write_secret(&dir.join("demo.json"), serde_json::to_vec_pretty(&manifest)?.as_slice())?;
    println!("credfed demo: {} cities under {}", list.len(), dir.display());
    for c in &list {
        println!("  {:<10} api http://{}  p2p {}", c.region.as_str(), c.api, c.p2p);
    }
    println!("  manifest (tokens, pids): {}", dir.join("demo.json").display());
    println!("  web console (log in with the token shown; audit sees every page but Admin, admin sees Admin):");
    for c in &list {
        println!(
            "  {:<10} console http://{}/console/  audit token {}",
            c.region.as_str(),
            c.api,
            c.access.tokens.audit
        );
        println!("  {:<10}         admin token {}", "", c.access.tokens.admin);
    }
    println!("  restart a city: credfed-node run --config {}", list[0].config.display());
    println!("Ctrl-C stops the federation.");
    tokio::select! {
        _ = shutdown => {},
        r = samples(&list) => r?,
    }
    println!("stopping the cities…");
    drop(children);
    Ok(())
}

async fn wait_healthy(c: &City) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = http("GET", &format!("http://{}/v1/health", c.api), None, None).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("{} did not become healthy within 30 s (see {}/node.log)", c.region, c.dir.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sample USCCs (valid check characters, DOMAIN R1.7).
const SAMPLE_USCCS: &[&str] = &["91310110666007217T", "914403001922038216", "91110108551385082Q", "91350200MA2YJ1XR9G"];

/// Keeps sample records flowing: each round one city issues a record, and the first city
/// repairs its earlier penalty once allowed. Never returns unless a request fails hard.
async fn samples(list: &[City]) -> anyhow::Result<()> {
    let mut n = 0usize;
    let mut first_penalty: Option<String> = None;
    loop {
        let c = &list[n % list.len()];
        let uscc = SAMPLE_USCCS[n % SAMPLE_USCCS.len()];
        let penalty = n.is_multiple_of(2);
        let draft = json!({
            "kind": if penalty { "administrative_penalty" } else { "administrative_license" },
            "subject": { "uscc": uscc },
            "subject_name": "示例企业有限公司",
            "authority": format!("{}市场监督管理局", c.anchor.name),
            "decision_no": format!("示例〔2026〕{}号", n + 1),
            "legal_basis": "《中华人民共和国行政处罚法》第二十八条",
            "facts": "demo sample record",
            "severity": if penalty { Some("general") } else { None },
            "sector": "ecology_environment",
            "decided_on": "2026-01-05",
            "classification": "public",
        });
        let url = format!("http://{}/v1/records", c.api);
        let (status, v) = http("POST", &url, Some(&c.access.tokens.submit), Some(&draft)).await?;
        println!(
            "[{}] {} → {status} {}",
            c.region,
            draft["kind"].as_str().unwrap_or(""),
            v["id"].as_str().unwrap_or("")
        );
        if penalty && first_penalty.is_none() && c.region == list[0].region {
            first_penalty = v["id"].as_str().map(String::from);
        } else if let Some(id) = first_penalty.take() {
            let url = format!("http://{}/v1/records/{id}/repair", list[0].api);
            let body = json!({ "repaired_on": "2026-05-01", "basis": "当事人已履行行政处罚决定并作出信用承诺" });
            let (status, _) = http("POST", &url, Some(&list[0].access.tokens.submit), Some(&body)).await?;
            println!("[{}] repair of {} → {status}", list[0].region, &id[..12]);
        }
        n += 1;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}
