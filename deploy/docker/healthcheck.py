"""Container health probe: GET a local URL, exit 0 on a 2xx answer, 1 otherwise.

Usage: ``python healthcheck.py 'http://127.0.0.1:${INGEST_HEALTH_PORT}/healthz'``. The URL
is expanded with the container's environment, so the probe follows the port the service
was configured with. Standard library only: the images carry no curl or wget.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: healthcheck.py URL", file=sys.stderr)
        return 2
    url = os.path.expandvars(argv[1])
    if not url.startswith("http://127.0.0.1:"):
        # Only ever probe the container itself.
        print(f"refusing to probe {url}", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - local http only
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
