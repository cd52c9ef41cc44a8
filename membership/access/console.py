"""Console page for API keys (POS terminals and integrations): list, create (the secret is shown
once), revoke. Only the merchant's own keys are listed or revocable here."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from membership.access import service
from membership.access.service import Scope
from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import store_from_form
from membership.errors import MembershipError, ValidationError
from membership.org.service import list_stores
from membership.staff.roles import Permission

KEYS = {"permission": Permission.MANAGE_API_KEYS}


@dataclasses.dataclass
class KeyForm:
    """A new key: a name for the till or system, its scopes, an optional store, a rate limit."""

    name: str = ""
    read: str = ""
    pos: str = ""
    admin: str = ""
    store: str = ""
    rate_limit: str = "100"

    def scopes(self) -> list[str]:
        """The ticked scopes."""
        return [scope.value for scope in Scope if getattr(self, scope.value)]


async def _keys_page(request: Request, form: KeyForm, status: int = 200, secret: str = "", **context: Any) -> Template:
    staff = current_staff(request)
    return forms.page(
        request,
        "access/keys.html",
        "keys",
        status,
        keys=await service.list_api_keys(staff.merchant_id),
        stores=await list_stores(staff.merchant_id),
        form=form,
        secret=secret,
        **context,
    )


@get("/api-keys", opt=KEYS)
async def keys_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The merchant's keys and a form to create one."""
    notice = i18n.gettext("Key revoked.") if done == "revoked" else ""
    return await _keys_page(request, KeyForm(pos="1"), notice=notice)


@post("/api-keys", opt=KEYS, status_code=200)
async def create_key(
    request: Request, data: Annotated[KeyForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Create a key bound to the merchant (or one store) and show its secret, this once."""
    staff = current_staff(request)
    try:
        if not data.rate_limit.strip().isdigit():
            raise ValidationError(field="rate_limit", reason=i18n.gettext("a whole number of requests per second"))
        if not data.scopes():
            raise ValidationError(field="scopes", reason=i18n.gettext("tick at least one of the scopes"))
        created = await service.create_api_key(
            data.name,
            data.scopes(),
            merchant_id=staff.merchant_id,
            store_id=store_from_form(data.store),
            rate_limit=int(data.rate_limit),
            actor=staff.actor,
        )
    except MembershipError as exc:
        return await _keys_page(request, data, 422, error=forms.error_text(exc))
    notice = i18n.gettext("Key created. Copy the secret now: it is not shown again.")
    return await _keys_page(request, KeyForm(pos="1"), secret=created.secret, notice=notice)


@post("/api-keys/{prefix:str}/revoke", opt=KEYS, status_code=303)
async def revoke_key(
    request: Request,
    prefix: FromPath[str],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Revoke one of the merchant's keys once confirmed; terminals using it are refused within
    seconds."""
    staff = current_staff(request)
    if not data.confirmed:
        return await _keys_page(request, KeyForm(pos="1"), 422, error=forms.not_confirmed())
    try:
        await service.revoke_api_key(prefix, staff.merchant_id, staff.actor)
    except MembershipError as exc:
        return await _keys_page(request, KeyForm(pos="1"), 422, error=forms.error_text(exc))
    return forms.done("/console/api-keys", "revoked")


ROUTES = [keys_page, create_key, revoke_key]
