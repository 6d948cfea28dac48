"""Member-name rules as pure functions: one name at a time, then the whole list at once."""
import pytest

from chalicelib.validation.member_names import Entry, collisions, fold, hidden_character, name_problems


def problems(name: str, is_dir: bool = False) -> list[str]:
    return [rule for rule, _ in name_problems(name, is_dir)[1]]


def collision_rules(*members: tuple[str, str]) -> list[str]:
    return [rule for rule, _ in collisions([Entry(name, 1, kind) for name, kind in members])]


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\u202e", "\u200b", "\u2066", "\ufeff", "\u2028"])
def test_control_and_invisible_formatting_characters_are_refused(char):
    assert problems(f"model{char}.txt") == ["safety.control_chars"]
    assert hidden_character(f"a{char}b") == f"U+{ord(char):04X}"


@pytest.mark.parametrize("name", ["café.txt", "модель-symbol.json", "数据/x", "a b-c_d.e"])
def test_printable_unicode_names_are_fine(name):
    assert problems(name) == []


def test_names_lose_their_dot_slash_empty_segments_and_trailing_slash():
    assert name_problems(".//a/./b/", True) == ("a/b", [])


def test_a_name_component_longer_than_255_bytes_is_refused():
    assert problems("é" * 127 + "x") == []  # 255 bytes in UTF-8
    assert problems("é" * 128) == ["safety.name_too_long"]


def test_a_path_longer_than_4095_bytes_is_refused():
    assert problems("/".join(["d" * 200] * 20) + "/" + "f" * 75) == []  # 4095 bytes
    assert problems("/".join(["d" * 200] * 20) + "/" + "f" * 76) == ["safety.name_too_long"]


def test_a_message_quotes_a_long_name_cut_short():
    (_, message), = name_problems("\x1b" + "n" * 100_000, False)[1][:1]

    assert len(message) < 300


def test_absolute_paths_and_traversal_are_refused():
    assert problems("/etc/passwd") == ["safety.absolute_path"]
    assert problems("a/../../x") == ["safety.traversal"]


def test_a_file_without_a_name_is_refused_but_the_root_folder_is_not():
    assert problems("./", False) == ["safety.empty_name"]
    assert problems("./", True) == []


def test_a_file_named_dot_is_refused_while_a_folder_named_so_is_its_parent():
    """`a/.` as a file would have to be written over the folder `a`: tarfile and GNU tar both fail on it."""
    assert problems("a/.", False) == ["safety.empty_name"]
    assert problems("a/.", True) == []


def test_a_name_twice_is_a_duplicate():
    assert collision_rules(("a/b", "file"), ("x", "file"), ("a/b", "file")) == ["safety.duplicate"]


@pytest.mark.parametrize("order", [0, 1])
def test_a_path_used_as_both_file_and_folder_is_refused_in_either_order(order):
    members = [("extra", "file"), ("extra/y", "file")]

    assert collision_rules(*(members if order == 0 else members[::-1])) == ["safety.file_and_directory"]


def test_a_file_used_as_a_folder_deep_below_is_refused_past_siblings_that_sort_between():
    assert collision_rules(("m/extra", "file"), ("m/extra-1", "file"), ("m/extra/a/b", "file")) == [
        "safety.file_and_directory"
    ]


def test_a_folder_entry_and_files_inside_it_are_fine():
    assert collision_rules(("extra", "dir"), ("extra/y", "file"), ("extra/z/w", "file")) == []


@pytest.mark.parametrize(
    "first,second",
    [
        ("Synset.txt", "synset.txt"),  # case-insensitive APFS and NTFS
        ("caf\u00e9.txt", "cafe\u0301.txt"),  # NFC against NFD (HFS+ stores NFD)
        ("\u212a.txt", "k.txt"),  # KELVIN SIGN folds to k
        ("Models/a", "models/b"),  # two spellings of one folder
        ("m/Caf\u00e9/a", "m/cafe\u0301/b"),
    ],
)
def test_names_that_only_case_or_unicode_normalisation_tell_apart_collide(first, second):
    assert collision_rules((first, "file"), (second, "file")) == ["safety.name_collision"]


def test_a_folder_entry_and_a_file_under_another_spelling_of_it_collide():
    assert collision_rules(("Models", "dir"), ("models/a", "file")) == ["safety.name_collision"]


def test_look_alike_letters_of_other_scripts_do_not_collide():
    assert collision_rules(("model.txt", "file"), ("m\u043edel.txt", "file")) == []  # Cyrillic о: another name


def test_folding_is_idempotent():
    assert fold(fold("Cafe\u0301 STRASSE ß")) == fold("Cafe\u0301 STRASSE ß")
