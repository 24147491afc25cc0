"""The privacy gate: the one place where audio may leave the device.

Permissions (only the owner changes them: wired serial commands or the physical button):

* mode ``never`` (factory default) -- no audio is forwarded; wake words are counted, not sent.
* mode ``after_wake`` -- after a wake word, that one utterance goes to the configured Wyoming
  endpoint: from the wake word until the voice-activity detector reports the end (plus
  END_HANGOVER_MS), at most ``max_utterance_s`` seconds; NO_SPEECH_MS if no speech follows.
* debug permission -- separate, never persisted, time limited (default 60 s, max 600 s): the
  host may then request a debug stream of the microphone over the wired serial link.

DESIGN invariant 1: ``Gate._release`` is the only code that hands audio to a transport (serial
frames via ``link.write``, Wyoming chunks via ``WyomingClient.audio_chunk``); it re-checks the
permission itself every time, so a bug elsewhere in the gate cannot leak audio. A test checks
this structurally as well.

Invariant 4: the LED is on exactly while a session may send audio (and until its bytes have
drained); every open and close is an event; counters (wire bytes and sessions per transport)
are persisted when a session ends. The physical button: in ``after_wake`` a press switches to
``never`` at once (and revokes debug permission); in ``never`` a press switches to
``after_wake`` only if the owner configured an endpoint over serial before -- the button can
never point audio at a new destination.

The Wyoming connection is outbound only; the gate never reads commands from it.
"""

import struct
import time

from hushword import adpcm, config, forward, protocol
from hushword.config import MODE_AFTER_WAKE, MODE_NEVER

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


T_WYOMING = "wyoming"
T_SERIAL = "serial"

DEBUG_DEFAULT_S = 60
DEBUG_MAX_S = 600
END_HANGOVER_MS = const(300)  # after VAD end; the VAD has its own hangover for short pauses
NO_SPEECH_MS = const(2000)  # wake word but silence afterwards
DRAIN_MS = const(1000)  # how long a closed session may take to flush its last bytes
# A host name is looked up (blocking: MicroPython has no asynchronous DNS) only while no
# session is open: at boot or when the owner sets it (unless someone is talking), else once
# the room has been quiet for DNS_QUIET_MS; a failed lookup is retried after 30 s, then
# 60 s, ... at most hourly.
DNS_QUIET_MS = const(2000)
DNS_RETRY_MS = const(30000)
DNS_RETRY_MAX_MS = const(3600000)
HOP_SAMPLES = const(320)

CODECS = {"pcm16": protocol.KIND_PCM16, "adpcm": protocol.KIND_ADPCM}
_SET_FIELDS = ("mode", "host", "port", "max_utterance_s")  # only meaningful with action "set"

if hasattr(time, "ticks_ms"):
    _ticks_ms = time.ticks_ms
    _diff = time.ticks_diff
    _add = time.ticks_add
else:  # CPython

    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b

    def _add(a, b):
        return a + b


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Gate:
    def __init__(self, store, link, board, clock=None):
        self._store = store
        self._link = link
        self._board = board
        self._clock = clock or _ticks_ms
        self._cfg = store.load()
        self.config_error = store.error[0] if store.error else None
        if store.error:
            # A board that was never configured is normal, not an error; a damaged config is.
            kind = "notice" if store.error[0] == config.ERR_MISSING else "error"
            link.event(kind, code=store.error[0], msg=store.error[1])
        self._dirty = False
        # Wyoming session
        self._fwd = None
        self._fwd_t0 = 0
        self._fwd_deadline = 0
        self._fwd_limit = 0
        self._fwd_offered = 0
        self._fwd_end_at = None
        self._fwd_closing = None  # (reason, t) once no more audio is accepted
        self._fwd_audio = 0
        self._fwd_counted = 0
        self._fwd_drop_reported = False
        self._vad_active = False
        # Quiet enough for a lookup at once: nothing has been heard yet.
        self._quiet_since = _add(self._clock(), -DNS_QUIET_MS)
        self._dns_check = True  # the endpoint may need a lookup: set again when it changes
        self._dns_error = None  # why the last lookup failed, for the refusals until the next
        self._dns_at = None  # earliest next lookup of a host name (None: at the next chance)
        self._dns_wait = DNS_RETRY_MS
        # Debug permission and serial stream
        self._debug_until = None
        self._stream_kind = None
        self._stream_until = 0
        self._stream_seq = 0
        self._stream_flags = 0
        self._stream_bytes = 0
        self._frame = bytearray(protocol.FRAME_HEADER + 2 * HOP_SAMPLES + protocol.FRAME_TRAILER)
        self._frame_mv = memoryview(self._frame)
        self._frame[0] = 0xA5
        self._frame[1] = 0x5A
        self._adpcm = adpcm.State()
        # Forwarding buffers live as long as the gate: allocated at boot, while the heap is
        # still whole, never per session.
        self._fwd_buf = bytearray(forward.BUF_BYTES)
        self._fwd_rx = bytearray(forward.RX_BYTES)
        self._btn_prev = False
        self.suppressed_wakes = 0
        self._led_on = None
        self._led(False)

    # ---------------------------------------------------------------- the one path out

    def _release(self, transport, pcm):
        """Hand one hop of audio (int16 LE bytes) to ``transport`` if, and only if, the owner's
        permission for it holds right now. Returns the audio bytes handed over (0 if refused
        or dropped). ``pcm=None`` on the serial transport writes the empty end-of-stream frame.

        This is the only function that passes audio to a transport (DESIGN invariant 1).
        """
        now = self._clock()
        if transport == T_WYOMING:
            c = self._fwd
            if (
                c is None
                or self._fwd_closing is not None
                or self._cfg["mode"] != MODE_AFTER_WAKE
                or _diff(now, self._fwd_deadline) >= 0
                or self._fwd_offered >= self._fwd_limit
            ):
                return 0
            self._fwd_offered += len(pcm)
            n = c.audio_chunk(pcm)
            if n:
                self._fwd_audio += n
            elif not self._fwd_drop_reported:
                self._fwd_drop_reported = True
                self._link.event("forward", status="dropping", reason="send buffer full")
            return n
        if transport == T_SERIAL:
            if self._stream_kind is None or not self._debug_allowed(now):
                return 0
            f = self._frame
            mv = self._frame_mv
            if pcm is None:
                n = 0
                flags = protocol.FLAG_END
                kind = self._stream_kind
            elif self._stream_kind == protocol.KIND_ADPCM:
                nsamp = len(pcm) // 2
                n = adpcm.encode_block(pcm, nsamp, mv[protocol.FRAME_HEADER :], self._adpcm)
                flags = self._stream_flags
                kind = protocol.KIND_ADPCM
            else:
                n = len(pcm)
                mv[protocol.FRAME_HEADER : protocol.FRAME_HEADER + n] = pcm
                flags = self._stream_flags
                kind = protocol.KIND_PCM16
            struct.pack_into("<BBHH", f, 2, kind, flags, self._stream_seq, n)
            end = protocol.FRAME_HEADER + n
            struct.pack_into("<I", f, end, protocol.frame_crc(mv[2:end]))
            end += protocol.FRAME_TRAILER
            self._link.write(mv[:end])
            self._stream_seq = (self._stream_seq + 1) & 0xFFFF
            self._stream_flags = 0
            self._stream_bytes += end
            self._count(T_SERIAL, end)
            return n
        return 0

    # ---------------------------------------------------------------- app hooks

    def audio(self, samples):
        """Every hop, with the hop's samples (int16 LE bytes-like). Cheap when nothing is open."""
        if self._fwd is not None:
            self._release(T_WYOMING, samples)
        if self._stream_kind is not None:
            self._release(T_SERIAL, samples)

    def wake(self, label, score=None, t=None):
        if self._cfg["mode"] != MODE_AFTER_WAKE:
            self.suppressed_wakes += 1
            return
        if self._fwd is not None:
            return  # one utterance at a time; a wake word inside it extends nothing
        net = getattr(self._board, "net", None)
        if net is None:
            self._link.event("gate", state="refused", transport=T_WYOMING, reason="no_network")
            return
        now = self._clock()
        host = self._cfg["host"]
        port = self._cfg["port"]
        if hasattr(net, "needs_resolve") and net.needs_resolve(host, port):
            # Never a DNS lookup here: it would stall the mic for the resolver's timeout.
            self._link.event(
                "gate", state="refused", transport=T_WYOMING, reason="unresolved",
                detail=self._dns_error or "host name not looked up yet", host=host, port=port,
            )  # fmt: skip
            return
        c = forward.WyomingClient(
            net, host, port, now, 2 * HOP_SAMPLES, buf=self._fwd_buf, rx=self._fwd_rx
        )
        if c.state == forward.FAILED:
            self._forget_address()
            self._link.event(
                "gate", state="refused", transport=T_WYOMING, reason="unreachable",
                detail=c.error, host=host, port=port,
            )  # fmt: skip
            return
        data = {"name": label}
        if t is not None:
            data["timestamp"] = int(t * 1000)
        c.control("detection", data)
        c.control("audio-start", {"rate": forward.RATE, "width": 2, "channels": 1})
        self._fwd = c
        self._fwd_t0 = now
        self._fwd_deadline = _add(now, self._cfg["max_utterance_s"] * 1000)
        # The limit holds in audio too, whatever the clock does (a mic that runs faster than
        # real time, as the sim's --speed 0 does): at most max_utterance_s of samples leave.
        self._fwd_limit = self._cfg["max_utterance_s"] * 2 * forward.RATE
        self._fwd_offered = 0
        self._fwd_end_at = None if self._vad_active else _add(now, NO_SPEECH_MS)
        self._fwd_closing = None
        self._fwd_audio = 0
        self._fwd_counted = 0
        self._fwd_drop_reported = False
        self._count_session(T_WYOMING)  # on flash before the first byte can leave
        self._led(True)
        self._link.event(
            "gate", state="open", transport=T_WYOMING, label=label, host=host, port=port
        )
        self._pump(now)

    def vad(self, active, t=None):
        self._vad_active = bool(active)
        self._quiet_since = None if active else self._clock()
        if self._fwd is None or self._fwd_closing is not None:
            return
        if active:
            self._fwd_end_at = None
        else:
            self._fwd_end_at = _add(self._clock(), END_HANGOVER_MS)

    def tick(self, now_ms=None):
        """Every loop. ``now_ms`` is accepted for the app's convenience but the gate keeps to
        its own clock, so every deadline it sets and checks uses one time base."""
        now = self._clock()
        self._poll_button(now)
        self._resolve_if_due(now)
        if self._debug_until is not None and _diff(now, self._debug_until) >= 0:
            self._debug_until = None
            self._link.event("privacy", debug="expired")
            self._close_stream("debug_expired")
        if self._stream_kind is not None and _diff(now, self._stream_until) >= 0:
            self._close_stream("done")
        if self._fwd is not None:
            if self._fwd_closing is None:
                if self._cfg["mode"] != MODE_AFTER_WAKE:
                    self._close_fwd("mode_never", now)
                elif _diff(now, self._fwd_deadline) >= 0 or self._fwd_offered >= self._fwd_limit:
                    self._close_fwd("max_length", now)
                elif self._fwd_end_at is not None and _diff(now, self._fwd_end_at) >= 0:
                    self._close_fwd("vad_end", now)
            if self._fwd is not None:
                self._pump(now)
        if self._dirty:
            self._save()

    def command(self, obj):
        cmd = obj.get("cmd")
        if cmd == "privacy":
            return self._cmd_privacy(obj)
        if cmd == "stream":
            return self._cmd_stream(obj)
        return None

    def status(self):
        now = self._clock()
        c = self._cfg["counters"]
        left = 0
        if self._debug_allowed(now):
            left = (_diff(self._debug_until, now) + 999) // 1000
        return {
            "mode": self._cfg["mode"],
            "host": self._cfg["host"],
            "port": self._cfg["port"],
            "max_utterance_s": self._cfg["max_utterance_s"],
            "forwarded_bytes": c["wyoming_bytes"],
            "forwarded_sessions": c["wyoming_sessions"],
            "debug_bytes": c["serial_bytes"],
            "debug_sessions": c["serial_sessions"],
            "debug_allowed_s": left,
            "forwarding": self._fwd is not None,
            "streaming": self._stream_kind is not None,
            "suppressed_wakes": self.suppressed_wakes,
            "config_error": self.config_error,
        }

    # ---------------------------------------------------------------- owner actions

    def set_mode(self, mode, by, host=None, port=None, max_utterance_s=None):
        """Switch mode; raises ValueError (and changes nothing) on a bad argument."""
        cfg = self._cfg
        new = {
            "mode": mode,
            "host": cfg["host"] if host is None else host,
            "port": cfg["port"] if port is None else port,
            "max_utterance_s": cfg["max_utterance_s"] if max_utterance_s is None
            else max_utterance_s,
        }  # fmt: skip
        bad = config.check_permissions(new)
        if bad:
            if bad == "host" and mode == MODE_AFTER_WAKE and not new["host"]:
                raise ValueError("after_wake needs an endpoint: give host (and port)")
            raise ValueError("bad " + bad)
        cfg.update(new)
        self._dns_check = True
        self._dns_error = None
        self._dns_at = None  # a new endpoint (or a retry by hand): look it up at once
        self._dns_wait = DNS_RETRY_MS
        if not self._vad_active:  # the owner is at the keyboard, not talking to the board
            self._quiet_since = _add(self._clock(), -DNS_QUIET_MS)
        if mode == MODE_NEVER:
            self._revoke_debug(by)
            if self._fwd is not None and self._fwd_closing is None:
                self._close_fwd("mode_never", self._clock())
        if not self._save() and mode != MODE_NEVER:
            cfg["mode"] = MODE_NEVER  # could not persist a permission: do not hold it
            raise ValueError("could not save config; mode stays never")
        self._link.event("privacy", mode=cfg["mode"], by=by)

    def allow_debug(self, seconds=DEBUG_DEFAULT_S):
        if not _is_int(seconds) or not 1 <= seconds <= DEBUG_MAX_S:
            raise ValueError(f"seconds must be an integer 1..{DEBUG_MAX_S}")
        self._debug_until = _add(self._clock(), seconds * 1000)
        self._link.event("privacy", debug="allowed", seconds=seconds)

    def factory_reset(self):
        self._revoke_debug("factory_reset")
        if self._fwd is not None:
            self._finish_fwd("factory_reset")
        self._cfg = config.defaults()
        self.suppressed_wakes = 0
        self.config_error = None
        self._save()
        self._link.event("privacy", mode=MODE_NEVER, by="factory_reset")

    # ---------------------------------------------------------------- commands

    def _cmd_privacy(self, obj):
        action = obj.get("action", "status")
        if action == "status":
            for k in _SET_FIELDS:
                if k in obj:
                    # e.g. {"cmd":"privacy","mode":"never"}: a script that checks only "ok"
                    # must not believe a change was made when none was.
                    raise ValueError('\'%s\' needs "action": "set"; nothing changed' % k)
            return self.status()
        if action == "set":
            mode = obj.get("mode")
            if mode not in config.MODES or not isinstance(mode, str):
                raise ValueError("mode must be one of: never, after_wake")
            for k in ("host", "port", "max_utterance_s"):
                if k in obj and obj[k] is None:
                    raise ValueError("bad " + k)
            self.set_mode(
                mode, "serial", obj.get("host"), obj.get("port"), obj.get("max_utterance_s")
            )
            return self.status()
        if action == "allow_debug":
            self.allow_debug(obj.get("seconds", DEBUG_DEFAULT_S))
            return self.status()
        if action == "revoke_debug":
            self._revoke_debug("serial")
            return self.status()
        if action == "factory_reset":
            self.factory_reset()
            return self.status()
        raise ValueError("unknown privacy action")

    def _cmd_stream(self, obj):
        now = self._clock()
        if obj.get("stop"):
            self._close_stream("host")
            return {"streaming": False}
        if not self._debug_allowed(now):
            raise ValueError(
                "no debug permission: allow it first with 'hushword privacy allow-debug SECONDS'"
            )
        codec = obj.get("codec", "adpcm")
        if codec not in CODECS or not isinstance(codec, str):
            raise ValueError("codec must be pcm16 or adpcm")
        left_ms = _diff(self._debug_until, now)
        seconds = obj.get("seconds", left_ms // 1000 or 1)
        if not _is_int(seconds) or not 1 <= seconds <= DEBUG_MAX_S:
            raise ValueError(f"seconds must be an integer 1..{DEBUG_MAX_S}")
        if self._stream_kind is not None:
            self._close_stream("restart")
        ms = min(seconds * 1000, left_ms)
        self._stream_kind = CODECS[codec]
        self._stream_until = _add(now, ms)
        self._stream_flags = protocol.FLAG_START
        self._stream_bytes = 0
        self._adpcm.reset()
        self._count_session(T_SERIAL)
        self._led(True)
        self._link.event("gate", state="open", transport=T_SERIAL, codec=codec, ms=ms)
        return {"streaming": True, "codec": codec, "ms": ms, "rate": 16000, "hop": HOP_SAMPLES}

    # ---------------------------------------------------------------- internals

    def _debug_allowed(self, now):
        return self._debug_until is not None and _diff(self._debug_until, now) > 0

    def _revoke_debug(self, by):
        if self._debug_until is not None:
            self._debug_until = None
            self._link.event("privacy", debug="revoked", by=by)
        self._close_stream("revoked")

    def fail_closed(self):
        """After an unexpected failure elsewhere in the app: end every open session at once.
        The mode itself stays as the owner set it."""
        if self._fwd is not None:
            self._finish_fwd("error")
        self._close_stream("error")

    def shutdown(self, reason="stopped"):
        """The app is leaving its loop (Ctrl-C, mic gone, a fatal error): end every open session
        now, with a last try at telling the server, and put the counters on flash. Nothing
        else will run tick() again."""
        if self._fwd is not None:
            if self._fwd_closing is None:
                self._fwd.control("audio-stop", {})
            now = self._clock()
            self._fwd.pump(now, _diff(now, self._fwd_t0))  # one non-blocking send, no waiting
            self._count(T_WYOMING, self._fwd.sent - self._fwd_counted)
            self._fwd_counted = self._fwd.sent
            self._finish_fwd(reason)
        self._close_stream(reason)
        if self._dirty:
            self._save()

    def _close_stream(self, reason):
        if self._stream_kind is None:
            return
        self._release(T_SERIAL, None)  # end marker; refused (and so absent) once expired
        self._stream_kind = None
        self._link.event(
            "gate", state="close", transport=T_SERIAL, bytes=self._stream_bytes, reason=reason
        )
        self._dirty = True
        self._led_update()

    def _close_fwd(self, reason, now):
        """Stop accepting audio; send audio-stop; the socket drains in tick()."""
        c = self._fwd
        c.control("audio-stop", {})
        self._fwd_closing = (reason, now)
        self._pump(now)

    def _pump(self, now):
        c = self._fwd
        st = c.pump(now, _diff(now, self._fwd_t0))
        self._count(T_WYOMING, c.sent - self._fwd_counted)
        self._fwd_counted = c.sent
        if st == forward.FAILED:
            self._finish_fwd("unreachable" if c.sent == 0 else "connection_lost", c.error)
            self._forget_address()
        elif self._fwd_closing is not None and (
            c.pending() == 0 or _diff(now, self._fwd_closing[1]) > DRAIN_MS
        ):
            self._finish_fwd(self._fwd_closing[0])

    def _finish_fwd(self, reason, detail=None):
        c = self._fwd
        self._fwd = None
        self._fwd_closing = None
        c.close()
        ev = {
            "state": "close",
            "transport": T_WYOMING,
            "bytes": c.sent,
            "audio_bytes": self._fwd_audio,
            "dropped_chunks": c.dropped,
            "reason": reason,
        }
        if detail:
            ev["detail"] = detail
        self._link.event("gate", **ev)
        self._dirty = True
        self._led_update()

    def _forget_address(self):
        """After a failed session: the server may have moved, look its name up again."""
        net = getattr(self._board, "net", None)
        if hasattr(net, "forget"):
            net.forget(self._cfg["host"], self._cfg["port"])
            self._dns_check = True

    def _resolve_if_due(self, now):
        """Look up the endpoint's host name, if it has one and needs it, at a moment when a
        blocking lookup costs least: forwarding on, no session open, no voice in the room.
        Runs every hop: the common cases return before anything allocates."""
        if not self._dns_check or self._cfg["mode"] != MODE_AFTER_WAKE or self._fwd is not None:
            return
        if self._quiet_since is None or _diff(now, self._quiet_since) < DNS_QUIET_MS:
            return
        net = getattr(self._board, "net", None)
        host = self._cfg["host"]
        port = self._cfg["port"]
        if not hasattr(net, "resolve") or not net.needs_resolve(host, port):
            self._dns_check = False  # an IP address, or already looked up
            return
        if self._dns_at is not None and _diff(now, self._dns_at) < 0:
            return
        if hasattr(net, "ready") and not net.ready():
            return  # Wi-Fi still joining: not a DNS failure, no backoff; try once it is up
        try:
            net.resolve(host, port)
        except Exception as e:  # noqa: BLE001 - OSError, or whatever the port's resolver raises
            self._dns_error = "cannot look up %s: %s; next try in %d s" % (
                host, e, self._dns_wait // 1000)  # fmt: skip
            self._link.event("error", code="dns", msg=self._dns_error)
            self._dns_at = _add(self._clock(), self._dns_wait)
            self._dns_wait = min(2 * self._dns_wait, DNS_RETRY_MAX_MS)
            return
        self._dns_check = False
        self._dns_error = None
        self._dns_at = None
        self._dns_wait = DNS_RETRY_MS
        self._link.event("notice", msg="endpoint %s looked up" % host)

    def _count(self, transport, n):
        if n:
            self._cfg["counters"][transport + "_bytes"] += n

    def _count_session(self, transport):
        # Saved at once, not only when the session closes: a reset or power cut while audio
        # is leaving must not erase the record that it did. (A failed save is an error event.)
        self._cfg["counters"][transport + "_sessions"] += 1
        self._save()

    def _save(self):
        self._dirty = False
        if self._store.save(self._cfg):
            self.config_error = None  # the file on flash is good again
            return True
        self._link.event("error", code=self._store.error[0], msg=self._store.error[1])
        return False

    def _led_update(self):
        self._led(self._fwd is not None or self._stream_kind is not None)

    def _led(self, on):
        if on == self._led_on:
            return
        self._led_on = on
        led = getattr(self._board, "led", None)
        if led is not None:
            led.on() if on else led.off()

    def _poll_button(self, now):
        btn = getattr(self._board, "button", None)
        if btn is None:
            return
        p = bool(btn.pressed())
        edge = p and not self._btn_prev
        self._btn_prev = p
        if not edge:
            return
        if self._cfg["mode"] == MODE_AFTER_WAKE:
            self.set_mode(MODE_NEVER, "button")
        elif self._cfg["host"]:
            try:
                self.set_mode(MODE_AFTER_WAKE, "button")
            except ValueError as e:
                self._link.event("privacy", mode=self._cfg["mode"], by="button", error=str(e))
        else:
            self._link.event("privacy", mode=MODE_NEVER, by="button", error="no endpoint set")
