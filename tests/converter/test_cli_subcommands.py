"""``edge-convert`` sub-commands and the one output flag ``-o/--out`` (old flags kept one release, with a note)."""
from __future__ import annotations

import pytest

from converter.cli import _parse, build_parser, main


def test_a_bare_run_folder_means_convert():
    args = _parse(["runs/flowers", "--variants", "int8", "-o", "out"])
    assert (args.command, args.run_dir, args.variants, args.out) == ("convert", "runs/flowers", "int8", "out")
    assert _parse(["--no-qat", "runs/flowers"]).command == "convert"


def test_a_run_folder_named_export_can_be_converted():
    args = _parse(["convert", "export"])
    assert (args.command, args.run_dir) == ("convert", "export")


def test_export_and_metadata_take_o():
    args = _parse(["export", "runs/flowers", "--variant", "float16", "-o", "app/"])
    assert (args.command, args.run_dir, args.variant, args.destination) == ("export", "runs/flowers", "float16",
                                                                              "app/")
    args = _parse(["metadata", "m.tflite", "--labels", "l.txt", "--mean", "127.5", "--std", "1,2,3", "--out", "o"])
    assert (args.command, args.mean, args.std, args.out, args.crop) == ("metadata", [127.5], [1.0, 2.0, 3.0], "o",
                                                                        "center")


@pytest.mark.parametrize("argv,dest,value", [
    (["runs/flowers", "--output-dir", "out"], "out", "out"),
    (["export", "runs/flowers", "--to", "app/"], "destination", "app/"),
])
def test_old_output_flags_still_work_with_a_deprecation_note(argv, dest, value, capsys):
    assert getattr(_parse(argv), dest) == value
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deprecated" in err[0] and "-o/--out" in err[0]


def test_help_lists_the_sub_commands_and_hides_the_old_flags(capsys):
    text = build_parser().format_help()
    assert all(name in text for name in ("convert", "export", "metadata"))
    for sub in ("convert", "export"):
        with pytest.raises(SystemExit):
            _parse([sub, "--help"])
        sub_help = capsys.readouterr().out
        assert "-o" in sub_help and "--output-dir" not in sub_help and "--to " not in sub_help


def test_bad_mean_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(["metadata", "m.tflite", "--mean", "a,b"])
    assert exc.value.code == 2 and "three" in capsys.readouterr().err
    assert main(["metadata", "m.tflite", "--mean", "1,2", "--std", "1"]) == 2
    assert "--mean has 2 values; give one or three" in capsys.readouterr().err


@pytest.mark.parametrize("mean, std, message", [
    ("nan", "127.5", "--mean nan: every value must be a finite number"),
    ("127.5", "inf", "--std inf: every value must be a finite number"),
    ("127.5", "-1", "--std -1: every value must be above 0"),
    ("127.5", "0", "--std 0: every value must be above 0"),
])
def test_metadata_normalisation_must_be_finite_and_positive(tmp_path, mean, std, message, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"not checked: the numbers are refused first")
    assert main(["metadata", str(model), "--mean", mean, "--std", std]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "m_metadata.tflite").exists()


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "seed=-1 must be from 0 to 4294967295"),
    (["--max-accuracy-drop", "nan"], "max_accuracy_drop=nan must be a finite number"),
    (["--calibration-size", "0"], "calibration_size=0 must be at least 1"),
    (["--threads", "0"], "num_threads=0 must be at least 1"),
])
def test_numbers_are_checked_in_one_line(fake_run, argv, message, capsys):
    assert main([str(fake_run), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
