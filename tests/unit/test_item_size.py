"""dynamo.item_size counts an item as DynamoDB's "item sizes and formats" page says it does."""
import pytest

from chalicelib.dynamo import item_size, to_item


def test_a_string_counts_its_name_and_its_utf8_bytes():
    assert item_size({"name": {"S": "héllo"}}) == 4 + 6


@pytest.mark.parametrize("number,size", [("7", 2), ("12", 2), ("123", 3), ("123456", 4), ("1000", 2),
                                         ("0.001", 2), ("10.5", 3), ("0", 2), ("-12", 3)])
def test_a_number_counts_one_byte_per_two_significant_digits_plus_one(number, size):
    # leading and trailing zeros are trimmed; a minus sign is counted as one more byte, to stay on the safe side
    assert item_size({"n": {"N": number}}) == 1 + size


def test_booleans_and_nulls_count_one_byte():
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == (2 + 1) + (2 + 1)


def test_a_binary_counts_its_raw_bytes_not_its_base64():
    assert item_size({"b": {"B": b"\x00" * 30}}) == 1 + 30


def test_an_empty_list_or_map_counts_three_bytes():
    assert item_size({"l": {"L": []}, "m": {"M": {}}}) == (1 + 3) + (1 + 3)


def test_each_list_element_costs_one_byte_more_than_its_value():
    assert item_size({"l": {"L": [{"S": "a"}, {"S": "bc"}]}}) == 1 + 3 + (1 + 1) + (1 + 2)


def test_a_map_entry_counts_its_name_its_value_and_one_byte():
    assert item_size({"m": {"M": {"key": {"S": "v"}, "n": {"N": "5"}}}}) == 1 + 3 + (1 + 3 + 1) + (1 + 1 + 2)


def test_sets_count_their_members():
    assert item_size({"ss": {"SS": ["ab", "c"]}, "ns": {"NS": ["1", "123"]}}) == (2 + 3) + (2 + 2 + 3)


def test_a_nested_record_counts_every_level():
    item = to_item({"pk": "MODEL#m", "shape": [{"name": "x", "shape": [1, 28]}]})
    # pk: 2 + 7; shape: 5 + list 3 + element (1 + map 3 + name entry (1 + 4 + 1) + shape entry (1 + 5 + list))
    inner_list = 3 + (1 + 2) + (1 + 2)
    assert item_size(item) == (2 + 7) + (5 + 3 + 1 + 3 + (1 + 4 + 1) + (1 + 5 + inner_list))


def test_an_unknown_type_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        item_size({"x": {"Q": "?"}})
