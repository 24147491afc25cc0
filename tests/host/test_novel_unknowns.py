"""scripts/novel_unknowns.py: its phrases stay new to training and to the held-out set."""

import importlib.util

from host_tools.paths import ROOT
from host_tools.train import corpus


def _script():
    spec = importlib.util.spec_from_file_location(
        "novel_unknowns", ROOT / "scripts" / "novel_unknowns.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_phrases_are_new_and_say_no_command():
    novel = _script().NOVEL
    assert len(novel) == len(set(novel)) == 50
    assert not set(novel) & set(corpus.UNKNOWN_PHRASES)
    assert not set(novel) & set(corpus.HELDOUT_UNKNOWN)
    assert not [p for p in novel if corpus.says_command(p)]
