"""The local AWS server process: moto's WSGI app with our extensions, on a loopback port.

Run: python -m deploy.local_aws.server --host 127.0.0.1 --port N [--state-dir D]
     [--ready-file F] [--exit-with-pid PID] [--verbose]
--port 0 lets the OS pick a free port; the chosen port is written to --ready-file (JSON) once serving.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from deploy.local_aws.admin import HEALTH_PATH, LOCAL_MOTO_CONFIG, SERVICE_NAME

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOG = logging.getLogger("local_aws.server")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.local_aws.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 = any free port (default)")
    parser.add_argument("--state-dir", type=Path, default=None, help="where work files and logs go")
    parser.add_argument("--ready-file", type=Path, default=None, help="write {pid, port, endpoint} here once serving")
    parser.add_argument("--exit-with-pid", type=int, default=None, help="stop when this process ends (tests)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        parser.error(f"--host must be a loopback address ({', '.join(sorted(LOOPBACK_HOSTS))}), got {args.host!r}")
    return args


def configure_moto() -> None:
    """Put LOCAL_MOTO_CONFIG into moto's process-wide config (also re-run after every /moto-api/reset)."""
    from moto.core.config import default_user_config

    for key, value in LOCAL_MOTO_CONFIG.items():
        default_user_config[key] = copy.deepcopy(value)  # type: ignore[literal-required]


def apply_realism_to_moto(settings: Any) -> None:
    """The realism settings moto itself enforces: the Lambda concurrency quota and how long crawls run."""
    from deploy.local_aws.extensions.glue_crawler import CRAWL_SECONDS, set_crawl_seconds

    if settings.enabled:
        os.environ["MOTO_LAMBDA_CONCURRENCY_QUOTA"] = str(settings.lambda_concurrency_limit)
        set_crawl_seconds(settings.crawler_run_seconds)
    else:
        os.environ.pop("MOTO_LAMBDA_CONCURRENCY_QUOTA", None)
        set_crawl_seconds(CRAWL_SECONDS)


class LocalAwsApp:
    """WSGI wrapper around moto: answers our health check and keeps our config across moto resets."""

    def __init__(self, moto_app: Callable, info: dict[str, Any], after_reset: Callable[[], None]):
        self._moto_app = moto_app
        self._info = info
        self._after_reset = after_reset

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            body = json.dumps(self._info).encode("utf-8")
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        result = self._moto_app(environ, start_response)
        if path.rstrip("/") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            self._after_reset()
        return result


def _watch_pid(pid: int) -> None:
    """End this server when the given process is gone (so a crashed test run leaves no server behind)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os.kill(os.getpid(), signal.SIGTERM)
            return
        except PermissionError:
            pass


def _write_ready_file(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)

    from werkzeug.serving import make_server

    import moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from deploy.local_aws.extensions import apply_all
    from deploy.local_aws.extensions.context import LocalContext
    from deploy.local_aws.extensions.processes import terminate_all
    from deploy.local_aws.manager import default_state_dir
    from deploy.local_aws.realism.middleware import RealismMiddleware
    from deploy.local_aws.realism.settings import from_environment

    state_dir = (args.state_dir or default_state_dir()).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)

    info: dict[str, Any] = {"service": SERVICE_NAME, "pid": os.getpid(), "moto": moto.__version__}
    realism = RealismMiddleware(DomainDispatcherApplication(create_backend_app), from_environment(),
                                hooks=[apply_realism_to_moto])
    app = LocalAwsApp(realism, info, after_reset=configure_moto)
    server = make_server(args.host, args.port, app, threaded=True)
    port = server.server_port
    endpoint = f"http://{'[::1]' if args.host == '::1' else args.host}:{port}"
    info.update(port=port, endpoint=endpoint, started_at=time.time())

    # The Step Functions interpreter calls back into this server on MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    configure_moto()
    apply_all(LocalContext(endpoint=endpoint, state_dir=state_dir))
    apply_realism_to_moto(realism.settings)  # after the extensions registered their own defaults

    def _shutdown(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    if args.exit_with_pid:
        threading.Thread(target=_watch_pid, args=(args.exit_with_pid,), daemon=True).start()
    if args.ready_file:
        _write_ready_file(args.ready_file, {"pid": os.getpid(), "port": port, "endpoint": endpoint})
    LOG.info("local AWS (moto %s) serving on %s, state dir %s", moto.__version__, endpoint, state_dir)
    try:
        server.serve_forever()
    finally:
        terminate_all()
        server.server_close()
        LOG.info("local AWS on %s stopped", endpoint)
    return 0


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    os._exit(code)  # do not wait for non-daemon interpreter threads of running executions
