"""The secret key: the database knows its fingerprint and refuses a missing or different key at
start; `membership keys rotate` moves personal data to a new key, resumably, with the old key
working until it ends; erasure deletes the member's own data key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib

import pytest

from membership.config import Settings, new_secret_key
from membership.db import close_database, fetch, fetch_one, open_database
from membership.db.engine import current_settings
from membership.db.throwaway import free_port
from membership.errors import DuplicateMember, NotConfigured, WrongSecretKey
from membership.members import personal_data as pd
from membership.members import rights
from membership.members import service as members
from membership.members.keyring import check_keys, known_keys
from membership.members.rotation import _move_chunk, begin_rotation, rotate
from tests.conftest import SECRET, _run_sync
from tests.helpers import make_shop

OTHER = new_secret_key()


async def _reopen(secret: str | None, *old: str) -> None:
    url = current_settings().database_url
    await close_database()
    await open_database(Settings(database_url=url, secret_key=secret, old_secret_keys=old))


def _quiet(done: int, total: int) -> None:
    pass


async def test_the_first_start_records_the_key_and_another_key_is_refused(any_db):
    shop = await make_shop()
    await check_keys()
    assert [k["fingerprint"] for k in await known_keys()] == [pd.fingerprint(current_settings().master_key())]
    await check_keys()  # the same key again: fine

    await _reopen(OTHER)
    with pytest.raises(WrongSecretKey) as wrong:
        await check_keys()
    assert pd.fingerprint(current_settings().master_key()) in wrong.value.detail("en")
    assert "密钥与数据库不符" in wrong.value.detail("zh")
    await _reopen(None)
    with pytest.raises(NotConfigured):
        await check_keys()
    await _reopen(SECRET)
    assert await members.identify(shop.program.id, "phone", "13812345678") == shop.member_id


async def test_a_database_from_before_fingerprints_is_adopted_only_by_the_key_that_opens_it(db):
    await make_shop()  # personal data sealed, no fingerprint recorded yet
    await _reopen(OTHER)
    with pytest.raises(WrongSecretKey):
        await check_keys()
    assert await known_keys() == []
    await _reopen(SECRET)
    await check_keys()
    assert len(await known_keys()) == 1


def test_a_server_with_the_wrong_key_does_not_start(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "membership.db")
    url = f"sqlite:///{tmp_path / 'membership.db'}"

    async def first_start() -> None:  # records the database's key, as the first server does
        await open_database(Settings(database_url=url, secret_key=SECRET))
        await check_keys()
        await close_database()

    _run_sync(first_start())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env |= {"MEMBERSHIP_DATABASE_URL": url, "MEMBERSHIP_SCHEDULER": "false"}
    command = [sys.executable, "-m", "uvicorn", "membership.app:create_app", "--factory", "--port"]

    def start(secret: str | None) -> subprocess.CompletedProcess:
        run_env = env | ({"MEMBERSHIP_SECRET_KEY": secret} if secret else {})
        try:
            return subprocess.run(
                [*command, str(free_port())], env=run_env, cwd=tmp_path, capture_output=True, text=True, timeout=30
            )
        except subprocess.TimeoutExpired as running:
            raise AssertionError(f"the server kept running: {running.stderr}") from None

    wrong = start(OTHER)
    assert wrong.returncode != 0
    assert "密钥与数据库不符" in wrong.stderr and "Traceback" not in wrong.stderr, wrong.stderr
    missing = start(None)
    assert missing.returncode != 0 and "secret_key" in missing.stderr


async def test_rotation_moves_every_member_and_both_keys_work_meanwhile(any_db):
    shop = await make_shop()
    await members.issue_credential(shop.member_id, "card_uid", "04A1B2C3")
    second = await members.enrol(shop.program.id, {"name": "李娜", "phone": "13912345678", "email": "li@example.com"})
    await members.issue_credential(second.id, "card_uid", "04D4E5F6")
    await check_keys()
    old_fp = pd.fingerprint(current_settings().master_key())

    await _reopen(OTHER, SECRET)  # the new key first, the old one still configured
    state = await begin_rotation()
    assert state.retiring == [old_fp] and state.remaining == 2
    await check_keys()
    assert await _move_chunk(state.current, 1, shop.program.id) == 1  # one member moved, one not yet
    for card, member in (("04A1B2C3", shop.member_id), ("04D4E5F6", second.id)):
        assert await members.identify(shop.program.id, "card_uid", card) == member
    for phone, member in (("13812345678", shop.member_id), ("13912345678", second.id)):
        assert await members.identify(shop.program.id, "phone", phone) == member
        with pytest.raises(DuplicateMember):  # a member under either key is found
            await members.enrol(shop.program.id, {"name": "重复", "phone": phone})
    await _reopen(OTHER)
    with pytest.raises(WrongSecretKey):  # mid-rotation the old key must still be configured
        await check_keys()

    await _reopen(OTHER, SECRET)
    done = await rotate(_quiet, chunk=1)
    assert (done.retiring, done.remaining) == ([], 0)
    await _reopen(OTHER)  # the old key may now be forgotten
    await check_keys()
    view = await members.get_member(second.id, reveal=True)
    assert (view.phone, view.email) == ("+8613912345678", "li@example.com")
    assert await members.identify(shop.program.id, "card_uid", "04D4E5F6") == second.id
    keys = {k["fingerprint"]: k["state"] for k in await known_keys()}
    assert keys == {old_fp: "retired", pd.fingerprint(current_settings().master_key()): "current"}
    await _reopen(SECRET)
    with pytest.raises(WrongSecretKey):
        await check_keys()


async def test_rotation_reseals_data_from_before_member_data_keys(db):
    shop = await make_shop()
    legacy = pd.vault()
    await fetch(  # a member as sealed before data keys: master-derived ciphertext, no data key
        "UPDATE member SET phone_enc = {}, data_key = NULL, key_fp = NULL WHERE id = {}",
        legacy.encrypt("phone", "+8613812345678"),
        shop.member_id,
    )
    assert (await members.get_member(shop.member_id, reveal=True)).phone == "+8613812345678"
    await check_keys()
    await _reopen(OTHER, SECRET)
    await rotate(_quiet)
    row = await fetch_one("SELECT phone_enc, data_key, key_fp FROM member WHERE id = {}", shop.member_id)
    assert row["phone_enc"].startswith("d1.") and row["data_key"] and row["key_fp"] == pd.vault().fingerprint
    await _reopen(OTHER)
    assert (await members.get_member(shop.member_id, reveal=True)).phone == "+8613812345678"


async def test_a_change_to_a_member_from_before_data_keys_gives_it_one(db):
    shop = await make_shop()
    legacy = pd.vault()
    await fetch(
        "UPDATE member SET phone_enc = {}, data_key = NULL, key_fp = NULL WHERE id = {}",
        legacy.encrypt("phone", "+8613812345678"),
        shop.member_id,
    )
    await members.update_profile(shop.member_id, {"name": "王五"}, actor="test")
    row = await fetch_one("SELECT phone_enc, data_key, name FROM member WHERE id = {}", shop.member_id)
    assert row["phone_enc"].startswith("d1.") and row["data_key"].startswith("k1.") and row["name"] == "王五"
    assert (await members.get_member(shop.member_id, reveal=True)).phone == "+8613812345678"


async def test_erasure_deletes_the_members_data_key(db):
    shop = await make_shop()
    before = await fetch_one("SELECT phone_enc, data_key FROM member WHERE id = {}", shop.member_id)
    assert before["phone_enc"].startswith("d1.") and before["data_key"].startswith("k1.")
    await rights.erase_member(shop.member_id, actor="test", reason="本人申请")
    after = await fetch_one("SELECT phone_enc, data_key, key_fp FROM member WHERE id = {}", shop.member_id)
    assert after["phone_enc"] is None and after["data_key"] is None
    # a copy of the old ciphertext (a free page, an old export) no longer opens: its key is gone
    cipher = pd.member_cipher({"id": shop.member_id, "data_key": None, "key_fp": after["key_fp"]})
    with pytest.raises(NotConfigured):
        cipher.open("phone", before["phone_enc"])
    rows = await fetch("SELECT value_hash, value_enc FROM credential WHERE member_id = {}", shop.member_id)
    assert all(not row["value_hash"] and not row["value_enc"] for row in rows)


def _cli(folder, *args, ok=True, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")} | env_extra
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


def test_keys_rotate_from_the_command_line_and_resume(tmp_path):
    _cli(tmp_path, "init")
    _cli(tmp_path, "demo", "--members", "20", "--purchases", "10")
    config = tmp_path / "membership.toml"
    old = tomllib.loads(config.read_text())["membership"]["secret_key"]
    assert "current" in _cli(tmp_path, "keys", "status").stdout
    new = new_secret_key()
    config.write_text(  # as `keys rotate` leaves the file when it is stopped after its first chunk
        config.read_text().replace(f'secret_key = "{old}"', f'secret_key = "{new}"\nold_secret_keys = ["{old}"]')
    )
    url = f"sqlite:///{tmp_path / 'membership.db'}"

    async def interrupted() -> None:
        await open_database(Settings(database_url=url, secret_key=new, old_secret_keys=(old,)))
        state = await begin_rotation()
        (program,) = await fetch("SELECT id FROM program")
        assert await _move_chunk(state.current, 5, program["id"]) == 5
        await close_database()

    _run_sync(interrupted())
    assert "15 members left" in _cli(tmp_path, "keys", "status").stdout

    rotated = _cli(tmp_path, "keys", "rotate", "--chunk", "10")
    assert "done" in rotated.stdout
    settings = tomllib.loads(config.read_text())["membership"]
    assert settings["secret_key"] == new and "old_secret_keys" not in settings
    status = _cli(tmp_path, "keys", "status").stdout
    assert "retired" in status and "current" in status and "left" not in status
    _cli(tmp_path, "api-key", "list")  # the new key alone opens it
    wrong = _cli(tmp_path, "api-key", "list", ok=False, MEMBERSHIP_SECRET_KEY=old)
    assert wrong.returncode == 1 and "wrong_secret_key" in wrong.stderr and "Traceback" not in wrong.stderr

    again = _cli(tmp_path, "keys", "rotate")  # a second rotation, from the start, in one go
    assert tomllib.loads(config.read_text())["membership"]["secret_key"] not in (old, new)
    assert "done" in again.stdout
