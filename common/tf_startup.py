"""Hide TensorFlow's C++ start-up lines unless asked (``-v``): they look like failures to a newcomer.

On a machine without a GPU, ``import tensorflow`` prints lines such as ``cuInit: CUDA error``, ``Could not find
cuda drivers``, ``computation placer already registered``, the oneDNN and CPU-instructions notes, most of them
before ``absl::InitializeLog()``, which ``TF_CPP_MIN_LOG_LEVEL`` does not reach. :func:`import_tensorflow_quietly`
imports TensorFlow (and tf_keras) with the process's stderr captured, then prints back every line that is not one
of these known start-up lines, so real warnings and errors are still shown. Nothing changes when the user set
``TF_CPP_MIN_LOG_LEVEL`` themselves or asked for verbose output.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator, Pattern

from common.interrupts import InterruptGuard

#: Start-up lines of TensorFlow/XLA that say nothing about the user's work (no GPU, CPU features, plugins).
STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|cudart_stub|"
    r"Could not find cuda drivers|cpu_feature_guard|To enable the following instructions|rebuild TensorFlow with|"
    r"cuInit|CUDA_ERROR_NO_DEVICE|computation placer already registered|Unable to register cu(DNN|FFT|BLAS) "
    r"factory|TF-TRT Warning|cuda_executor|kernel driver does not appear to be running|cuda_diagnostics")

#: Lines TensorFlow's TFLite converter prints on every conversion, whatever the model: deprecation notes about its
#: own API, flags it ignores, its quantizer's settings. They say nothing about the user's model.
CONVERTER_NOISE = re.compile(
    r"providing the trackable_obj argument|Ignored output_format|Ignored drop_control_dependency|"
    r"fully_quantize: \d|Statistics for quantized inputs were expected|^\s+warnings\.warn\(|"
    r"Skipping runtime version metadata in the model")


@contextmanager
def filtered_stderr(noise: Pattern[str], all_on_error: bool = True) -> Iterator[None]:
    """Capture the process's stderr (file descriptor 2: C++ logs, absl logging, Python warnings) during the block,
    then write back every line ``noise`` does not match; with ``all_on_error``, every line when the block raises,
    so that a failure keeps all of its context. Ctrl-C is not a failure: its lines are filtered as usual."""
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except KeyboardInterrupt:
            raise
        except BaseException:
            failed = all_on_error
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True):
                if failed or not noise.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Import TensorFlow (and tf_keras when installed) now, hiding :data:`STARTUP_NOISE` unless ``verbose`` or
    ``TF_CPP_MIN_LOG_LEVEL`` is set by the user. Call it before anything else imports TensorFlow.

    Ctrl-C during the import (it takes seconds) raises ``KeyboardInterrupt``, also when it landed inside
    TensorFlow's C++ start-up and surfaced as another error, so the command reports it in one line."""
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "1"  # INFO lines off; C++ warnings and errors still printed
    with InterruptGuard() as guard:
        try:
            with filtered_stderr(STARTUP_NOISE, all_on_error=False):  # start-up lines never explain an import error
                _import_tensorflow()
        except Exception:
            if guard.fired:
                raise KeyboardInterrupt from None
            raise


def _import_tensorflow() -> None:
    import tensorflow  # (lazy and heavy: imported here, once, with stderr captured)

    # The devices are looked up at the first operation, and that is when cuInit complains: do it here too.
    tensorflow.config.list_physical_devices()

    try:
        import tf_keras  # noqa: F401
    except ImportError:
        pass
