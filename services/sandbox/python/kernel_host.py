"""Threadwork sandbox kernel host: one per session, inside the session's bubblewrap sandbox.

It starts an ipykernel through jupyter_client (KernelManager + BlockingKernelClient) and speaks
line-delimited JSON with the Node service over stdin/stdout (services/sandbox/src/protocol.ts):

  in   {"op": "execute", "id": n, "code": str, "files": [{"name": str, "b64": str}],
        "maxOutputBytes": n, "maxFileBytes": n}
       {"op": "interrupt"}                       SIGINT to the kernel (jupyter_client's interrupt)
  out  {"ev": "ready"}                           once the kernel answers kernel_info
       {"ev": "msg", "id": n, "msg_type": t, "content": {...}}
                                                 IOPub stream / execute_result / display_data /
                                                 update_display_data / error, content as Jupyter sends it
       {"ev": "done", "id": n, "status": "ok" | "error" | "died", "reason"?: str,
        "dropped": n, "files": [{"name": str, "b64": str}], "skipped": [{"name": str, "size": n}]}

Everything here runs as the sandbox's unprivileged user, beside the user's code: the Node side
treats every line as untrusted (validated, size-capped). The protocol channel is a private dup of
fd 1; fd 1 itself is pointed at stderr so stray writes (the kernel's, C libraries') cannot
corrupt it.
"""

import base64
import json
import os
import queue
import shutil
import sys
import threading

DATA_DIR = "/mnt/data"
MAX_FILES = 100

_proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_send_lock = threading.Lock()


def send(obj):
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    with _send_lock:
        _proto.write(line + "\n")
        _proto.flush()


def scan():
    """Regular files under /mnt/data (symlinks not followed): relative path -> (mtime_ns, size)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(DATA_DIR, followlinks=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            found[os.path.relpath(path, DATA_DIR)] = (st.st_mtime_ns, st.st_size)
    return found


def safe_name(name):
    """An input file name as a plain name inside /mnt/data, or None."""
    base = os.path.basename(name.replace("\\", "/"))
    if base in ("", ".", "..") or "\x00" in base:
        return None
    return base


def write_inputs(files):
    for f in files or []:
        name = safe_name(f.get("name", ""))
        if name is None:
            continue
        path = os.path.join(DATA_DIR, name)
        if os.path.islink(path):
            os.unlink(path)
        with open(path, "wb") as out:
            out.write(base64.b64decode(f.get("b64", "")))


def changed_files(before, after, max_file_bytes):
    files, skipped, total = [], [], 0
    for rel, meta in sorted(after.items()):
        if before.get(rel) == meta:
            continue
        size = meta[1]
        if len(files) >= MAX_FILES or total + size > max_file_bytes:
            skipped.append({"name": rel, "size": size})
            continue
        try:
            with open(os.path.join(DATA_DIR, rel), "rb") as src:
                data = src.read(max_file_bytes - total + 1)
        except OSError:
            continue
        if total + len(data) > max_file_bytes:
            skipped.append({"name": rel, "size": len(data)})
            continue
        total += len(data)
        files.append({"name": rel, "b64": base64.b64encode(data).decode("ascii")})
    return files, skipped


def exit_reason(km):
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    code = proc.poll() if proc is not None else None
    if code is None:
        return "the Python kernel stopped responding"
    if code < 0:
        return "the Python kernel was killed by signal %d" % -code
    return "the Python kernel exited with code %d" % code


def execute(km, kc, cmd):
    exec_id = cmd["id"]
    max_output = int(cmd.get("maxOutputBytes", 1 << 20))
    try:
        write_inputs(cmd.get("files"))
    except OSError as err:
        send({"ev": "msg", "id": exec_id, "msg_type": "stream",
              "content": {"name": "stderr", "text": "Could not write input files to /mnt/data: %s\n" % err}})
    before = scan()
    if not km.is_alive():
        send({"ev": "done", "id": exec_id, "status": "died", "reason": exit_reason(km), "dropped": 0, "files": [], "skipped": []})
        return False
    msg_id = kc.execute(cmd["code"], store_history=True, allow_stdin=False)
    forwarded = 0
    dropped = 0
    status = "ok"
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=0.25)
        except queue.Empty:
            if not km.is_alive():
                send({"ev": "done", "id": exec_id, "status": "died", "reason": exit_reason(km), "dropped": dropped, "files": [], "skipped": []})
                return False
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "status":
            if content.get("execution_state") == "idle":
                break
            continue
        if kind == "error":
            status = "error"
        if kind not in ("stream", "execute_result", "display_data", "update_display_data", "error"):
            continue
        # Cooperative cap (the Node side enforces its own): past the budget, stream text is
        # counted, not sent, so an endless print loop does not flood the pipe.
        size = len(json.dumps(content))
        if forwarded + size > max_output:
            dropped += size
            continue
        forwarded += size
        send({"ev": "msg", "id": exec_id, "msg_type": kind, "content": content})
    files, skipped = changed_files(before, scan(), int(cmd.get("maxFileBytes", 64 << 20)))
    send({"ev": "done", "id": exec_id, "status": status, "dropped": dropped, "files": files, "skipped": skipped})
    return True


def prepare_home():
    for d in ("/tmp/home", "/tmp/ipython", "/tmp/jupyter-runtime", "/tmp/jupyter-data"):
        os.makedirs(d, exist_ok=True)
    # A font cache built at install time (scripts/lib/sandbox-venv.mjs): without it matplotlib's
    # first import in every fresh session spends seconds scanning fonts.
    cache = os.path.join(sys.prefix, "share", "threadwork-mplconfig")
    if os.path.isdir(cache) and not os.path.exists("/tmp/mpl"):
        shutil.copytree(cache, "/tmp/mpl")
    os.makedirs("/tmp/mpl", exist_ok=True)


def main():
    from jupyter_client.manager import KernelManager

    prepare_home()
    km = KernelManager(kernel_name="python3")
    # The kernel gets our (already minimal) environment; ipykernel reads these directories.
    km.start_kernel(cwd=DATA_DIR, extra_arguments=["--HistoryManager.enabled=False"])
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
    except RuntimeError as err:
        send({"ev": "failed", "reason": str(err)})
        km.shutdown_kernel(now=True)
        return 1
    send({"ev": "ready"})

    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
            except ValueError:
                continue
            if cmd.get("op") == "interrupt":
                try:
                    km.interrupt_kernel()
                except Exception:  # noqa: BLE001 - a dead kernel cannot be interrupted; execute() reports it
                    pass
            else:
                commands.put(cmd)
        commands.put(None)

    threading.Thread(target=read_stdin, daemon=True).start()
    while True:
        cmd = commands.get()
        if cmd is None:
            break
        if cmd.get("op") == "execute" and not execute(km, kc, cmd):
            break
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
