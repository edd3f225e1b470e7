//! `hexz mount`: an archive as a read-only file system (FUSE), in the foreground or as a
//! daemon.

use super::Global;
use crate::{interrupt, size};
use anyhow::{bail, Context, Result};
use hexz_core::ReadOptions;
use hexz_fuse::MountOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const ABOUT: &str = "Mount an archive as a read-only file system (FUSE)";

pub const LONG_ABOUT: &str = "\
Mount an archive as a read-only file system (FUSE) on an empty directory.

Files, directories and symlinks appear with their size, permission bits and modification time; a
raw image appears as the file `disk` (and `memory` when the archive has one), which tools like
qemu-img, losetup or mount -o loop read in place. Only the blocks that are read are fetched and
decoded, through a cache of --cache-size bytes of decoded blocks; the kernel's page cache keeps
what was read across opens. Local archives and s3:// and http(s):// URLs all mount.

Every block is checked as it is read: a damaged block makes that read fail with EIO (an
input/output error), never wrong bytes; the rest of the archive still reads.

In the foreground (the default), hexz mount serves the mount until it is unmounted: Ctrl-C or
SIGTERM unmounts it and exits, and so does `hexz unmount MOUNTPOINT` (or umount) from another
shell. With --daemon it returns as soon as the mount answers, prints the mountpoint and keeps
serving in the background until `hexz unmount MOUNTPOINT`.

Files belong to the user who mounts unless --uid/--gid say otherwise; other users can only get
in with --allow-other (then the permission bits decide). Mounting needs root, or fusermount3
(package fuse3) for other users; in a container, /dev/fuse and CAP_SYS_ADMIN.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    mkdir -p /mnt/photos
    hexz mount photos.hxz /mnt/photos            serve until Ctrl-C
    hexz mount --daemon photos.hxz /mnt/photos   return once mounted, serve in the background
    hexz unmount /mnt/photos                     unmount (the daemon exits)

    hexz mount -d vm.hxz /mnt/vm && qemu-img info /mnt/vm/disk
    hexz mount -d --cache-size 1G s3://bucket/data.hxz /mnt/data
    hexz mount -d --allow-other --uid 1000 --gid 1000 data.hxz /srv/data";

/// Set in the environment of the background process that `--daemon` starts.
const DAEMON_CHILD: &str = "HEXZ_MOUNT_DAEMON_CHILD";
/// The program `--daemon` starts again with this process's arguments, when it is not this
/// executable (set by the Python package's entry to its interpreter).
const SELF_EXE: &str = "HEXZ_SELF_EXE";
/// What the background process writes on its stdout once the mount answers.
const READY: &str = "ready ";

/// Arguments of `hexz mount`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
    /// An existing, empty directory to mount on.
    mountpoint: PathBuf,
    /// Return once the mount answers and keep serving it in the background until
    /// `hexz unmount MOUNTPOINT`.
    #[arg(short, long)]
    daemon: bool,
    /// Decoded blocks kept in memory (e.g. 256M, 1G).
    #[arg(long, value_name = "SIZE", value_parser = size::parse, default_value = "256M")]
    cache_size: u64,
    /// Owner of every file (default: the user who mounts).
    #[arg(long, value_name = "N")]
    uid: Option<u32>,
    /// Group of every file (default: the group of the user who mounts).
    #[arg(long, value_name = "N")]
    gid: Option<u32>,
    /// Let other users in (the permission bits still apply).
    #[arg(long)]
    allow_other: bool,
    /// Threads serving the kernel's requests.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
}

/// Runs `hexz mount`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let child = std::env::var_os(DAEMON_CHILD).is_some();
    if args.daemon && !child {
        return start_daemon(&args, global);
    }
    serve(args, global, child)
}

/// Mounts and serves until a signal or an outside unmount. As the daemon's background process
/// (`ready_pipe`), reports readiness on stdout, then lets go of the terminal's files.
fn serve(args: Args, global: &Global, ready_pipe: bool) -> Result<()> {
    // Before anything else, so that a signal during the setup still unmounts.
    interrupt::install();
    let cache_bytes = usize::try_from(args.cache_size).unwrap_or(usize::MAX);
    let options = ReadOptions {
        cache_bytes,
        ..ReadOptions::default()
    };
    let archive = super::open(&args.archive, options, global)?;
    // The source shown in /proc/mounts: a local archive by its absolute path.
    let fsname = match args.archive.to_str().filter(|s| hexz_store::is_url(s)) {
        Some(_) => None,
        None => args
            .archive
            .canonicalize()
            .ok()
            .map(|p| format!("hexz:{}", p.display())),
    };
    let opts = MountOptions {
        fsname,
        uid: args.uid,
        gid: args.gid,
        allow_other: args.allow_other,
        threads: args.threads.into(),
        log_errors: !ready_pipe,
        ..MountOptions::default()
    };
    let handle = hexz_fuse::mount_background(archive, &args.mountpoint, &opts)?;
    let shown = handle.mountpoint().display().to_string();
    if ready_pipe {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{READY}{shown}")
            .and_then(|()| out.flush())
            .context("cannot report readiness")?;
        drop(out);
        detach_from_terminal();
    } else if !global.quiet {
        let _ = writeln!(
            std::io::stderr(),
            "hexz: mounted {} at {shown} (read-only); Ctrl-C or `hexz unmount {shown}` unmounts",
            args.archive.display()
        );
    }
    loop {
        if interrupt::interrupted() {
            handle.unmount()?;
            return Ok(());
        }
        if handle.wait_timeout(Duration::from_millis(100)) {
            // Unmounted from outside.
            return Ok(());
        }
    }
}

/// Points stdin, stdout and stderr at /dev/null and leaves the working directory, so the
/// background process holds neither the caller's pipes nor a directory busy.
fn detach_from_terminal() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..=2 {
            // SAFETY: both descriptors are open; dup2 replaces `fd` atomically.
            unsafe {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
    let _ = std::env::set_current_dir("/");
}

/// Starts this same command again as a background process in its own session, and returns
/// once it reports that the mount answers (printing the mountpoint), or fails with its error.
fn start_daemon(args: &Args, global: &Global) -> Result<()> {
    // The Python entry (`hexz` script, `python -m hexz`) names its interpreter: current_exe()
    // would be the interpreter with its symlinks resolved, outside the venv that has hexz.
    let exe = match std::env::var_os(SELF_EXE) {
        Some(exe) if !exe.is_empty() => exe.into(),
        _ => std::env::current_exe().context("cannot find the hexz executable")?,
    };
    let mut cmd = Command::new(exe);
    cmd.args(std::env::args_os().skip(1))
        .env(DAEMON_CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A new session: no controlling terminal, so closing the shell does not hang it up.
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("cannot start the background process")?;
    let mut line = String::new();
    let stdout = child
        .stdout
        .take()
        .context("no pipe from the background process")?;
    let _ = BufReader::new(stdout).read_line(&mut line);
    if let Some(path) = line.trim_end_matches('\n').strip_prefix(READY) {
        if !global.quiet {
            println!("{path}");
        }
        return Ok(());
    }
    // It exited (or closed its stdout) without mounting: pass its error on.
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().context("waiting for the background process")?;
    let msg: Vec<&str> = err
        .lines()
        .map(|l| l.strip_prefix("hexz: error: ").unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if msg.is_empty() {
        bail!(
            "the background process exited ({status}) before {} was mounted",
            args.mountpoint.display()
        );
    }
    bail!("{}", msg.join("; "))
}
