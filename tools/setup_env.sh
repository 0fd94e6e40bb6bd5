#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv/ and install the pinned stack.
#
# Idempotent: a stamp file records the hash of requirements.txt and this script; when it matches,
# nothing is reinstalled. The known traps of the stack (see README "Set-up notes") are handled here:
#   * mmcv 2.1.0 has no wheel for torch 2.14: it is compiled from source with ops, with a compiler
#     wrapper that turns its hard-coded -std=c++17 into -std=c++20 (torch 2.14's headers need it).
#     pip caches the built wheel, so only the first build on a machine costs ~12 minutes.
#   * open3d needs libusb-1.0 at import time: installed with apt-get when missing and possible.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
stamp="$venv/.stack-stamp"
want="$(cat "$root/requirements.txt" "$root/tools/setup_env.sh" "$root/setup.py" | sha256sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c "import backbones" 2>/dev/null; then
  exit 0
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing libusb-1.0-0 (needed by open3d)"
    (apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq libusb-1.0-0 >/dev/null; })
  else
    echo "[setup] WARNING: libusb-1.0.so.0 is missing and cannot be installed automatically;" \
         "open3d will not import. Install the system package libusb-1.0-0." >&2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  # torch 2.14.1 (CUDA build, the one on this machine's disk) + the stack take ~7.5 GB.
  free_kb="$(df -Pk "$root" | awk 'NR==2 {print $4}')"
  if [ "${free_kb:-0}" -lt 9000000 ]; then
    echo "[setup] ERROR: $((free_kb / 1024)) MB free on the disk of $root; the environment needs ~9 GB" \
         "(torch + mmcv + the stack, ~7.5 GB, plus pip's temporary files). Free space and re-run." >&2
    exit 1
  fi
  "$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

# torch first (the local wheels), then the build tools mmcv's setup.py needs.
"${pip[@]}" install "torch==2.14.1" "torchvision==0.29.1" "setuptools==80.9.0" wheel ninja "numpy>=2,<3"

if ! "$venv/bin/python" -c "import mmcv, mmcv.ops" 2>/dev/null; then
  echo "[setup] installing mmcv 2.1.0 with ops (compiled the first time on a machine, ~12 min; then from pip's cache)"
  wrap="$venv/bin/cxx20"
  cat > "$wrap" <<'WRAP'
#!/usr/bin/env bash
args=()
for a in "$@"; do [ "$a" = "-std=c++17" ] && a="-std=c++20"; args+=("$a"); done
exec g++ "${args[@]}"
WRAP
  chmod +x "$wrap"
  CC="$wrap" CXX="$wrap" MMCV_WITH_OPS=1 MAX_JOBS=2 PATH="$venv/bin:$PATH" \
    "${pip[@]}" install --no-build-isolation "mmcv==2.1.0"
fi

"${pip[@]}" install -r "$root/requirements.txt"
"${pip[@]}" install --no-build-isolation --no-deps -e "$root"
# Import the package once, in one process: it checks the install, and it lets yapf (imported by
# mmengine.config) write its grammar cache (~/.cache/YAPF) before pytest's workers start. yapf renames
# that file into place before flushing it, so two fresh processes importing it at once can read it
# half-written ("EOFError: Ran out of input" while collecting tests).
"$venv/bin/python" -c "import backbones"
echo "$want" > "$stamp"
echo "[setup] environment ready in $venv"
