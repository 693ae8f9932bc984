"""``python -m device``: the same as ``edge-classify``."""
import sys

from device.cli import main

sys.exit(main())
