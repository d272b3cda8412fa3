"""Metrics against values worked out by hand."""

import pytest

from training.metrics import beats_beyond_noise, char_accuracy, confusions, metrics, normalise, slice_of


@pytest.mark.parametrize(
    "prediction, truth, expected",
    [
        ("", "", 1.0),  # two empty strings score 1
        ("", "abc", 0.0),  # 3 deletions / 3
        ("abc", "", 0.0),
        ("abc", "abc", 1.0),
        ("abd", "abc", 1 - 1 / 3),  # one substitution
        ("ab", "abc", 1 - 1 / 3),  # one deletion, longer length 3
        ("abcd", "abc", 1 - 1 / 4),  # one insertion, longer length 4
        ("价格399", "价格：399", 1 - 1 / 6),
        ("kitten", "sitting", 1 - 3 / 7),
    ],
)
def test_character_accuracy(prediction, truth, expected):
    assert char_accuracy(prediction, truth) == pytest.approx(expected)


def test_overall_and_sliced_scores():
    truths = ["123", "456", "hello", "你好", "价格 399", ""]
    predictions = ["123", "450", "hello", "你们", "价格399", ""]
    result = metrics(predictions, truths)
    assert result["n"] == 6
    assert result["seq_acc"] == pytest.approx(3 / 6)  # 123, hello, and the two empty strings
    per_line = [1, 2 / 3, 1, 1 / 2, 1 - 1 / 6, 1]
    assert result["char_acc"] == pytest.approx(sum(per_line) / 6)
    # Normalised: whitespace removed, so "价格 399" and "价格399" match.
    assert result["seq_acc_norm"] == pytest.approx(4 / 6)
    assert result["char_acc_norm"] == pytest.approx((1 + 2 / 3 + 1 + 1 / 2 + 1 + 1) / 6)
    slices = result["slices"]
    assert slices["digits"] == {
        "n": 2, "seq_acc": 0.5, "char_acc": pytest.approx((1 + 2 / 3) / 2),
        "seq_acc_norm": 0.5, "char_acc_norm": pytest.approx((1 + 2 / 3) / 2),
    }  # fmt: skip
    assert slices["en"]["n"] == 1 and slices["en"]["seq_acc"] == 1.0
    assert slices["zh"]["n"] == 1 and slices["zh"]["char_acc"] == pytest.approx(0.5)
    assert slices["mixed"]["n"] == 2 and slices["mixed"]["seq_acc"] == pytest.approx(0.5)


def test_slices_follow_the_labels_characters():
    assert [slice_of(s) for s in ("0042", "Hello, World", "12.50", "你好，世界", "ETC系统", "价格：399", "")] == [
        "digits", "en", "en", "zh", "mixed", "mixed", "mixed",
    ]  # fmt: skip


def test_normalisation_is_nfkc_without_whitespace():
    assert normalise("价格：￥３９９ ００") == "价格:¥39900"


def test_confusions_count_substitutions_deletions_and_insertions():
    counts = confusions(["abX", "ac", "abcd"], ["abc", "abc", "abc"])
    assert counts[("c", "X")] == 1 and counts[("b", "")] == 1 and counts[("", "d")] == 1


def test_beyond_noise_counts_only_the_lines_the_two_models_disagree_on():
    def lines(gained: int, lost: int, both: int = 400) -> tuple[list[bool], list[bool]]:
        model = [True] * gained + [False] * lost + [True] * both
        baseline = [False] * gained + [True] * lost + [True] * both
        return model, baseline

    assert not beats_beyond_noise(*lines(1, 0))  # one more line: luck
    assert not beats_beyond_noise(*lines(0, 0))
    assert not beats_beyond_noise(*lines(20, 12))  # +8 of 32 disagreements: 8 < 1.645 * sqrt(32)
    assert beats_beyond_noise(*lines(22, 10))  # +12 of 32: 12 > 9.3
    assert beats_beyond_noise(*lines(5, 0)) and not beats_beyond_noise(*lines(0, 5))
    # Base sitting 23's kept epoch, 7 lines worse than its start on the test split: beyond
    # noise as one look (z 1.70 > 1.645), not as one of the run's 18 epochs (z needed: 2.77).
    assert beats_beyond_noise(*lines(31, 19)) and not beats_beyond_noise(*lines(31, 19), looks=18)
    assert beats_beyond_noise(*lines(40, 10), looks=18)  # z 4.2
