//! [`TestNet`]: a local federation of real nodes in one temporary directory.
//!
//! `setup::create` initialises every city (fresh roots, delegations, a shared person secret,
//! bootstrap lists, offline cross-pinned anchors); each city then runs either in-process
//! (`credfed_node::start`, sharing the test's tokio runtime) or as a separate `credfed-node
//! run --config DIR/<region>/node.toml` process that can be SIGKILLed. Ports are fixed at
//! creation, so a restarted city comes back on the same API and p2p addresses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use credfed_node::config::NodeConfig;
use credfed_node::setup::{self, City, DEMO_CITIES};
use credfed_node::RunningNode;
use credfed_protocol::{Day, RegionId};
use serde_json::{json, Value};

use crate::http::{Http, Reply};
use crate::proxy::{Link, Mesh};
use crate::{node_binary, serial_lock, wait_until};

/// How a city runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// `credfed_node::start` on the test's runtime.
    InProcess,
    /// A child `credfed-node run` process.
    Process,
}

enum Running {
    Stopped,
    InProcess(Box<RunningNode>),
    Process(Child),
}

struct Slot {
    running: Running,
    how: Run,
    /// Command prefix for a process (e.g. `ip netns exec NS`), empty for none.
    wrapper: Vec<String>,
}

/// Which cities: a count (the demo's order: xinyang, suzhou, luan, …) or explicit ids.
pub trait Cities {
    /// The region ids.
    fn regions(&self) -> Vec<RegionId>;
}

impl Cities for usize {
    fn regions(&self) -> Vec<RegionId> {
        DEMO_CITIES[..*self].iter().map(|r| r.parse().expect("demo ids are valid")).collect()
    }
}

impl Cities for &[&str] {
    fn regions(&self) -> Vec<RegionId> {
        self.iter().map(|r| r.parse().expect("valid region id")).collect()
    }
}

impl<const N: usize> Cities for [&str; N] {
    fn regions(&self) -> Vec<RegionId> {
        self.as_slice().regions()
    }
}

/// A federation under test.
pub struct TestNet {
    /// The temporary directory (removed on drop unless `CREDFED_KEEP=1`).
    pub dir: tempfile::TempDir,
    /// The cities, in creation order.
    pub cities: Vec<City>,
    /// Admin listener (`/metrics`) of each city.
    pub admin: Vec<SocketAddr>,
    /// HTTP client.
    pub http: Http,
    /// Anti-entropy interval given to every node.
    pub sync_ms: u64,
    /// Chaos links, when [`TestNet::with_proxies`] was used.
    pub mesh: Mesh,
    slots: Vec<Slot>,
    _serial: std::fs::File,
}

impl TestNet {
    /// Creates the cities (stopped). Every node gets an admin listener and `sync_ms`.
    ///
    /// # Errors
    /// Setup failures.
    pub async fn new(cities: impl Cities, sync_ms: u64) -> anyhow::Result<TestNet> {
        let serial = serial_lock();
        let mut dir = tempfile::Builder::new().prefix("credfed-testnet-").tempdir()?;
        if std::env::var_os("CREDFED_KEEP").is_some() {
            dir.disable_cleanup(true);
            println!("TestNet dir kept: {}", dir.path().display());
        }
        let regions = cities.regions();
        let d = dir.path().to_path_buf();
        let created = tokio::task::spawn_blocking(move || setup::create(&d, &regions, sync_ms)).await??;
        let mut admin = Vec::new();
        for c in &created {
            let port = setup::free_port()?;
            let a: SocketAddr = format!("127.0.0.1:{port}").parse()?;
            edit_config(&c.config, |cfg| cfg.admin.listen = Some(a))?;
            admin.push(a);
        }
        let slots = created
            .iter()
            .map(|_| Slot { running: Running::Stopped, how: Run::InProcess, wrapper: Vec::new() })
            .collect();
        Ok(TestNet {
            dir,
            cities: created,
            admin,
            http: Http::new(),
            sync_ms,
            mesh: Mesh::default(),
            slots,
            _serial: serial,
        })
    }

    /// Puts a chaos [`Link`] on every ordered pair and points each node's bootstrap list at its
    /// links (RELIABILITY F13.1). Call before starting the nodes.
    ///
    /// # Errors
    /// Bind or config errors.
    pub async fn with_proxies(mut self) -> anyhow::Result<TestNet> {
        let mut links = Vec::new();
        for (i, from) in self.cities.iter().enumerate() {
            let mut boot = Vec::new();
            for (j, to) in self.cities.iter().enumerate() {
                if i == j {
                    continue;
                }
                let target = p2p_socket(&to.p2p)?;
                let link = Link::start(&format!("{}->{}", from.region, to.region), target).await?;
                boot.push(format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", link.addr.port(), to.anchor.peer_id));
                links.push((i, j, link));
            }
            edit_config(&from.config, |cfg| cfg.p2p.bootstrap = boot)?;
        }
        self.mesh = Mesh { links };
        Ok(self)
    }

    /// Like [`TestNet::with_proxies`], but only for the directed `edges` `(i, j)`: city `i`'s
    /// bootstrap list names a link to city `j` and nothing else (a sparse topology; see
    /// [`province_edges`]). Call before starting the nodes.
    ///
    /// # Errors
    /// Bind or config errors.
    pub async fn with_topology(mut self, edges: &[(usize, usize)]) -> anyhow::Result<TestNet> {
        let mut links = Vec::new();
        for (i, from) in self.cities.iter().enumerate() {
            let mut boot = Vec::new();
            for &(_, j) in edges.iter().filter(|(f, _)| *f == i) {
                let to = &self.cities[j];
                let link = Link::start(&format!("{}->{}", from.region, to.region), p2p_socket(&to.p2p)?).await?;
                boot.push(format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", link.addr.port(), to.anchor.peer_id));
                links.push((i, j, link));
            }
            edit_config(&from.config, |cfg| cfg.p2p.bootstrap = boot)?;
        }
        self.mesh = Mesh { links };
        Ok(self)
    }

    /// Runs city `i` (as a process) in network namespace `netns[i].0` at address `netns[i].1`:
    /// its API and libp2p listen there, every bootstrap list names those addresses, and the
    /// process is started through `ip netns exec`. The namespaces (reachable from the test's
    /// namespace) are the caller's. Call before starting the nodes.
    ///
    /// # Errors
    /// Config errors.
    pub fn in_netns(mut self, netns: &[(String, std::net::Ipv4Addr)]) -> anyhow::Result<TestNet> {
        for (i, (ns, ip)) in netns.iter().enumerate() {
            let c = &mut self.cities[i];
            let port = p2p_socket(&c.p2p)?.port();
            c.api = SocketAddr::new((*ip).into(), c.api.port());
            c.p2p = c.p2p.replacen("/ip4/127.0.0.1/", &format!("/ip4/{ip}/"), 1);
            let api = c.api;
            edit_config(&c.config, |cfg| {
                cfg.api.listen = api;
                cfg.p2p.listen = vec![format!("/ip4/{ip}/tcp/{port}")];
            })?;
            self.slots[i].wrapper = ["ip", "netns", "exec", ns.as_str()].map(String::from).to_vec();
        }
        for c in &self.cities {
            let boot = self.cities.iter().filter(|o| o.region != c.region).map(|o| o.p2p.clone()).collect();
            edit_config(&c.config, |cfg| cfg.p2p.bootstrap = boot)?;
        }
        Ok(self)
    }

    /// Index of `region`.
    ///
    /// # Panics
    /// When the region is not part of the net.
    pub fn idx(&self, region: &str) -> usize {
        self.cities.iter().position(|c| c.region.as_str() == region).unwrap_or_else(|| panic!("no city {region}"))
    }

    /// The city `region`.
    pub fn city(&self, region: &str) -> &City {
        &self.cities[self.idx(region)]
    }

    /// Region ids in creation order.
    pub fn regions(&self) -> Vec<String> {
        self.cities.iter().map(|c| c.region.to_string()).collect()
    }

    /// The directory of the temp net.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Rewrites `region`'s `node.toml` (the node must be stopped to see it).
    ///
    /// # Errors
    /// Config errors.
    pub fn configure(&self, region: &str, f: impl FnOnce(&mut NodeConfig)) -> anyhow::Result<()> {
        edit_config(&self.city(region).config, f)
    }

    /// Starts every city the same way and waits until each is healthy and connected to all
    /// others.
    ///
    /// # Errors
    /// Start failures, or no full mesh within 30 s.
    pub async fn start_all(&mut self, how: Run) -> anyhow::Result<()> {
        for r in self.regions() {
            self.start(&r, how).await?;
        }
        self.wait_connected(Duration::from_secs(30)).await
    }

    /// Starts `region` (`how`) and waits until its API answers.
    ///
    /// # Errors
    /// Start failures, or not healthy within 30 s.
    pub async fn start(&mut self, region: &str, how: Run) -> anyhow::Result<()> {
        self.start_inner(region, how, None).await
    }

    /// Starts `region` in-process with an injected wall clock (RELIABILITY F14: skew and jumps
    /// at run time) and waits until its API answers.
    ///
    /// # Errors
    /// See [`TestNet::start`].
    pub async fn start_with_clock(&mut self, region: &str, clock: credfed_node::state::Clock) -> anyhow::Result<()> {
        self.start_inner(region, Run::InProcess, Some(clock)).await
    }

    async fn start_inner(
        &mut self,
        region: &str,
        how: Run,
        clock: Option<credfed_node::state::Clock>,
    ) -> anyhow::Result<()> {
        let i = self.idx(region);
        if !matches!(self.slots[i].running, Running::Stopped) {
            bail!("{region} is already running");
        }
        let city = self.cities[i].clone();
        self.slots[i].how = how;
        self.slots[i].running = match how {
            Run::InProcess => {
                let cfg = NodeConfig::load(&city.config)?;
                let clock = clock.unwrap_or_else(credfed_node::state::system_clock);
                Running::InProcess(Box::new(
                    credfed_node::node::start_with_clock(cfg, clock)
                        .await
                        .with_context(|| format!("starting {region}"))?,
                ))
            }
            Run::Process => Running::Process(spawn_process(&city, &self.slots[i].wrapper)?),
        };
        let url = self.url(region, "/v1/health");
        let http = self.http.clone();
        let t0 = Instant::now();
        loop {
            if let Ok(r) = http.get(&url, None).await {
                if r.status == 200 {
                    return Ok(());
                }
            }
            if let Running::Process(c) = &mut self.slots[i].running {
                if let Some(status) = c.try_wait()? {
                    self.slots[i].running = Running::Stopped;
                    bail!(
                        "{region} exited with {status}; {}/node.log ends:\n{}",
                        city.dir.display(),
                        log_tail(&city.dir, 20)
                    );
                }
            }
            if t0.elapsed() > Duration::from_secs(30) {
                bail!(
                    "{region} not healthy within 30 s; {}/node.log ends:\n{}",
                    city.dir.display(),
                    log_tail(&city.dir, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Restarts a stopped or killed city the way it last ran.
    ///
    /// # Errors
    /// See [`TestNet::start`].
    pub async fn restart(&mut self, region: &str) -> anyhow::Result<()> {
        let how = self.slots[self.idx(region)].how;
        self.start(region, how).await
    }

    /// Kills `region` hard: SIGKILL for a process (no flush, no goodbye); an in-process node
    /// cannot be killed, so it is shut down.
    pub async fn kill(&mut self, region: &str) {
        let i = self.idx(region);
        match std::mem::replace(&mut self.slots[i].running, Running::Stopped) {
            Running::Stopped => {}
            Running::InProcess(n) => n.shutdown().await,
            Running::Process(mut c) => {
                let _ = c.kill();
                let _ = tokio::task::spawn_blocking(move || c.wait()).await;
            }
        }
    }

    /// Stops `region` gracefully (SIGTERM for a process, SIGKILL after 15 s).
    pub async fn stop(&mut self, region: &str) {
        let i = self.idx(region);
        match std::mem::replace(&mut self.slots[i].running, Running::Stopped) {
            Running::Stopped => {}
            Running::InProcess(n) => n.shutdown().await,
            Running::Process(c) => {
                let _ = tokio::task::spawn_blocking(move || terminate(c, Duration::from_secs(15))).await;
            }
        }
    }

    /// Stops every city (in-process nodes flush; processes get SIGTERM).
    pub async fn shutdown(mut self) {
        for r in self.regions() {
            self.stop(&r).await;
        }
    }

    /// The in-process node of `region`, if it runs in-process.
    pub fn node(&self, region: &str) -> Option<&RunningNode> {
        match &self.slots[self.idx(region)].running {
            Running::InProcess(n) => Some(n),
            _ => None,
        }
    }

    /// The pid of `region`'s process, if it runs as one.
    pub fn pid(&self, region: &str) -> Option<u32> {
        match &self.slots[self.idx(region)].running {
            Running::Process(c) => Some(c.id()),
            _ => None,
        }
    }

    /// Whether `region` runs.
    pub fn is_running(&self, region: &str) -> bool {
        !matches!(self.slots[self.idx(region)].running, Running::Stopped)
    }

    /// Regions currently running.
    pub fn running(&self) -> Vec<String> {
        self.regions().into_iter().filter(|r| self.is_running(r)).collect()
    }

    /// `http://API/path` of `region`.
    pub fn url(&self, region: &str, path: &str) -> String {
        format!("http://{}{path}", self.city(region).api)
    }

    /// `region`'s token for `scope` (`submit`, `query`, `audit`, `admin`).
    ///
    /// # Panics
    /// On an unknown scope.
    pub fn token(&self, region: &str, scope: &str) -> String {
        let t = &self.city(region).access.tokens;
        match scope {
            "submit" => t.submit.clone(),
            "query" => t.query.clone(),
            "audit" => t.audit.clone(),
            "admin" => t.admin.clone(),
            other => panic!("unknown scope {other}"),
        }
    }

    /// `GET path` at `region` with its `scope` token (`None`: no token).
    ///
    /// # Errors
    /// Connection failures.
    pub async fn get(&self, region: &str, path: &str, scope: Option<&str>) -> anyhow::Result<Reply> {
        let tok = scope.map(|s| self.token(region, s));
        self.http.get(&self.url(region, path), tok.as_deref()).await
    }

    /// A JSON `method path` at `region` with its `scope` token.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn send(
        &self,
        region: &str,
        method: &str,
        path: &str,
        scope: &str,
        body: &Value,
    ) -> anyhow::Result<Reply> {
        self.http.send_json(method, &self.url(region, path), Some(&self.token(region, scope)), body).await
    }

    /// Posts a record draft at `region`.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn submit(&self, region: &str, draft: &Value) -> anyhow::Result<Reply> {
        self.send(region, "POST", "/v1/records", "submit", draft).await
    }

    /// Submits an `administrative_penalty` in the `ecology_environment` sector at `region`
    /// and returns its id (fails unless `201`).
    ///
    /// # Errors
    /// Connection failures or a refusal.
    pub async fn submit_penalty(
        &self,
        region: &str,
        uscc: &str,
        severity: &str,
        decided_on: Day,
        classification: &str,
        facts: &str,
    ) -> anyhow::Result<String> {
        let name = self.city(region).anchor.name.clone();
        let draft = penalty_draft(&name, uscc, severity, decided_on, classification, facts);
        let r = self.submit(region, &draft).await?;
        if r.status != 201 {
            bail!("submit at {region}: {} {}", r.status, r.text());
        }
        Ok(r.json["id"].as_str().context("id in the answer")?.to_owned())
    }

    /// `POST /v1/records/{id}/repair` at `region`.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn repair(&self, region: &str, id: &str, on: Day) -> anyhow::Result<Reply> {
        let body = json!({ "repaired_on": on, "basis": "当事人已履行行政处罚决定并作出信用承诺" });
        self.send(region, "POST", &format!("/v1/records/{id}/repair"), "submit", &body).await
    }

    /// `GET /v1/records/{id}` at `region` with its `scope` token.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn record(&self, region: &str, id: &str, scope: &str) -> anyhow::Result<Reply> {
        self.get(region, &format!("/v1/records/{id}"), Some(scope)).await
    }

    /// `GET /v1/objects/{id}` at `region` (audit token).
    ///
    /// # Errors
    /// Connection failures.
    pub async fn object(&self, region: &str, id: &str) -> anyhow::Result<Reply> {
        self.get(region, &format!("/v1/objects/{id}"), Some("audit")).await
    }

    /// `GET /v1/subjects/{uscc}/records` at `region` (query token): the `records` array.
    ///
    /// # Errors
    /// Connection failures or a non-200 answer.
    pub async fn subject(&self, region: &str, uscc: &str) -> anyhow::Result<Vec<Value>> {
        let r = self.get(region, &format!("/v1/subjects/{uscc}/records"), Some("query")).await?;
        if r.status != 200 {
            bail!("subject at {region}: {} {}", r.status, r.text());
        }
        Ok(r.json["records"].as_array().cloned().unwrap_or_default())
    }

    /// `GET /v1/feeds` at `region`: origin → head seq.
    ///
    /// # Errors
    /// Connection failures or a non-200 answer.
    pub async fn feeds(&self, region: &str) -> anyhow::Result<BTreeMap<String, u64>> {
        let r = self.get(region, "/v1/feeds", Some("audit")).await?;
        if r.status != 200 {
            bail!("feeds at {region}: {} {}", r.status, r.text());
        }
        let mut out = BTreeMap::new();
        for h in r.json["heads"].as_array().into_iter().flatten() {
            out.insert(h["origin"].as_str().unwrap_or_default().to_owned(), h["seq"].as_u64().unwrap_or(0));
        }
        Ok(out)
    }

    /// Every durable audit entry of `region` (`event` objects), paging through
    /// `/v1/audit/entries`.
    ///
    /// # Errors
    /// Connection failures or a non-200 answer.
    pub async fn audit_events(&self, region: &str) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            let path = format!("/v1/audit/entries?start={}", out.len());
            let r = self.get(region, &path, Some("audit")).await?;
            if r.status != 200 {
                bail!("audit entries at {region}: {} {}", r.status, r.text());
            }
            let page = r.json["entries"].as_array().cloned().unwrap_or_default();
            if page.is_empty() {
                return Ok(out);
            }
            out.extend(page.into_iter().map(|e| e["event"].clone()));
            if out.len() as u64 >= r.json["size"].as_u64().unwrap_or(0) {
                return Ok(out);
            }
        }
    }

    /// `region`'s key file `file` (`node.key`, `authority-1.key`, `root.key`).
    ///
    /// # Panics
    /// When the file does not hold a key.
    pub fn key(&self, region: &str, file: &str) -> credfed_protocol::keys::SecretKey {
        credfed_node::keyfile::read_key(&self.city(region).dir.join("keys").join(file)).expect("key file")
    }

    /// `region`'s libp2p peer id (the last part of its p2p address).
    ///
    /// # Panics
    /// When the address names no peer id.
    pub fn peer_id(&self, region: &str) -> credfed_net::PeerId {
        let addr: credfed_net::Multiaddr = self.city(region).p2p.parse().expect("p2p address");
        addr.iter()
            .find_map(|p| if let credfed_net::multiaddr::Protocol::P2p(id) = p { Some(id) } else { None })
            .expect("peer id in the p2p address")
    }

    /// The items of `/v1/feeds` list `list` (`equivocations`, `split_views`) at `region` about
    /// region `about` (their `origin` or `region`); empty when the node does not answer.
    pub async fn evidence(&self, region: &str, list: &str, about: &str) -> Vec<Value> {
        let Ok(f) = self.get(region, "/v1/feeds", Some("audit")).await else { return Vec::new() };
        f.json[list]
            .as_array()
            .map(|v| v.iter().filter(|e| e["origin"] == about || e["region"] == about).cloned().collect())
            .unwrap_or_default()
    }

    /// `credfed-admin --json audit checkpoint --state STATE` against `region`'s node (audit
    /// token).
    pub fn audit_checkpoint(&self, region: &str, state: &Path) -> std::process::Output {
        let (url, token) = (self.url(region, ""), self.token(region, "audit"));
        let state = state.to_string_lossy();
        crate::admin(["--json", "--node", &url, "--token", &token, "audit", "checkpoint", "--state", &state])
    }

    /// `(code, source kind)` of every `rejected` audit event at `region` (source kind:
    /// `sync`, `gossip`, `local`…).
    pub async fn rejections(&self, region: &str) -> Vec<(String, String)> {
        let events = self.audit_events(region).await.unwrap_or_default();
        events
            .iter()
            .filter_map(|e| {
                let r = &e["rejected"];
                let code = r["code"].as_str()?.to_owned();
                let src = r["source"]
                    .as_object()?
                    .keys()
                    .next()
                    .cloned()
                    .or_else(|| r["source"].as_str().map(String::from))?;
                Some((code, src))
            })
            .collect()
    }

    /// A [`Chain`](crate::rogue::Chain) continuing `origin`'s feed from its head as `at` holds
    /// it, signed with `key`.
    ///
    /// # Errors
    /// Connection failures, or `at` holding no entry of `origin`.
    pub async fn chain_after(
        &self,
        at: &str,
        origin: &str,
        key: credfed_protocol::keys::SecretKey,
    ) -> anyhow::Result<crate::rogue::Chain> {
        let h = *self.feeds(at).await?.get(origin).context("no feed of that origin")?;
        let r = self.get(at, &format!("/v1/feeds/{origin}?from={h}&to={h}"), Some("audit")).await?;
        let hex_entry = r.json["entries"][0]["entry_hex"].as_str().context("entry in the answer")?;
        let head = credfed_protocol::feed::SignedFeedEntry::open(&hex::decode(hex_entry)?)?;
        Ok(crate::rogue::Chain { origin: origin.parse()?, seq: h, prev: head.hash, key })
    }

    /// `PUT /v1/admin/policy` at `region`.
    ///
    /// # Errors
    /// Connection failures or a non-200 answer.
    pub async fn set_policy(&self, region: &str, policy: &Value) -> anyhow::Result<()> {
        let r = self.send(region, "PUT", "/v1/admin/policy", "admin", policy).await?;
        if r.status != 200 {
            bail!("policy at {region}: {} {}", r.status, r.text());
        }
        Ok(())
    }

    /// The value of metric `name` (exact series, labels included) on `region`'s admin listener.
    ///
    /// # Errors
    /// Connection failures, or no such series.
    pub async fn metric(&self, region: &str, name: &str) -> anyhow::Result<f64> {
        let r = self.http.get(&format!("http://{}/metrics", self.admin[self.idx(region)]), None).await?;
        let line = r.text().lines().find(|l| l.split_whitespace().next() == Some(name)).map(String::from);
        let line = line.ok_or_else(|| anyhow::anyhow!("{name} not in {region}'s metrics"))?;
        Ok(line.split_whitespace().nth(1).unwrap_or("nan").parse()?)
    }

    /// Connected peer count reported by `/v1/health`.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn peer_count(&self, region: &str) -> anyhow::Result<u64> {
        Ok(self.get(region, "/v1/health", None).await?.json["peers"].as_u64().unwrap_or(0))
    }

    /// Waits until every running city reports all other running cities as peers.
    ///
    /// # Errors
    /// Not within `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> anyhow::Result<()> {
        let running = self.running();
        let want = running.len().saturating_sub(1) as u64;
        wait_until(timeout, "every node connected to every other", || async {
            for r in &running {
                if self.peer_count(r).await.unwrap_or(0) < want {
                    return false;
                }
            }
            true
        })
        .await
        .map(|_| ())
    }

    /// Feed heads of every running city, if all answered.
    pub async fn all_heads(&self) -> Option<Vec<BTreeMap<String, u64>>> {
        let mut out = Vec::new();
        for r in self.running() {
            out.push(self.feeds(&r).await.ok()?);
        }
        Some(out)
    }

    /// Waits until every running city holds identical feed heads; returns how long it took.
    ///
    /// # Errors
    /// Not within `timeout` (the error shows the last heads).
    pub async fn wait_converged(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let r = wait_until(timeout, "identical feed heads at every node", || async {
            self.all_heads().await.is_some_and(|h| h.windows(2).all(|w| w[0] == w[1]))
        })
        .await;
        match r {
            Ok(d) => Ok(d),
            Err(e) => bail!("{e}; heads: {:?}", self.all_heads().await),
        }
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        for s in &mut self.slots {
            if let Running::Process(c) = &mut s.running {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Province names used by [`province_regions`].
pub const PROVINCES: &[&str] = &[
    "henan",
    "anhui",
    "hubei",
    "jiangsu",
    "zhejiang",
    "shandong",
    "hebei",
    "hunan",
    "jiangxi",
    "sichuan",
    "guangdong",
    "fujian",
    "shanxi",
    "shaanxi",
    "yunnan",
    "guizhou",
    "gansu",
    "liaoning",
    "jilin",
    "guangxi",
];

/// `n` region ids in provinces of `per_province` cities: `henan_01`, `henan_02`, …, `anhui_01`…
pub fn province_regions(n: usize, per_province: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}_{:02}", PROVINCES[(i / per_province) % PROVINCES.len()], i % per_province + 1)).collect()
}

/// Directed dial edges of a provincial topology over `n` cities in provinces of
/// `per_province`: every city dials every earlier city of its province (a full mesh inside a
/// province, one connection per pair), and each province makes two cross-province links: its
/// first city dials the next province's first city (a ring) and its second city dials the
/// second city of the province three ahead (chords), so the diameter stays small.
pub fn province_edges(n: usize, per_province: usize) -> Vec<(usize, usize)> {
    let provinces = n.div_ceil(per_province);
    let mut e = Vec::new();
    for i in 0..n {
        let start = i - i % per_province;
        e.extend((start..i).map(|j| (i, j)));
    }
    if provinces > 1 {
        for p in 0..provinces {
            let first = |q: usize| (q % provinces) * per_province;
            let (a, b) = (first(p), first(p + 1));
            if a != b && !e.contains(&(b, a)) {
                e.push((a, b));
            }
            let (c, d) = (first(p) + 1, first(p + 3) + 1);
            if provinces > 3 && c < n && d < n && c != d && !e.contains(&(d, c)) && !e.contains(&(c, d)) {
                e.push((c, d));
            }
        }
    }
    e
}

/// A penalty draft (ecology/environment sector, so the general rule table applies).
pub fn penalty_draft(
    region_name: &str,
    uscc: &str,
    severity: &str,
    decided_on: Day,
    classification: &str,
    facts: &str,
) -> Value {
    json!({
        "kind": "administrative_penalty",
        "subject": { "uscc": uscc },
        "subject_name": "某环保科技有限公司",
        "authority": format!("{region_name}生态环境局"),
        "decision_no": format!("环罚〔{}〕{}号", decided_on.year(), decided_on.day()),
        "legal_basis": "《中华人民共和国大气污染防治法》第一百零八条",
        "facts": facts,
        "severity": severity,
        "sector": "ecology_environment",
        "decided_on": decided_on,
        "classification": classification,
    })
}

/// Loads, edits and rewrites a `node.toml`.
///
/// # Errors
/// Config or I/O errors.
pub fn edit_config(path: &Path, f: impl FnOnce(&mut NodeConfig)) -> anyhow::Result<()> {
    let mut cfg = NodeConfig::load(path)?;
    f(&mut cfg);
    std::fs::write(path, cfg.to_toml())?;
    Ok(())
}

/// `127.0.0.1:PORT` of a `/ip4/127.0.0.1/tcp/PORT/p2p/…` multiaddr.
///
/// # Errors
/// Other shapes.
pub fn p2p_socket(multiaddr: &str) -> anyhow::Result<SocketAddr> {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    match parts.as_slice() {
        ["", "ip4", ip, "tcp", port, ..] => Ok(format!("{ip}:{port}").parse()?),
        _ => bail!("unexpected multiaddr {multiaddr}"),
    }
}

fn spawn_process(city: &City, wrapper: &[String]) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(city.dir.join("node.log"))?;
    let filter = std::env::var("CREDFED_TEST_LOG").unwrap_or_else(|_| "warn".into());
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(node_binary());
            c
        }
        None => Command::new(node_binary()),
    };
    cmd.arg("run")
        .arg("--config")
        .arg(&city.config)
        .env("RUST_LOG", filter)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("spawning {} for {}", node_binary().display(), city.region))
}

/// SIGTERM, then SIGKILL after `grace`. Blocking.
pub fn terminate(mut c: Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
    let t0 = Instant::now();
    while t0.elapsed() < grace {
        if let Ok(Some(s)) = c.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    c.wait().ok()
}

/// The node log of a city (for failure messages).
pub fn log_tail(dir: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Every file under `dir` (recursively).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
