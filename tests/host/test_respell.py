"""English for festival's Czech, Finnish and Italian voices: spelling, encoding, voice pools."""

import re
import shutil

import numpy as np
import pytest

from host_tools.errors import HushwordError
from host_tools.train import corpus, dataset, respell, tts

needs_espeak = pytest.mark.skipif(
    not shutil.which("espeak-ng"), reason="espeak-ng not installed (make train-deps)"
)
ACCENTED = sorted(tts.FESTIVAL_ACCENT_VOICES.items())


def _installed(voice):
    return shutil.which("festival") and tts.festival_has(voice)


@needs_espeak
def test_commands_in_each_spelling():
    assert respell.respell("play music", "cs") == "plej mjúzik"
    assert respell.respell("volume down", "cs") == "váljúm daun"
    assert respell.respell("play music", "fi") == "plei mjuusik"
    assert respell.respell("hey jarvis", "fi") == "hei džaarvis"
    # Italian c and g are hard before a, o, u and soft before e, i: "cancel" needs "ch".
    assert respell.respell("cancel", "it") == "chensel"
    assert respell.respell("hey jarvis", "it") == "ei giarvis"
    assert respell.respell("next song", "it") == "necst son"


@needs_espeak
def test_czech_keeps_t_d_n_hard_before_i():
    # Czech reads "ti", "di", "ni" as soft consonants; "ty", "dy", "ny" are the hard ones.
    text = " ".join(corpus.COMMANDS) + " the tiny dinner needs a little ticket"
    out = respell.respell(text, "cs")
    assert not re.search("[tdn][ií]", out), out
    assert "ty" in out or "dy" in out or "ny" in out


@needs_espeak
def test_every_spelling_uses_only_its_language_letters():
    text = "the quick brown fox jumps over the lazy dog, she thought there was nothing wrong"
    letters = {"cs": "a-záéíóúýčďěňřšťůž", "fi": "a-zäöšž", "it": "a-z"}
    for lang, allowed in letters.items():
        out = respell.respell(text, lang)
        assert re.fullmatch("[%s ]+" % allowed, out), (lang, out)
        out.encode(respell.ENCODINGS[lang])  # what festival's voices of that language read
    assert not re.search("[kjwyh]", respell.respell(text, "it"))


def test_unknown_language_is_one_clear_error():
    with pytest.raises(HushwordError, match="no respelling"):
        respell.respell("hello", "xx")


@needs_espeak
@pytest.mark.parametrize("voice,lang", ACCENTED)
def test_each_accented_voice_says_a_command_at_a_speaking_length(voice, lang):
    if not _installed(voice):
        pytest.skip("festival voice %s not installed (make train-deps)" % voice)
    x = tts.synth(("festival", voice, lang), "play music", 1.0, 0.5, None)
    # Sent in the wrong encoding, the Czech voices spell out the bytes of each accented letter
    # and the clip takes three times as long.
    assert x.dtype == np.int16 and 0.5 * tts.RATE < len(x) < 1.6 * tts.RATE
    assert np.abs(x.astype(np.int32)).max() > 2000


@needs_espeak
def test_accented_voices_only_on_request_then_train_or_validate_and_are_never_tested():
    assert not any(
        dataset.voice_group(v) == "accented" for p in tts.voice_pools().values() for v in p
    )
    pools = tts.voice_pools(accented=True)
    for split, voices in pools.items():
        for engine, voice, lang in voices:
            if engine == "festival" and lang:
                assert voice in tts.FESTIVAL_ACCENT_VOICES
                want = "val" if voice in tts.FESTIVAL_VAL_VOICES else "train"
                assert split == want
    accented = [v for v in pools["train"] if dataset.voice_group(v) == "accented"]
    if accented:
        rng = np.random.default_rng(0)
        groups = [dataset.voice_group(dataset.pick_voice(rng, pools["train"])) for _ in range(600)]
        share = groups.count("accented") / len(groups)
        present = {dataset.voice_group(v) for v in pools["train"]}  # groups drawn from
        p = dataset.ENGINE_P["accented"] / sum(dataset.ENGINE_P[g] for g in present)
        assert abs(share - p) < 0.05
        assert groups.count("festival") > 30  # the English voices keep their own share


@needs_espeak
def test_manifest_names_the_accented_voices_a_model_trained_on():
    from host_tools.train import export

    plain = export._training_voices(tts.voice_pools()["train"])
    assert "other languages" not in plain and plain.startswith("voices of the training pool")
    n = sum(1 for v, _ in ACCENTED if _installed(v) and v not in tts.FESTIVAL_VAL_VOICES)
    if n:
        more = export._training_voices(tts.voice_pools(accented=True)["train"])
        assert "festival, other languages (%d)" % n in more
