"""What the synthetic voices say: target phrases, confusable phrases and ordinary speech."""

import re

import numpy as np

COMMANDS = [
    "lights on",
    "lights off",
    "stop",
    "volume up",
    "volume down",
    "play music",
    "pause",
    "next song",
    "what time is it",
    "cancel",
]
COMMAND_LABELS = [c.replace(" ", "_") for c in COMMANDS] + ["unknown", "background"]

# Spoken forms of each target; punctuation changes espeak's prosody, a cheap way to vary it.
SPELLINGS = {
    "hey_jarvis": ["hey jarvis", "hey, jarvis", "hey jarvis!", "Hey Jarvis.", "hey jarvis?"],
    "alexa": ["alexa", "Alexa.", "alexa!", "alexa?", "Alexa,"],
}
COMMAND_SPELLINGS = {
    "lights on": ["lights on", "lights on.", "lights on!", "Lights on please"],
    "lights off": ["lights off", "lights off.", "lights off!", "Lights off please"],
    "stop": ["stop", "stop!", "Stop.", "stop it"],
    "volume up": ["volume up", "volume up.", "Volume up!", "turn the volume up"],
    "volume down": ["volume down", "volume down.", "Volume down!", "turn the volume down"],
    "play music": ["play music", "play music.", "Play music!", "play some music"],
    "pause": ["pause", "pause.", "Pause!", "pause it"],
    "next song": ["next song", "next song.", "Next song!", "next song please"],
    "what time is it": [
        "what time is it",
        "what time is it?",
        "What time is it.",
        "what's the time",
    ],
    "cancel": ["cancel", "cancel.", "Cancel!", "cancel that"],
}

# Accents: espeak-ng's English voices differ little in how they say a word, real speakers do.
# A share of the espeak-ng positives is said from phonemes (espeak-ng's own transcription of
# the phrase, changed by these rules, each applied or not at random): dropped h, r after the
# vowel or not, other vowel qualities. They are common features of English accents, not of one
# voice; none turns the wake word into one of its sound-alikes (no rule adds a consonant).
ACCENT_RULES = (
    (r"(^| )h(?=['a-zA-Z@])", (r"\1h", r"\1")),  # h-dropping: "'ey jarvis"
    (r"A@(?!r)", ("A@", "A@r", "A:", "a:")),  # the START vowel, with and without r
    (r"eI", ("eI", "e:", "EI")),  # the FACE vowel: diphthong or monophthong
    (r"(?<![eaoOE',A])I(?!@)", ("I", "i", "@")),  # unstressed KIT: "jarvis", "jarvus"
    (r"@(?= |$)", ("@", "a#", "V", "A:")),  # a final schwa: "alexa", "alexah", "alexuh"
    (r"(^| )a#", (r"\1a#", r"\1@", r"\1E")),  # a first unstressed vowel: "alexa", "elexa"
)
# The same for the commands, whose words have other vowels. None turns a command into one of
# the unknown phrases ("cancel" keeps its a, so it never becomes "counsel"). Applied to the
# plain phrase as espeak-ng's en-us voice transcribes it.
COMMAND_ACCENT_RULES = (
    (r"@L", ("@L", "El", "Ul", "@l")),  # a final -el, reduced or full: "cancel", "cansell"
    (r"0|O2", ("0", "O2", "A:", "O:")),  # the LOT/CLOTH vowel: "stop", "stahp", "stawp"
    (r"aI", ("aI", "a:", "A:", "OI")),  # the PRICE vowel: "lights", "lahts", "loights"
    (r"(?<=j)u:", ("u:", "U")),  # GOOSE after y: "volume", "volyum"
    (r"V", ("V", "U", "@")),  # the STRUT vowel: "up", northern "oop"
    (r"eI", ("eI", "e:", "EI")),  # the FACE vowel: "play"
    (r"(?<![eaoOE',A])I(?!@)", ("I", "i", "@")),  # unstressed KIT: "music", "is it"
    (r"t(?= |$)", ("t", "?")),  # a final t glottalised: "wha' time is i'"
)


def accent_variant(rng, phonemes, rules=None):
    """`phonemes` (espeak-ng notation) with each accent rule (default ACCENT_RULES) applied at
    random, as espeak-ng phoneme input ("[[...]]")."""
    out = phonemes
    for pattern, choices in ACCENT_RULES if rules is None else rules:
        if rng.random() < 0.5:
            out = re.sub(pattern, choices[int(rng.integers(0, len(choices)))], out)
    return "[[" + out + "]]"


# Sound-alikes the detector must reject: the expensive false accepts. None of them is the
# wake word said slightly differently ("hey jarvie" and "alexia" were: in noise they are the
# wake word, and labelled negative they taught the model to doubt it). "say jarvis" stays:
# without it a model learns to take it for "hey jarvis".
CONFUSABLES = {
    "hey_jarvis": [
        "hey travis",
        "hey jared",
        "hey marcus",
        "hey service",
        "a jar of peas",
        "hey harvest",
        "hey garvey",
        "say jarvis",
        "hey davis",
        "hey jackson",
        "pay charges",
        "hey jar",
        "hey there",
        "hey",
        "hey james",
        "hey mavis",
        "jarvis cocker",
        "hey purpose",
        "they carve it",
        "hey darling",
        "hey jeeves",
        "hey nervous",
        "hey chavez",
        "hey artist",
        "hey jess",
        "hey charlie",
        "hey office",
        "hey larvae",
        "jar vase",
    ],
    "alexa": [
        "alexis",
        "a lexus",
        "election",
        "alex",
        "alexander",
        "a lecture",
        "electric",
        "relax a",
        "lexa",
        "alaska",
        "hey alex",
        "alexandra",
        "allergic",
        "elect",
        "unless a",
        "a lexicon",
        "collects a",
        "selects a",
        "a legs up",
        "Alec says",
        "Alicia",
        "Alessa",
        "Electra",
        "a lens",
        "Elena",
        "Alisha",
        "excellent",
        "a next",
    ],
}
# Phrases that are not commands but share words with them: the command model answers
# "unknown" to these. None contains a whole command ("stop by later" starts with one, and
# "paws" sounds like one: a streaming detector is right to fire on those).
UNKNOWN_PHRASES = [
    "lights",
    "turn it on",
    "lights out tonight",
    "on and off",
    "volume",
    "music",
    "play",
    "play ball",
    "next week",
    "what is it",
    "time",
    "what time",
    "cancer",
    "castle",
    "candle",
    "lighthouse",
    "stock up",
    "top",
    "the song",
    "next door",
    "play a game",
    "open the door",
    "call mom",
    "set a timer",
    "how are you",
    "good morning",
    "turn left",
    "louder",
    "quiet",
    "weather today",
    "thank you",
    "yes",
    "no",
    "maybe",
    "nice one",
    "lunch time",
    "what is this",
    "the light is on",
    "knight song",
    "pass",
    "start",
    "shop",
    "volume knob",
    "music box",
    "a long song",
    "what a time",
    "next",
    "counsel",
    "sensor",
    "post",
    "spot",
    "lies on",
    "likes off",
    "play list",
]


def _words(text):
    return "".join(c if c.isalnum() or c in " '" else " " for c in text.lower()).split()


# Every command as words, spellings included: a generated unknown phrase must not say one.
_COMMAND_WORDS = [_words(sp) for c in COMMANDS for sp in COMMAND_SPELLINGS[c] + [c]]


def says_command(text):
    """Whether `text` contains a command's words in a row (a streaming detector rightly
    fires on it, so it cannot be an unknown phrase)."""
    w = _words(text)
    for cw in _COMMAND_WORDS:
        for i in range(len(w) - len(cw) + 1):
            if w[i : i + len(cw)] == cw:
                return True
    return False


def command_confusable(rng):
    """A generated unknown phrase close to a command: one of its words swapped for another,
    a word put between its words, its words reordered, or one of its words inside ordinary
    speech. Never contains a whole command."""
    for _ in range(20):
        c = _words(COMMANDS[int(rng.integers(0, len(COMMANDS)))])
        w = _WORDS[int(rng.integers(0, len(_WORDS)))]
        r = rng.random()
        if r < 0.35:
            out = list(c)
            out[int(rng.integers(0, len(c)))] = w
        elif r < 0.55 and len(c) > 1:
            i = int(rng.integers(1, len(c)))
            out = c[:i] + [w] + c[i:]
        elif r < 0.65 and len(c) > 1:
            out = c[::-1]
        else:
            k = c[int(rng.integers(0, len(c)))]
            out = sentence(rng, 0, 3).split() + [k] + sentence(rng, 0, 3).split()
        text = " ".join(out)
        if not says_command(text):
            return text
    return sentence(rng, 1, 3)


# Evaluation only (host_tools/train/heldout.py): training never hears these phrases. None
# starts with a whole command: a streaming detector rightly fires on "cancel" in "cancel my
# flight" before the rest is said (and on "stop" in "stopwatch", once in this list).
HELDOUT_UNKNOWN = [
    "lights camera action",
    "turn off the oven",
    "wristwatch batteries",
    "volume of water",
    "the pot is boiling",
    "play the piano",
    "the next train",
    "what is the time zone",
    "counsel my friend",
    "music lessons",
    "lie down",
    "hold on",
    "go away",
    "bring it on",
    "close the window",
    "it is cold outside",
    "good night",
    "see you later",
    "where are my keys",
    "call the doctor",
    "volumes",
    "nice music",
    "what a pity",
    "sign up",
    "lights are off",
    "the song is over",
    "slow down",
    "speak up",
    "pass the salt",
    "time flies",
]
HELDOUT_CONFUSABLES = {
    "hey_jarvis": ["hey garbage", "hey jars", "a jarvis", "hey carvers", "hey javi", "hey harvey"],
    "alexa": ["alexis said", "a lexa", "alexei", "Alexandria", "Alessandra", "elixir"],
}

_WORDS = (
    "the a an and but or so if when then there here this that these those it he she we they "
    "you i me him her us them my your our their its what which who where why how all some any "
    "many much more most few little time year day week night morning evening people man woman "
    "child world life hand part place case point home water room mother father area money story "
    "fact month lot right study book eye job word business issue side kind head house service "
    "friend power hour game line end member law car city community name team minute idea kid "
    "body information back parent face others level office door health person art war history "
    "party result change reason research girl guy moment air teacher force education foot boy "
    "age policy music market sense nation plan college interest death experience effect class "
    "control care field development role effort rate heart drug show leader light voice wife "
    "police mind price report decision son view relationship town road arm difference value "
    "building action model season society tax director position player record paper space "
    "ground form event official matter center couple site project activity star table need "
    "court oil situation cost industry figure street image phone data picture practice piece "
    "land product doctor wall patient worker news test movie north love support technology step "
    "baby computer type attention film tree source organization hair window evidence "
    "is was are were be been have has had do does did say said get got make made go went know "
    "knew take took see saw come came think thought look want give use find tell ask work seem "
    "feel try leave call keep let begin help talk turn start show hear play run move like live "
    "believe hold bring happen write provide sit stand lose pay meet include continue set learn "
    "lead understand watch follow create speak read allow add spend grow open walk win offer "
    "remember consider appear buy wait serve die send expect build stay fall cut reach kill "
    "good new first last long great little own other old big high different small large next "
    "early young important public bad same able late hard major better best free sure real "
    "today tomorrow yesterday always never often maybe really very quite just still also only "
    "garden kitchen coffee dinner weather rain sunny cold warm window garage laptop email "
    "grandma birthday holiday weekend traffic airport station ticket dog cat bird horse "
    "computer kettle oven fridge sofa blanket pillow shower towel shopping butter cheese bread "
    "apple banana orange chocolate pizza pasta soup salad tea juice bottle glass plate "
    "travel travis jared marcus service harvest jar peas alex election lexus lecture electric"
).split()


def sentence(rng, lo=2, hi=9):
    n = int(rng.integers(lo, hi + 1))
    return " ".join(_WORDS[i] for i in rng.integers(0, len(_WORDS), n))


def sentences(rng, n, lo=2, hi=9):
    return [sentence(rng, lo, hi) for _ in range(n)]


def partial_confusables(phrase, rng, n=24):
    """Sound-alikes for a custom phrase: its words with others around them, and its words
    alone (a phrase is only a detection when said whole)."""
    words = phrase.lower().split()
    out = list(words) if len(words) > 1 else []
    for _ in range(n):
        w = list(words)
        w[int(rng.integers(0, len(w)))] = _WORDS[int(rng.integers(0, len(_WORDS)))]
        out.append(" ".join(w))
    return out


def other_targets(word):
    """Phrases of the other shipped models: each model must ignore the others' words."""
    out = list(COMMANDS)
    for w, sp in SPELLINGS.items():
        if w != word:
            out += sp[:2]
    return out


def rng_for(seed, *names):
    """A generator seeded by the run seed and a purpose, so stages don't share random streams."""
    h = np.frombuffer(repr(names).encode(), dtype=np.uint8).astype(np.uint64).sum()
    return np.random.default_rng([seed, int(h) % (2**31), len(repr(names))])
