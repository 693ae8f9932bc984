"""The one exit-status table of every edge-kit command (``edge-train``, ``edge-convert``, ``edge-kit``,
``edge-classify``), so a script can tell a bad command line from a failed run from a refused model.

| status | meaning |
|---|---|
| 0 | done |
| 1 | the work failed (a stage, a disk that filled up while writing, some photos unreadable in ``edge-classify``) |
| 2 | bad usage or input: an option, a missing or unusable photo folder, run folder, model or output location, a missing extra |
| 3 | the accuracy gate refused a model (its files are complete and kept) |
| 130 | interrupted (Ctrl-C); run the same command again to continue |

Errors raised on purpose carry their status (:attr:`common.errors.EdgeKitError.exit_code`), so each command prints
the message and returns that status without a table of its own.
"""
from __future__ import annotations

OK = 0
FAILED = 1
BAD_INPUT = 2
REFUSED = 3
INTERRUPTED = 130

#: One line for every command's ``--help``.
HELP = ("Exit status: 0 done, 1 failed, 2 bad usage or input (options, photo folder, run folder, model, output "
        "location, a missing extra), 3 the accuracy gate refused the model (files kept), 130 interrupted.")
