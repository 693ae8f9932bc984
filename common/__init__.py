"""Contracts shared by edge-kit's parts (trainer, converter, pipeline, device): the run folder's files, the metrics
vocabulary and the accuracy gate, the figures, defaults two commands share, atomic writes, Ctrl-C handling, the
base error and the check that a command's extra is installed.

Standard library and numpy only at import (matplotlib lazily, in :mod:`common.figures`); never TensorFlow, so every
part, the device runtime included, can import it.
"""
