"""``python -m genoml_core.simulate``: the same as ``genoml-simulate``."""

from .cli import main

raise SystemExit(main())
