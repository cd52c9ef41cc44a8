"""Console pages to import members from a file and to download exports (导入导出).

Import: upload a CSV or Excel file; the preview shows the first rows, which field each column
was detected as (editable) and what would happen to each row; confirm, and the import runs in
the server (in chunks, as ``membership import members`` does) while the page shows its progress;
at the end the page gives the counts and the error file to download. Owners and managers only
(an import sets opening balances, as a points adjustment does).

Export: members, ledger entries and sales as CSV or Excel. Personal data is masked unless the
staff member's role may reveal it (:data:`Permission.REVEAL_PERSONAL_DATA`) and they ask for it;
every download is written to the audit log.

An upload is kept in the deployment's folder (``imports/<token>/``, readable by the server's
user only) with a small status file the progress page reads, so any worker process can answer
it; it is removed a day later.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import File, Redirect, Stream, Template

from membership.console import i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.db.engine import current_settings
from membership.errors import MembershipError, Reason, ValidationError
from membership.org.service import list_stores
from membership.staff.roles import Permission
from membership.staff.service import StaffInfo
from membership.transfer import columns as cols
from membership.transfer import exporting, importing
from membership.transfer.errors import ImportNotFound
from membership.transfer.sheets import FORMATS, file_format

log = logging.getLogger(__name__)
IMPORT = {"permission": Permission.ADJUST_POINTS}
EXPORT = {"permission": Permission.VIEW_DASHBOARD}
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # about 3 million members in a CSV
KEPT_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
_running: set[asyncio.Task[None]] = set()


def _imports_folder() -> Path:
    folder = current_settings().base_dir / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _folder(token: str) -> Path:
    if not _TOKEN.match(token):
        raise ImportNotFound(token=token[:40])
    return _imports_folder() / token


def _read_state(token: str) -> dict[str, Any]:
    try:
        return json.loads((_folder(token) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ImportNotFound(token=token) from None


def _write_state(token: str, state: dict[str, Any]) -> None:
    """Replace the status file at once (a reader never sees half of it)."""
    folder = _folder(token)
    fd, temporary = tempfile.mkstemp(dir=folder, suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False, default=str)
    os.replace(temporary, folder / "state.json")


def _owned_state(token: str, staff: StaffInfo) -> dict[str, Any]:
    """The upload's status, when the staff member's merchant made it."""
    state = _read_state(token)
    if state.get("merchant_id") != str(staff.merchant_id):
        raise ImportNotFound(token=token)
    return state


def _forget_old_uploads() -> None:
    """Remove uploads (and their error files) older than a day."""
    cutoff = time.time() - KEPT_SECONDS
    for folder in _imports_folder().iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


# -- import ---------------------------------------------------------------------------------------


@get("/members/import", opt=IMPORT)
async def import_page(request: Request) -> Template:
    """The upload form (导入会员), with the headers the importer recognises."""
    return _upload_page(request, "")


def _upload_page(request: Request, error: str, status: int = 200) -> Template:
    context = {
        "staff": current_staff(request),
        "active": "members",
        "error": error,
        "fields": cols.FIELDS,
        "zh": i18n.current_language() == "zh_CN",
    }
    return Template("transfer/upload.html", context=context, status_code=status, media_type=MediaType.HTML)


@dataclasses.dataclass
class UploadForm:
    """The member file."""

    file: UploadFile | None = None


@post("/members/import", opt=IMPORT, status_code=303, request_max_body_size=MAX_UPLOAD_BYTES)
async def upload(request: Request, data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Any:
    """Keep the uploaded file and show its preview."""
    staff = current_staff(request)
    program = await staff_program(staff)
    if data.file is None or not data.file.filename:
        return _upload_page(request, i18n.gettext("Choose a CSV or Excel file."), 422)
    try:
        fmt = file_format(Path(data.file.filename))
    except MembershipError as exc:
        return _upload_page(request, exc.detail(i18n.current_language()), 422)
    token = secrets.token_urlsafe(16)
    await asyncio.to_thread(_keep_upload, token, fmt, data.file.file)
    await data.file.close()
    _write_state(
        token,
        {
            "token": token,
            "merchant_id": str(staff.merchant_id),
            "program_id": str(program.id),
            "staff": staff.username,
            "file": Path(data.file.filename).name,
            "format": fmt,
            "status": "uploaded",
            "store_id": str(staff.store_id) if staff.store_id else "",
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    return Redirect(f"/console/members/import/{token}", status_code=303)


def _keep_upload(token: str, fmt: str, source: Any) -> None:
    """Copy the uploaded file into a folder of its own, readable by the server's user only (and
    remove uploads older than a day)."""
    _forget_old_uploads()
    folder = _folder(token)
    folder.mkdir(mode=0o700)
    source.seek(0)
    with os.fdopen(os.open(folder / f"upload.{fmt}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def _upload_file(token: str, state: dict[str, Any]) -> Path:
    return _folder(token) / f"upload.{state['format']}"


async def _preview_page(
    request: Request, token: str, state: dict[str, Any], columns: dict[int, str] | None, status: int = 200
) -> Template:
    staff = current_staff(request)
    language = "zh" if i18n.current_language() == "zh_CN" else "en"
    try:
        found = await importing.preview(
            _upload_file(token, state), uuid.UUID(state["program_id"]), columns, language=language
        )
    except MembershipError as exc:
        return _upload_page(request, exc.detail(language), 422)
    samples = {
        index: [cells[index] if index < len(cells) else "" for _, cells, _ in found.rows[:3]]
        for index in range(len(found.headers))
    }
    context = {
        "staff": staff,
        "active": "members",
        "token": token,
        "state": state,
        "preview": found,
        "samples": samples,
        "fields": cols.FIELDS,
        "zh": language == "zh",
        "stores": await list_stores(staff.merchant_id),
        "ignore": cols.IGNORE,
    }
    return Template("transfer/preview.html", context=context, status_code=status, media_type=MediaType.HTML)


@get("/members/import/{token:str}", opt=IMPORT)
async def import_status_page(request: Request, token: FromPath[str]) -> Template:
    """The preview of an upload (columns and first rows), or the progress of its import and,
    once done, its counts and the error file."""
    state = _owned_state(token, current_staff(request))
    if state["status"] == "uploaded":
        columns = {int(i): k for i, k in state["mapping"].items()} if state.get("mapping") else None
        return await _preview_page(request, token, state, columns)
    return Template("transfer/progress.html", context=_progress_context(request, token, state))


def _progress_context(request: Request, token: str, state: dict[str, Any]) -> dict[str, Any]:
    if state["status"] == "running" and state.get("heartbeat", 0) < time.time() - 120:
        state = {**state, "status": "interrupted"}  # the server that ran it stopped
    return {"staff": current_staff(request), "active": "members", "token": token, "state": state}


@get("/members/import/{token:str}/status", opt=IMPORT)
async def import_progress(request: Request, token: FromPath[str]) -> Template:
    """The progress fragment the page polls while the import runs."""
    state = _owned_state(token, current_staff(request))
    return Template("transfer/progress_part.html", context=_progress_context(request, token, state))


@post("/members/import/{token:str}", opt=IMPORT, status_code=200)
async def confirm_import(request: Request, token: FromPath[str]) -> Any:
    """Preview again with the columns as chosen, or start the import with them."""
    staff = current_staff(request)
    state = _owned_state(token, staff)
    if state["status"] != "uploaded":
        return Redirect(f"/console/members/import/{token}", status_code=303)
    form = await request.form()
    columns: dict[int, str] = {}
    for name, value in form.items():
        if name.startswith("col_") and name[4:].isdigit() and isinstance(value, str):
            if value != cols.IGNORE and value not in cols.BY_KEY:
                raise ValidationError(field=name, reason=Reason("unknown field", "未知字段"))
            columns[int(name[4:])] = value
    store = form.get("store_id") or ""
    if store and store not in {str(s["id"]) for s in await list_stores(staff.merchant_id)}:
        raise ValidationError(field="store_id", reason=Reason("not a store of this merchant", "不是本商户的门店"))
    state = {**state, "mapping": {str(i): k for i, k in columns.items()}, "store_id": store}
    if form.get("action") != "start":
        _write_state(token, state)
        return await _preview_page(request, token, state, columns)
    mapping = {i: k for i, k in columns.items() if k != cols.IGNORE}
    headers = importing.read_headers(_upload_file(token, state))
    try:
        cols.check(headers, mapping)
    except MembershipError:
        return await _preview_page(request, token, state, columns, status=422)
    state.update(status="running", done=0, total=None, heartbeat=time.time(), started_by=staff.actor)
    _write_state(token, state)
    task = asyncio.create_task(_run_import(token, state, mapping, staff.actor))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return Redirect(f"/console/members/import/{token}", status_code=303)


async def _run_import(token: str, state: dict[str, Any], mapping: dict[int, str], actor: str) -> None:
    """Run the import in this server, writing its progress to the status file as it goes."""
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.time()
        if now - last[0] >= 0.5:
            last[0] = now
            state.update(done=done, total=total, heartbeat=now)
            _write_state(token, state)

    folder = _folder(token)
    try:
        summary = await importing.import_members(
            _upload_file(token, state),
            uuid.UUID(state["program_id"]),
            columns=mapping,
            errors_to=folder / "errors.csv",
            store_id=uuid.UUID(state["store_id"]) if state.get("store_id") else None,
            actor=actor,
            progress=progress,
            chunk_size=None,  # paced as the jobs are: the tills keep their turn
        )
    except MembershipError as exc:
        state.update(status="failed", error_zh=exc.detail("zh"), error_en=exc.detail("en"))
    except Exception as exc:  # reported on the page; the rows already imported stay (a re-run skips them)
        log.exception("import %s failed", token)
        state.update(status="failed", error_zh=f"{type(exc).__name__}", error_en=f"{type(exc).__name__}")
    else:
        found = summary.as_dict()
        found["error_file"] = bool(summary.error_file and summary.left_out)
        state.update(status="done", summary=found, done=summary.rows, total=summary.rows)
    state["heartbeat"] = time.time()
    _write_state(token, state)


@get("/members/import/{token:str}/errors", opt=IMPORT)
async def error_file(request: Request, token: FromPath[str]) -> File:
    """The rows the import left out, with the row number and why (Chinese and English)."""
    state = _owned_state(token, current_staff(request))
    path = _folder(token) / "errors.csv"
    if not path.exists():
        raise ImportNotFound(token=token)
    stem = Path(state["file"]).stem
    return File(path=path, filename=f"{stem}.errors.csv", media_type="text/csv; charset=utf-8")


# -- export ---------------------------------------------------------------------------------------


@get("/members/export", opt=EXPORT)
async def export_page(request: Request) -> Template:
    """The downloads (导出): members, ledger entries, sales; CSV or Excel."""
    staff = current_staff(request)
    context = {
        "staff": staff,
        "active": "members",
        "kinds": exporting.KINDS,
        "formats": FORMATS,
        "may_reveal": staff.can(Permission.REVEAL_PERSONAL_DATA),
    }
    return Template("transfer/export.html", context=context)


@dataclasses.dataclass
class ExportForm:
    """What to download: format, header style, reveal (roles that may), days."""

    format: str = "csv"
    header: str = "zh-en"
    reveal: str = ""
    since: str = ""
    until: str = ""


def _day(field: str, text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text.strip() else None
    except ValueError:
        raise ValidationError(
            field=field, reason=Reason("write it as 2026-01-31", "请写成 2026-01-31 的格式")
        ) from None


@post("/members/export/{kind:str}", opt=EXPORT, status_code=200)
async def download(
    request: Request,
    kind: FromPath[str],
    data: Annotated[ExportForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """The file, masked unless the role may reveal personal data and asked to; audited."""
    staff = current_staff(request)
    program = await staff_program(staff)
    exporting.check_request(kind, data.format, data.header)
    reveal = bool(data.reveal) and staff.can(Permission.REVEAL_PERSONAL_DATA)
    since, until = _day("since", data.since), _day("until", data.until)
    stamp = dt.datetime.now(program.zone).strftime("%Y%m%d-%H%M")
    filename = f"{kind}-{stamp}.{data.format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    if data.format == "csv":
        stream = await exporting.csv_stream(
            kind, program.id, header=data.header, reveal=reveal, actor=staff.actor, since=since, until=until
        )
        return Stream(stream, media_type="text/csv; charset=utf-8", headers=headers)
    fd, name = tempfile.mkstemp(suffix=".xlsx", dir=_imports_folder())
    os.close(fd)
    path = Path(name)
    try:
        await exporting.export(
            kind,
            program.id,
            path,
            fmt="xlsx",
            header=data.header,
            reveal=reveal,
            actor=staff.actor,
            since=since,
            until=until,
        )
    except BaseException:
        os.unlink(path)
        raise
    return File(
        path=path,
        filename=filename,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


ROUTES = [import_page, upload, import_status_page, import_progress, confirm_import, error_file, export_page, download]
