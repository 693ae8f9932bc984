"""``Classifier``: a ``.tflite`` image classifier ready to label photos, with no TensorFlow.

    >>> from device import Classifier
    >>> clf = Classifier.from_file("model_int8.tflite")
    >>> clf.classify("photo.jpg", top_k=3)
    [('daisy', 0.91), ('dandelion', 0.05), ('tulip', 0.02)]
    >>> for result in clf.classify_many(["a.jpg", "b.jpg"], top_k=1):
    ...     print(result.source, result.predictions or result.error)

What it reads from the model (``device.metadata``): labels packed in the metadata (else ``labels.txt`` beside the
model, or ``labels=``), input normalisation mean/std, and edge-kit's ``edge_kit_preprocessing.json`` (crop mode and
size; without it: centre crop to the input tensor's size). Pixels follow the preprocessing contract
(``device.preprocess``); ``device.input_encoding`` and ``device.postprocess`` document how tensors are filled and
scores computed.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from device.batch import BatchResult
from device.backends import Interpreter, make_interpreter, read_model_bytes
from device.errors import ImageError, ModelError
from device.input_encoding import InputEncoding, check_normalization, make_input_encoding
from device.labels import LabelsSource, is_background, resolve_labels
from device.metadata import ModelInfo, ModelMetadata, read_model_info
from device.postprocess import Prediction, check_output_dtype, check_output_shape, check_threshold, check_top_k, \
    to_scores, top_k as rank
from device.preprocess import PreprocessConfig, decode_image, preprocess
from device.quantization import tensor_quantization

ImageInput = Union[str, "os.PathLike[str]", bytes, Any, np.ndarray]  # Any: a PIL.Image.Image


class Classifier:
    """A loaded image classifier. Build it with :meth:`from_file`.

    ``classify`` is safe to call from several threads (calls to the interpreter are serialised); use
    :meth:`classify_many` for throughput on many photos.
    """

    def __init__(
        self,
        interpreter: Interpreter,
        labels: List[str],
        config: PreprocessConfig,
        encoding: InputEncoding,
        info: ModelInfo,
        score_type: str = "auto",
        keep_background: bool = False,
    ) -> None:
        self.interpreter = interpreter
        self.labels = labels
        self.config = config  #: the preprocessing contract parameters used for every photo
        self.encoding = encoding  #: how pixels become the input tensor
        self.info = info  #: metadata and packed files read from the model
        self.score_type = score_type
        self.keep_background = keep_background
        self.background_index: Optional[int] = 0 if labels and is_background(labels[0]) else None
        out = interpreter.output_details[0]
        self._out_index = out["index"]
        self._out_quant = tensor_quantization(out)
        self._in_index = interpreter.input_details[0]["index"]
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------------------------------
    @classmethod
    def from_file(
        cls,
        path: Union[str, "os.PathLike[str]", bytes],
        backend: Optional[str] = None,
        num_threads: Optional[int] = None,
        labels: Optional[LabelsSource] = None,
        crop: Optional[str] = None,
        normalization: Optional[Tuple[Sequence[float], Sequence[float]]] = None,
        score_type: str = "auto",
        keep_background: bool = False,
    ) -> "Classifier":
        """Load a ``.tflite`` classifier (a path, or the file's bytes).

        ``backend``/``num_threads``: see :func:`device.backends.make_interpreter`. ``labels``: a labels file or
        list overriding the model's. ``crop``: ``"center"``/``"stretch"`` overriding the model's preprocessing.
        ``normalization``: ``(mean, std)`` overriding the metadata. ``score_type``: ``"auto"``, ``"probabilities"``
        or ``"logits"``. ``keep_background``: report the background class too.

        Raises :class:`ModelError` naming the file for every unusable model (see docs/reliability.md).
        """
        is_bytes = isinstance(path, (bytes, bytearray, memoryview))
        source = "<model bytes>" if is_bytes else str(path)
        model_path = None if is_bytes else Path(path)  # type: ignore[arg-type]
        data = read_model_bytes(path)
        info = read_model_info(data, source=source)
        interpreter = make_interpreter(data, backend=backend, num_threads=num_threads, name=source)

        n_in, n_out = len(interpreter.input_details), len(interpreter.output_details)
        if n_in != 1 or n_out != 1:
            shapes = ", ".join(str([int(d) for d in o["shape"]]) for o in interpreter.output_details)
            raise ModelError(
                f"{source}: the model has {n_in} input(s) and {n_out} outputs ({shapes}); edge-classify runs image "
                "classifiers with one image input and one score output, and which output holds the scores would "
                "be a guess. Export the classifier with its score output only."
            )
        in_detail = interpreter.input_details[0]
        shape = [int(d) for d in in_detail["shape"]]
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
            raise ModelError(
                f"{source}: input shape {shape} is not an RGB image batch [1, height, width, 3]; edge-classify "
                "runs image classifiers only."
            )
        out_detail = interpreter.output_details[0]
        check_output_dtype(out_detail["dtype"], source)
        num_classes = check_output_shape(out_detail["shape"], source)

        meta_in = info.metadata.inputs[0] if info.metadata and info.metadata.inputs else None
        mean, std = (meta_in.mean, meta_in.std) if meta_in is not None else (None, None)
        if normalization is not None:
            mean, std = check_normalization(normalization[0], normalization[1])
        scale, zero_point = tensor_quantization(in_detail)
        encoding = make_input_encoding(in_detail["dtype"], scale, zero_point, mean, std, source)

        config = _preprocess_config(info, shape[1], shape[2], crop, source)
        resolved = resolve_labels(model_path, labels, info.labels, num_classes)
        return cls(interpreter, resolved, config, encoding, info, score_type, keep_background)

    # ---------------------------------------------------------------------------------------------------------
    @property
    def metadata(self) -> Optional[ModelMetadata]:
        """The model's metadata, ``None`` when it has none."""
        return self.info.metadata

    @property
    def input_size(self) -> Tuple[int, int]:
        """``(height, width)`` of the model input."""
        return self.config.height, self.config.width

    def prepare(self, image: ImageInput) -> np.ndarray:
        """Decode (when needed) and preprocess ``image`` to the model's ``H x W x 3`` uint8 input pixels.

        ``image``: a path, encoded bytes, a PIL image, or an ``H x W x 3`` uint8 RGB array (already decoded).
        """
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
                raise ImageError(
                    f"<array>: expected an H x W x 3 uint8 RGB array with at least one pixel, got shape "
                    f"{image.shape} dtype {image.dtype}."
                )
            rgb = image
        else:
            rgb = decode_image(image, background=self.config.background, target=self.config.target)
        return preprocess(rgb, self.config)

    def scores(self, pixels: np.ndarray) -> np.ndarray:
        """Scores (probabilities) of every class for preprocessed pixels (from :meth:`prepare`)."""
        tensor = self.encoding.encode(pixels)
        with self._lock:
            try:
                self.interpreter.raw.set_tensor(self._in_index, tensor)
                self.interpreter.raw.invoke()
                raw = self.interpreter.raw.get_tensor(self._out_index)
            except (RuntimeError, ValueError) as exc:  # a model that loads but cannot run (crafted or corrupt)
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ModelError(
                    f"{self.interpreter.name}: the interpreter cannot run this model ({message}); the file may be "
                    "corrupt: re-copy or re-export it."
                ) from exc
        return to_scores(raw, self._out_quant[0], self._out_quant[1], self.score_type)

    def rank(self, scores: np.ndarray, top_k: int = 5, threshold: Optional[float] = None) -> List[Prediction]:
        """``(label, score)`` pairs from :meth:`scores` output, best first, background dropped by default."""
        skip = None if self.keep_background else self.background_index
        return rank(scores, self.labels, top_k, threshold, skip)

    def classify(self, image: ImageInput, top_k: int = 5, threshold: Optional[float] = None) -> List[Prediction]:
        """The ``top_k`` most likely ``(label, score)`` for one image, best first.

        Raises :class:`device.errors.ImageError` naming the file when the image cannot be decoded, and
        ``ValueError`` for a ``top_k`` below 1 or a ``threshold`` that is not a score from 0 to 1 (NaN included).
        """
        top_k, threshold = check_top_k(top_k), check_threshold(threshold)  # before the photo's work
        return self.rank(self.scores(self.prepare(image)), top_k, threshold)

    def classify_many(
        self,
        sources: Iterable[ImageInput],
        top_k: int = 5,
        threshold: Optional[float] = None,
        workers: Optional[int] = None,
    ) -> Iterator["BatchResult"]:
        """Classify many images, decoding and preprocessing on ``workers`` threads while the interpreter runs.

        Yields one :class:`device.batch.BatchResult` per source, in input order; a photo that cannot be decoded
        yields a result with ``error`` set and the run continues. See :func:`device.batch.classify_many`.
        """
        from device.batch import classify_many

        top_k, threshold = check_top_k(top_k), check_threshold(threshold)  # now, not at the first result
        return classify_many(self, sources, top_k=top_k, threshold=threshold, workers=workers)

    def __repr__(self) -> str:
        return (
            f"Classifier({self.interpreter.name!r}, backend={self.interpreter.backend!r}, "
            f"threads={self.interpreter.num_threads}, classes={len(self.labels)}, "
            f"input={self.config.height}x{self.config.width} {self.encoding.dtype.name}, crop={self.config.crop!r})"
        )


def _preprocess_config(info: ModelInfo, height: int, width: int, crop: Optional[str], source: str) -> PreprocessConfig:
    if info.preprocessing is not None:
        try:
            config = PreprocessConfig.from_dict(info.preprocessing)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ModelError(f"{source}: packed edge_kit_preprocessing.json is invalid ({exc}); re-export it.") from exc
        if config.size != (height, width):
            raise ModelError(
                f"{source}: edge_kit_preprocessing.json says {config.height}x{config.width} but the model input is "
                f"{height}x{width}; re-export the model."
            )
        if crop is not None:
            config = PreprocessConfig(config.height, config.width, crop, config.background, config.resize)
        return config
    try:
        return PreprocessConfig(height=height, width=width, crop=crop or "center")
    except ValueError as exc:
        raise ModelError(f"{source}: {exc}") from exc

