"""The console's message pages on SQLite and PostgreSQL: channels set up from forms generated from
their settings structs (secrets never shown or sent back, kept when left empty), a test message,
the delivery rules, message templates with a live preview in the sandbox and errors beside the
text at fault, the pages in English, and clerks kept out."""

from __future__ import annotations

from membership.db import fetch
from membership.notifications import config as channel_config
from membership.notifications import templates as message_templates
from membership.notifications.policy import policy_of
from membership.org.service import get_program
from tests.console_client import csrf_of, text_of

SMTP = {"s-host": "smtp.example.com", "s-port": "465", "s-security": "tls", "s-username": "crm"}
SMTP |= {"s-password": "app-secret-1", "s-sender": "crm@example.com", "s-sender_name": "会员中心", "enabled": "1"}


async def test_channels_are_set_up_from_forms_with_secrets_kept_sealed(any_console):
    shop = any_console.shop
    async with any_console.logged_in("manager") as client:
        page = await client.get("/console/channels")
        assert page.status_code == 200 and 'data-channel="email"' in page.text and 'data-channel="inbox"' in page.text
        assert "邮件服务器" in text_of(page.text) and "免打扰开始" in text_of(page.text)

        saved = await client.post("/console/channels/email", data={**SMTP, "_csrf_token": csrf_of(client)})
        assert saved.status_code == 303 and saved.headers["location"] == "/console/channels?done=channel"
        stored = await channel_config.channel_settings(shop.program.id, "email", reveal=True)
        assert stored.settings["password"] == "app-secret-1" and stored.settings["port"] == 465
        shown = await client.get(saved.headers["location"])
        assert "渠道已保存" in text_of(shown.text) and "app-secret-1" not in shown.text
        assert 'type="password" name="s-password" value=""' in shown.text

        kept = {**SMTP, "s-password": "", "s-sender_name": "会员服务", "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/channels/email", data=kept)).status_code == 303
        stored = await channel_config.channel_settings(shop.program.id, "email", reveal=True)
        assert stored.settings["password"] == "app-secret-1" and stored.settings["sender_name"] == "会员服务"

        bad = {**SMTP, "s-port": "八百", "s-password": "new-secret", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/channels/email", data=bad)
        assert refused.status_code == 422 and 'value="八百"' in refused.text and "new-secret" not in refused.text
        assert '<div class="setting field has-error" data-field="port">' in refused.text
        bad = {**SMTP, "s-sender": "nobody", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/channels/email", data=bad)
        assert refused.status_code == 422 and "发件地址" in text_of(refused.text)
        stored = await channel_config.channel_settings(shop.program.id, "email", reveal=True)
        assert stored.settings["sender"] == "crm@example.com"  # nothing changed

        inbox = await client.post("/console/channels/inbox", data={"enabled": "1", "_csrf_token": csrf_of(client)})
        assert inbox.status_code == 303
        test = await client.post(
            "/console/channels/inbox/test", data={"to": str(shop.member_id), "_csrf_token": csrf_of(client)}
        )
        assert test.status_code == 200 and "已发送" in text_of(test.text)
        kept_messages = await fetch("SELECT subject FROM inbox_message WHERE member_id = {}", shop.member_id)
        assert [row["subject"] for row in kept_messages] == ["测试消息"]
        nowhere = await client.post("/console/channels/inbox/test", data={"to": "", "_csrf_token": csrf_of(client)})
        assert nowhere.status_code == 422 and "请填写测试消息的接收地址" in text_of(nowhere.text)

        policy = {"p-quiet_start": "22:00", "p-quiet_end": "07:30", "p-marketing_per_day": "1"}
        policy |= {"p-marketing_per_week": "3", "p-public_url": "https://crm.example.com"}
        done = await client.post("/console/channels/policy", data={**policy, "_csrf_token": csrf_of(client)})
        assert done.status_code == 303, text_of(done.text)
        stored_policy = policy_of(await get_program(shop.program.id))
        assert (stored_policy.quiet_start, stored_policy.marketing_per_week) == ("22:00", 3)
        assert stored_policy.public_url == "https://crm.example.com"
        wrong = await client.post(
            "/console/channels/policy", data={**policy, "p-quiet_start": "25:00", "_csrf_token": csrf_of(client)}
        )
        assert wrong.status_code == 422 and "免打扰开始" in text_of(wrong.text) and 'value="25:00"' in wrong.text
        assert audit_actions(await fetch("SELECT action FROM audit_log")) >= {"channel.configure", "program.settings"}
    async with any_console.logged_in("clerk") as client:
        assert (await client.get("/console/channels")).status_code == 403
        assert (
            await client.post("/console/channels/email", data={**SMTP, "_csrf_token": csrf_of(client)})
        ).status_code == 403


def audit_actions(rows) -> set[str]:
    return {row["action"] for row in rows}


async def test_message_templates_are_written_with_a_live_preview_and_errors_beside_the_text(any_console):
    shop = any_console.shop
    form = {"new": "1", "code": "expiring", "name": "积分到期", "purpose": "service", "subject_zh": "积分提醒"}
    form |= {"body_zh": "{{ member.name }}，您有 {{ points }} 积分将于 {{ expires_on }} 到期。"}
    form |= {"subject_en": "Points", "body_en": "{{ member.name }}, {{ points }} points expire."}
    async with any_console.logged_in("owner") as client:
        listed = await client.get("/console/message-templates")
        assert listed.status_code == 200 and "还没有消息模板" in text_of(listed.text)
        assert (await client.get("/console/message-templates/new")).status_code == 200

        preview = await client.post("/console/message-templates/preview", data={**form, "_csrf_token": csrf_of(client)})
        assert "王小明，您有 1200 积分将于 2026-12-31 到期。" in text_of(preview.text)
        assert "王小明, 1200 points expire." in text_of(preview.text)
        unknown = {**form, "body_zh": "{{ member.name }}，{{ balance }}"}
        preview = await client.post(
            "/console/message-templates/preview", data={**unknown, "_csrf_token": csrf_of(client)}
        )
        assert "中文正文" in text_of(preview.text) and "缺少变量" in text_of(preview.text) and "balance" in preview.text
        unsafe = {**form, "body_zh": "{{ member.__class__.__mro__ }}"}
        preview = await client.post(
            "/console/message-templates/preview", data={**unsafe, "_csrf_token": csrf_of(client)}
        )
        assert 'role="alert"' in preview.text and "object" not in text_of(preview.text).split("中文正文")[0]

        broken = {**form, "body_zh": "{{ member.name", "_csrf_token": csrf_of(client)}
        refused = await client.post("/console/message-templates", data=broken)
        assert refused.status_code == 422 and 'data-error="body_zh"' in refused.text
        assert "中文正文" in text_of(refused.text) and "第 1 行" in text_of(refused.text)
        saved = await client.post("/console/message-templates", data={**form, "_csrf_token": csrf_of(client)})
        assert saved.status_code == 303 and saved.headers["location"] == "/console/message-templates?done=saved"
        row = await message_templates.template_row(shop.program.id, "expiring")
        assert row["name"] == "积分到期" and row["purpose"] == "service"
        listed = await client.get(saved.headers["location"])
        assert "消息模板已保存" in text_of(listed.text) and 'data-template="expiring"' in listed.text

        terms = message_templates.terms_of(row)
        providers = {"webhook": message_templates.ProviderTemplate(template="T-1", params={"n": "{{ points }}"})}
        with_provider = message_templates.TemplateTerms(
            **{**{k: getattr(terms, k) for k in terms.__struct_fields__}, "providers": providers}
        )
        await message_templates.save_template(shop.program.id, "expiring", with_provider, "test", new=False)
        edit = await client.get("/console/message-templates/expiring")
        assert 'name="new" value="0"' in edit.text and "T-1" in edit.text
        changed = {**form, "new": "0", "purpose": "marketing", "_csrf_token": csrf_of(client)}
        assert (await client.post("/console/message-templates", data=changed)).status_code == 303
        kept = message_templates.terms_of(await message_templates.template_row(shop.program.id, "expiring"))
        assert kept.purpose == "marketing" and kept.providers["webhook"].template == "T-1"

        await client.post("/console/language", data={"language": "en", "next": "/", "_csrf_token": csrf_of(client)})
        english = await client.get("/console/message-templates/expiring")
        assert "Chinese text" in text_of(english.text) and "Preview" in text_of(english.text)
        assert "Delivery rules" in text_of((await client.get("/console/channels")).text)
    async with any_console.logged_in("clerk") as client:
        assert (await client.get("/console/message-templates")).status_code == 403
