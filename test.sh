#!/usr/bin/env bash
# Run the whole test suite with the virtualenv that setup.sh made. As root, privileged tests run for real.
# Extra arguments go to pytest, e.g. `sudo bash test.sh -k network -x`.
set -uo pipefail
cd "$(dirname "$0")"

PY=/opt/pydock/venv/bin/python
if [ ! -x "$PY" ]; then
  echo "no virtualenv at /opt/pydock/venv: run 'sudo bash setup.sh' first" >&2
  exit 1
fi

# The notebooks run under nbval in the pydock kernel, in the same session as the tests (one sandbox).
NBVAL=(--nbval --nbval-kernel-name pydock --nbval-sanitize-with notebooks/sanitize.cfg)

# With paths (`bash test.sh tests/network -x`, `bash test.sh notebooks`) only those run; otherwise the
# whole suite: the tests, then every notebook.
if [ $# -gt 0 ] && [ -e "$1" ]; then
  "$PY" -m pytest -p no:cacheprovider -q "${NBVAL[@]}" "$@"
else
  "$PY" -m pytest -p no:cacheprovider -q "${NBVAL[@]}" tests notebooks "$@"
fi
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; counting that as a failure" >&2
fi
exit "$rc"
