//! Building, running and calling the shop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::{Error, Result};

/// Runs `cargo ARGS` in `dir` with `envs` set, its stdin and stdout null:
/// the cargo running us (`$CARGO` under `cargo run`), else `cargo` from
/// `PATH`; its exit status.
pub(super) fn cargo_in(dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Result<ExitStatus> {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(dir)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| {
            let command = args.first().copied().unwrap_or_default();
            Error::io(format!("cannot run cargo {command} in {}", dir.display()), e)
        })
}

/// `cargo build --locked` of the shop in `repo` into `target_dir`; the path
/// of the built binary.
pub(crate) fn build(repo: &Path, target_dir: &Path) -> Result<PathBuf> {
    let args = ["build", "--locked", "--bin", "shop"];
    let status = cargo_in(repo, &args, &[("CARGO_TARGET_DIR", target_dir)])?;
    if !status.success() {
        return Err(Error::Task(format!(
            "cargo build of the shop in {} failed ({status})",
            repo.display()
        )));
    }
    let bin = target_dir
        .join("debug")
        .join(format!("shop{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        return Err(Error::Task(format!("cargo build did not produce {}", bin.display())));
    }
    Ok(bin)
}

/// What the shop is started with.
#[derive(Debug, Clone)]
pub(crate) struct ShopEnv {
    /// Collector URL.
    pub(crate) endpoint: String,
    /// Collector token.
    pub(crate) token: String,
    /// `BUGSTACK_RELEASE`: the commit it was built from.
    pub(crate) release: String,
    /// Where its stderr goes.
    pub(crate) log: PathBuf,
}

/// A running shop; killed when dropped (also when the demo fails).
#[derive(Debug)]
pub(crate) struct Shop {
    child: Child,
    /// `host:port`.
    pub(crate) addr: String,
}

impl Shop {
    /// Starts `bin` and waits for its `listening on ADDR` line.
    pub(crate) fn start(bin: &Path, env: &ShopEnv) -> Result<Shop> {
        let log = std::fs::File::create(&env.log)
            .map_err(|e| Error::io(format!("cannot create {}", env.log.display()), e))?;
        let mut child = Command::new(bin)
            .env("SHOP_ADDR", "127.0.0.1:0")
            .env("BUGSTACK_ENDPOINT", &env.endpoint)
            .env("BUGSTACK_TOKEN", &env.token)
            .env("BUGSTACK_RELEASE", &env.release)
            .env("BUGSTACK_ENVIRONMENT", "demo")
            // The demo shop is thrown away with its collector: nothing to replay later.
            .env("BUGSTACK_SPOOL_DIR", "off")
            .env_remove("BUGSTACK_SERVICE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| Error::io(format!("cannot start {}", bin.display()), e))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Task("the shop's stdout is not captured".into()));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut shop = Shop {
            child,
            addr: String::new(),
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => shop.addr = addr,
            Err(_) => {
                return Err(Error::Task(format!(
                    "the shop did not print `listening on ADDR` within 30 s; see {}",
                    env.log.display()
                )))
            }
        }
        Ok(shop)
    }

    /// `http://ADDR{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain blocking HTTP client (call it outside the async runtime).
pub(crate) fn client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::Task(format!("cannot build an HTTP client: {e}")))
}

/// `POST /carts`: the new cart's id.
pub(crate) fn new_cart(client: &reqwest::blocking::Client, shop: &Shop) -> Result<u64> {
    let res = client
        .post(shop.url("/carts"))
        .send()
        .map_err(|e| Error::Task(format!("POST /carts: {e}")))?;
    let status = res.status();
    let body = res.text().map_err(|e| Error::Task(format!("POST /carts: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    v["id"]
        .as_u64()
        .filter(|_| status.as_u16() == 201)
        .ok_or_else(|| Error::Task(format!("POST /carts answered {status} {body}")))
}

/// `POST /carts/{id}/items` with one item.
pub(crate) fn add_item(client: &reqwest::blocking::Client, shop: &Shop, cart: u64) -> Result<()> {
    let res = client
        .post(shop.url(&format!("/carts/{cart}/items")))
        .header("content-type", "application/json")
        .body(r#"{"sku":"tea","price_cents":450,"qty":2}"#)
        .send()
        .map_err(|e| Error::Task(format!("POST /carts/{cart}/items: {e}")))?;
    if res.status().as_u16() != 204 {
        return Err(Error::Task(format!(
            "POST /carts/{cart}/items answered {}",
            res.status()
        )));
    }
    Ok(())
}

/// `GET /carts/{id}/summary`: `Ok((status, body))`, or `Err(why)` when no
/// answer came (the handler panicked and the connection closed).
pub(crate) fn summary(
    client: &reqwest::blocking::Client,
    shop: &Shop,
    cart: u64,
) -> std::result::Result<(u16, String), String> {
    let res = client
        .get(shop.url(&format!("/carts/{cart}/summary")))
        .send()
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    Ok((status, res.text().unwrap_or_default()))
}
