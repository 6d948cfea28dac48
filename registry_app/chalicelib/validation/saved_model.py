"""What a `saved_model.pb` says about serving: each MetaGraph's tags and signatures, as plain data.

Decoded with `protowire` from the field numbers of TensorFlow's saved_model.proto,
meta_graph.proto, tensor_shape.proto and types.proto; everything else in the file
(the graph, the object graph, assets) is skipped by length without being parsed.

Bounded: a 64 MiB file of tiny repeated fields must cost neither millions of Python objects nor a
minute of CPU. Past MAX_FIELDS fields visited, MAX_GRAPHS MetaGraphs, MAX_TAGS tags or
MAX_SIGNATURES signatures the file is refused (TooMany); of a signature's inputs and outputs the
first MAX_TENSORS + 1 are decoded and the rest counted, and a shape stops being read at MAX_RANK + 1
dimensions: enough for the rules to say "more than".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .protowire import LEN, ProtoError, fields, message, number, signed64, text
from .recorded import MAX_RANK, MAX_TENSORS

__all__ = ["MetaGraph", "ProtoError", "Signature", "TensorSpec", "TooMany", "read_saved_model"]
MAX_GRAPHS = 16  # an export has one or two (serve; serve and gpu)
MAX_TAGS = 16
MAX_SIGNATURES = 1000  # exports have a few; each costs a decoded Signature
MAX_FIELDS = 200_000  # fields one read visits (0.2 s of CPU); a real export visits under a hundred

# types.proto DataType, by the names tf.dtypes uses; refs (+100) never appear in a signature.
DTYPES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 8: "complex64",
          9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32", 14: "bfloat16", 15: "qint16",
          16: "quint16", 17: "uint16", 18: "complex128", 19: "float16", 20: "resource", 21: "variant",
          22: "uint32", 23: "uint64", 24: "float8_e5m2", 25: "float8_e4m3fn", 26: "float8_e4m3fnuz",
          27: "float8_e4m3b11fnuz", 28: "float8_e5m2fnuz", 29: "int4", 30: "uint4"}


class TooMany(ProtoError):
    """A repeated field past the reader's bound: `what` ("signatures", ...) and the bound."""

    def __init__(self, what: str, bound: int):
        super().__init__(f"more than {bound:,} {what}")
        self.what, self.bound = what, bound


@dataclass(frozen=True)
class TensorSpec:
    """One signature input or output; `shape` None when the rank is unknown, -1 for an unknown dimension.

    Past MAX_RANK dimensions `shape` holds the first MAX_RANK + 1 only (the rank is over the bound).
    """

    dtype: str
    shape: tuple[int, ...] | None
    encoding: str = "dense"  # "dense" (a named tensor), "coo_sparse" or "composite"


@dataclass(frozen=True)
class Signature:
    """Inputs and outputs by name: the first MAX_TENSORS + 1 of each, and how many there are in all."""

    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    method: str = ""
    input_count: int = 0
    output_count: int = 0


@dataclass(frozen=True)
class MetaGraph:
    tags: tuple[str, ...]
    signatures: dict[str, Signature] = field(default_factory=dict)
    restores_variables: bool = False  # it has a saver_def: loading reads variables/variables.index and its shards


def read_saved_model(data: bytes) -> list[MetaGraph]:
    """The MetaGraphs of a SavedModel (saved_model.proto: field 2, repeated MetaGraphDef); ProtoError if malformed."""
    return _Reader().saved_model(data)


class _Reader:
    """One read, with a budget of MAX_FIELDS fields visited: 64 MiB of two-byte fields in the parts it
    decodes would otherwise cost a minute of CPU; a real export visits under a hundred."""

    def __init__(self) -> None:
        self.left = MAX_FIELDS

    def fields(self, data: memoryview | bytes):
        for item in fields(data):
            self.left -= 1
            if self.left < 0:
                raise TooMany("protocol buffer fields where the registry reads tags and signatures", MAX_FIELDS)
            yield item

    def saved_model(self, data: bytes) -> list[MetaGraph]:
        graphs = []
        for key, _, value in self.fields(data):
            if key == 2:
                if len(graphs) == MAX_GRAPHS:
                    raise TooMany("MetaGraphs", MAX_GRAPHS)
                graphs.append(self.meta_graph(message(value, "a MetaGraphDef")))
        if not graphs:
            raise ProtoError("the SavedModel holds no MetaGraph")
        return graphs

    def meta_graph(self, data: memoryview) -> MetaGraph:
        tags: list[str] = []
        signatures: dict[str, Signature] = {}
        saver, entries = False, 0
        for key, _, value in self.fields(data):
            if key == 1:  # MetaInfoDef; its field 4 is the repeated tag
                for number_, _, tag in self.fields(message(value, "MetaInfoDef")):
                    if number_ == 4:
                        if len(tags) == MAX_TAGS:
                            raise TooMany("tags", MAX_TAGS)
                        tags.append(text(tag, "a tag"))
            elif key == 3:  # SaverDef: only its presence matters here
                message(value, "a SaverDef")
                saver = True
            elif key == 5:  # map<string, SignatureDef> signature_def
                entries += 1
                if entries > MAX_SIGNATURES:
                    raise TooMany("signatures", MAX_SIGNATURES)
                name, body = self.map_entry(message(value, "a signature_def entry"))
                signatures[name] = self.signature(body)
        return MetaGraph(tuple(tags), signatures, saver)

    def map_entry(self, data: memoryview) -> tuple[str, memoryview]:
        """A map<string, message> entry: key is field 1, value field 2 (either may be absent: empty)."""
        key, value = "", memoryview(b"")
        for number_, _, item in self.fields(data):
            if number_ == 1:
                key = text(item, "a map key")
            elif number_ == 2:
                value = message(item, "a map value")
        return key, value

    def signature(self, data: memoryview) -> Signature:
        sides: dict[int, dict[str, TensorSpec]] = {1: {}, 2: {}}  # inputs, outputs
        counts = {1: 0, 2: 0}
        method = ""
        for key, _, value in self.fields(data):
            if key in (1, 2):
                counts[key] += 1
                if counts[key] <= MAX_TENSORS + 1:  # enough to tell "too many"; the rest only counted
                    name, body = self.map_entry(message(value, "a signature input or output"))
                    sides[key][name] = self.tensor_info(body)
            elif key == 3:
                method = text(value, "a method name")
        return Signature(sides[1], sides[2], method, counts[1], counts[2])

    def tensor_info(self, data: memoryview) -> TensorSpec:
        dtype, shape, encoding = 0, (), "dense"
        for key, wire, value in self.fields(data):
            if key == 2:
                dtype = number(value, "a dtype")
            elif key == 3:
                shape = self.shape(message(value, "a tensor shape"))
            elif key == 4 and wire == LEN:
                encoding = "coo_sparse"
            elif key == 5 and wire == LEN:
                encoding = "composite"
        return TensorSpec(DTYPES.get(dtype, f"DT_{dtype}"), shape, encoding)

    def shape(self, data: memoryview) -> tuple[int, ...] | None:
        dims: list[int] = []
        unknown_rank = False
        for key, _, value in self.fields(data):
            if key == 2:  # Dim: size is field 1 (int64, -1 when unknown)
                if len(dims) > MAX_RANK:
                    break  # over the bound already: the rest is not read
                sizes = [signed64(number(v, "a dimension"))
                         for k, _, v in self.fields(message(value, "a Dim")) if k == 1]
                dims.append(sizes[-1] if sizes else 0)
            elif key == 3:
                unknown_rank = bool(number(value, "unknown_rank"))
        return None if unknown_rank else tuple(dims)
