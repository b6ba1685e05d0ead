//! download: a 256 MiB output file fetched through /content, whole and in 8 MiB ranges,
//! against reading the same file from disk and nginx serving it (skipped when nginx is not
//! installed, unless `--nginx` asks for it).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::header::RANGE;

use crate::report::{Report, Row};
use crate::server::{ScriptDef, Server, ServerOptions};
use crate::stats::{ratio, round};
use crate::Ctx;

const TARGET: f64 = 0.9;
const RANGE_BYTES: u64 = 8 << 20;
const ROUNDS: usize = 3;

pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let size: u64 = if ctx.quick { 32 << 20 } else { 256 << 20 };
    let server = Server::start(
        &ctx.processd,
        ServerOptions {
            scripts: vec![ScriptDef {
                name: "blob",
                command: vec![
                    ctx.me.display().to_string(),
                    "emit-file".to_owned(),
                    size.to_string(),
                ],
            }],
            ..ServerOptions::default()
        },
    )
    .await?;
    let launched = server.launch("blob").await?;
    server
        .wait_completed(
            &launched,
            Duration::from_millis(10),
            Duration::from_millis(50),
        )
        .await?;
    let id = launched.id;
    // An anonymous launch is read with its capability; the content link then carries it.
    let access = launched
        .access
        .as_deref()
        .map(|a| format!("?access={a}"))
        .unwrap_or_default();
    let (_, files) = server
        .get_admin(&format!("/api/system/processes/{id}/files{access}"))
        .await?;
    let href = files["_embedded"]["bitstreams"][0]["_links"]["content"]["href"]
        .as_str()
        .with_context(|| format!("no content link in {files}"))?
        .to_owned();
    let url = server.url(&href);
    let path = server.data_dir.join(format!("runs/{id}/output/blob.bin"));

    // Every side is measured ROUNDS times, interleaved, and its best time kept: the file is
    // in the page cache for all of them.
    let (mut disk, mut whole, mut ranges) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        disk = disk.min(read_disk(&path, size)?);
        whole = whole.min(fetch(&server.client, &url, size, None).await?);
        ranges = ranges.min(fetch(&server.client, &url, size, Some(RANGE_BYTES)).await?);
    }
    let nginx = match nginx_time(&server.client, &path, size).await {
        Ok(t) => t,
        // Asked for, the baseline must be there: a missing one fails the scenario loudly.
        Err(e) if ctx.nginx => return Err(e.context("the nginx baseline (--nginx)")),
        Err(e) => {
            eprintln!("process-bench: nginx comparison skipped: {e:#}");
            None
        }
    };
    if nginx.is_none() && ctx.nginx {
        bail!("--nginx: nginx is not installed (`just bench-deps` installs nginx-light)");
    }
    server.stop(Duration::from_secs(10));

    let mib = (size >> 20) as f64;
    let gbs = |d: Duration| size as f64 / d.as_secs_f64() / 1e9;
    let r = ratio(disk.as_secs_f64(), whole.as_secs_f64());
    let r_ranges = ratio(disk.as_secs_f64(), ranges.as_secs_f64());
    report.row(Row {
        scenario: "download",
        metric: format!("{mib:.0} MiB whole: GB/s"),
        processd: format!("{:.2}", gbs(whole)),
        baseline: format!("{:.2} from disk", gbs(disk)),
        ratio: format!("{r:.2}"),
        target: Some(("≥ 0.9", r >= TARGET)),
    });
    report.row(Row {
        scenario: "download",
        metric: format!("{mib:.0} MiB in 8 MiB ranges: GB/s"),
        processd: format!("{:.2}", gbs(ranges)),
        baseline: format!("{:.2} from disk", gbs(disk)),
        ratio: format!("{r_ranges:.2}"),
        target: None,
    });
    report.set("download_mib", size >> 20);
    report.set("download_gb_per_s", round(gbs(whole), 3));
    report.set("download_ranges_gb_per_s", round(gbs(ranges), 3));
    report.set("disk_gb_per_s", round(gbs(disk), 3));
    report.set("download_ratio", round(r, 3));
    report.set("download_ranges_ratio", round(r_ranges, 3));
    match nginx {
        Some((t, t_ranges)) => {
            let rn = ratio(t.as_secs_f64(), whole.as_secs_f64());
            let rn_ranges = ratio(t_ranges.as_secs_f64(), ranges.as_secs_f64());
            report.row(Row {
                scenario: "download",
                metric: format!("{mib:.0} MiB whole vs nginx: GB/s"),
                processd: format!("{:.2}", gbs(whole)),
                baseline: format!("{:.2} nginx", gbs(t)),
                ratio: format!("{rn:.2}"),
                target: Some(("≥ 0.9", rn >= TARGET)),
            });
            report.row(Row {
                scenario: "download",
                metric: format!("{mib:.0} MiB in 8 MiB ranges vs nginx: GB/s"),
                processd: format!("{:.2}", gbs(ranges)),
                baseline: format!("{:.2} nginx", gbs(t_ranges)),
                ratio: format!("{rn_ranges:.2}"),
                target: Some(("≥ 0.9", rn_ranges >= TARGET)),
            });
            report.set("nginx_gb_per_s", round(gbs(t), 3));
            report.set("nginx_ranges_gb_per_s", round(gbs(t_ranges), 3));
            report.set("download_nginx_ratio", round(rn, 3));
            report.set("download_nginx_ranges_ratio", round(rn_ranges, 3));
        }
        None => report.row(Row::info("download", "nginx", "not installed: skipped")),
    }
    Ok(())
}

/// Reads the file through an 8 MiB buffer, as a program would.
fn read_disk(path: &Path, size: u64) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; RANGE_BYTES as usize];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let d = t.elapsed();
    if total != size {
        bail!("read {total} bytes from {}", path.display());
    }
    Ok(d)
}

/// GETs `url` whole, or in ranges of `range` bytes one after another; checks the byte count.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    size: u64,
    range: Option<u64>,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut total = 0u64;
    match range {
        None => total += body_len(client.get(url).send().await?, 200).await?,
        Some(step) => {
            let mut at = 0;
            while at < size {
                let end = (at + step).min(size) - 1;
                let resp = client
                    .get(url)
                    .header(RANGE, format!("bytes={at}-{end}"))
                    .send()
                    .await?;
                total += body_len(resp, 206).await?;
                at = end + 1;
            }
        }
    }
    let d = t.elapsed();
    if total != size {
        bail!("fetched {total} of {size} bytes from {url}");
    }
    Ok(d)
}

async fn body_len(mut resp: reqwest::Response, expect: u16) -> anyhow::Result<u64> {
    if resp.status().as_u16() != expect {
        bail!(
            "{} answered {}, expected {expect}",
            resp.url(),
            resp.status()
        );
    }
    let mut n = 0u64;
    while let Some(chunk) = resp.chunk().await? {
        n += chunk.len() as u64;
    }
    Ok(n)
}

/// The best of ROUNDS fetches of the file from nginx on loopback, whole and in ranges; None if
/// nginx is not installed.
async fn nginx_time(
    client: &reqwest::Client,
    file: &Path,
    size: u64,
) -> anyhow::Result<Option<(Duration, Duration)>> {
    let Some(bin) = find_nginx() else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let root = file.parent().context("file without a directory")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  client_body_temp_path {d};\n\
             proxy_temp_path {d};\n  fastcgi_temp_path {d};\n  uwsgi_temp_path {d};\n\
             scgi_temp_path {d};\n  server {{ listen 127.0.0.1:{port}; root {root}; }}\n}}\n",
            d = dir.path().display(),
            root = root.display(),
            // Run as root, nginx's workers would drop to `nobody`, who cannot read the
            // benchmark's private temporary directory.
            user = if nix::unistd::geteuid().is_root() { "user root;\n" } else { "" },
        ),
    )?;
    let child = Command::new(&bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let _guard = KillOnDrop(child);
    let url = format!("http://127.0.0.1:{port}/blob.bin");
    let ready = Instant::now();
    while client.get(&url).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(10) {
            bail!("nginx did not answer on port {port}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut whole, mut ranges) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        whole = whole.min(fetch(client, &url, size, None).await?);
        ranges = ranges.min(fetch(client, &url, size, Some(RANGE_BYTES)).await?);
    }
    Ok(Some((whole, ranges)))
}

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
