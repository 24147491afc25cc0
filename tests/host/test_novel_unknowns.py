"""scripts/novel_unknowns.py: its phrases stay new to training and to the held-out set."""

from host_tools.train import corpus


def test_phrases_are_new_and_say_no_command(script):
    novel = script("novel_unknowns").NOVEL
    assert len(novel) == len(set(novel)) == 50
    assert not set(novel) & set(corpus.UNKNOWN_PHRASES)
    assert not set(novel) & set(corpus.HELDOUT_UNKNOWN)
    assert not [p for p in novel if corpus.says_command(p)]
