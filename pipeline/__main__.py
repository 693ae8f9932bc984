"""``python -m pipeline`` = ``edge-kit``."""
from pipeline.cli import main

raise SystemExit(main())
