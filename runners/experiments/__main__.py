"""``python -m gymlab.runners.experiments [--check]``: write (or check) ``_index.json``, the table of
the built-in experiments that ``gymlab list`` and ``gymlab show`` read without importing them.

Run it after adding an experiment or changing a config's defaults; tests/runners/test_cli_fast.py
fails while the table and the registry disagree.
"""
import sys

from gymlab.runners import registry

if "--check" in sys.argv[1:]:
    ok = registry.write_index(check=True)
    print(f"{registry.INDEX}: {'up to date' if ok else 'STALE: run python -m gymlab.runners.experiments'}")
    sys.exit(0 if ok else 1)
registry.write_index()
print(f"wrote {registry.INDEX}")
