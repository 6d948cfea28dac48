"""Request decoding and response encoding for the MXNet model handler.

Kept apart from MXNet so every rule about payloads (content types, shapes,
images, softmax, top-k, error bodies) is a pure function over bytes and numpy
arrays, testable without a model server.

A body is small (MMS caps it at about 6.5 MB) but can declare something huge: an .npy
header saying (2**40, 4), JSON nested 100,000 levels (json.loads recurses and dies
with RecursionError), a 1 MB PNG that decodes to 170 megapixels. Each is checked from
its declaration alone (the .npy header, the bracket structure, the image header) before
anything is allocated, so a hostile body is a 4xx with a clear reason, never a
MemoryError (MMS would answer 507, which tells SageMaker to unload other models) nor a
dead worker.
"""
from __future__ import annotations

import io
import json
import re
import struct
import warnings
from dataclasses import dataclass

import numpy as np

JSON = "application/json"
NPY = "application/x-npy"
VERBOSE_JSON = "application/json; verbose=true"  # an Accept value: image answers with probabilities
IMAGE_TYPES = frozenset({"application/x-image", "image/jpeg", "image/png"})
ARRAY_TYPES = frozenset({JSON, NPY})

# Gluon model-zoo networks are trained on RGB scaled to [0, 1] and normalised
# with the ImageNet channel statistics; the exported graphs expect the same.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype="float32")

# numpy itself refuses longer .npy headers from 1.24 on (max_header_size); 1.23 does not.
MAX_NPY_HEADER_BYTES = 10_000
# 40 Mpx: a full-resolution photo from a 40 Mpx camera (Pillow holds ~160 MB of RGBA for
# it); the model only sees a small resized copy. Pillow's own bomb limit (~179 Mpx) lets
# a 170 Mpx image through and allocates ~700 MB to convert it.
MAX_IMAGE_PIXELS = 40_000_000
# json.loads recurses once per level; far below Python's recursion limit, far above any input's rank.
MAX_JSON_DEPTH = 64
NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats (not complex, not objects)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)

# Last operators whose output already is a probability distribution.
SOFTMAX_OPS = frozenset({"SoftmaxOutput", "softmax", "SoftmaxActivation", "Softmax"})


class PayloadError(Exception):
    """A request the model cannot answer: becomes a 4xx with a JSON error body."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> str:
        return error_body(self.code, self.message)


def error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


@dataclass(frozen=True)
class Decoded:
    """One request turned into a batch of model inputs, plus how to answer it."""

    batch: np.ndarray | dict[str, np.ndarray]  # handler_inputs.decode gives {input name: batch}
    is_image: bool
    accept: str


def media_type(header_value: str | None) -> str:
    """`Image/JPEG; charset=x` → `image/jpeg`; missing → empty string."""
    return (header_value or "").split(";", 1)[0].strip().lower()


def choose_accept(header_value: str | None) -> str:
    """The response type to use: the first acceptable entry of `Accept`, JSON by default.

    `application/json; verbose=true` asks an image model for the structured top-5
    (label and probability); plain JSON answers the labels alone (see `encode`).
    """
    if not header_value or not header_value.strip():
        return JSON
    for entry in header_value.split(","):
        kind = media_type(entry)
        if kind in (JSON, "*/*", "application/*", ""):
            return VERBOSE_JSON if _wants_verbose(entry) else JSON
        if kind == NPY:
            return NPY
    raise PayloadError(406, "not_acceptable", f"cannot answer with {header_value!r}; use {JSON}, {VERBOSE_JSON} "
                                              f"or {NPY}")


def _wants_verbose(entry: str) -> bool:
    parameters = [p.strip().lower().replace(" ", "") for p in entry.split(";")[1:]]
    return "verbose=true" in parameters


def decode(body, content_type: str | None, accept: str | None, input_shape: list[int]) -> Decoded:
    """Turns one request body into a float32 batch shaped like `input_shape` (batch first)."""
    kind = media_type(content_type)
    answer = choose_accept(accept)
    if kind == JSON:
        return Decoded(check_batch(_json_instances(body, input_shape), input_shape), False, answer)
    if kind == NPY:
        return Decoded(check_batch(npy_array(body, input_shape), input_shape), False, answer)
    if kind in IMAGE_TYPES:
        return Decoded(decode_image(as_bytes(body), input_shape), True, answer)
    supported = ", ".join(sorted(ARRAY_TYPES | IMAGE_TYPES))
    raise PayloadError(415, "unsupported_media_type", f"Content-Type {content_type!r} is not one of: {supported}")


def as_bytes(body) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise PayloadError(400, "invalid_payload", "the request body is empty or not raw bytes")


def _json_instances(body, input_shape: list[int]) -> np.ndarray:
    document = body
    if isinstance(body, (bytes, bytearray, str)):
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
        check_json_depth(data, input_shape)
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PayloadError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
        raise PayloadError(400, "invalid_payload", 'expected a JSON object {"instances": [...]}')
    try:
        return np.asarray(document["instances"], dtype="float32")
    except (TypeError, ValueError) as exc:
        raise PayloadError(400, "invalid_payload", f"instances must be numbers in equal-length lists: {exc}") from exc


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, found without recursing.

    Strings are blanked first (a "[" inside one is not structure); then a running sum
    of opening minus closing brackets, vectorised, gives every position's depth.
    """
    structure = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    steps = np.isin(structure, (ord("["), ord("{"))).astype(np.int32)
    steps -= np.isin(structure, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def check_json_depth(data: bytes, input_shape: list[int]) -> None:
    """Refuses JSON nested beyond any plausible request before json.loads recurses into it.

    `{"instances": [...]}` for an n-dimensional input nests n + 1 deep; the limit leaves room
    above that, so a request with a few dimensions too many still gets the precise
    invalid_shape answer, and only pathological nesting is refused here.
    """
    limit = max(MAX_JSON_DEPTH, len(input_shape) + 1)
    depth = json_depth(data)
    if depth > limit:
        raise PayloadError(400, "invalid_json", f"the JSON nests {depth} levels deep, over the {limit} this server "
                                                f"reads; a request for this model ({{\"instances\": ...}} of shape "
                                                f"{input_shape}) nests {len(input_shape) + 1}")


def npy_array(body, input_shape: list[int]) -> np.ndarray:
    """The array, built only once its header fits the model and the body holds exactly the data declared."""
    data = as_bytes(body)
    shape, fortran, dtype, offset = npy_header(data)
    if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields:
        raise PayloadError(400, "invalid_npy", f"the .npy array must hold plain numbers, not {dtype}")
    expected = tuple(input_shape[1:])
    if len(shape) != len(input_shape) or shape[1:] != expected or shape[0] < 1:
        want = "(n, " + ", ".join(str(d) for d in expected) + ")"
        raise PayloadError(400, "invalid_shape", f"expected an array shaped {want}, the .npy header declares {shape}")
    count = int(np.prod(shape, dtype=object))
    if count * dtype.itemsize != len(data) - offset:
        raise PayloadError(400, "invalid_npy", f"the .npy header declares {shape} of {dtype} "
                                               f"({count * dtype.itemsize} bytes) but the body carries "
                                               f"{len(data) - offset} bytes of data")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape, order="F" if fortran else "C")
    return array.astype("float32")


def npy_header(data: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset of an .npy body, reading only its header."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            if len(data) < 12 or struct.unpack("<I", data[8:12])[0] > MAX_NPY_HEADER_BYTES:
                raise ValueError(f"the header is longer than {MAX_NPY_HEADER_BYTES} bytes")
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported; use 1.0 (numpy.save)")
    except (ValueError, SyntaxError, RecursionError, MemoryError, struct.error) as exc:
        raise PayloadError(400, "invalid_npy", f"the body is not a .npy array: {exc}") from None
    return tuple(shape), fortran, dtype, stream.tell()


def check_batch(batch: np.ndarray, input_shape: list[int]) -> np.ndarray:
    """A batch must be (n, *input_shape[1:]) with n ≥ 1: one instance is a batch of one."""
    expected = tuple(input_shape[1:])
    if batch.ndim != len(input_shape) or batch.shape[1:] != expected or batch.shape[0] < 1:
        want = "(n, " + ", ".join(str(d) for d in expected) + ")"
        raise PayloadError(400, "invalid_shape", f"expected instances shaped {want}, got {tuple(batch.shape)}")
    if not np.isfinite(batch).all():
        raise PayloadError(400, "invalid_payload", "instances must be finite numbers")
    return batch


def decode_image(data: bytes, input_shape: list[int]) -> np.ndarray:
    """Decodes, resizes to the model's H×W, and lays out one image as a (1, C, H, W) batch."""
    from PIL import Image, UnidentifiedImageError

    if len(input_shape) != 4 or input_shape[1] not in (1, 3):
        raise PayloadError(400, "not_an_image_model", f"this model takes {input_shape}, not images")
    channels, height, width = input_shape[1:]
    try:
        with warnings.catch_warnings():  # Pillow warns of a "bomb" from 89 Mpx on; the size check below decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
        with image:
            check_image_size(*image.size)
            pixels = image.convert("RGB" if channels == 3 else "L").resize((width, height), Image.BILINEAR)
            array = np.asarray(pixels, dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PayloadError(400, "invalid_image", f"cannot decode the image: {exc}") from exc
    if channels == 3:
        array = ((array - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)  # HWC → CHW
    else:
        array = array[np.newaxis, :, :]
    return array[np.newaxis, ...].astype("float32")


def check_image_size(width: int, height: int) -> None:
    """Refuses, from the image header alone, a picture whose decoded pixels would not fit a worker."""
    if width * height > MAX_IMAGE_PIXELS:
        raise PayloadError(413, "image_too_large", f"the image is {width}x{height} ({width * height:,} pixels); "
                                                   f"send at most {MAX_IMAGE_PIXELS:,} pixels (resize it first)")


def ends_in_softmax(symbol_json: dict) -> bool:
    """Whether the graph's (first) output is produced by a softmax operator."""
    nodes, heads = symbol_json["nodes"], symbol_json["heads"]
    return nodes[heads[0][0]]["op"] in SOFTMAX_OPS


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, labels: list[str], k: int = 5) -> list[dict]:
    """The k most probable classes, most probable first."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [{"label": labels[i] if i < len(labels) else str(i), "probability": float(probabilities[i])} for i in order]


def encode(probabilities: np.ndarray, decoded: Decoded, labels: list[str] | None) -> tuple[bytes | str, str]:
    """The response body and its content type for one request's rows of probabilities.

    An image is answered as the reference MME handler did, a JSON list of strings with the
    best class first (its synset label, or its index without a synset.txt), so the AWS
    notebook's `results[json.loads(body)[0]] += 1` counts classes; `verbose=true` adds the
    probabilities, and npy gives the whole vector.
    """
    if decoded.accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, probabilities.astype("float32"), allow_pickle=False)
        return buffer.getvalue(), NPY
    if decoded.is_image:
        top = top_k(probabilities[0], labels or [])
        return json.dumps(top if decoded.accept == VERBOSE_JSON else [entry["label"] for entry in top]), JSON
    return json.dumps({"predictions": probabilities.tolist()}), JSON
