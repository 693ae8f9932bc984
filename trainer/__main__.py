"""``python -m trainer`` = ``edge-train``."""
from trainer.cli import main

raise SystemExit(main())
