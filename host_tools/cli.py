"""`hushword` command line: one registry of commands, each a module with
``add_arguments(parser)`` and ``run(args) -> int``. Modules load only when their command runs,
so `hushword --help` stays fast and a broken extra (e.g. torch) never breaks other commands.
"""

import argparse
import importlib
import os
import sys

from host_tools.errors import HushwordError

# name: (module, one-line help). Order is the order of `hushword --help`.
COMMANDS = {
    "sim": ("host_tools.sim", "run the simulated board on a pseudo-terminal"),
    "boards": ("host_tools.boards", "list board definitions and validate them"),
    "flash": ("host_tools.flash", "flash MicroPython and the app onto boards with esptool"),
    "image": ("host_tools.image", "build one flashable image: MicroPython + app filesystem"),
    "deploy": ("host_tools.deploy", "upload firmware, board files and models to a board"),
    "info": ("host_tools.info", "show firmware version, board, free RAM, models, privacy mode"),
    "monitor": ("host_tools.monitor", "show the board's events live"),
    "stream": ("host_tools.stream", "record debug audio from the board to a WAV file"),
    "privacy": ("host_tools.privacy", "show or switch whether audio may ever leave the board"),
    "wake-word": ("host_tools.wakeword", "show or choose the board's wake word"),
    "cutoff": ("host_tools.cutoff", "show or set how sure a model must be to fire"),
    "wifi": ("host_tools.wifi", "set or show the Wi-Fi a board forwards over"),
    "detect": ("host_tools.detect", "run the device pipeline on WAV files"),
    "train": ("host_tools.train", "train a wake word or command model from synthetic speech"),
    "eval": ("host_tools.evaluate", "evaluate models: FRR, false accepts/hour, DET curve"),
    "bench": ("host_tools.bench", "measure pipeline cost: MACs, flash, RAM, real-time factor"),
    "demo": ("host_tools.demo", "play the demo WAV through the simulated board"),
}


def build_parser(load=None):
    from host_tools import __version__

    parser = argparse.ArgumentParser(
        prog="hushword",
        description="Hushword host tools: flash, deploy, watch and train private voice boards. "
        "Audio never leaves a board unless its owner switches forwarding on.",
        epilog="Run 'hushword COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version="hushword " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        if name != load:
            sub.add_parser(name, help=help_, add_help=False)
            continue
        p = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        mod = _load(module, name)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _load(module, name):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise HushwordError("command '%s' is not available in this version" % name) from None
        raise HushwordError(
            "command '%s' needs the Python package '%s' (pip install -e .)" % (name, e.name)
        ) from None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    # Load only the chosen command's module.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(load=chosen if chosen in COMMANDS else None)
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return 0 if not argv else 2
        return int(args._run(args) or 0)
    except HushwordError as e:
        print("hushword: error: %s" % e, file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("hushword: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed by a pager or `head`: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # one clear line instead of a traceback, unless debugging
        if os.environ.get("HUSHWORD_DEBUG"):
            raise
        print("hushword: error: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
