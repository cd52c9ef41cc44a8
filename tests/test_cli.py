"""The CLI end to end in an empty folder, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(folder, *args, ok=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env["COLUMNS"] = "200"  # Rich tables wrap names in narrow terminals
    result = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop")
    run(path, "init")
    return path


def test_init_writes_config_and_database(folder):
    assert (folder / "membership.toml").exists() and (folder / "membership.db").exists()
    assert oct((folder / "membership.toml").stat().st_mode & 0o777) == "0o600"
    again = run(folder, "init")
    assert "keeping it" in again.stdout and "0 migrations applied" in again.stdout


def test_demo_creates_members_and_purchases_and_prints_a_summary(folder):
    result = run(folder, "demo", "--members", "30", "--purchases", "120")
    assert "Created 30 members, 120 purchases" in result.stdout
    assert "会员 members" in result.stdout and "30" in result.stdout
    again = run(folder, "demo", "--members", "30", "--purchases", "120")
    assert "not added again" in again.stdout


def test_plugins_list_and_jobs(folder):
    listing = run(folder, "plugins", "list").stdout
    assert "membership.builtin.points" in listing and "points_awards" in listing
    assert "expire-points" in run(folder, "jobs", "list").stdout
    assert "points expired" in run(folder, "jobs", "run", "expire-points").stdout
    assert "migrations applied" in run(folder, "migrate").stdout


def test_errors_are_one_clear_line_and_a_non_zero_exit(folder, tmp_path):
    unknown = run(folder, "jobs", "run", "make-coffee", ok=False)
    assert unknown.returncode == 1
    assert "job_not_found" in unknown.stderr and "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1 and "━" not in unknown.stdout  # refused before the bar
    (tmp_path / "membership.toml").write_text("[membership]\ndatabase_url = 'mysql://x'\nsecret_key = 'x'\n")
    bad = run(tmp_path, "migrate", ok=False)
    assert bad.returncode == 1 and "not_configured" in bad.stderr and "Traceback" not in bad.stderr


def test_commands_outside_a_deployment_say_so_and_make_no_database(tmp_path):
    for args in (("jobs", "run", "review-tiers"), ("jobs", "list"), ("staff", "list"), ("api-key", "list")):
        refused = run(tmp_path, *args, ok=False)
        assert refused.returncode == 1 and "membership init" in refused.stderr, args
        assert "Traceback" not in refused.stderr and "━" not in refused.stdout  # no progress bar either
    assert list(tmp_path.iterdir()) == []


def test_demo_in_an_empty_folder_initialises_it(tmp_path):
    result = run(tmp_path, "demo", "--members", "3", "--purchases", "5")
    assert (tmp_path / "membership.toml").exists() and "Created 3 members" in result.stdout


def test_api_keys_are_shown_once_listed_and_revoked(folder):
    created = run(folder, "api-key", "create", "--name", "till-9", "--scopes", "pos", "--store", "SH01").stdout
    secret = next(word for word in created.split() if word.startswith("mk_"))
    prefix = secret.split("_")[1]
    listing = run(folder, "api-key", "list").stdout
    assert "till-9" in listing and prefix in listing and secret not in listing
    assert "Revoked" in run(folder, "api-key", "revoke", prefix).stdout
    bad = run(folder, "api-key", "create", "--name", "x", "--scopes", "owner", ok=False)
    assert bad.returncode == 1 and "validation_error" in bad.stderr


def test_serve_demo_on_existing_data_prints_a_working_key_and_console_login(folder):
    import json
    import re
    import time
    import urllib.request

    import httpx

    from membership.db.throwaway import free_port

    run(folder, "demo", "--members", "30", "--purchases", "120")  # no-op when the demo test ran
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env["COLUMNS"] = "200"  # Rich tables wrap names in narrow terminals
    server = subprocess.Popen(
        [sys.executable, "-m", "membership.cli", "serve", "--demo", "--port", str(port)],
        cwd=folder,
        env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "curl" in line:
                break
        output = "".join(lines)
        assert "not added again" in output and f"http://127.0.0.1:{port}/schema" in output
        secret = next(word for word in output.split() if word.startswith("mk_"))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/members", headers={"Authorization": f"Bearer {secret}"}
        )
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, timeout=2) as answer:
                    page = json.loads(answer.read())
                break
            except OSError:
                time.sleep(0.1)
        assert page["total"] == 30

        password = re.search(r"demo / (\S+)", output).group(1)  # the console's demo owner
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            client.get("/console/login")
            form = {"username": "demo", "password": password, "next": "/console/counter"}
            answer = client.post("/console/login", data={**form, "_csrf_token": client.cookies["csrftoken"]})
            assert answer.status_code == 303
            assert "会员卡、会员码、手机号或会员号" in client.get("/console/counter").text
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stdout.close()


def test_staff_create_asks_for_the_password_and_refuses_bad_input_clearly(folder):
    run(folder, "demo", "--members", "30", "--purchases", "120")  # a merchant with stores (no-op when done)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env["COLUMNS"] = "200"  # Rich tables wrap names in narrow terminals
    prompted = subprocess.run(
        [sys.executable, "-m", "membership.cli", "staff", "create", "li.na", "--role", "clerk", "--store", "SH01"],
        cwd=folder,
        env=env,
        input="secret-counter-1\nsecret-counter-1\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prompted.returncode == 0, prompted.stderr
    assert "li.na (clerk)" in prompted.stdout
    listing = run(folder, "staff", "list").stdout
    assert "li.na" in listing and "SH01" in listing

    for args, words in [
        (["--role", "cashier", "--password", "secret-counter-1"], "role"),
        (["--role", "clerk", "--password", "short"], "password"),
    ]:
        bad = run(folder, "staff", "create", "wang.wu", *args, ok=False)
        assert bad.returncode == 1 and words in bad.stderr and "Traceback" not in bad.stderr
    taken = run(folder, "staff", "create", "li.na", "--role", "clerk", "--password", "secret-counter-1", ok=False)
    assert "已被占用" in taken.stderr
