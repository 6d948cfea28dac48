"""The protobuf wire reader and the SavedModel signature it decodes, on hand-written bytes
(real TensorFlow exports are read in tests/integration/test_tf_savedmodels.py)."""
import pytest

from chalicelib.validation import protowire
from chalicelib.validation.layouts import captures, check_layout
from chalicelib.validation.protowire import ProtoError
from chalicelib.validation.saved_model import MAX_FIELDS, TooMany, read_saved_model
from chalicelib.validation.tar_walk import Entry
from saved_model_bytes import field, saved_model, signature, tensor_info, varint


def test_fields_decodes_varints_lengths_and_fixed_widths():
    data = field(1, 300) + field(2, b"abc") + varint(3 << 3 | 5) + (7).to_bytes(4, "little")

    assert [(n, w, bytes(v) if isinstance(v, memoryview) else v) for n, w, v in protowire.fields(data)] == [
        (1, 0, 300), (2, 2, b"abc"), (3, 5, 7)]


def test_a_negative_int64_comes_back_signed():
    ((_, _, value),) = protowire.fields(field(1, -1))

    assert len(varint(-1)) == 10 and protowire.signed64(value) == -1


@pytest.mark.parametrize("data,why", [
    (b"\x08", "truncated varint"),
    (b"\x08" + b"\xff" * 11, "varint longer than 10 bytes"),
    (b"\x12\x05ab", "a length past the end"),
    (b"\x0b", "a group (wire type 3)"),
    (b"\x0f", "wire type 7"),
    (b"\x00\x01", "field number 0"),
    (b"\x0d\x01\x02", "a truncated fixed32"),
])
def test_malformed_bytes_raise_proto_error_only(data, why):
    with pytest.raises(ProtoError):
        list(protowire.fields(data))


def test_unknown_fields_are_skipped_so_newer_savedmodels_still_read():
    data = saved_model() + field(99, b"from a future TensorFlow") + field(98, 7)

    (graph,) = read_saved_model(data)

    assert graph.tags == ("serve",)
    assert graph.signatures["serving_default"].inputs["x"].shape == (-1, 4)


def test_a_million_tiny_fields_in_the_signature_are_refused_before_they_cost_a_minute_of_cpu():
    # GIVEN serving_default holding MAX_FIELDS empty inputs (64 MiB of them took a minute to count)
    body = b"\x0a\x00" * MAX_FIELDS + field(3, "tensorflow/serving/predict")

    # WHEN it is read THEN the read stops at the budget
    with pytest.raises(TooMany, match="more than 200,000 protocol buffer fields"):
        read_saved_model(saved_model({"serving_default": body}))


def test_signatures_past_the_bound_are_refused_even_under_one_repeated_name():
    entry = field(5, field(1, "same") + field(2, signature({}, {})))

    with pytest.raises(TooMany, match="more than 1,000 signatures"):
        read_saved_model(field(2, field(1, field(4, "serve")) + entry * 1001))


def test_a_string_field_that_is_not_utf8_is_malformed():
    with pytest.raises(ProtoError, match="UTF-8"):
        read_saved_model(field(2, field(1, field(4, b"\xff"))))


def test_an_empty_file_holds_no_metagraph():
    with pytest.raises(ProtoError, match="no MetaGraph"):
        read_saved_model(b"")


def test_the_missing_serving_default_names_the_signatures_there_but_not_tensorflows_init_op():
    graph = saved_model({"__saved_model_init_op": signature({}, {"__saved_model_init_op": tensor_info()}),
                         "predict_it": signature({"x": tensor_info()}, {"y": tensor_info()})})

    result = check_layout([Entry("1/saved_model.pb", len(graph), "file")], {"1/saved_model.pb": graph})

    (rule, message), = result.failures
    assert rule == "tensorflow.no_serving_default"
    assert "(it has: 'predict_it')" in message


def test_a_graph_tagged_serve_among_others_is_not_the_one_tf_serving_loads():
    graph = saved_model(tags=("serve", "tpu"))

    result = check_layout([Entry("1/saved_model.pb", len(graph), "file")], {"1/saved_model.pb": graph})

    assert [rule for rule, _ in result.failures] == ["tensorflow.no_serve_graph"]
    assert "'serve', 'tpu'" in result.failures[0][1]


def test_captures_keep_only_the_highest_versions_saved_model():
    kept = captures()
    for name in ("2/saved_model.pb", "10/saved_model.pb", "9/saved_model.pb", "m-symbol.json"):
        kept[name] = name.encode()

    assert sorted(kept) == ["10/saved_model.pb", "m-symbol.json"]


def test_the_served_version_is_the_highest_number_not_the_last_in_text_order():
    good, bad = saved_model(saver=False), b"not a protobuf \xff"
    files = {"9/saved_model.pb": bad, "10/saved_model.pb": good}

    result = check_layout([Entry(name, len(data), "file") for name, data in files.items()], files)

    assert result.failures == []
    assert result.input_shapes == [{"name": "x", "dtype": "float32", "shape": [-1, 4]}]


def test_string_bool_and_int_inputs_are_recorded_with_their_dtypes():
    graph = saved_model({"serving_default": signature(
        {"text": tensor_info("string", [-1]), "flag": tensor_info("bool", [-1, 1]), "n": tensor_info("int64", [1, 2])},
        {"out": tensor_info("string", [-1])})}, saver=False)

    result = check_layout([Entry("3/saved_model.pb", len(graph), "file")], {"3/saved_model.pb": graph})

    assert result.failures == []
    assert result.input_shapes == [{"name": "flag", "dtype": "bool", "shape": [-1, 1]},
                                   {"name": "n", "dtype": "int64", "shape": [1, 2]},
                                   {"name": "text", "dtype": "string", "shape": [-1]}]
    assert result.outputs == [{"name": "out", "dtype": "string", "shape": [-1]}]


def test_a_graph_with_a_saver_needs_its_variables_index_and_every_shard():
    graph = saved_model()
    shards = {f"1/variables/variables.data-0000{n}-of-00002": b"d" for n in (0, 1)}
    whole = {"1/saved_model.pb": graph, "1/variables/variables.index": b"i", **shards}

    def rules(files):
        return [rule for rule, _ in check_layout([Entry(n, len(d), "file") for n, d in files.items()], files).failures]

    assert rules(whole) == []
    one_shard_short = {name: data for name, data in whole.items() if not name.endswith("00001-of-00002")}
    assert rules(one_shard_short) == ["tensorflow.variables_missing"]
    assert rules({k: v for k, v in whole.items() if "/variables/" not in k}) == ["tensorflow.variables_missing"]
    assert rules({"1/saved_model.pb": saved_model(saver=False)}) == []  # nothing to restore: no variables/ needed
