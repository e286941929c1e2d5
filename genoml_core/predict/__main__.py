"""``python -m genoml_core.predict``: the ``genoml-predict`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
