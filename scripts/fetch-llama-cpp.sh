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
if "$VENV/bin/python" -c "import llama_cpp.server" >/dev/null 2>&1; then
    echo "$VENV"
    exit 0
fi
rm -rf "$VENV"
mkdir -p "$HOME_DIR/peers"
python3 -m venv "$VENV.tmp"
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF" \
    "$VENV.tmp/bin/pip" install --quiet "llama-cpp-python[server]==$VERSION" >&2
# Renamed only when complete: an interrupted build is never mistaken for one.
mv "$VENV.tmp" "$VENV"
echo "$VENV"
