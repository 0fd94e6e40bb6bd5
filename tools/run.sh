#!/usr/bin/env bash
# The project's two entry points. Each sets up .venv/ (idempotent; see tools/setup_env.sh) first.
#   bash tools/run.sh main   the main job: train + evaluate the default digits model, print where its outputs are
#   bash tools/run.sh test   ruff + the test suite (tests marked slow are skipped; add `-m slow` to run them)
#   bash tools/run.sh test --fast   ruff + the unit tests (tests/unit/): the tier to run after each change
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup_env.sh
py="$root/.venv/bin/python"
pkg="$("$py" -c 'import importlib.util as u; print(u.find_spec("backbones").submodule_search_locations[0])')"  # found, not imported
eval "$("$py" "$pkg/utils/allocator.py" --exports)"  # keep freed memory (docs/benchmark.md)
case "${1:-}" in
  main)
    "$py" lab/tools/train_table.py digits --mixers "${MAIN_MIXER:-SelfAttention}"
    ;;
  test)
    "$py" -m ruff check .
    "$root/.venv/bin/lint-imports"
    if [[ "${2:-}" == "--fast" ]]; then
      "$py" -m pytest -q -n 2 --durations=10 -p no:dash -m "not slow" tests/unit "${@:3}"
    else
      "$py" -m pytest -q -n 2 --durations=15 -p no:dash -m "not slow" "${@:2}"
    fi
    ;;
  *)
    echo "usage: bash tools/run.sh main|test [--fast] [pytest args]" >&2
    exit 2
    ;;
esac
