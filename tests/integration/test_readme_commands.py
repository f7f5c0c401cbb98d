"""Every command of the README works as written, on a fresh clone.

The repository's committed HEAD is cloned into a temporary folder (uncommitted
changes are not part of it, as on a user's machine) and every command of the
README's ```bash blocks runs there, in order, with ``bash -c``, from the
clone's root, in an environment without ``PYTHONPATH`` and without the
developer's ``VC_*`` / ``AIRFLOW*`` settings. ``make demo``, the first one,
does the setup itself (its own ``.venv`` from the lock: about a minute with
uv's cache), so the later commands find the demo's warehouse.

Nothing is skipped silently: a command this test does not run as written is
in ``NOT_RUN`` with the reason, placeholders are replaced as ``PLACEHOLDERS``
says, and the test fails when the README gains a command it does not know
how to run. The commands the README gives inline (in backticks, not in a
block) and that a user is told to type are in ``INLINE_COMMANDS``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from voice_compliance.config import REPO_ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

README = REPO_ROOT / "README.md"
COMMAND_TIMEOUT_S = 1800

NOT_RUN = {
    "make test": "runs the whole suite, this test included (it would recurse); CI runs it",
    ".venv/bin/voice-compliance run --landing s3://my-bucket/twilio/exports "
    "--warehouse /path/to/prod.duckdb": "needs a real bucket and its credentials; the same "
    "`run` on an S3 landing zone runs against a local moto endpoint in "
    "tests/integration/test_ingest_s3.py and test_landing_s3.py",
}
PLACEHOLDERS = {
    # The demo's landing zone and warehouse (absolute, like the README's
    # placeholders) stand for the user's own.
    "/path/to/landing": "{clone}/data/landing",
    "/path/to/warehouse.duckdb": "{clone}/data/warehouse.duckdb",
    "/path/to/prod.duckdb": "{clone}/data/prod.duckdb",
}
STAND_INS = {
    # The S3 run above is not run; its warehouse is the demo's, copied.
    ".venv/bin/voice-compliance summary --warehouse /path/to/prod.duckdb": (
        "data/warehouse.duckdb",
        "data/prod.duckdb",
    ),
}
INLINE_COMMANDS = {
    # README text (line breaks as spaces) -> standard input
    ".venv/bin/duckdb -readonly data/warehouse.duckdb": (
        "select count(*) as violations from compliance.policy_violations;\n"
    ),
    'cd dbt_project && ../.venv/bin/dbt build --profiles-dir . --vars "$(cat policy.yml)"': "",
}


def readme_commands(text: str) -> list[str]:
    """The commands of the ```bash blocks, a command spanning lines joined."""
    commands: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        pending = ""
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            if not pending.strip() or pending.endswith("\\") or not _complete(pending):
                continue
            commands.append(pending.strip())
            pending = ""
        assert not pending.strip(), f"unterminated command in the README: {pending}"
    return commands


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def _key(command: str) -> str:
    """The command without its trailing comment, spaces collapsed."""
    return " ".join(shlex.join(shlex.split(command, comments=True)).split()).replace("'", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("readme") / "voice-compliance"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    return clone


def _env(clone: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VC_", "AIRFLOW", "VIRTUAL_ENV"))
        and k not in ("PYTHONPATH", "PYTHONHOME")
        and not k.lower().endswith("_proxy")
    }
    # `make airflow` serves on a free port, not on 8080 that may be taken here.
    env["AIRFLOW_PORT"] = str(_free_port())
    env["HOME"] = os.environ.get("HOME", str(clone))
    return env


def _run(command: str, clone: Path, env: dict[str, str], stdin: str = "") -> str:
    started = time.monotonic()
    completed = subprocess.run(
        ["bash", "-c", command],
        cwd=clone,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    took = time.monotonic() - started
    print(f"$ {command}  [{took:.0f} s, exit {completed.returncode}]")
    if completed.returncode != 0:
        output = f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        return f"$ {command}\n  exit {completed.returncode}\n{output}"
    return ""


def test_readme_has_no_links_outside_the_repository() -> None:
    text = README.read_text()
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith(("http://", "https://", "#")):
            continue
        path = (REPO_ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO_ROOT), f"README links outside the repository: {target}"
        assert path.exists(), f"README links to a missing file: {target}"


def test_readme_commands_work_as_written(fresh_clone: Path) -> None:
    text = README.read_text()
    commands = readme_commands(text)
    assert commands[0].startswith("make demo"), "the first README command must set things up"
    keys = {_key(command) for command in commands}
    assert set(NOT_RUN) <= keys, f"NOT_RUN names commands the README lost: {set(NOT_RUN) - keys}"
    flat = " ".join(text.split())
    for inline in INLINE_COMMANDS:
        assert inline in flat, f"INLINE_COMMANDS names a command the README lost: {inline}"

    env = _env(fresh_clone)
    failures: list[str] = []
    airflow_started = False
    try:
        for command in commands:
            key = _key(command)
            if key in NOT_RUN:
                print(f"$ {command}  [not run: {NOT_RUN[key]}]")
                continue
            if key in STAND_INS:
                source, target = STAND_INS[key]
                shutil.copyfile(fresh_clone / source, fresh_clone / target)
            for placeholder, value in PLACEHOLDERS.items():
                command = command.replace(placeholder, value.format(clone=fresh_clone))
            airflow_started |= key == "make airflow"
            failures.append(_run(command, fresh_clone, env))
            if failures[0]:
                break  # without the demo nothing else can work
        for inline, stdin in INLINE_COMMANDS.items():
            failures.append(_run(inline, fresh_clone, env, stdin))
    finally:
        if airflow_started:
            _run("make airflow-stop", fresh_clone, env)
    failed = [failure for failure in failures if failure]
    assert not failed, "README commands failed:\n" + "\n".join(failed)
