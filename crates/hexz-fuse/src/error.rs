//! The one error type of the crate: what can go wrong when mounting or unmounting.

use std::io;
use std::path::PathBuf;

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a mount or an unmount failed. Errors while mounted are not here: a read that fails is
/// answered with `EIO` to the reading process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The mountpoint does not exist.
    #[error("mountpoint {0} does not exist (create it first: mkdir -p {0})")]
    MountpointMissing(PathBuf),
    /// The mountpoint is not a directory.
    #[error("mountpoint {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The mountpoint has entries; mounting would hide them.
    #[error("mountpoint {0} is not empty (mount on an empty directory)")]
    NotEmpty(PathBuf),
    /// `/dev/fuse` cannot be opened.
    #[error("{}", fuse_device_message(.0))]
    NoFuseDevice(#[source] io::Error),
    /// The kernel refused the mount, or it could not be set up.
    #[error("cannot mount at {path}: {source}")]
    Mount {
        /// The mountpoint.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The mount was made but did not answer in time; it has been undone.
    #[error("the mount at {path} did not answer within {secs} s; it has been unmounted")]
    NotReady {
        /// The mountpoint.
        path: PathBuf,
        /// The time waited.
        secs: u64,
    },
    /// Nothing is mounted there.
    #[error("{0} is not a mount point")]
    NotMounted(PathBuf),
    /// Something other than a hexz mount is mounted there.
    #[error("{path} is not a hexz mount (it is a {fstype} mount of {what})")]
    NotHexz {
        /// The mountpoint.
        path: PathBuf,
        /// Its file system type, as in /proc/self/mountinfo.
        fstype: String,
        /// Its source, as in /proc/self/mountinfo.
        what: String,
    },
    /// Files or working directories under the mount are in use.
    #[error(
        "{0} is busy: a process has a file open or its working directory under it (close them, \
         or detach it now with --lazy and it goes away when the last file is closed)"
    )]
    Busy(PathBuf),
    /// Unmounting failed for another reason.
    #[error("cannot unmount {path}: {source}")]
    Unmount {
        /// The mountpoint.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Any other system call that failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and on what.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The archive could not be read (e.g. a corrupt entries table).
    #[error(transparent)]
    Archive(#[from] hexz_core::Error),
}

fn fuse_device_message(e: &io::Error) -> String {
    let hint = match e.kind() {
        io::ErrorKind::NotFound => {
            "it does not exist: load the fuse kernel module (modprobe fuse), or in a container \
             pass the device in (docker run --device /dev/fuse --cap-add SYS_ADMIN)"
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied: mount as root, or give your user access to /dev/fuse"
        }
        _ => "it cannot be opened",
    };
    format!("FUSE is not available: /dev/fuse: {hint} ({e})")
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
