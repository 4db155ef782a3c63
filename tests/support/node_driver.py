"""A Node script driven line by line: it prints JSON lines, the test answers on stdin (the
URL the browser came back to); killed if it hangs."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import pytest

from support.node import JS, NODE, node_env


class NodeDriver:
    def __init__(
        self,
        script: str,
        options: dict[str, Any],
        timeout: float = 60,
        *,
        command: tuple[str, ...] = (),
    ) -> None:
        self.proc = subprocess.Popen(
            [NODE, script, *command, json.dumps(options)],
            cwd=JS,
            env=node_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.watchdog = threading.Timer(timeout, self.proc.kill)
        self.watchdog.start()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            assert self.proc.stderr is not None
            pytest.fail(f"node stopped ({self.proc.returncode}):\n{self.proc.stderr.read()}")
        found: dict[str, Any] = json.loads(line)
        return found

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
