"""Layout rules as pure functions over a member list and the captured small files."""
import json

import pytest

from chalicelib.validation.layouts import (
    PARAMS_MAGIC,
    SHAPES_CAP,
    SYMBOL_CAP,
    SYNSET_CAP,
    capture_limit,
    check_layout,
)
from chalicelib.validation.shapes import read_shapes
from chalicelib.validation.tar_walk import Entry
from chalicelib.validation.tensorflow import SAVED_MODEL_CAP
from saved_model_bytes import saved_model

SYMBOL = json.dumps({"nodes": [], "heads": []}).encode()
SHAPES = json.dumps([{"name": "data", "shape": [1, 3, 224, 224]}]).encode()


def files(contents: dict[str, bytes]) -> tuple[list[Entry], dict[str, bytes]]:
    """The member list and the captured heads the walker would produce for `contents`."""
    members = [Entry(name, len(data), "file") for name, data in contents.items()]
    captured = {name: data[: capture_limit(name)] for name, data in contents.items() if capture_limit(name)}
    return members, captured


def mxnet(prefix: str = "resnet-18", **overrides: bytes) -> dict[str, bytes]:
    contents = {
        f"{prefix}-symbol.json": SYMBOL,
        f"{prefix}-0000.params": PARAMS_MAGIC + b"\0" * 32,
        f"{prefix}-shapes.json": SHAPES,
    }
    contents.update(overrides)
    return contents


def failed_rules(contents: dict[str, bytes]) -> list[str]:
    return [rule for rule, _ in check_layout(*files(contents)).failures]


def test_only_root_files_the_rules_read_are_captured():
    assert capture_limit("m-0000.params") == 8
    assert capture_limit("m-symbol.json") == SYMBOL_CAP + 1
    assert capture_limit("m-shapes.json") == SHAPES_CAP + 1
    assert capture_limit("synset.txt") == SYNSET_CAP + 1
    assert capture_limit("sub/m-symbol.json") == 0
    assert capture_limit("1/saved_model.pb") == SAVED_MODEL_CAP + 1
    assert capture_limit("model/1/saved_model.pb") == 0
    assert capture_limit("1/variables/variables.index") == 0


@pytest.mark.parametrize("prefix", ["resnet-18", "squeezenet_v1.0", "a-b-c"])
def test_prefixes_may_contain_dashes_and_dots(prefix):
    result = check_layout(*files(mxnet(prefix)))

    assert result.failures == []
    assert (result.layout, result.prefix) == ("mxnet", prefix)
    assert result.input_shapes == [{"name": "data", "shape": [1, 3, 224, 224]}]
    assert result.labels_count is None


def test_synset_labels_are_counted_without_blank_lines():
    result = check_layout(*files(mxnet(**{"synset.txt": b"n01 cat\n\n  \nn02 dog\r\nn03 bird"})))

    assert result.labels_count == 3


def test_every_params_file_must_carry_the_magic():
    contents = mxnet(**{"resnet-18-0001.params": b"\x00" * 8})

    assert failed_rules(contents) == ["mxnet.params_magic"]


def test_a_symbol_file_over_its_cap_is_refused():
    assert failed_rules(mxnet(**{"resnet-18-symbol.json": b" " * (SYMBOL_CAP + 1)})) == ["mxnet.symbol_invalid"]


def test_a_shapes_file_over_its_cap_is_refused():
    assert failed_rules(mxnet(**{"resnet-18-shapes.json": b" " * (SHAPES_CAP + 1)})) == ["mxnet.shapes_invalid"]


def test_a_synset_over_its_cap_is_refused():
    assert failed_rules(mxnet(**{"synset.txt": b"x\n" * (SYNSET_CAP // 2 + 1)})) == ["mxnet.synset_invalid"]


@pytest.mark.parametrize(
    "shapes",
    [
        [{"name": "data", "shape": [1, True]}],
        [{"name": "data", "shape": [1, 2.0]}],
        [{"name": "data", "shape": []}],
        [{"name": "", "shape": [1]}],
        [{"shape": [1]}],
        [{"name": 7, "shape": [1]}],
        ["data"],
        [],
        {"name": "data", "shape": [1, 3]},
        None,
    ],
)
def test_shapes_need_named_inputs_with_positive_integer_dimensions(shapes):
    assert failed_rules(mxnet(**{"resnet-18-shapes.json": json.dumps(shapes).encode()})) == ["mxnet.shapes_invalid"]


def shapes_rules(shapes: object, max_elements: int = 1 << 20) -> list[str]:
    return [rule for rule, _ in read_shapes(json.dumps(shapes).encode(), max_elements)[1]]


def test_a_dimension_past_int64_is_refused_whatever_the_element_cap():
    assert shapes_rules([{"name": "data", "shape": [1, 2**63]}], max_elements=2**70) == ["mxnet.shapes_invalid"]


def test_only_each_inputs_name_and_shape_are_kept_for_the_version():
    shapes, _ = read_shapes(json.dumps([{"name": "data", "shape": [1, 2], "note": "x" * 100_000}]).encode(), 1 << 20)

    assert shapes == [{"name": "data", "shape": [1, 2]}]


def test_an_input_name_declared_twice_is_refused():
    assert shapes_rules([{"name": "data", "shape": [1, 2]}, {"name": "data", "shape": [1, 3]}]) == ["mxnet.shapes_invalid"]


@pytest.mark.parametrize("dims", [[1] * 3000, [1] * 9, [8]])
def test_a_shape_has_two_to_eight_dimensions_batch_first(dims):
    assert shapes_rules([{"name": "data", "shape": dims}]) == ["mxnet.shapes_rank"]


def test_the_rank_message_stays_short_for_a_3000_dimension_shape():
    (_, message), = read_shapes(json.dumps([{"name": "data", "shape": [1] * 3000}]).encode(), 1 << 20)[1]

    assert "3000 dimensions" in message and len(message) < 200


@pytest.mark.parametrize("dims", [[1, 100_000, 100_000], [100_000, 100_000, 1], [2**40] * 8])
def test_an_input_over_the_element_cap_is_refused(dims):
    assert shapes_rules([{"name": "data", "shape": dims}]) == ["mxnet.shapes_too_large"]


def test_the_element_cap_counts_the_whole_shape_batch_included():
    assert shapes_rules([{"name": "data", "shape": [4, 256]}], max_elements=1024) == []
    assert shapes_rules([{"name": "data", "shape": [5, 256]}], max_elements=1024) == ["mxnet.shapes_too_large"]


def test_every_input_is_held_to_the_element_cap():
    shapes = [{"name": "image", "shape": [1, 3, 224, 224]}, {"name": "mask", "shape": [1, 2000, 2000]}]

    assert shapes_rules(shapes) == ["mxnet.shapes_too_large"]


def test_a_shapes_file_with_several_inputs_stays_valid():
    shapes = [{"name": "image", "shape": [1, 3, 224, 224]}, {"name": "scale", "shape": [1, 1]}]

    result = check_layout(*files(mxnet(**{"resnet-18-shapes.json": json.dumps(shapes).encode()})))

    assert result.failures == []
    assert result.input_shapes == shapes


def test_a_shape_at_the_default_cap_is_valid():
    assert shapes_rules([{"name": "data", "shape": [1, 1024, 1024]}]) == []


def test_a_prefix_mismatch_leaves_the_prefix_unknown():
    result = check_layout(*files({**mxnet("a"), "b-shapes.json": SHAPES}))

    assert [rule for rule, _ in result.failures] == ["mxnet.prefix_mismatch"]
    assert result.prefix is None


def test_missing_files_are_named_after_the_prefix_found():
    result = check_layout(*files({"resnet-18-symbol.json": SYMBOL}))

    messages = dict(result.failures)
    assert messages["mxnet.params_missing"].startswith("resnet-18-NNNN.params is missing")
    assert messages["mxnet.shapes_missing"].startswith("resnet-18-shapes.json is missing")


def test_mxnet_files_at_the_root_decide_the_layout_over_a_saved_model():
    assert check_layout(*files({**mxnet(), "1/saved_model.pb": b"pb"})).layout == "mxnet"


def test_tensorflow_accepts_several_versions_and_a_code_folder():
    contents = {
        "1/saved_model.pb": b"pb",  # not served: TF Serving serves the highest version only
        "2/saved_model.pb": saved_model(),
        "2/variables/variables.index": b"i",
        "2/variables/variables.data-00000-of-00001": b"d",
        "code/inference.py": b"",
        "code/requirements.txt": b"",
    }
    result = check_layout(*files(contents))

    assert (result.layout, result.failures) == ("tensorflow", [])


def test_directories_alone_make_an_empty_archive():
    assert [rule for rule, _ in check_layout([Entry("a", 0, "dir")], {}).failures] == ["archive.empty"]
