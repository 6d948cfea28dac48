"""Builders for valid and hostile model tarballs, shared by unit and integration tests.

Each HostileCase names the rule it must trip; `build()` returns the bytes of the
upload, so the same case can be validated in memory or dropped into S3.
HOSTILE_CASES fail under the default limits; CAPPED_CASES only under the small
`limits` they carry.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import random
import struct
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.validation import Limits
from chalicelib.validation.tensorflow import SAVED_MODEL_CAP
import saved_model_bytes as sm

PARAMS_MAGIC = struct.pack("<Q", 0x112)
SYMBOL = {"nodes": [{"op": "null", "name": "data", "inputs": []}], "arg_nodes": [0], "heads": [[0, 0, 0]]}


def noise(size: int, seed: int = 0) -> bytes:
    """Incompressible bytes, the same on every run (weights look like this to gzip)."""
    return random.Random(seed).randbytes(size)


def mxnet_files(prefix: str = "model", params_size: int = 4096) -> dict[str, bytes]:
    """The files of a small MXNet model in the layout the handler loads."""
    return {
        f"{prefix}-symbol.json": json.dumps(SYMBOL).encode(),
        f"{prefix}-0000.params": PARAMS_MAGIC + noise(max(params_size - 8, 0)),
        f"{prefix}-shapes.json": json.dumps([{"name": "data", "shape": [1, 8]}]).encode(),
        "synset.txt": b"cat\ndog\n\nbird\n",
    }


def tf_files(root: str = "") -> dict[str, bytes]:
    """A TensorFlow Serving SavedModel under version folder 1/ (optionally wrapped in `root`)."""
    return {
        f"{root}1/saved_model.pb": sm.saved_model(),
        f"{root}1/variables/variables.index": b"index",
        f"{root}1/variables/variables.data-00000-of-00001": noise(256),
        f"{root}1/assets/vocab.txt": b"a\nb\n",
    }


class Entry(tarfile.TarInfo):
    """A tar header that carries its member's bytes."""

    __slots__ = ("data",)


def entry(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, linkname: str = "", **attrs) -> Entry:
    info = Entry(name)
    info.type, info.linkname, info.size, info.mode = kind, linkname, len(data), 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    info.data = data
    return info


def tar_bytes(files: dict[str, bytes] | None = None, extra: list[Entry] = (), dot_root: bool = False,
              fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of `files` (names as given, or `./name` with a `.` entry) plus `extra` entries."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        if dot_root:
            tar.addfile(entry(".", kind=tarfile.DIRTYPE, mode=0o755))
        for name, data in (files or {}).items():
            tar.addfile(entry(f"./{name}" if dot_root else name, data), io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(info.data) if info.isreg() else None)
    return out.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def tgz(files: dict[str, bytes] | None = None, extra: list[Entry] = (), **options) -> bytes:
    return gz(tar_bytes(files, extra, **options))


def valid_mxnet(dot_root: bool = True, prefix: str = "model") -> bytes:
    return tgz(mxnet_files(prefix), dot_root=dot_root)


def multi_member_mxnet() -> bytes:
    """The same tar split across three gzip members (what `cat a.gz b.gz` or pigz can give)."""
    data = tar_bytes(mxnet_files(), dot_root=True)
    cut1, cut2 = len(data) // 3, 2 * len(data) // 3
    return gz(data[:cut1]) + gz(data[cut1:cut2]) + gz(data[cut2:])


def _without(name: str, files: dict[str, bytes]) -> dict[str, bytes]:
    return {key: value for key, value in files.items() if key != name}


def _members_only(data: bytes) -> bytes:
    """A tar without its end-of-archive blocks and record padding."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        last = tar.getmembers()[-1]
    return data[: last.offset_data + -(-last.size // 512) * 512]


def _patch(data: bytes, offset: int, new: bytes) -> bytes:
    offset %= len(data)
    return data[:offset] + new + data[offset + len(new) :]


def gzip_bomb(claimed: int = 2 << 30, chunk: int = 16 << 20) -> bytes:
    """A complete, CRC-correct tar.gz claiming `claimed` bytes of zeros in ~1/1000 of that."""
    header = entry("model-0000.params", size=claimed - 1024).tobuf(tarfile.GNU_FORMAT)
    zeros = gz(bytes(chunk))
    return gz(header) + zeros * (claimed // chunk)


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in mxnet_files().items():
            archive.writestr(name, data)
    return out.getvalue()


def _bad_second_header() -> bytes:
    data = tar_bytes(mxnet_files(), fmt=tarfile.GNU_FORMAT)
    second = 512 + 512 * -(-len(json.dumps(SYMBOL)) // 512)  # after the symbol file's header and body
    return gz(_patch(data, second + 148, b"0000001\0"))


def _oversized_long_name() -> bytes:
    return tgz(mxnet_files(), [entry("n" * (2 << 20), b"x")], fmt=tarfile.GNU_FORMAT)


def _dangling_long_name() -> bytes:
    """A GNU long-name header with no member after it: tarfile fails, GNU tar ignores it."""
    name = b"n" * 200 + b"\0"
    header = entry("././@LongLink", kind=tarfile.GNUTYPE_LONGNAME, size=len(name)).tobuf(tarfile.GNU_FORMAT)
    return gz(_members_only(tar_bytes(M())) + header + name + bytes(-len(name) % 512) + bytes(1024))


def _pax_record(body: bytes) -> bytes:
    info = entry("pax", kind=tarfile.XHDTYPE, size=len(body))
    block = info.tobuf(tarfile.USTAR_FORMAT)
    return block + body + bytes(-len(body) % 512)


def _global_pax(records: dict[str, str]) -> bytes:
    return tarfile.TarInfo.create_pax_global_header(records)


def _shapes(shape: list[int], name: str = "data") -> bytes:
    return json.dumps([{"name": name, "shape": shape}]).encode()


@dataclass(frozen=True)
class HostileCase:
    name: str
    rule_id: str
    build: Callable[[], bytes]
    limits: Limits | None = None


def _sparse_noise(size: int) -> bytes:
    """`size` bytes that gzip shrinks about 60 times: big, yet no compression bomb."""
    rng, block = random.Random(0), 1 << 16
    return b"".join(rng.randbytes(1024) + bytes(block - 1024) for _ in range(size // block + 1))[:size]


def _tf_signature(inputs: dict[str, bytes], outputs: dict[str, bytes] | None = None, method: str = sm.PREDICT) -> bytes:
    outputs = {"y": sm.tensor_info()} if outputs is None else outputs
    return sm.saved_model({"serving_default": sm.signature(inputs, outputs, method)})


def _tf_signatures(count: int) -> bytes:
    """A SavedModel of `count` small signatures, none of them serving_default (one template, names spliced in)."""
    one = sm.field(2, sm.signature({}, {}))
    head = sm.field(5, sm.field(1, "sig_00000") + one)[: -len(one) - 9]  # the entry's bytes before its name
    entries = b"".join(head + b"sig_%05d" % i + one for i in range(count))
    saver = sm.field(3, sm.field(1, "save/filename:0"))
    return sm.field(1, 1) + sm.field(2, sm.field(1, sm.field(4, "serve")) + saver + entries)


def _tf_input_of_rank(dims: list[int], repeat: int = 1) -> bytes:
    """serving_default with one input of shape `dims` then `repeat` times its last dimension, built at once."""
    encoded = [sm.field(2, sm.field(1, size)) for size in dims]
    shape = b"".join(encoded) + encoded[-1] * (repeat - 1)
    tensor = sm.field(1, "serving_default_x:0") + sm.field(2, 1) + sm.field(3, shape)
    return _tf_signature({"x": tensor})


def _tf_tensors(inputs: int = 1, outputs: int = 1, name: str = "t") -> bytes:
    """serving_default with `inputs` inputs and `outputs` outputs named `name`0, `name`1, …"""
    tensor = sm.tensor_info()
    return _tf_signature({f"{name}{i}": tensor for i in range(inputs)}, {f"{name}{i}": tensor for i in range(outputs)})


M = mxnet_files
ALL_CASES: list[HostileCase] = [
    # format: what the bytes are
    HostileCase("empty_file", "format.empty_file", lambda: b""),
    HostileCase("random_bytes", "format.not_gzip", lambda: noise(4096)),
    HostileCase("plain_tar", "format.not_gzip", lambda: tar_bytes(M())),
    HostileCase("zip_archive", "format.not_gzip", _zip),
    HostileCase("bzip2_tar", "format.not_gzip", lambda: bz2.compress(tar_bytes(M()))),
    HostileCase("gzip_of_random_bytes", "format.not_tar", lambda: gz(noise(4096))),
    HostileCase("gzip_of_nothing", "format.not_tar", lambda: gz(b"")),
    # gzip integrity
    HostileCase("truncated_gzip", "gzip.truncated", lambda: (lambda d: d[: len(d) // 2])(valid_mxnet())),
    HostileCase("gzip_without_trailer", "gzip.truncated", lambda: valid_mxnet()[:-8]),
    HostileCase("bad_crc", "gzip.crc", lambda: _patch(valid_mxnet(), -8, b"\xde\xad\xbe\xef")),
    HostileCase("bad_isize", "gzip.length", lambda: _patch(valid_mxnet(), -4, b"\x01\x00\x00\x00")),
    HostileCase("corrupt_deflate", "gzip.corrupt", lambda: _patch(valid_mxnet(), 10, b"\xff" * 16)),
    HostileCase("gzip_header_not_deflate", "gzip.header", lambda: _patch(valid_mxnet(), 2, b"\x07")),
    HostileCase("garbage_after_gzip", "gzip.trailing_data", lambda: valid_mxnet() + b"GARBAGE!"),
    # tar structure
    HostileCase("tar_cut_mid_member", "tar.truncated", lambda: gz(tar_bytes(M())[:1500])),
    HostileCase("tar_without_end_marker", "tar.truncated",
                lambda: gz(_members_only(tar_bytes(M())) + bytes(512))),
    HostileCase("members_after_end_marker", "tar.data_after_end",
                lambda: gz(tar_bytes(_without("synset.txt", M())) + tar_bytes({"synset.txt": b"hidden\n"}))),
    HostileCase("bad_header_checksum", "tar.bad_header", _bad_second_header),
    HostileCase("malformed_pax_header", "tar.bad_header",
                lambda: gz(_pax_record(b"99 path=x\n") + tar_bytes(M(), fmt=tarfile.USTAR_FORMAT))),
    HostileCase("oversized_long_name", "tar.bad_header", _oversized_long_name),
    HostileCase("long_name_without_member", "tar.bad_header", _dangling_long_name),
    HostileCase("global_pax_path", "tar.bad_header",
                lambda: gz(tarfile.TarInfo.create_pax_global_header({"path": "evil"}) + tar_bytes(M()))),
    HostileCase("pax_directory_name_on_an_empty_file", "tar.bad_header",
                lambda: tgz(M(), [entry("x", b"", pax_headers={"path": "weights/"})])),
    HostileCase("empty_file_with_a_directory_name", "tar.bad_header",
                lambda: tgz(M(), [entry("weights/", b"")], fmt=tarfile.GNU_FORMAT)),
    HostileCase("pax_header_over_256_kib", "limits.pax_header",
                lambda: tgz(M(), [entry("f", b"x", pax_headers={"comment": "c" * (256 << 10)})])),
    HostileCase("global_pax_headers_over_256_kib_together", "limits.pax_header",
                lambda: gz(_global_pax({"comment": "c" * (100 << 10)}) * 3 + tar_bytes(M()))),
    HostileCase("pax_header_of_300_records", "limits.pax_records",
                lambda: tgz(M(), [entry("f", b"x", pax_headers={f"LIBARCHIVE.k{i}": "v" for i in range(300)})])),
    HostileCase("global_pax_records_over_256_together", "limits.pax_records",
                lambda: gz(b"".join(_global_pax({f"k{i}": "v"}) for i in range(300)) + tar_bytes(M()))),
    HostileCase("file_with_a_directory_name", "tar.bad_header", lambda: tgz(M(), [entry("weights/", b"data")])),
    # safety
    HostileCase("path_traversal", "safety.traversal", lambda: tgz(M(), [entry("../../etc/cron.d/evil", b"x")])),
    HostileCase("traversal_inside_path", "safety.traversal", lambda: tgz(M(), [entry("a/../../evil", b"x")])),
    HostileCase("absolute_path", "safety.absolute_path", lambda: tgz(M(), [entry("/etc/passwd", b"x")])),
    HostileCase("symlink", "safety.symlink",
                lambda: tgz(M(), [entry("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")])),
    HostileCase("hardlink", "safety.hardlink",
                lambda: tgz(M(), [entry("hard", kind=tarfile.LNKTYPE, linkname="synset.txt")])),
    HostileCase("char_device", "safety.char_device",
                lambda: tgz(M(), [entry("tty", kind=tarfile.CHRTYPE, devmajor=5, devminor=0)])),
    HostileCase("block_device", "safety.block_device",
                lambda: tgz(M(), [entry("sda", kind=tarfile.BLKTYPE, devmajor=8, devminor=0)])),
    HostileCase("fifo", "safety.fifo", lambda: tgz(M(), [entry("pipe", kind=tarfile.FIFOTYPE)])),
    HostileCase("contiguous_file_type", "safety.member_type", lambda: tgz(M(), [entry("c", b"x", kind=tarfile.CONTTYPE)])),
    HostileCase("pax_sparse_file", "safety.member_type",
                lambda: tgz(M(), [entry("sparse", b"x", pax_headers={"GNU.sparse.realsize": "1099511627776"})])),
    HostileCase("duplicate_member", "safety.duplicate",
                lambda: tgz(M(), [entry("./synset.txt", b"other\n")])),
    HostileCase("control_characters", "safety.control_chars", lambda: tgz(M(), [entry("evil\x1b[2J.txt", b"x")])),
    HostileCase("bidi_override_in_a_name", "safety.control_chars", lambda: tgz(M(), [entry("evil\u202etxt.exe", b"x")])),
    HostileCase("zero_width_space_in_a_name", "safety.control_chars", lambda: tgz(M(), [entry("syn\u200bset.txt", b"x")])),
    HostileCase("file_then_folder_of_one_name", "safety.file_and_directory",
                lambda: tgz(M(), [entry("extra", b"x"), entry("extra/y", b"y")])),
    HostileCase("folder_then_file_of_one_name", "safety.file_and_directory",
                lambda: tgz(M(), [entry("extra/y", b"y"), entry("extra", b"x")])),
    HostileCase("names_differing_only_by_case", "safety.name_collision",
                lambda: tgz(M(), [entry("Synset.txt", b"other\n")])),
    HostileCase("names_differing_only_by_normalisation", "safety.name_collision",
                lambda: tgz(M(), [entry("caf\u00e9.txt", b"nfc"), entry("cafe\u0301.txt", b"nfd")])),
    HostileCase("folders_differing_only_by_case", "safety.name_collision",
                lambda: tgz(M(), [entry("Extra/a", b"a"), entry("extra/b", b"b")])),
    HostileCase("name_component_over_255_bytes", "safety.name_too_long", lambda: tgz(M(), [entry("n" * 256, b"x")])),
    HostileCase("name_not_utf8", "safety.name_encoding",
                lambda: tgz(M(), [entry("caf\udce9.txt", b"x")], fmt=tarfile.GNU_FORMAT)),
    HostileCase("file_without_name", "safety.empty_name", lambda: tgz(M(), [entry(".", b"x")])),
    HostileCase("file_named_dot_in_a_folder", "safety.empty_name", lambda: tgz(M(), [entry("extra/.", b"x")])),
    # limits
    HostileCase("gzip_bomb", "limits.compression_ratio", gzip_bomb),
    HostileCase("too_many_members", "limits.members", lambda: tgz({**M(), "a": b"", "b": b""}), Limits(max_members=5)),
    HostileCase("too_large_uncompressed", "limits.uncompressed_size",
                lambda: tgz(mxnet_files(params_size=2 << 20)), Limits(max_uncompressed_bytes=1 << 20)),
    # content
    HostileCase("empty_archive", "archive.empty", lambda: tgz({})),
    HostileCase("only_directories", "archive.empty",
                lambda: tgz({}, [entry("a", kind=tarfile.DIRTYPE), entry("a/b", kind=tarfile.DIRTYPE)])),
    HostileCase("unknown_layout", "layout.unknown", lambda: tgz({"README.md": b"# model\n", "weights.bin": b"\0" * 64})),
    # MXNet layout
    HostileCase("mxnet_files_in_a_folder", "mxnet.not_at_root", lambda: tgz({f"model/{k}": v for k, v in M().items()})),
    HostileCase("missing_symbol", "mxnet.symbol_missing", lambda: tgz(_without("model-symbol.json", M()))),
    HostileCase("missing_params", "mxnet.params_missing", lambda: tgz(_without("model-0000.params", M()))),
    HostileCase("missing_shapes", "mxnet.shapes_missing", lambda: tgz(_without("model-shapes.json", M()))),
    HostileCase("two_prefixes", "mxnet.prefix_mismatch", lambda: tgz({**M("a"), **M("b")})),
    HostileCase("symbol_not_json", "mxnet.symbol_invalid", lambda: tgz({**M(), "model-symbol.json": b"{nodes: ["})),
    HostileCase("symbol_without_nodes_or_heads", "mxnet.symbol_invalid",
                lambda: tgz({**M(), "model-symbol.json": b'{"graph": []}'})),
    HostileCase("params_without_magic", "mxnet.params_magic",
                lambda: tgz({**M(), "model-0000.params": b"PK\x03\x04 not an ndarray list"})),
    HostileCase("params_epoch_not_four_digits", "mxnet.params_name",
                lambda: tgz({**_without("model-0000.params", M()), "model-0.params": PARAMS_MAGIC})),
    HostileCase("shapes_empty_list", "mxnet.shapes_invalid", lambda: tgz({**M(), "model-shapes.json": b"[]"})),
    HostileCase("shapes_negative_dimension", "mxnet.shapes_invalid",
                lambda: tgz({**M(), "model-shapes.json": b'[{"name": "data", "shape": [1, -3]}]'})),
    HostileCase("shapes_not_a_list", "mxnet.shapes_invalid",
                lambda: tgz({**M(), "model-shapes.json": b'{"name": "data", "shape": [1, 3]}'})),
    HostileCase("shapes_of_rank_3000", "mxnet.shapes_rank",
                lambda: tgz({**M(), "model-shapes.json": _shapes([1] * 3000)})),
    HostileCase("shapes_of_ten_billion_elements", "mxnet.shapes_too_large",
                lambda: tgz({**M(), "model-shapes.json": _shapes([1, 100_000, 100_000])})),
    HostileCase("shapes_input_declared_twice", "mxnet.shapes_invalid",
                lambda: tgz({**M(), "model-shapes.json": json.dumps([{"name": "data", "shape": [1, 2]}] * 2).encode()})),
    HostileCase("shapes_of_33_inputs", "mxnet.shapes_too_many", lambda: tgz({**M(), "model-shapes.json": json.dumps(
        [{"name": f"data{i}", "shape": [1, 2]} for i in range(33)]).encode()})),
    HostileCase("shapes_input_name_of_129_bytes", "mxnet.shapes_name_too_long",
                lambda: tgz({**M(), "model-shapes.json": _shapes([1, 2], name="n" * 129)})),
    HostileCase("shapes_input_name_with_a_control_character", "mxnet.shapes_name_control_chars",
                lambda: tgz({**M(), "model-shapes.json": _shapes([1, 2], name="da\x1bta")})),
    HostileCase("synset_not_utf8", "mxnet.synset_invalid", lambda: tgz({**M(), "synset.txt": b"caf\xe9\n"})),
    # TensorFlow Serving layout
    HostileCase("tf_wrapped_in_a_folder", "tensorflow.nested_folder", lambda: tgz(tf_files("model1/"))),
    HostileCase("tf_without_version_folder", "tensorflow.no_version_folder",
                lambda: tgz({"saved_model.pb": b"pb", "variables/variables.index": b"i"})),
    HostileCase("tf_non_numeric_version", "tensorflow.no_version_folder",
                lambda: tgz({"v1/saved_model.pb": b"pb", "v1/variables/variables.index": b"i"})),
    HostileCase("tf_version_without_saved_model", "tensorflow.version_incomplete",
                lambda: tgz({**tf_files(), "2/variables/variables.index": b"i"})),
    HostileCase("tf_versions_01_and_1", "tensorflow.duplicate_version",
                lambda: tgz({**tf_files(), **{f"0{name}": data for name, data in tf_files().items()}})),
    HostileCase("tf_stray_file", "tensorflow.unexpected_file", lambda: tgz({**tf_files(), "notes.txt": b"hi"})),
    # TensorFlow: the served version's serving_default signature (tests/saved_model_bytes.py)
    HostileCase("tf_saved_model_not_protobuf", "tensorflow.saved_model_unreadable",
                lambda: tgz({**tf_files(), "1/saved_model.pb": b"\x08\x01saved-model"})),
    HostileCase("tf_saved_model_truncated", "tensorflow.saved_model_unreadable",
                lambda: tgz({**tf_files(), "1/saved_model.pb": sm.saved_model()[:-7]})),
    HostileCase("tf_no_serve_graph", "tensorflow.no_serve_graph",
                lambda: tgz({**tf_files(), "1/saved_model.pb": sm.saved_model(tags=("serve", "gpu"))})),
    HostileCase("tf_no_serving_default", "tensorflow.no_serving_default", lambda: tgz({
        **tf_files(), "1/saved_model.pb": sm.saved_model({"predict": sm.signature({"x": sm.tensor_info()},
                                                                                  {"y": sm.tensor_info()})})})),
    HostileCase("tf_variant_input", "tensorflow.input_dtype",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info("variant")})})),
    HostileCase("tf_resource_input", "tensorflow.input_dtype",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info("resource")})})),
    HostileCase("tf_sparse_input", "tensorflow.input_encoding",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info(sparse=True)})})),
    HostileCase("tf_input_of_unknown_rank", "tensorflow.input_rank",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info(shape=None)})})),
    HostileCase("tf_input_too_large", "tensorflow.input_too_large", lambda: tgz({
        **tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info(shape=[-1, 100_000, 100_000])})})),
    # TensorFlow: what a version records of the signature stays small (recorded.py)
    HostileCase("tf_input_of_500000_dimensions", "tensorflow.input_rank",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_input_of_rank([-1, 1], 500_000)})),
    HostileCase("tf_input_of_300_dimensions_of_2_62", "tensorflow.input_rank",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_input_of_rank([-1, 2**62], 300)})),
    HostileCase("tf_input_of_7_dimensions_of_2_62", "tensorflow.input_too_large",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_input_of_rank([-1, 2**62], 7)})),
    HostileCase("tf_input_of_a_negative_dimension", "tensorflow.input_dimension",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_input_of_rank([-1, -(2**63)])})),
    HostileCase("tf_60000_signatures_without_serving_default", "tensorflow.too_many_signatures",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signatures(60_000)})),
    HostileCase("tf_33_inputs", "tensorflow.too_many_inputs",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_tensors(inputs=33)})),
    HostileCase("tf_33_outputs", "tensorflow.too_many_outputs",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_tensors(outputs=33)})),
    HostileCase("tf_input_name_of_129_bytes", "tensorflow.name_too_long",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_tensors(name="n" * 128)})),
    HostileCase("tf_tensor_name_with_a_bidi_override", "tensorflow.name_control_chars",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_tensors(name="evil\u202e")})),
    HostileCase("tf_output_of_9_dimensions", "tensorflow.output_rank", lambda: tgz({
        **tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info()}, {"y": sm.tensor_info(shape=[-1] * 9)}),
    })),
    HostileCase("tf_no_inputs", "tensorflow.no_inputs",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signature({})})),
    HostileCase("tf_variant_output", "tensorflow.output_dtype", lambda: tgz({
        **tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info()}, {"y": sm.tensor_info("variant")})})),
    HostileCase("tf_no_outputs", "tensorflow.no_outputs",
                lambda: tgz({**tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info()}, {})})),
    HostileCase("tf_saved_model_over_the_cap", "tensorflow.saved_model_too_large",
                lambda: tgz({**tf_files(), "1/saved_model.pb": sm.saved_model() + _sparse_noise(SAVED_MODEL_CAP)})),
    HostileCase("tf_without_variables", "tensorflow.variables_missing",
                lambda: tgz({name: data for name, data in tf_files().items() if "/variables/" not in name})),
    HostileCase("tf_missing_a_variables_shard", "tensorflow.variables_missing", lambda: tgz({
        **tf_files(), "1/variables/variables.data-00001-of-00003": noise(64)})),
    HostileCase("tf_not_a_predict_signature", "tensorflow.signature_method", lambda: tgz({
        **tf_files(), "1/saved_model.pb": _tf_signature({"x": sm.tensor_info()}, method="tensorflow/train")})),
    # reference samples (samples/*.json)
    HostileCase("samples_101", "samples.count",
                lambda: tgz({**M(), **{f"samples/{i:03d}.json": b"[0]" for i in range(101)}})),
    HostileCase("sample_of_257_kib", "samples.size",
                lambda: tgz({**M(), "samples/big.json": b'"' + b"a" * (257 * 1024) + b'"'})),
    HostileCase("samples_of_9_mib_in_all", "samples.total_size",
                lambda: tgz({**M(), **{f"samples/{i:02d}.json": b'"' + b"a" * (255 << 10) + b'"' for i in range(37)}})),
    HostileCase("sample_not_json", "samples.json", lambda: tgz({**M(), "samples/a.json": b"{not json"})),
    HostileCase("sample_not_a_json_file", "samples.extension", lambda: tgz({**M(), "samples/a.jpg": noise(64)})),
    HostileCase("sample_in_a_subfolder", "samples.nested", lambda: tgz({**M(), "samples/x/a.json": b"[1]"})),
]

# Rejected under the default limits: safe to drop into the registry as they are.
HOSTILE_CASES = [case for case in ALL_CASES if case.limits is None]
# Rejected only under the small limits they carry.
CAPPED_CASES = [case for case in ALL_CASES if case.limits is not None]
