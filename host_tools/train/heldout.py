"""Held-out evaluation audio: voices no model trained on, in noise and rooms.

Unknown phrases for the command model come from corpus.HELDOUT_UNKNOWN, which training never
uses; the negative stream also carries corpus.HELDOUT_CONFUSABLES.

Built from the test voice pool only (tts.voice_pools()["test"]), with its own seeds, and cached
under .cache/hushword/eval/. Training and model selection never read it.
"""

import os
import zlib

import numpy as np

from host_tools.train import augment, corpus, dataset, tts

RATE = tts.RATE
CACHE = os.path.join(".cache", "hushword", "eval")
# Engines are drawn first so the few flite/festival voices get a fair share of clips.
ENGINE_P = {"espeak": 0.6, "flite": 0.25, "festival": 0.15}


def _rng(seed, *names):
    return np.random.default_rng([seed, zlib.crc32(repr(("heldout",) + names).encode())])


def _say(rng, voices, text, cache, engine_p=ENGINE_P):
    v = dataset.pick_voice(rng, voices, engine_p)
    x = tts.synth(v, text, float(rng.uniform(0.8, 1.3)), float(rng.uniform(0, 1)), cache)
    return x.astype(np.float32), tts.voice_name(v)


def _dress(rng, x, lead, tail):
    """Reverb sometimes, background noise at 5..25 dB SNR (or clean), a random talking level."""
    if rng.random() < 0.3:
        x = augment.reverb(rng, x)
    x = np.concatenate([np.zeros(lead, np.float32), x, np.zeros(tail, np.float32)])
    if rng.random() < 0.85:
        x = augment.mix_at_snr(x, augment.background(rng, len(x)), float(rng.uniform(5, 25)))
    else:
        x = x + 3.0 * rng.standard_normal(len(x)).astype(np.float32)
    return augment.to_int16(augment.level(rng, x, -15.0, 6.0))


def phrase_stream(texts_labels, seed, name, cache=tts.cache_dir(), voices=None):
    """One long stream of phrases, each in its own slot of background.

    Returns (int16 samples, [(label, start_s, end_s, voice)]) where end_s is the end of speech.
    `voices`: said by these, drawn alike (default: the test pool, by ENGINE_P).
    """
    # Each phrase's audio depends on (seed, name, its index) only; the file on all of them.
    key = zlib.crc32(repr((seed, texts_labels) + ((voices,) if voices else ())).encode())
    path = os.path.join(CACHE, "%s-%08x.npz" % (name, key))
    if os.path.exists(path):
        d = np.load(path, allow_pickle=True)
        return d["x"], list(d["meta"])
    engine_p = {dataset.voice_group(v): 1.0 for v in voices} if voices else ENGINE_P
    voices = voices or tts.voice_pools()["test"]
    parts, meta, pos = [], [], 0
    for i, (text, label) in enumerate(texts_labels):
        rng = _rng(seed, name, i)
        x, vname = _say(rng, voices, text, cache, engine_p)
        lead = int(rng.uniform(0.8, 1.2) * RATE)
        tail = int(rng.uniform(1.3, 1.6) * RATE)
        y = _dress(rng, x, lead, tail)
        meta.append((label, (pos + lead) / RATE, (pos + lead + len(x) - 1600) / RATE, vname))
        parts.append(y)
        pos += len(y)
    x = np.concatenate(parts)
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path + ".tmp.npz", x=x, meta=np.array(meta, dtype=object))
    os.replace(path + ".tmp.npz", path)
    return x, meta


# Sound-alikes in the long negative audio, fixed here so that the held-out audio stays the
# same when the training lists change (in this order: the audio depends on it).
NEGATIVE_SOUNDALIKES = (
    "hey travis", "hey jared", "hey marcus", "hey jarvie", "hey service", "a jar of peas",
    "hey harvest", "hey garvey", "say jarvis", "hey davis", "hey jackson", "pay charges",
    "hey jar", "hey there", "hey", "hey james", "hey mavis", "jarvis cocker", "hey purpose",
    "they carve it", "hey darling", "hey jeeves", "hey nervous", "hey chavez", "hey artist",
    "hey jess", "hey charlie", "hey office", "hey larvae", "jar vase", "alexis", "a lexus",
    "election", "alex", "alexander", "a lecture", "electric", "relax a", "lexa", "alaska",
    "alexia", "hey alex", "alexandra", "allergic", "elect", "unless a", "a lexicon",
    "collects a", "selects a", "a legs up", "Alec says", "Alicia", "Alessa", "Electra",
    "a lens", "Elena", "Alisha", "excellent", "a next",
)


def negative_stream(seed, seconds, cache=tts.cache_dir()):
    """Long negative audio: held-out voices talking (sentences, sound-alikes, commands),
    with stretches of noise, hum and music-like tones between them.

    Returns (int16 samples, [(start_s, end_s, what, text, voice)]), `what` one of "speech",
    "soundalike", "command", "noise" (text and voice "" for noise): what a false accept fell on.
    """
    # v2: the segments also name the text and the voice (the audio is the same as v1's).
    path = os.path.join(CACHE, "negative-v2-%d-%d.npz" % (seed, seconds))
    if os.path.exists(path):
        d = np.load(path, allow_pickle=True)
        return d["x"], [
            (float(a), float(b), str(w), str(t), str(v)) for a, b, w, t, v in d["segments"]
        ]
    voices = tts.voice_pools()["test"]
    confusables = list(NEGATIVE_SOUNDALIKES) + sum(corpus.HELDOUT_CONFUSABLES.values(), [])
    parts, segments, total, i = [], [], 0, 0
    while total < seconds * RATE:
        rng = _rng(seed, "negative", i)
        i += 1
        r = rng.random()
        if r < 0.12:
            what, text, vname = "noise", "", ""
            y = augment.background(rng, int(rng.uniform(2, 8) * RATE))
            y = augment.to_int16(augment.level(rng, y, -25.0, 0.0))
        else:
            if r < 0.22:
                what, text = "soundalike", confusables[int(rng.integers(0, len(confusables)))]
            elif r < 0.27:
                what = "command"
                text = corpus.COMMANDS[int(rng.integers(0, len(corpus.COMMANDS)))]
            else:
                what, text = "speech", corpus.sentence(rng, 3, 14)
            x, vname = _say(rng, voices, text, cache)
            y = _dress(rng, x, int(rng.uniform(0.05, 0.6) * RATE), int(0.05 * RATE))
        parts.append(y)
        end = min(total + len(y), seconds * RATE) / RATE
        segments.append((total / RATE, end, what, text, vname))
        total += len(y)
    x = np.concatenate(parts)[: seconds * RATE]
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path + ".tmp.npz", x=x, segments=np.array(segments, dtype=object))
    os.replace(path + ".tmp.npz", path)
    return x, segments


def segment_at(t, segments, latency=0.25):
    """The segment (start, end, what, text, voice) that was playing `latency` seconds before a
    detection at time `t` (a detector fires just after the end of what set it off)."""
    t = max(0.0, t - latency)
    for seg in segments:
        if seg[0] <= t < seg[1]:
            return seg
    return segments[-1] if segments else (0.0, 0.0, "speech", "", "")


def segment_of(t, segments, latency=0.25):
    """What kind of audio ("speech", "soundalike", ...) set off a detection at time `t`."""
    return segment_at(t, segments, latency)[2]


def wake_texts(word, n):
    if word in corpus.SPELLINGS:
        sp = corpus.SPELLINGS[word]
    else:
        sp = [word.replace("_", " ")]
    return [(sp[i % len(sp)], word) for i in range(n)]


def command_texts(n_per, n_unknown):
    out = []
    for c in corpus.COMMANDS:
        sp = corpus.COMMAND_SPELLINGS[c]
        out += [(sp[i % len(sp)], c.replace(" ", "_")) for i in range(n_per)]
    unk = corpus.HELDOUT_UNKNOWN
    out += [(unk[i % len(unk)], "unknown") for i in range(n_unknown)]
    return out



def wake_stream(word, n, seed):
    """`hushword eval`'s held-out phrases of a wake word: (int16 samples, meta)."""
    return phrase_stream(wake_texts(word, n), seed, "pos-%s-%d" % (word, n))


def command_stream(n_per, seed):
    """`hushword eval`'s held-out command phrases, with 6 times as many unknown phrases:
    (int16 samples, meta, [(text, label)])."""
    texts = command_texts(n_per, 6 * n_per)
    return phrase_stream(texts, seed, "cmd3-%d" % n_per) + (texts,)