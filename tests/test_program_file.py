"""Program as code: `program export | program apply` round-trips a whole configuration (export,
apply to an empty database, export again: the same file), a second apply changes nothing, a dry
run says what would change and changes nothing; the API takes the same document."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

from membership.db import fetch
from membership.org.program_file import apply_document, export_document, from_toml, to_toml


def _cli(folder, *args, ok=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
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


def test_export_apply_export_gives_the_same_file(tmp_path):
    shop, empty = tmp_path / "shop", tmp_path / "empty"
    shop.mkdir(), empty.mkdir()
    _cli(shop, "init")
    _cli(shop, "demo", "--members", "5", "--purchases", "5")
    _cli(shop, "program", "set", "min_redeem_points=200", "points_rounding=half_up")
    exported = _cli(shop, "program", "export").stdout
    document = tomllib.loads(exported)
    assert document["program"] == {"name": "悦享会员", "merchant": "悦享生活连锁超市"}
    assert document["settings"]["min_redeem_points"] == 200 and len(document["stores"]) == 3
    assert {"tiers", "points_rules", "coupon_templates", "paid_plans", "top_up_plans"} <= set(document)
    (tmp_path / "program.toml").write_text(exported, encoding="utf-8")

    _cli(empty, "init")
    dry = _cli(empty, "program", "apply", str(tmp_path / "program.toml"), "--dry-run").stdout
    assert "+ program 悦享会员" in dry and "none made" in dry
    assert "悦享会员" not in _cli(empty, "program", "list").stdout  # the dry run made nothing
    applied = _cli(empty, "program", "apply", str(tmp_path / "program.toml")).stdout
    assert "+ coupon_template" in applied and "+ points_rule" in applied and "~ tiers" in applied
    assert _cli(empty, "program", "export").stdout == exported
    again = _cli(empty, "program", "apply", str(tmp_path / "program.toml")).stdout
    assert "nothing to change" in again

    changed = exported.replace("min_redeem_points = 200", "min_redeem_points = 300")
    (tmp_path / "changed.toml").write_text(changed, encoding="utf-8")
    preview = _cli(empty, "program", "apply", str(tmp_path / "changed.toml"), "--dry-run").stdout
    assert "settings.min_redeem_points: 200 → 300" in preview
    assert "min_redeem_points = 200" in _cli(empty, "program", "export").stdout  # the dry run changed nothing
    broken = _cli(empty, "program", "apply", str(tmp_path / "missing.toml"), ok=False)
    assert broken.returncode != 0 and "Traceback" not in broken.stderr


async def test_the_api_takes_the_same_document_and_leaves_out_is_retired(any_api):
    api = any_api
    program = api.shop.program.id
    rule = {"code": "base", "kind": "base_rate", "name": "每元 2 分", "params": {"points": 2, "per_amount": 100}}
    assert (await api.call("POST", f"/programs/{program}/points-rules", "admin", rule)).status_code == 201
    answer = await api.call("GET", f"/programs/{program}/document", "admin")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert [r["code"] for r in document["points_rules"]] == ["base"]
    assert to_toml(document) == to_toml(from_toml(to_toml(document)))  # TOML keeps every value

    document["points_rules"] = [
        {**rule, "code": "double", "name": "每元 4 分", "params": {"points": 4, "per_amount": 100}}
    ]
    document["settings"]["backdate_days"] = 1
    dry = await api.call("POST", "/programs/apply", "admin", document, params={"dry_run": "true"})
    assert dry.status_code == 200 and dry.json()["dry_run"], dry.text
    assert sorted(dry.json()["changes"]) == sorted(
        ["~ settings.backdate_days: 3 → 1", "+ points_rule double", "- points_rule base (retired)"]
    )
    assert [r["code"] for r in await fetch("SELECT code FROM points_rule WHERE active = {}", True)] == ["base"]
    done = await api.call("POST", "/programs/apply", "admin", document)
    assert done.status_code == 200 and len(done.json()["changes"]) == 3
    assert (await api.call("POST", "/programs/apply", "admin", document)).json()["changes"] == []
    exported = await export_document(program)
    assert [r["code"] for r in exported["points_rules"]] == ["double"] and exported["settings"]["backdate_days"] == 1

    other = {**document, "program": {"name": "别家", "merchant": "另一家商户"}}
    assert (await api.call("POST", "/programs/apply", "admin", other)).status_code == 404
    bad = {**document, "settings": {"points_rounding": "sideways"}}
    refused = await api.call("POST", "/programs/apply", "admin", bad)
    assert refused.status_code == 422 and "points_rounding" in refused.text
    assert (await apply_document(document)).changes == []  # the refused one changed nothing
