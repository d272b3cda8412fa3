import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.labels import CUT_MARKER, NAME_BYTES, escape_label, member_name, parse_member_name, unescape_label


@given(st.text())
@settings(max_examples=2000)
def test_any_unicode_label_round_trips_or_is_marked_cut(label):
    encoded = escape_label(label)
    assert "/" not in encoded and "\x00" not in encoded
    assert len(encoded.encode("utf-8")) <= NAME_BYTES
    decoded, complete = unescape_label(encoded)
    if complete:
        assert decoded == label
    else:
        assert encoded.endswith(CUT_MARKER) and label.startswith(decoded)


@given(st.integers(0, 10**9), st.text(), st.sampled_from(["png", "jpg"]))
def test_member_names_parse_back(sample_id, label, ext):
    name = member_name(sample_id, label, ext)
    assert len(name.encode("utf-8")) <= 255  # fits every common file system
    parsed_id, parsed_label, complete = parse_member_name(name)
    assert parsed_id == sample_id
    assert parsed_label == label if complete else label.startswith(parsed_label)


@pytest.mark.parametrize(
    "label, expected",
    [
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("价格：￥399.00 含税", "价格：￥399.00 含税"),  # full-width colon is fine, spaces stay
        ("..hidden", "..hidden"),
        ("12:30", "12%3A30"),
        ("tab\there", "tab%09here"),
        ("nul\x00", "nul%00"),
        ("😀 ok", "😀 ok"),
        ("%~", "%25~"),  # a label can never fake the cut marker
    ],
)
def test_readable_encoding(label, expected):
    assert escape_label(label) == expected
    assert unescape_label(expected) == (label, True)


def test_two_hundred_hanzi_are_cut_at_a_character_boundary():
    label = "电子不停车收费系统" * 23  # 207 characters, 621 bytes
    encoded = escape_label(label)
    decoded, complete = unescape_label(encoded)
    assert not complete
    assert label.startswith(decoded) and len(decoded) == (NAME_BYTES - len(CUT_MARKER)) // 3


def test_cut_never_splits_an_escape():
    label = "/" * 100  # each becomes %2F
    decoded, complete = unescape_label(escape_label(label))
    assert not complete and decoded == "/" * ((NAME_BYTES - 2) // 3)


def test_other_names_are_refused():
    for name in ("index.jsonl", "meta.json", "x_label.png", "12label.png"):
        with pytest.raises(ValueError):
            parse_member_name(name)
