#!/usr/bin/env bash
# Create the project venv (.venv) and install the pinned Python requirements.
# The interpreter used to create it is $IDEATOR_PYTHON, else python3 on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${IDEATOR_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
.venv/bin/python -c "import sklearn, pandas, lightgbm, xgboost, pyarrow; print('python venv ready:', sklearn.__version__, pandas.__version__)"
