"""ctest's entry to the server tests: runs pytest on this directory, or exits 77 (ctest's
"skipped") with the reason when the Python packages they need are missing."""
import importlib.util, os, sys

missing = [m for m in ("pytest", "openai", "prometheus_client") if importlib.util.find_spec(m) is None]
if missing:
    print("skipped: Python packages missing: " + ", ".join(missing) +
          " (scripts/test installs them: pip install openai pytest prometheus-client selenium)")
    sys.exit(77)
import pytest  # noqa: E402

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", os.path.dirname(os.path.abspath(__file__))]
                     + sys.argv[1:]))
