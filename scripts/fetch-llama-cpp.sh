#!/usr/bin/env bash
# Builds llama.cpp through llama-cpp-python (pinned, from PyPI source) into
# a virtual environment under $GLRL_HOME/peers, for the remote-backend test
# (its OpenAI-compatible server) and the model benchmark (the peer).
# Idempotent: does nothing when the environment already works. ~5 minutes
# on 2 cores the first time.
#
# Built without AMX: on this kind of CPU a native build (AVX-512 + AMX)
# segfaults on any prompt longer than one token (shared/notes/peers.md).
set -euo pipefail
VERSION=0.3.36
HOME_DIR="${GLRL_HOME:-$HOME/.cache/glrl}"
VENV="$HOME_DIR/peers/llama-cpp-python-$VERSION"
# Each instruction set only where this CPU has it: a build with AVX-512
# dies of SIGILL at model load on a CPU without it (the import still works).
has() { grep -qw "$1" /proc/cpuinfo && echo ON || echo OFF; }
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX2=$(has avx2) -DGGML_FMA=$(has fma) -DGGML_F16C=$(has f16c) -DGGML_AVX512=$(has avx512f) -DGGML_AVX512_VNNI=$(has avx512_vnni) -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF"
if "$VENV/bin/python" -c "import llama_cpp.server" >/dev/null 2>&1 \
    && [ "$(cat "$VENV/glrl-cmake-args" 2>/dev/null)" = "$FLAGS" ]; then
    echo "$VENV"
    exit 0
fi
rm -rf "$VENV" "$VENV.tmp"
mkdir -p "$HOME_DIR/peers"
python3 -m venv "$VENV.tmp"
# No wheel cache: pip keys it by the source, not by CMAKE_ARGS, and would
# hand back a build made for other flags.
CMAKE_ARGS="$FLAGS" "$VENV.tmp/bin/pip" install --quiet --no-cache-dir \
    "llama-cpp-python[server]==$VERSION" >&2
echo "$FLAGS" > "$VENV.tmp/glrl-cmake-args"
# Renamed only when complete: an interrupted build is never mistaken for one.
mv "$VENV.tmp" "$VENV"
echo "$VENV"
