"""Classifier: correctness on reference models, every tensor type path, labels, background, bad inputs."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from device import Classifier
from device.errors import ImageError, ModelError
from device.input_encoding import make_input_encoding
from device.postprocess import to_scores

from .conftest import EXPECTED_TOP1


@pytest.mark.parametrize("model", ["coral_quant", "logits_quant"])
def test_sanity_photos_top1_matches_sources_md(model, request, sanity_dir):
    """The reference labels were computed on the whole photo (no crop), hence crop='stretch'."""
    clf = Classifier.from_file(request.getfixturevalue(model), crop="stretch")
    for photo, expected in EXPECTED_TOP1.items():
        label, _ = clf.classify(sanity_dir / photo, top_k=1)[0]
        assert label.split(",")[0] == expected, photo


def test_float_model_with_metadata_normalisation(float_model, sanity_dir):
    clf = Classifier.from_file(float_model, crop="stretch")
    assert clf.encoding.describe() == "float32: (pixel - 127.5) / 127.5"
    for photo in ["coral_bird.bmp", "coral_parrot.jpg", "coral_sunflower.bmp", "tflite-support_burger.jpg"]:
        assert clf.classify(sanity_dir / photo, top_k=1)[0][0] == EXPECTED_TOP1[photo]


def test_every_image_input_form_gives_the_same_answer(coral_classifier, bird):
    from device.preprocess import decode_image

    expected = coral_classifier.classify(bird, top_k=3)
    assert coral_classifier.classify(str(bird), top_k=3) == expected
    assert coral_classifier.classify(bird.read_bytes(), top_k=3) == expected
    with Image.open(bird) as im:
        assert coral_classifier.classify(im, top_k=3) == expected
    assert coral_classifier.classify(decode_image(bird), top_k=3) == expected


def test_background_dropped_by_default_and_kept_on_request(coral_quant, sanity_dir):
    photo = sanity_dir / "tflite-support_multi_objects.jpg"
    default = Classifier.from_file(coral_quant).classify(photo, top_k=1001)
    kept = Classifier.from_file(coral_quant, keep_background=True).classify(photo, top_k=1001)
    assert "background" not in [label for label, _ in default] and len(default) == 1000
    assert "background" in [label for label, _ in kept]


def test_logits_are_turned_into_probabilities(logits_quant, bird):
    clf = Classifier.from_file(logits_quant)
    scores = clf.scores(clf.prepare(bird))
    assert scores.sum() == pytest.approx(1.0, abs=1e-3) and scores.max() > 0.9


def test_probabilities_are_kept_as_they_are(coral_classifier, bird):
    label, score = coral_classifier.classify(bird, top_k=1)[0]
    assert score == pytest.approx(255 / 256, abs=1 / 128)  # the raw quantized softmax, not re-softmaxed


def test_threshold_and_top_k(coral_classifier, bird):
    assert len(coral_classifier.classify(bird, top_k=4)) == 4
    assert [label for label, _ in coral_classifier.classify(bird, top_k=5, threshold=0.5)] == ["chickadee"]


# --- tensor type paths ---------------------------------------------------------------------------------------
def test_uint8_input_takes_raw_pixels_when_metadata_normalisation_cancels_quantization():
    enc = make_input_encoding(np.uint8, 0.0078125, 128, (127.5,), (127.5,))
    px = np.array([[[0, 128, 255]]], np.uint8)
    assert enc.mode == "exact" and enc.encode(px).tolist() == [[[[0, 128, 255]]]]


def test_int8_input_of_edge_kit_models_is_pixel_minus_128():
    enc = make_input_encoding(np.int8, 1.0, -128, (0.0,), (1.0,))
    out = enc.encode(np.array([[[0, 128, 255]]], np.uint8))
    assert out.dtype == np.int8 and out.tolist() == [[[[-128, 0, 127]]]]
    no_meta = make_input_encoding(np.int8, 0.5, 3)
    assert no_meta.encode(np.array([[[0, 255, 1]]], np.uint8)).tolist() == [[[[-128, 127, -127]]]]


def test_general_quantized_input_uses_tensor_params():
    enc = make_input_encoding(np.int8, 0.5, -10, (0.0,), (1.0,))
    assert enc.mode == "quantize"
    out = enc.encode(np.array([[[0, 255, 21]]], np.uint8))
    assert out.tolist() == [[[[-10, 127, 32]]]]  # round(x / 0.5) - 10, clipped


def test_float_input_default_is_raw_0_255_edge_kit_convention():
    enc = make_input_encoding(np.float32, 0.0, 0)
    assert enc.encode(np.array([[[0, 255, 7]]], np.uint8)).tolist() == [[[[0.0, 255.0, 7.0]]]]
    assert enc.encode(np.zeros((1, 1, 3), np.uint8)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int32, np.float64, np.int16, np.bool_])
def test_unsupported_input_type_is_a_clear_error(dtype):
    with pytest.raises(ModelError, match="input tensor type .* is not supported"):
        make_input_encoding(dtype, 0.0, 0, source="m.tflite")


def test_int8_softmax_output_dequantized_with_its_params():
    raw = np.array([[127, -128, -64]], np.int8)  # scale 1/256, zp -128: 255/256, 0, 64/256
    scores = to_scores(raw, 1 / 256, -128)
    assert scores.tolist() == pytest.approx([255 / 256, 0.0, 0.25])


def test_float_outputs_auto_detection():
    probs = np.array([[0.7, 0.2, 0.1]], np.float32)
    assert to_scores(probs, 0.0, 0).tolist() == pytest.approx([0.7, 0.2, 0.1])
    logits = np.array([[2.0, 1.0, -3.0]], np.float32)
    assert to_scores(logits, 0.0, 0).sum() == pytest.approx(1.0) and to_scores(logits, 0.0, 0)[0] > 0.7


class _FakeRaw:
    def __init__(self, in_dtype, out_dtype):
        self.i = [{"index": 0, "shape": np.array([1, 8, 8, 3]), "dtype": in_dtype, "quantization": (0.0, 0)}]
        self.o = [{"index": 1, "shape": np.array([1, 2]), "dtype": out_dtype, "quantization": (0.0, 0)}]

    def get_input_details(self):
        return self.i

    def get_output_details(self):
        return self.o


@pytest.mark.parametrize("in_dtype, out_dtype, where", [(np.int32, np.float32, "input"), (np.float32, np.int64, "output")])
def test_model_with_unsupported_tensor_type_is_refused(monkeypatch, coral_quant, in_dtype, out_dtype, where):
    from device import classifier as module
    from device.backends import Interpreter

    monkeypatch.setattr(module, "make_interpreter", lambda data, backend=None, num_threads=None, name=None: Interpreter(
        _FakeRaw(in_dtype, out_dtype), "fake", 1, data, "m"))
    with pytest.raises(ModelError, match=f"{where} tensor type .* is not supported") as info:
        Classifier.from_file(coral_quant, labels=["a", "b"])
    assert str(coral_quant) in str(info.value)


# --- labels ----------------------------------------------------------------------------------------------------
def test_labels_beside_model_are_used(tmp_path, logits_quant):
    model = tmp_path / "m.tflite"
    shutil.copy(logits_quant, model)
    (tmp_path / "labels.txt").write_text("\n".join(f"class {i}" for i in range(1001)) + "\n")
    assert Classifier.from_file(model).labels[5] == "class 5"


def test_model_with_no_labels_anywhere(tmp_path, logits_quant):
    model = tmp_path / "m.tflite"
    shutil.copy(logits_quant, model)
    with pytest.raises(ModelError, match="no labels found") as info:
        Classifier.from_file(model)
    assert str(model) in str(info.value) and "--labels" in str(info.value)


def test_labels_that_do_not_match_output_size(tmp_path, coral_quant, assets_dir):
    no_bg = assets_dir / "reference-models" / "tensorflow-examples" / "labels_without_background.txt"
    with pytest.raises(ModelError, match="1000 labels but the model .* has 1001 outputs") as info:
        Classifier.from_file(coral_quant, labels=no_bg)
    assert "background" in str(info.value)
    with pytest.raises(ModelError, match="3 labels"):
        Classifier.from_file(coral_quant, labels=["a", "b", "c"])


# --- bad images ------------------------------------------------------------------------------------------------
def test_bad_images_are_clear_errors_naming_the_file(tmp_path, coral_classifier):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    cut = tmp_path / "cut.jpg"
    buf = (tmp_path / "full.jpg")
    Image.new("RGB", (200, 150), (10, 200, 30)).save(buf, quality=90)
    cut.write_bytes(buf.read_bytes()[:300])
    for path, message in [(empty, "empty"), (text, "not a recognised image"), (cut, "truncated|corrupt")]:
        with pytest.raises(ImageError, match=message) as info:
            coral_classifier.classify(path)
        assert str(path) in str(info.value)


def test_decompression_bomb_is_refused(tmp_path, coral_classifier):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (13000, 12000)).save(bomb)  # 156 megapixels, a few kB on disk
    with pytest.raises(ImageError, match="megapixels|too large") as info:
        coral_classifier.classify(bomb)
    assert "bomb.png" in str(info.value)


def test_wrong_array_shape_is_refused(coral_classifier):
    with pytest.raises(ImageError, match="H x W x 3 uint8"):
        coral_classifier.classify(np.zeros((10, 10), np.uint8))


# --- many photos -------------------------------------------------------------------------------------------------
def test_classify_many_keeps_order_reports_bad_photos_and_continues(tmp_path, coral_classifier, sanity_dir):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 broken")
    photos = [sanity_dir / p for p in list(EXPECTED_TOP1)[:6]]
    sources = photos[:3] + [bad] + photos[3:]
    piped = list(coral_classifier.classify_many(sources, top_k=2, workers=2))
    plain = list(coral_classifier.classify_many(sources, top_k=2, workers=0))
    assert [r.source for r in piped] == [str(s) for s in sources]
    assert not piped[3].ok and "bad.jpg" in piped[3].error
    assert all(r.ok for i, r in enumerate(piped) if i != 3)
    assert [r.predictions for r in piped] == [r.predictions for r in plain]
    assert piped[0].to_dict()["predictions"][0]["label"] == "chickadee"


def test_classify_many_calling_thread_prepares_photos_while_the_worker_is_busy():
    """With one decoding worker stuck on a slow photo, the calling thread prepares the next ones itself (both
    cores stay busy); results still come back in input order."""
    import threading

    from device.batch import classify_many

    main = threading.current_thread().name
    released = threading.Event()
    prepared_on = {}

    class SlowFirstPhoto:
        class interpreter:  # noqa: N801 - stands in for the Classifier's attribute
            num_threads = 1

        def prepare(self, source):
            if source == "slow":
                assert released.wait(10), "the calling thread never took over a queued photo"
            else:
                released.set()
            prepared_on[source] = threading.current_thread().name
            return np.full((1,), len(source), np.float32)

        def scores(self, pixels):
            return pixels

        def rank(self, scores, top_k, threshold):
            return [(str(int(scores[0])), 1.0)]

    sources = ["slow", "a", "bb", "ccc"]
    results = list(classify_many(SlowFirstPhoto(), sources, workers=1))
    assert [r.source for r in results] == sources
    assert [r.predictions[0][0] for r in results] == ["4", "1", "2", "3"]
    assert prepared_on["slow"] != main and prepared_on["a"] == main
