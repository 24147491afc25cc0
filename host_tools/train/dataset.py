"""Training examples: synthetic speech placed in noise and rooms, turned into device features.

Every example is a fixed-length stretch of audio with one label per feature frame, built from
its own seed (run seed, task, split, index), so examples can be made in any order, in parallel,
and again after an interruption with identical results. Features come from the host reference
frontend, which is bit-exact with the device: the model trains on exactly what it will see.
"""

import hashlib
import os
import sys
import time
import zlib

import numpy as np

from host_tools.train import augment, corpus, tts

HOP = 320  # samples per feature frame (20 ms); checked against the reference frontend
SEG_FRAMES = 150  # 3 s per example: more than twice the model's receptive field
# Audio before each example whose features are dropped: the frontend's noise floor settles on
# it (it falls within ~8 frames), as it would have on a device that has been listening.
PRE_FRAMES = 25
IGNORE = -1
# Frames after the end of a phrase during which the model should fire. Before that the phrase
# is incomplete (ignored), after it the detector's refractory time covers repeats (ignored).
HOT_BEFORE, HOT_AFTER = 1, 10
# Commands: the inside of a phrase up to INSIDE_MARGIN frames before its hot zone is labelled
# "unknown", so that "lights o-" does not fire lights_on before "lights off" is finished (the
# first command to fire is the one a user gets); the last few frames before it are ignored.
INSIDE_MARGIN = 4
TTS_CACHE = os.path.join(".cache", "hushword", "tts")


def featurize(samples):
    """int16 samples -> int8 [frames, 32] with the device's own frontend."""
    from host_tools import reference

    return reference.features(samples)


def _rng(seed, *names):
    return np.random.default_rng([seed, zlib.crc32(repr(names).encode())])


class Recipe:
    """What one task's examples contain: the positives, what counts as negative, the labels."""

    def __init__(self, task):
        self.task = task
        if task == "commands":
            self.labels = list(corpus.COMMAND_LABELS)
            self.kinds = {"target": 0.55, "unknown": 0.2, "speech": 0.1, "noise": 0.15}
        else:
            self.labels = ["negative", task]
            self.kinds = {"target": 0.4, "confusable": 0.22, "speech": 0.2, "noise": 0.18}
            if task in corpus.SPELLINGS:
                self.spellings = corpus.SPELLINGS[task]
            else:  # a custom phrase: a few punctuation forms of it
                p = task.replace("_", " ")
                self.spellings = [p, p + ".", p + "!", p.capitalize() + "?", p + ","]

    @property
    def n_out(self):
        return len(self.labels)

    def target_text(self, rng):
        """(text, label index) of one positive."""
        if self.task == "commands":
            k = int(rng.integers(0, len(corpus.COMMANDS)))
            sp = corpus.COMMAND_SPELLINGS[corpus.COMMANDS[k]]
            return sp[int(rng.integers(0, len(sp)))], k
        return self.spellings[int(rng.integers(0, len(self.spellings)))], 1

    def negative_text(self, rng, kind):
        """(text, free) of one negative; free: any sentence would do (made-up speech)."""
        if kind == "confusable":
            conf = corpus.CONFUSABLES.get(self.task) or corpus.partial_confusables(
                self.spellings[0], rng
            )
            pool = conf + corpus.other_targets(self.task)
            if not conf or rng.random() < 0.25:
                return corpus.sentence(rng, 1, 4), True
            return pool[int(rng.integers(0, len(pool)))], False
        if kind == "unknown":
            r = rng.random()
            if r < 0.4:
                k = int(rng.integers(0, len(corpus.UNKNOWN_PHRASES)))
                return corpus.UNKNOWN_PHRASES[k], False
            if r < 0.8:  # generated near-commands: the list above is only a sample of them
                return corpus.command_confusable(rng), False
            pool = corpus.SPELLINGS["hey_jarvis"] + corpus.SPELLINGS["alexa"]
            if rng.random() < 0.3:
                return pool[int(rng.integers(0, len(pool)))], False
            return corpus.sentence(rng, 1, 3), True
        return corpus.sentence(rng), True


# Training draws the engine first: flite has a handful of voices and espeak-ng hundreds, and
# a model that hears mostly one engine learns the engine, not the word.
# piper's one neural voice (trained on a recorded speaker) gets a share of its own: its
# prosody and timbre are the nearest thing here to a person.
# festival's voices of other languages saying English (tts.FESTIVAL_ACCENT_VOICES) are a group
# of their own, "accented": eight speakers, not a share of festival's two English ones.
ENGINE_P = {
    "espeak": 0.5,
    "flite": 0.35,
    "festival": 0.25,
    "accented": 0.25,
    "piper": 0.2,
    "kokoro": 0.25,
}


def voice_group(v):
    """The group `pick_voice` draws first: the engine, or "accented"."""
    return "accented" if v[0] == "festival" and v[2] else v[0]


def pick_voice(rng, voices, weights=None):
    """A group (engine) by `weights` (default ENGINE_P), then one of its voices uniformly."""
    weights = weights or ENGINE_P
    by = {}
    for v in voices:
        by.setdefault(voice_group(v), []).append(v)
    engines = [e for e in weights if e in by]
    p = np.array([weights[e] for e in engines])
    e = engines[int(rng.choice(len(engines), p=p / p.sum()))]
    return by[e][int(rng.integers(0, len(by[e])))]


# What Kokoro's voices say where any sentence would do: a fixed pool, so that its slow renders
# are made once per voice and reused (tts.synth changes their tempo and pitch), where made-up
# sentences would each cost a render. Kokoro still speaks in the negatives as often as in the
# positives, so its timbre is no cue for the target.
KOKORO_SENTENCES = corpus.sentences(np.random.default_rng(20251), 64)

# Share of espeak-ng positives said with accent rules (corpus.ACCENT_RULES for a wake word,
# corpus.COMMAND_ACCENT_RULES for the commands).
ACCENT_P = 0.4
# Share of clips coloured by augment.eq, and its largest boost or cut in dB.
EQ_P, EQ_DB = 0.6, 12.0


def _voice_speech(rng, voices, text, cache, accent=None, rules=None, free=False):
    """One clip of `text` in a random voice; `accent`: the plain phrase, when the clip may be
    said with accent rules (`rules`, default corpus.ACCENT_RULES; espeak-ng voices only: they
    read phonemes); `free`: `text` is made-up speech, and a Kokoro voice says one of
    KOKORO_SENTENCES instead."""
    v = pick_voice(rng, voices)
    speed = float(rng.uniform(0.7, 1.4))
    pitch = float(rng.uniform(0.0, 1.0))
    warp = float(rng.uniform(0.82, 1.18)) if rng.random() < 0.6 else 1.0
    if free and v[0] == "kokoro":
        text = KOKORO_SENTENCES[int(rng.integers(0, len(KOKORO_SENTENCES)))]
    if accent and v[0] == "espeak" and rng.random() < ACCENT_P:
        text = corpus.accent_variant(rng, tts.espeak_phonemes(accent), rules)
    x = tts.synth(v, text, speed, pitch, cache, warp).astype(np.float32)
    # Most clips through a random frequency response: what a voice sounds like depends on
    # the synthesiser, the loudspeaker and the microphone, and the word must not. A small
    # speaker or a buzzy synthesiser differs from a studio voice by 10 dB or more in the
    # balance of low, mid and high bands.
    return augment.eq(rng, x, EQ_DB) if rng.random() < EQ_P else x


def _draw_kind(recipe, rng):
    kinds = list(recipe.kinds)
    return kinds[int(rng.choice(len(kinds), p=list(recipe.kinds.values())))]


def example_kinds(task, split, seed, count):
    """What each of the first `count` examples of a split is ("target", "confusable", ...):
    the first draw of the example's own random stream, so it needs no audio."""
    recipe = Recipe(task)
    return np.array([_draw_kind(recipe, _rng(seed, task, split, i)) for i in range(count)])


def make_example(task, split, seed, index, voices, cache=TTS_CACHE):
    """One example: (features int8 [SEG_FRAMES, 32], labels int8 [SEG_FRAMES])."""
    recipe = Recipe(task)
    rng = _rng(seed, task, split, index)
    off = PRE_FRAMES * HOP
    n = off + SEG_FRAMES * HOP
    kind = _draw_kind(recipe, rng)
    neg = recipe.labels.index("background") if task == "commands" else 0
    speech_label = recipe.labels.index("unknown") if task == "commands" else 0
    labels = np.full(SEG_FRAMES, neg, np.int8)
    bg = augment.train_background(rng, n)
    snr = float(rng.uniform(0, 25)) if rng.random() < 0.85 else 40.0
    speech = np.zeros(n, np.float32)

    if kind in ("target", "confusable", "unknown"):
        free = False
        if kind == "target":
            text, lab = recipe.target_text(rng)
        else:
            (text, free), lab = recipe.negative_text(rng, kind), speech_label
        accent, rules = None, None
        if kind == "target" and task == "commands":
            accent, rules = corpus.COMMANDS[lab], corpus.COMMAND_ACCENT_RULES
        elif kind == "target":
            accent = recipe.spellings[0]
        clip = _voice_speech(rng, voices, text, cache, accent, rules, free)
        if rng.random() < 0.4:
            clip = augment.reverb(rng, clip)
        # tts.trim keeps 1600 samples of padding after the last loud sample.
        # Mostly with a second or more before the phrase; sometimes right at the start, as in
        # a short WAV file (the model must not need a full receptive field of history).
        lo = 70 if rng.random() < 0.75 else max(8, (len(clip) - 1600) // HOP)
        end_frame = int(rng.integers(min(lo, SEG_FRAMES - 6), SEG_FRAMES - 5))
        end_sample = off + end_frame * HOP + 1600
        start = end_sample - len(clip)
        a, b = max(0, start), min(n, end_sample)
        speech[a:b] = clip[a - start : b - start]
        hot = slice(end_frame - HOT_BEFORE, min(SEG_FRAMES, end_frame + HOT_AFTER))
        first = max(0, (start - off) // HOP)
        labels[first:] = IGNORE
        if kind == "target" or task == "commands":
            labels[hot] = lab
            if task == "commands" and kind == "target":
                labels[first : max(first, hot.start - INSIDE_MARGIN)] = speech_label
        else:
            labels[first:] = 0
        talk_first = rng.random() < (0.45 if task == "commands" else 0.25) and start > 12000
        if talk_first:  # someone was talking just before the phrase
            before, free = corpus.sentence(rng, 2, 5), True
            if task == "commands" and rng.random() < 0.6:
                # On the device a command follows a wake word: often the wake word itself.
                wake = corpus.SPELLINGS["hey_jarvis"] + corpus.SPELLINGS["alexa"]
                before, free = wake[int(rng.integers(0, len(wake)))], False
            other = _voice_speech(rng, voices, before, cache, free=free)
            gap = int(rng.uniform(0.1, 0.6) * tts.RATE)
            o_end = max(0, start - gap)
            o = other[-o_end:] if o_end else other[:0]
            speech[o_end - len(o) : o_end] += o * float(rng.uniform(0.3, 1.0))
            if task == "commands":
                labels[:first] = IGNORE
    elif kind == "speech":
        pos = int(rng.integers(0, 8000))
        while pos < n:
            text, free = recipe.negative_text(rng, "speech")
            s = _voice_speech(rng, voices, text, cache, free=free)
            if rng.random() < 0.3:
                s = augment.reverb(rng, s)
            s = s[: n - pos]
            speech[pos : pos + len(s)] = s
            pos += len(s) + int(rng.integers(0, 6000))
        labels[:] = speech_label
        labels[:20] = IGNORE

    if kind == "noise":
        x = augment.level(rng, bg, -30.0, 6.0)
    else:
        x = augment.level(rng, augment.mix_at_snr(speech, bg, snr))
    feats = featurize(with_history(rng, x, off))[-SEG_FRAMES:]
    if len(feats) < SEG_FRAMES:
        feats = np.concatenate([feats, np.repeat(feats[-1:], SEG_FRAMES - len(feats), 0)])
    return feats.astype(np.int8), labels


def with_history(rng, x, off):
    """int16 audio whose frontend state before the example is like a device's in use.

    The frontend's noise floor falls within ~8 frames but rises over ~10 s, so what came
    before matters: the example's own background (settled floor), a quieter or louder other
    background (a noise onset, a level jump), or nothing at all (a file that starts here).
    """
    r = rng.random()
    if r < 0.15:
        return augment.to_int16(x[off:])
    if r < 0.5:
        return augment.to_int16(x)
    n = int(rng.uniform(0.5, 4.0) * tts.RATE) // HOP * HOP
    ctx = augment.train_background(rng, n)
    gain = augment.rms(x[:off]) * 10 ** (rng.uniform(-30.0, 6.0) / 20.0)
    return augment.to_int16(np.concatenate([ctx * gain, x[off:]]))


def _work(args):
    return make_example(*args)


class Progress:
    """A plain stderr progress bar (no extra dependency)."""

    def __init__(self, total, label):
        self.total, self.label, self.t0, self.last = total, label, time.time(), 0.0

    def update(self, done):
        now = time.time()
        if now - self.last < 0.5 and done < self.total:
            return
        self.last = now
        frac = done / max(1, self.total)
        eta = (now - self.t0) / max(frac, 1e-6) * (1 - frac)
        bar = "#" * int(30 * frac)
        sys.stderr.write(
            "\r%-18s [%-30s] %d/%d  eta %ds " % (self.label, bar, done, self.total, eta)
        )
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _phrases(task):
    """What the examples of `task` may say, so that a changed phrase list is a new dataset."""
    return (
        corpus.CONFUSABLES.get(task),
        corpus.UNKNOWN_PHRASES if task == "commands" else None,
        corpus.ACCENT_RULES,
        ACCENT_P,
        (EQ_P, EQ_DB),
    ) + ((corpus.COMMAND_ACCENT_RULES,) if task == "commands" else ())


def build(task, split, seed, count, voices, cache_root, jobs=2):
    """Features and labels for `count` examples, cached as one .npz per (task, split, seed).

    Built in chunks that are saved as they finish, so an interrupted build resumes.
    """
    what = (task, split, seed, count, [tts.voice_name(v) for v in voices], 9, _phrases(task))
    if any(v[0] == "kokoro" for v in voices):
        what += (KOKORO_SENTENCES, "tempo")
    key = hashlib.sha1(repr(what).encode()).hexdigest()[:12]
    out = os.path.join(cache_root, "%s-%s-%s.npz" % (task, split, key))
    if os.path.exists(out):
        d = np.load(out)
        return d["x"], d["y"]
    chunk_dir = out[:-4] + ".parts"
    os.makedirs(chunk_dir, exist_ok=True)
    chunk = 256
    prog = Progress(count, "%s %s" % (task, split))
    xs, ys = [], []
    pool = None
    if jobs > 1:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(jobs)
    try:
        for c0 in range(0, count, chunk):
            part = os.path.join(chunk_dir, "%06d.npz" % c0)
            if os.path.exists(part):
                d = np.load(part)
                x, y = d["x"], d["y"]
            else:
                args = [(task, split, seed, i, voices) for i in range(c0, min(count, c0 + chunk))]
                res = pool.map(_work, args, chunksize=8) if pool else [_work(a) for a in args]
                x = np.stack([r[0] for r in res])
                y = np.stack([r[1] for r in res])
                np.savez(part + ".tmp.npz", x=x, y=y)
                os.replace(part + ".tmp.npz", part)
            xs.append(x)
            ys.append(y)
            prog.update(min(count, c0 + chunk))
    finally:
        if pool:
            pool.close()
    x, y = np.concatenate(xs), np.concatenate(ys)
    np.savez(out + ".tmp.npz", x=x, y=y)
    os.replace(out + ".tmp.npz", out)
    for f in os.listdir(chunk_dir):
        os.remove(os.path.join(chunk_dir, f))
    os.rmdir(chunk_dir)
    return x, y
