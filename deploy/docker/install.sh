#!/bin/sh
# The install step of both images, also run by CI in a clean venv (tests/test_deploy_install.py):
#
#   install.sh cpu|gpu WHEEL_DIR [PIP_OPTION...]
#
# installs the one gaikan wheel in WHEEL_DIR with ONNX Runtime for the CPU (extra `cpu`,
# onnxruntime) or for CUDA (extra `gpu`, onnxruntime-gpu), plus PostgreSQL support, into the Python
# environment of $PYTHON (default python3), then checks the serving install: the service imports,
# torch is absent, exactly one ONNX Runtime is installed. PIP_OPTIONs go to `pip install`; with
# --dry-run only the resolution is checked (how CI checks the GPU image without a GPU).
set -eu

usage() { echo "usage: $0 cpu|gpu WHEEL_DIR [PIP_OPTION...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
flavour=$1
wheel_dir=$2
shift 2
case $flavour in
    cpu) runtime=onnxruntime ;;
    gpu) runtime=onnxruntime-gpu ;;
    *) usage ;;
esac
python=${PYTHON:-python3}

wheel=""
for candidate in "$wheel_dir"/gaikan-*.whl; do
    [ -e "$candidate" ] || break
    [ -z "$wheel" ] || { echo "more than one gaikan wheel in $wheel_dir" >&2; exit 2; }
    wheel=$candidate
done
[ -n "$wheel" ] || { echo "no gaikan-*.whl in $wheel_dir" >&2; exit 2; }

"$python" -m pip install --disable-pip-version-check "$@" "$wheel[$flavour,postgres]"
for option in "$@"; do
    [ "$option" != "--dry-run" ] || exit 0
done

"$python" - "$runtime" <<'PY'
import importlib.metadata
import importlib.util
import sys

wanted = sys.argv[1]
import gaikan.service.app  # noqa: F401  (the whole service imports from the installed wheel)

assert importlib.util.find_spec("torch") is None, "torch is installed: the serving install must stay torch-free"
runtimes = sorted(
    d.metadata["Name"].lower() for d in importlib.metadata.distributions() if d.metadata["Name"].lower().startswith("onnxruntime")
)
assert runtimes == [wanted], f"expected exactly {wanted}, found {runtimes}"
print(f"gaikan {importlib.metadata.version('gaikan')} installed with {wanted} {importlib.metadata.version(wanted)}, no torch")
PY
