"""edge-kit pipeline: photos -> trained, converted, verified, exported model and a report, in one command.

Orchestrates the three parts below it (``trainer``, ``converter``, ``device``) through their library APIs; the
``edge-kit`` command is :mod:`pipeline.cli`.

    >>> from pipeline import PipelineConfig, run_pipeline
    >>> result = run_pipeline(PipelineConfig("photos/", "runs/flowers", weights="weights.h5", alpha=0.35))
    >>> result.report_html                      # runs/flowers/report.html

Modules: ``api`` (config, run, result), ``stages`` (the five stages), ``state`` (fingerprints, lock),
``classify`` (held-out photos through the device runtime), ``report`` (gathers the report's data) with
``report_markdown`` / ``report_html`` (its two renderings), ``cli`` (``edge-kit``). TensorFlow is imported only
when a stage needs it.
"""
from pipeline.api import AUTO, STAGES, ExportChoice, PipelineConfig, PipelineResult, StageOutcome, \
    choose_export_variant, run_pipeline
from pipeline.state import PipelineError

__all__ = ["AUTO", "ExportChoice", "PipelineConfig", "PipelineError", "PipelineResult", "StageOutcome", "STAGES",
           "choose_export_variant", "run_pipeline"]
