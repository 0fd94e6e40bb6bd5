#!/usr/bin/env bash
# Multi-process training through torchrun and the 'pytorch' launcher.
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# The allocator: the run setup of the package's utils/allocator.py unless the environment chooses one.
# Env: PORT (default 29500), NNODES, NODE_RANK, MASTER_ADDR, PYTHON (default: the repo's .venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG=$1; NPROC=$2; shift 2
PY="${PYTHON:-$root/.venv/bin/python}"; [ -x "$PY" ] || PY=python
pkg="$("$PY" -c 'import importlib.util as u; print(u.find_spec("backbones").submodule_search_locations[0])')"  # found, not imported
eval "$("$PY" "$pkg/utils/allocator.py" --exports)"  # keep freed memory (docs/benchmark.md)
exec "$PY" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
  "$root/tools/train.py" "$CONFIG" --launcher pytorch "$@"
