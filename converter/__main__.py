"""``python -m converter`` = ``edge-convert``."""
from converter.cli import main

raise SystemExit(main())
