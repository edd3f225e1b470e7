"""``python -m hexz`` and the ``hexz`` command that ``pip install hexz`` puts on the PATH: the
same program as the Rust ``hexz`` binary (``hexz --help``), run inside this package's native
module, so no Rust toolchain is needed."""

from __future__ import annotations

import os
import signal
import sys

from . import _native


def main() -> int:
    """Runs ``hexz`` with this process's arguments; returns its exit status."""
    cli_main = getattr(_native, "cli_main", None)
    if cli_main is None:
        print(
            "hexz: this build of the hexz package has no command line (it was built without "
            "the `cli` feature); install the wheel from PyPI or rebuild with --features cli",
            file=sys.stderr,
        )
        return 2
    # As for the Rust binary: Ctrl-C ends the program (Python's own handler would only set a
    # flag that nothing reads while the command runs in Rust).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # `mount --daemon` runs the command again in the background: with this interpreter (the
    # venv's, which has hexz) and this process's own arguments (`-m hexz ...` or the script).
    os.environ["HEXZ_SELF_EXE"] = sys.executable
    return int(cli_main(["hexz", *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
