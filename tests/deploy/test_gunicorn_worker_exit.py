"""A gunicorn worker forked from a master that loaded an ONNX model exits cleanly.

ONNX Runtime starts a thread when it loads a model; a forked worker inherits its
handle but not the thread, and the runtime's C++ destructor then aborted (or hung)
every worker on shutdown. fashionshop/gunicorn.conf.py's worker_exit ends the
worker without those destructors, with the exit code gunicorn chose.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import importlib.util, os, sys, time
import django
django.setup()
import onnx, onnxruntime
from onnx import TensorProto, helper

graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
spec = importlib.util.spec_from_file_location("gunicorn_conf", sys.argv[1])
conf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conf)
code = int(sys.argv[2])

pid = os.fork()
if pid == 0:  # as gunicorn's Arbiter.spawn_worker ends a worker
    try:
        sys.exit(code)
    finally:
        conf.worker_exit(None, None)
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("signal" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}")
        break
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    print("hung")
"""


@pytest.mark.parametrize("code", [0, 3])
def test_a_worker_forked_after_onnx_runtime_loaded_exits_with_gunicorns_code(code):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "fashionshop" / "gunicorn.conf.py"), str(code)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "fashionshop.settings",
             "PYTHONPATH": str(ROOT), "SECRET_KEY": "test-only", "DEBUG": "False", "ALLOWED_HOSTS": "x"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"exit {code}", result.stderr
