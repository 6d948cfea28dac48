"""The SavedModel reader against Google's protobuf runtime: messages the real encoder writes
(from descriptors with saved_model.proto's field numbers) read back to the same signatures,
and mutated bytes give a reading or a ProtoError, never another exception."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from chalicelib.validation.protowire import ProtoError
from chalicelib.validation.saved_model import DTYPES, read_saved_model

F = descriptor_pb2.FieldDescriptorProto
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _saved_model_class():
    """SavedModel and the messages under it, as the protobuf runtime builds them from descriptors."""
    file = descriptor_pb2.FileDescriptorProto(name="saved_model_subset.proto", package="t", syntax="proto3")

    def message(name, fields, nested=()):
        proto = file.message_type.add(name=name)
        proto.nested_type.extend(nested)
        for field_name, number, kind, label, type_name in fields:
            proto.field.add(name=field_name, number=number, type=kind, label=label, type_name=type_name or None)
        return proto

    def map_entry(name, value_type):
        entry = descriptor_pb2.DescriptorProto(name=name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL, type_name=value_type)
        return entry

    one, many = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("Dim", [("size", 1, F.TYPE_INT64, one, ""), ("name", 2, F.TYPE_STRING, one, "")])
    message("Shape", [("dim", 2, F.TYPE_MESSAGE, many, ".t.Dim"), ("unknown_rank", 3, F.TYPE_BOOL, one, "")])
    message("TensorInfo", [("name", 1, F.TYPE_STRING, one, ""), ("dtype", 2, F.TYPE_INT32, one, ""),
                           ("tensor_shape", 3, F.TYPE_MESSAGE, one, ".t.Shape"),
                           ("coo_sparse", 4, F.TYPE_BYTES, one, "")])
    message("SignatureDef", [("inputs", 1, F.TYPE_MESSAGE, many, ".t.SignatureDef.InputsEntry"),
                             ("outputs", 2, F.TYPE_MESSAGE, many, ".t.SignatureDef.OutputsEntry"),
                             ("method_name", 3, F.TYPE_STRING, one, "")],
            [map_entry("InputsEntry", ".t.TensorInfo"), map_entry("OutputsEntry", ".t.TensorInfo")])
    message("MetaInfoDef", [("tags", 4, F.TYPE_STRING, many, ""), ("tensorflow_version", 5, F.TYPE_STRING, one, "")])
    message("MetaGraphDef", [("meta_info_def", 1, F.TYPE_MESSAGE, one, ".t.MetaInfoDef"),
                             ("graph_def", 2, F.TYPE_BYTES, one, ""),
                             ("signature_def", 5, F.TYPE_MESSAGE, many, ".t.MetaGraphDef.SignatureDefEntry")],
            [map_entry("SignatureDefEntry", ".t.SignatureDef")])
    message("SavedModel", [("saved_model_schema_version", 1, F.TYPE_INT64, one, ""),
                           ("meta_graphs", 2, F.TYPE_MESSAGE, many, ".t.MetaGraphDef")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("t.SavedModel"))


SavedModel = _saved_model_class()
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
shapes = st.one_of(st.none(), st.lists(st.integers(-1, 2**40), max_size=5))
tensors = st.fixed_dictionaries({"dtype": st.sampled_from(sorted(DTYPES)), "shape": shapes})
signatures = st.fixed_dictionaries({
    "inputs": st.dictionaries(names, tensors, max_size=4), "outputs": st.dictionaries(names, tensors, max_size=3),
    "method": st.sampled_from(["tensorflow/serving/predict", "", "tensorflow/serving/classify"])})
graphs = st.lists(st.fixed_dictionaries({"tags": st.lists(names, max_size=3),
                                         "signatures": st.dictionaries(names, signatures, max_size=3),
                                         "graph": st.binary(max_size=64)}), min_size=1, max_size=3)


def encoded(described: list[dict]) -> bytes:
    model = SavedModel(saved_model_schema_version=1)
    for graph in described:
        meta = model.meta_graphs.add(graph_def=graph["graph"])
        meta.meta_info_def.tags.extend(graph["tags"])
        for key, signature in graph["signatures"].items():
            written = meta.signature_def[key]
            written.method_name = signature["method"]
            for side, tensors_ in (("inputs", signature["inputs"]), ("outputs", signature["outputs"])):
                for name, tensor in tensors_.items():
                    info = getattr(written, side)[name]
                    info.name, info.dtype = f"{name}:0", tensor["dtype"]
                    if tensor["shape"] is None:
                        info.tensor_shape.unknown_rank = True
                    else:
                        info.tensor_shape.SetInParent()
                        for size in tensor["shape"]:
                            info.tensor_shape.dim.add(size=size)
    return model.SerializeToString()


@PROPERTY
@given(graphs)
def test_what_the_protobuf_runtime_writes_reads_back_the_same(described):
    read = read_saved_model(encoded(described))

    assert [graph.tags for graph in read] == [tuple(graph["tags"]) for graph in described]
    for graph, expected in zip(read, described):
        assert sorted(graph.signatures) == sorted(expected["signatures"])
        for key, signature in graph.signatures.items():
            want = expected["signatures"][key]
            assert signature.method == want["method"]
            for side in ("inputs", "outputs"):
                assert {name: (t.dtype, t.shape) for name, t in getattr(signature, side).items()} == {
                    name: (DTYPES[t["dtype"]], None if t["shape"] is None else tuple(t["shape"]))
                    for name, t in want[side].items()}


@PROPERTY
@given(graphs, st.data())
def test_mutated_bytes_read_or_raise_proto_error_only(described, data):
    raw = bytearray(encoded(described))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))

    try:
        outcome = read_saved_model(bytes(raw[:cut]))
    except ProtoError as error:
        outcome = error

    assert isinstance(outcome, (list, ProtoError))
