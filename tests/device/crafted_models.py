"""Crafted models and bad inputs for ``edge-classify``, with the exit code and one-line message each must give.

Re-runnable sweep (what a user, or an attacker, could hand to ``edge-classify``)::

    EDGE_KIT_ASSETS=/work/shared/assets python tests/device/crafted_models.py [--keep DIR]

builds every crafted model from a small valid model of the shared assets (MobileNetV1 0.25 with metadata and
packed labels), runs ``python -m device ...`` on each case as a user would, and prints a table: exit code, the
stderr line, and whether it matches the promise (docs/reliability.md). ``tests/device/test_reliability.py`` runs
the same table under pytest. Nothing here imports TensorFlow; only the standard library builds the files.

Crafted models: packed files encrypted, compressed with an unsupported method, packed twice, a zip bomb header;
``edge_kit_preprocessing.json`` nested 100,000 deep, too large, with ``Infinity``, not an object; truncated and
corrupted FlatBuffers; a graph that loads but cannot run. Bad inputs: usage errors (``--runs 0``, ``-t nan``), HEIC-only folders, pipes, an ASCII-only
terminal with non-ASCII labels.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

#: The small valid model everything is crafted from (relative to the assets folder).
BASE_MODEL = "reference-models/tflite-support/mobilenet_v1_0.25_224_1_metadata_1.tflite"
#: A photo that model classifies (relative to the assets folder).
PHOTO = "sanity-images/coral_bird.bmp"
PREPROCESSING_FILE = "edge_kit_preprocessing.json"
GOOD_PREPROCESSING = {"contract": "edge-kit-preprocess", "version": 1, "height": 224, "width": 224, "crop": "center"}

_LOCAL_HEADER = b"PK\x03\x04"
_CENTRAL_HEADER = b"PK\x01\x02"


# --------------------------------------------------------------------------------------------------------------
# Building crafted models from a valid one
# --------------------------------------------------------------------------------------------------------------
def split_model(model: bytes) -> tuple:
    """``(flatbuffer, {name: bytes})``: the model without its appended zip, and the packed files."""
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
        start = min(info.header_offset for info in archive.infolist())
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    return model[:start], files  # zipfile counts header offsets from the start of the model file


def pack(flatbuffer: bytes, members: Sequence[tuple]) -> bytes:
    """``flatbuffer`` + a zip of ``members`` (``(name, bytes)`` pairs, stored; a name may repeat)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": intended for one case
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return flatbuffer + buf.getvalue()


def patch_member(model: bytes, name: str, flags: int = 0, method: Optional[int] = None,
                 declared_size: Optional[int] = None) -> bytes:
    """Patch the local and central zip headers of member ``name``: OR ``flags`` into the general-purpose flags,
    set the compression ``method``, or declare an uncompressed ``declared_size`` (central directory)."""
    out = bytearray(model)
    encoded = name.encode()
    for signature, flag_at, method_at, name_len_at, name_at, size_at in (
        (_LOCAL_HEADER, 6, 8, 26, 30, 22),
        (_CENTRAL_HEADER, 8, 10, 28, 46, 24),
    ):
        pos = out.find(signature)
        while pos >= 0:
            length = struct.unpack_from("<H", out, pos + name_len_at)[0]
            if bytes(out[pos + name_at : pos + name_at + length]) == encoded:
                struct.pack_into("<H", out, pos + flag_at, struct.unpack_from("<H", out, pos + flag_at)[0] | flags)
                if method is not None:
                    struct.pack_into("<H", out, pos + method_at, method)
                if declared_size is not None and signature == _CENTRAL_HEADER:
                    struct.pack_into("<I", out, pos + size_at, declared_size)
            pos = out.find(signature, pos + 4)
    return bytes(out)


def _table_field(buf: bytes, table: int, slot: int) -> int:
    """Position of field ``slot`` (vtable byte offset: 4 for field 0, 6 for field 1, ...) of a FlatBuffer table,
    0 when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    if slot >= struct.unpack_from("<H", buf, vtable)[0]:
        return 0
    offset = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + offset if offset else 0


def _deref(buf: bytes, pos: int) -> int:
    return pos + struct.unpack_from("<I", buf, pos)[0]


def _vector(buf: bytes, pos: int) -> List[int]:
    start = _deref(buf, pos)
    return [start + 4 + 4 * i for i in range(struct.unpack_from("<I", buf, start)[0])]


def unlink_weights(model: bytes) -> bytes:
    """The model with its first constant tensor pointed at the empty buffer 0: it loads, then cannot run
    ("Input tensor ... lacks data")."""
    out = bytearray(model)
    subgraph = _deref(out, _vector(out, _table_field(out, struct.unpack_from("<I", out, 0)[0], 8))[0])
    for entry in _vector(out, _table_field(out, subgraph, 4)):  # Model.subgraphs[0].tensors
        buffer_field = _table_field(out, _deref(out, entry), 8)  # Tensor.buffer
        if buffer_field and struct.unpack_from("<I", out, buffer_field)[0]:
            struct.pack_into("<I", out, buffer_field, 0)
            return bytes(out)
    raise ValueError("no constant tensor found")


def add_output(model: bytes) -> bytes:
    """The model with a second graph output (an intermediate tensor): it loads and runs, and its first output is
    still the scores. The new outputs vector is appended after the FlatBuffer (offsets only point forward)."""
    flat, files = split_model(model)
    out = bytearray(flat)
    subgraph = _deref(out, _vector(out, _table_field(out, struct.unpack_from("<I", out, 0)[0], 8))[0])
    outputs_field = _table_field(out, subgraph, 8)  # SubGraph.outputs
    scores = struct.unpack_from("<i", out, _deref(out, outputs_field) + 4)[0]
    while len(out) % 4:
        out.append(0)
    position = len(out)
    out += struct.pack("<Iii", 2, scores, scores - 1)
    struct.pack_into("<I", out, outputs_field, position - outputs_field)
    return pack(bytes(out), list(files.items()))


def unique(labels: List[str]) -> List[str]:
    """``labels`` with a repeated label numbered (ImageNet names "crane" twice), so a model says nothing on stderr."""
    seen: Dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def blank_png(width: int, height: int) -> bytes:
    """A black 1-bit PNG of ``width`` x ``height`` pixels, a few kB however large (standard library only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = zlib.compress(b"\0" * ((1 + (width + 7) // 8) * height), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def metadata_offset(model: bytes) -> int:
    """Where the metadata FlatBuffer (file identifier ``M001``) starts in ``model``."""
    return model.index(b"M001") - 4


def crafted_models(base: bytes) -> Dict[str, bytes]:
    """Every crafted model, by file name, built from the valid ``base`` model (which packs ``labels.txt``)."""
    flat, files = split_model(base)
    official = files["labels.txt"].decode().splitlines()  # the ImageNet labels: "crane" and "maillot" twice
    labels = "\n".join(unique(official)).encode()
    good_json = json.dumps(GOOD_PREPROCESSING).encode()
    with_json = pack(flat, [("labels.txt", labels), (PREPROCESSING_FILE, good_json)])
    with_lines = lambda lines: pack(flat, [("labels.txt", b"\n".join(lines))])  # noqa: E731
    valid = with_lines(labels.split(b"\n"))
    label_lines = labels.split(b"\n")
    meta = metadata_offset(base)
    corrupt_meta = bytearray(base)
    struct.pack_into("<I", corrupt_meta, meta, 0x7FFFFFF0)  # metadata root table far outside the file
    return {
        "official.tflite": base,
        "valid.tflite": valid,
        "valid_with_preprocessing.tflite": with_json,
        "encrypted_member.tflite": patch_member(with_json, "labels.txt", flags=0x1),
        "compression_method_9.tflite": patch_member(with_json, PREPROCESSING_FILE, method=9),
        "duplicate_labels_member.tflite": pack(flat, [("labels.txt", labels), ("labels.txt", b"a\nb\n")]),
        "zip_bomb_header.tflite": patch_member(with_json, "labels.txt", declared_size=0xFFFFFFF0),
        "deep_json.tflite": pack(flat, [("labels.txt", labels),
                                        (PREPROCESSING_FILE, b"[" * 100_000 + b"]" * 100_000)]),
        "deep_json_small.tflite": pack(flat, [("labels.txt", labels),
                                              (PREPROCESSING_FILE, b"[" * 30_000 + b"]" * 30_000)]),
        "huge_json.tflite": pack(flat, [("labels.txt", labels),
                                        (PREPROCESSING_FILE, b'{"pad": "' + b"x" * 200_000 + b'"}')]),
        "infinite_height_json.tflite": pack(flat, [("labels.txt", labels), (
            PREPROCESSING_FILE, json.dumps({**GOOD_PREPROCESSING, "height": 1e400}).encode())]),
        "json_not_object.tflite": pack(flat, [("labels.txt", labels), (PREPROCESSING_FILE, b"[1, 2, 3]")]),
        "json_bad_crop.tflite": pack(flat, [("labels.txt", labels), (
            PREPROCESSING_FILE, json.dumps({**GOOD_PREPROCESSING, "crop": "diagonal"}).encode())]),
        "wrong_label_count.tflite": pack(flat, [("labels.txt", b"cat\ndog\n")]),
        "non_ascii_labels.tflite": pack(flat, [("labels.txt", "\n".join(
            ["background"] + [f"caf\u00e9 \u2615 {i}" for i in range(1, 1001)]).encode())]),
        "truncated_half.tflite": base[: len(base) // 2],
        "truncated_1k.tflite": base[:1024],
        "corrupt_metadata.tflite": bytes(corrupt_meta),
        "weights_unlinked.tflite": unlink_weights(valid),
        "empty.tflite": b"",
        "not_tflite.tflite": b"PK\x03\x04 this is a zip, not a model" + b"\0" * 64,
        "two_outputs.tflite": add_output(with_json),
        "labels_blank_line.tflite": with_lines(label_lines[:2] + [b""] + label_lines[3:]),
        "labels_not_utf8.tflite": with_lines(label_lines[:4] + [b"ros\xe9"] + label_lines[5:]),
        "labels_repeated.tflite": with_lines(label_lines[:1] + [b"daisy"] * 3 + label_lines[4:]),
        "preprocessing_declared_huge.tflite": patch_member(with_json, PREPROCESSING_FILE, declared_size=0x7FFFFFF0),
    }


# --------------------------------------------------------------------------------------------------------------
# The table of bad inputs
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One run of ``python -m device`` and what it must give.

    ``args``: arguments, with ``{model:NAME}`` (a crafted model), ``{photo}``, ``{dir:NAME}`` (a prepared folder)
    substituted. ``code``: expected exit status. ``stderr``: a regex the stderr must match. ``one_line``: stderr is
    exactly one line (argparse usage errors also print the usage, so not for those). ``stdout``: a regex for
    stdout, if any. ``env``/``stdin``: extra environment, bytes on standard input.
    """

    name: str
    args: List[str]
    code: int
    stderr: str = ""
    one_line: bool = True
    stdout: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)
    stdin: Optional[str] = None  #: "photo": the photo's bytes on stdin


FIX = r"(re-export|re-copy|re-run)"  # every malformed-model message says how to get a good model
CASES: List[Case] = [
    # item 4: crafted metadata
    Case("encrypted zip member", ["{model:encrypted_member.tflite}", "{photo}"], 2,
         r"encrypted_member\.tflite: packed file 'labels\.txt' is encrypted.*re-export"),
    Case("zip compression method 9", ["{model:compression_method_9.tflite}", "{photo}"], 2,
         r"compression_method_9\.tflite: .*compression method 9.*re-export"),
    Case("preprocessing JSON 100k deep", ["{model:deep_json.tflite}", "{photo}"], 2,
         r"deep_json\.tflite: packed edge_kit_preprocessing\.json is 200000 bytes \(limit.*re-export"),
    Case("preprocessing JSON 30k deep", ["{model:deep_json_small.tflite}", "{photo}"], 2,
         r"deep_json_small\.tflite: packed edge_kit_preprocessing\.json is not valid JSON \(nested 30000 levels"),
    Case("preprocessing JSON too large", ["{model:huge_json.tflite}", "{photo}"], 2,
         r"huge_json\.tflite: packed edge_kit_preprocessing\.json is \d+ bytes \(limit.*re-export"),
    Case("preprocessing JSON height 1e400", ["{model:infinite_height_json.tflite}", "{photo}"], 2,
         r"infinite_height_json\.tflite: .*edge_kit_preprocessing\.json.*re-export"),
    Case("preprocessing JSON not an object", ["{model:json_not_object.tflite}", "{photo}"], 2,
         r"json_not_object\.tflite: .*not a JSON object.*re-export"),
    Case("preprocessing JSON unknown crop", ["{model:json_bad_crop.tflite}", "{photo}"], 2,
         r"json_bad_crop\.tflite: .*crop.*re-export"),
    Case("zip bomb declared size", ["{model:zip_bomb_header.tflite}", "{photo}"], 2,
         r"zip_bomb_header\.tflite: packed file 'labels\.txt' is \d+ bytes, over the.*re-export"),
    # item 14: two labels.txt members
    Case("two labels.txt members", ["{model:duplicate_labels_member.tflite}", "{photo}"], 2,
         r"duplicate_labels_member\.tflite: the model packs two files named 'labels\.txt'.*re-export"),
    Case("packed labels count wrong", ["{model:wrong_label_count.tflite}", "{photo}"], 2,
         r"2 labels but the model .*wrong_label_count\.tflite has 1001 outputs"),
    Case("truncated FlatBuffer (half)", ["{model:truncated_half.tflite}", "{photo}"], 2,
         r"truncated_half\.tflite: .*" + FIX),
    Case("truncated FlatBuffer (1 KiB)", ["{model:truncated_1k.tflite}", "{photo}"], 2,
         r"truncated_1k\.tflite: .*" + FIX),
    Case("corrupt metadata FlatBuffer", ["{model:corrupt_metadata.tflite}", "{photo}"], 2,
         r"corrupt_metadata\.tflite: corrupt TFLite metadata.*re-run the metadata writer"),
    Case("model loads but cannot run", ["{model:weights_unlinked.tflite}", "{photo}"], 2,
         r"weights_unlinked\.tflite: the interpreter cannot run this model \(.*\).*re-export"),
    Case("model cannot run, folder", ["{model:weights_unlinked.tflite}", "{dir:photos}"], 2,
         r"weights_unlinked\.tflite: the interpreter cannot run this model"),
    Case("empty model file", ["{model:empty.tflite}", "{photo}"], 2, r"empty\.tflite: the model file is empty"),
    Case("not a TFLite file", ["{model:not_tflite.tflite}", "{photo}"], 2,
         r"not_tflite\.tflite: not a TensorFlow Lite model"),
    Case("model is a folder", ["{dir:empty}", "{photo}"], 2, r"is a folder; give the \.tflite file"),
    Case("model missing", ["{dir:empty}/nothing.tflite", "{photo}"], 2, r"nothing\.tflite: no such model file"),
    # item 9: counts and scores validated (argparse usage errors: usage line + one error line)
    Case("--benchmark --runs 0", ["{model:valid.tflite}", "{photo}", "--benchmark", "--runs", "0"], 2,
         r"--runs must be at least 1", one_line=False),
    Case("--benchmark --runs -3", ["{model:valid.tflite}", "{photo}", "--benchmark", "--runs", "-3"], 2,
         r"--runs must be at least 1", one_line=False),
    Case("-t 2", ["{model:valid.tflite}", "{photo}", "-t", "2"], 2, r"'2' is not a score from 0 to 1",
         one_line=False),
    Case("-t nan", ["{model:valid.tflite}", "{photo}", "-t", "nan"], 2, r"'nan' is not a score from 0 to 1",
         one_line=False),
    Case("--threads 0", ["{model:valid.tflite}", "{photo}", "--threads", "0"], 2, r"--threads must be at least 1",
         one_line=False),
    Case("--workers -1", ["{model:valid.tflite}", "{photo}", "--workers", "-1"], 2, r"--workers must be 0",
         one_line=False),
    # item 10: HEIC photos are named, with how to convert them
    Case("folder of only .heic", ["{model:valid.tflite}", "{dir:heic}"], 1,
         r"1 of 1 photos could not be read", stdout=r"IMG_0001\.heic +ERROR: .*HEIC.*convert them to JPEG"),
    # item 11: an ASCII-only terminal and non-ASCII labels
    Case("ASCII stdout, non-ASCII labels", ["{model:non_ascii_labels.tflite}", "{photo}", "-k", "1"], 0, "",
         one_line=False, stdout=r"caf\\xe9 \\u2615", env={"PYTHONIOENCODING": "ascii"}),
    Case("ASCII stdout, JSON", ["{model:non_ascii_labels.tflite}", "{photo}", "-k", "1", "--json"], 0, "",
         one_line=False, stdout=r'"label": "caf\\u00e9 \\u2615', env={"PYTHONIOENCODING": "ascii"}),
    Case("file name not valid UTF-8", ["{model:valid.tflite}", "{dir:odd_names}", "--json", "-k", "1"], 0, "", one_line=False,
         stdout=r'"file": ".*caf\\udce9\.bmp"'),
    # item 13: a photo through a pipe
    Case("photo on a pipe (/dev/stdin)", ["{model:valid.tflite}", "/dev/stdin", "-k", "1"], 0, "", one_line=False,
         stdout=r"/dev/stdin +\d+\.\d\d% +\S", stdin="photo"),
    Case("empty pipe", ["{model:valid.tflite}", "/dev/stdin"], 1, r"1 of 1 photos could not be read",
         stdout=r"/dev/stdin: the stream is empty", stdin="empty"),
    # item 15: exit codes
    Case("valid model, good photo", ["{model:valid_with_preprocessing.tflite}", "{photo}", "-k", "1"], 0, "",
         one_line=False, stdout=r"\d+\.\d\d%"),
    Case("no image files in folder", ["{model:valid.tflite}", "{dir:empty}"], 2,
         r"no image files found in .*empty \(looked for .*\.jpg.*\); give photos"),
    # a run of the sweep of 2026-12-06: models, labels and numbers
    Case("two outputs", ["{model:two_outputs.tflite}", "{photo}"], 2,
         r"two_outputs\.tflite: the model has 1 input\(s\) and 2 outputs \(\[1, 1001\], .*score output only"),
    Case("packed labels: a blank line", ["{model:labels_blank_line.tflite}", "{photo}"], 2,
         r"labels_blank_line\.tflite: packed labels\.txt: line 3 is empty, so output 2 has no label.*re-export"),
    Case("packed labels: not UTF-8", ["{model:labels_not_utf8.tflite}", "{photo}"], 2,
         r"labels_not_utf8\.tflite: packed labels\.txt is not UTF-8 text \(byte 0xe9 on line 5\).*re-export"),
    Case("packed labels: one label thrice", ["{model:labels_repeated.tflite}", "{photo}", "-k", "1"], 0,
         r"warning: labels of .*labels_repeated\.tflite name more than one output \('daisy': outputs 1, 2, 3, 986\)",
         stdout=r"\d+\.\d\d%"),
    Case("official ImageNet labels (crane twice)", ["{model:official.tflite}", "{photo}", "-k", "1"], 0,
         r"warning: labels of .*official\.tflite name more than one output \('crane': outputs 135, 518; "
         r"'maillot': outputs 639, 640\)", stdout=r"\d+\.\d\d%"),
    Case("preprocessing JSON declared 2 GiB", ["{model:preprocessing_declared_huge.tflite}", "{photo}"], 2,
         r"preprocessing_declared_huge\.tflite: packed edge_kit_preprocessing\.json is 2147483632 bytes \(limit "
         r"65536\); re-export the model\.\s*$"),
    Case("photo on standard input (-)", ["{model:valid.tflite}", "-", "-k", "1"], 0, "", one_line=False,
         stdout=r"/dev/stdin +\d+\.\d\d% +\S", stdin="photo"),
    Case("--mean nan", ["{model:valid.tflite}", "{photo}", "--mean", "nan", "--std", "1"], 2,
         r"--mean nan: every value must be a finite number", one_line=False),
    Case("--std inf", ["{model:valid.tflite}", "{photo}", "--mean", "0", "--std", "inf"], 2,
         r"--std inf: every value must be a finite number", one_line=False),
    Case("--std -1", ["{model:valid.tflite}", "{photo}", "--mean", "0", "--std", "-1"], 2,
         r"--std -1: every value must be above 0", one_line=False),
    Case("a 12000x12000 PNG", ["{model:valid.tflite}", "{huge_png}"], 1, r"1 of 1 photos could not be read",
         stdout=r"huge\.png +ERROR: .*huge\.png: decoding it takes 12000x12000 = 144 megapixels at once, over the "
                r"limit of 40 megapixels"),
    Case("a run folder's .tflite older than its model", ["{dir:stale_run}/tflite/model_int8.tflite", "{photo}"], 2,
         r"stale_run/tflite/model_int8\.tflite: was converted from another model than .*stale_run/model\.keras "
         r"\(retrained or replaced since\); convert it again"),
    Case("--evaluate -o under a file", ["{model:valid.tflite}", "--evaluate", "{dir:photos}", "-o", "{photo}/eval"],
         2, r"eval: a file is in the way .*choose another -o"),
]


def prepare(work: Path, assets: Path) -> Dict[str, Path]:
    """Write every crafted model and prepared folder under ``work``; return the substitution table."""
    paths: Dict[str, Path] = {"photo": assets / PHOTO, "work": work}
    models = work / "models"
    models.mkdir(parents=True, exist_ok=True)
    for name, data in crafted_models((assets / BASE_MODEL).read_bytes()).items():
        (models / name).write_bytes(data)
        paths[f"model:{name}"] = models / name
    (work / "empty").mkdir(exist_ok=True)
    paths["dir:empty"] = work / "empty"
    heic = work / "heic"
    heic.mkdir(exist_ok=True)
    # the first bytes of an iPhone photo: an ISO-BMFF 'ftyp' box with the 'heic' brand
    (heic / "IMG_0001.heic").write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64)
    (heic / "notes.txt").write_text("not a photo: ignored")
    paths["dir:heic"] = heic
    photos = work / "photos"
    photos.mkdir(exist_ok=True)
    for name in ("a.bmp", "b.bmp"):
        (photos / name).write_bytes(paths["photo"].read_bytes())
    paths["dir:photos"] = photos
    # a run folder whose model.keras was retrained after the conversion: its tflite/ describes the earlier model
    stale = work / "stale_run"
    (stale / "tflite").mkdir(parents=True, exist_ok=True)
    (stale / "tflite" / "model_int8.tflite").write_bytes((models / "valid.tflite").read_bytes())
    digest = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    (stale / "tflite" / "sources.json").write_text(json.dumps({"model_int8.tflite": {
        "sha256": digest((models / "valid.tflite").read_bytes()), "model_sha256": digest(b"the first model")}}))
    (stale / "model.keras").write_bytes(b"the retrained model")
    paths["dir:stale_run"] = stale
    (work / "huge.png").write_bytes(blank_png(12000, 12000))  # decoded whole: 144 megapixels at once
    paths["huge_png"] = work / "huge.png"
    odd = work / "odd_names"
    odd.mkdir(exist_ok=True)
    with open(os.fsencode(odd) + b"/caf\xe9.bmp", "wb") as f:  # a Latin-1 file name: not valid UTF-8
        f.write(paths["photo"].read_bytes())
    paths["dir:odd_names"] = odd
    return paths


def expand(args: Sequence[str], paths: Dict[str, Path]) -> List[str]:
    return [re.sub(r"\{([a-z_]+(?::[^}]+)?)\}", lambda m: str(paths[m.group(1)]), a) for a in args]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    problems: List[str]


def run_case(case: Case, paths: Dict[str, Path], python: str = sys.executable, timeout: float = 120) -> Outcome:
    """Run ``python -m device`` for ``case`` as a user would; list every broken promise in ``problems``."""
    stdin = {"photo": paths["photo"].read_bytes(), "empty": b""}.get(case.stdin or "", None)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", **case.env}
    proc = subprocess.run([python, "-m", "device", *expand(case.args, paths)], input=stdin, capture_output=True,
                          env=env, timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL,
                          cwd=paths["work"])  # a user's folder: the installed edge-kit runs, not a checkout's
    out = proc.stdout.decode("utf-8", errors="replace")
    err = proc.stderr.decode("utf-8", errors="replace")
    problems = []
    if proc.returncode != case.code:
        problems.append(f"exit {proc.returncode}, expected {case.code}")
    if "Traceback" in err or "Traceback" in out:
        problems.append("traceback")
    lines = err.strip().splitlines()
    if case.one_line and len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected 1")
    if case.stderr and not re.search(case.stderr, err):
        problems.append(f"stderr does not match {case.stderr!r}")
    if case.code == 0 and not case.stderr and err.strip():
        problems.append("unexpected stderr")
    if case.stdout is not None and not re.search(case.stdout, out):
        problems.append(f"stdout does not match {case.stdout!r}")
    return Outcome(proc.returncode, out, err, problems)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", default=os.environ.get("EDGE_KIT_ASSETS", "../shared/assets"),
                        help="the shared assets folder (default: $EDGE_KIT_ASSETS)")
    parser.add_argument("--keep", help="write the crafted models and folders here (default: a temporary folder)")
    parser.add_argument("-k", "--filter", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        paths = prepare(Path(args.keep or tmp), Path(args.assets))
        failed = 0
        for case in CASES:
            if args.filter not in case.name:
                continue
            outcome = run_case(case, paths)
            failed += bool(outcome.problems)
            last = (outcome.stderr.strip().splitlines() or [""])[-1][:110]
            status = "ok  " if not outcome.problems else "FAIL"
            print(f"{status} exit {outcome.code}  {case.name:<34} {last}")
            for problem in outcome.problems:
                print(f"       - {problem}")
    print(f"{failed} of {sum(args.filter in c.name for c in CASES)} cases broke a promise")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
