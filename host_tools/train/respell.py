"""English said by festival's Czech, Finnish and Italian voices: more recorded speakers.

The English voices installable here are few (flite's and festival's kal, ked, awb, slt, one
piper voice), and a model that hears few speakers learns them, not the word. festival's
diphone voices for other languages are recordings of other people: a child, women, men.
They read their own spelling, so English is first turned into sounds (espeak-ng's American
IPA) and the sounds into that language's letters: "play music" is "plej mjúzik" for a Czech
voice. What comes out is English with that speaker's accent, as a person who learnt it would
say it.
"""

from host_tools.errors import HushwordError

# IPA symbols of espeak-ng's en-us, longest first so that diphthongs and affricates win.
_SYMBOLS = sorted(
    "aɪə aɪ aʊ eɪ oʊ ɔɪ tʃ dʒ ɑːɹ ɔːɹ oːɹ ɛɹ ɪɹ ʊɹ iː uː ɑː ɔː ɜː oː ɚ ᵻ ɐ ə ɪ ɛ æ ɑ ɔ ʌ ʊ "
    "i u o e a p b t d k ɡ g f v θ ð s z ʃ ʒ h m n ŋ l ɹ r w j ɾ ʔ x".split(),
    key=len,
    reverse=True,
)
_FRONT = ("i", "ɪ", "e", "ɛ", "æ", "ᵻ")

# Czech spelling is close to one letter per sound; the others differ from it where marked.
CZECH = {
    "aɪə": "aje", "aɪ": "aj", "aʊ": "au", "eɪ": "ej", "oʊ": "ou", "ɔɪ": "oj", "tʃ": "č",
    "dʒ": "dž", "ɑːɹ": "ár", "ɔːɹ": "ór", "oːɹ": "ór", "ɛɹ": "er", "ɪɹ": "ír", "ʊɹ": "ur",
    "iː": "í", "uː": "ú", "ɑː": "á", "ɔː": "ó", "ɜː": "er", "oː": "ó", "ɚ": "er", "ᵻ": "i",
    "ɐ": "a", "ə": "e", "ɪ": "i", "ɛ": "e", "æ": "e", "ɑ": "a", "ɔ": "o", "ʌ": "a", "ʊ": "u",
    "θ": "t", "ð": "d", "ʃ": "š", "ʒ": "ž", "ŋ": "ng", "ɹ": "r", "w": "u", "ɾ": "d", "ʔ": "",
    "ɡ": "g",
}  # fmt: skip
FINNISH = dict(
    CZECH,
    **{
        "aɪə": "aije", "aɪ": "ai", "eɪ": "ei", "ɔɪ": "oi", "ɑːɹ": "aar", "ɔːɹ": "oor",
        "oːɹ": "oor", "ɪɹ": "iir", "iː": "ii", "uː": "uu", "ɑː": "aa", "ɔː": "oo", "ɜː": "öö",
        "oː": "oo", "ɚ": "ör", "æ": "ä", "w": "v", "z": "s", "ʒ": "š",
    },
)  # fmt: skip
# Italian: no long vowels, no h, no k/j/w letters; c and g depend on the next vowel (below).
ITALIAN = dict(
    CZECH,
    **{
        "aɪə": "aie", "aɪ": "ai", "eɪ": "ei", "ɔɪ": "oi", "ɑːɹ": "ar", "ɔːɹ": "or", "oːɹ": "or",
        "ɪɹ": "ir", "iː": "i", "uː": "u", "ɑː": "a", "ɔː": "o", "oː": "o", "h": "", "j": "i",
        "z": "s", "ŋ": "n",
    },
)  # fmt: skip
_ITALIAN_SOFT = {"tʃ": "c", "dʒ": "g", "ʃ": "sc"}
TABLES = {"cs": CZECH, "fi": FINNISH, "it": ITALIAN}
# What festival's voices for each language read (festival takes bytes).
ENCODINGS = {"cs": "iso-8859-2", "fi": "iso-8859-15", "it": "iso-8859-1"}


def ipa(text):
    """espeak-ng's American English IPA for `text`, stress marks dropped."""
    from host_tools.train import tts  # tts renders with respell: imported when first used

    s = tts.espeak_phonemes(text, "en-us", ipa=True)
    return s.replace("ˈ", "").replace("ˌ", "").replace("\u0329", "")


def _symbols(word):
    out, i = [], 0
    while i < len(word):
        for s in _SYMBOLS:
            if word.startswith(s, i):
                out.append(s)
                i += len(s)
                break
        else:
            i += 1  # a mark with no sound of its own (length, syllabic, tie)
    return out


def _letters(sym, nxt, lang, before):
    if lang == "it":
        front = nxt.startswith(_FRONT)
        if sym == "k":
            return "ch" if front else "c"
        if sym in ("ɡ", "g"):
            return "gh" if front else "g"
        if sym in _ITALIAN_SOFT or sym == "ʒ":
            soft = _ITALIAN_SOFT.get(sym, "g")
            return soft if front else soft + "i"
    out = TABLES[lang].get(sym, sym)
    if lang == "cs" and before[-1:] in ("t", "d", "n") and out[:1] in ("i", "í"):
        out = {"i": "y", "í": "ý"}[out[0]] + out[1:]  # "ti" would be read as soft "ťi"
    return out


def respell(text, lang):
    """`text` (English) in the spelling of `lang` ("cs", "fi" or "it")."""
    if lang not in TABLES:
        raise HushwordError("no respelling for language %r" % lang)
    words = []
    for w in ipa(text).split():
        syms, out = _symbols(w), ""
        for k, s in enumerate(syms):
            out += _letters(s, syms[k + 1] if k + 1 < len(syms) else "", lang, out)
        if out:
            words.append(out)
    return " ".join(words)
