"""Roles and what each may do: the console's permission matrix, in one place.

Every console route names the :class:`Permission` it needs; the guard checks it against
:data:`MATRIX` on the server, and the help page renders the same table.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A staff member's role (岗位)."""

    OWNER = "owner"  # 老板: everything, incl. staff, API keys, settings, exports
    MANAGER = "manager"  # 店长: members, points, configuration of the program
    CLERK = "clerk"  # 收银员: the counter: identify, enrol, sell, redeem, top up
    ANALYST = "analyst"  # 分析师: dashboard and reports, members masked


ROLE_NAMES = {
    Role.OWNER: ("老板", "Owner"),
    Role.MANAGER: ("店长", "Manager"),
    Role.CLERK: ("收银员", "Clerk"),
    Role.ANALYST: ("分析师", "Analyst"),
}


class Permission(StrEnum):
    """Something a console page or action does."""

    VIEW_DASHBOARD = "view_dashboard"
    VIEW_MEMBERS = "view_members"
    REVEAL_PERSONAL_DATA = "reveal_personal_data"
    ENROL_MEMBERS = "enrol_members"
    EDIT_MEMBERS = "edit_members"
    USE_COUNTER = "use_counter"
    APPROVE_AT_COUNTER = "approve_at_counter"
    ADJUST_POINTS = "adjust_points"
    MANAGE_CREDENTIALS = "manage_credentials"
    CONFIGURE_PROGRAM = "configure_program"
    MANAGE_STORES_AND_STAFF = "manage_stores_and_staff"
    MANAGE_API_KEYS = "manage_api_keys"
    VIEW_PLUGINS = "view_plugins"
    VIEW_AUDIT_LOG = "view_audit_log"
    HANDLE_DATA_RIGHTS = "handle_data_rights"


_ALL = frozenset(Role)
MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.VIEW_DASHBOARD: frozenset({Role.OWNER, Role.MANAGER, Role.ANALYST}),
    Permission.VIEW_MEMBERS: _ALL,
    Permission.REVEAL_PERSONAL_DATA: frozenset({Role.OWNER, Role.MANAGER}),
    Permission.ENROL_MEMBERS: frozenset({Role.OWNER, Role.MANAGER, Role.CLERK}),
    Permission.EDIT_MEMBERS: frozenset({Role.OWNER, Role.MANAGER, Role.CLERK}),
    Permission.USE_COUNTER: frozenset({Role.OWNER, Role.MANAGER, Role.CLERK}),
    Permission.APPROVE_AT_COUNTER: frozenset({Role.OWNER, Role.MANAGER}),
    Permission.ADJUST_POINTS: frozenset({Role.OWNER, Role.MANAGER}),
    Permission.MANAGE_CREDENTIALS: frozenset({Role.OWNER, Role.MANAGER, Role.CLERK}),
    Permission.CONFIGURE_PROGRAM: frozenset({Role.OWNER, Role.MANAGER}),
    Permission.MANAGE_STORES_AND_STAFF: frozenset({Role.OWNER}),
    Permission.MANAGE_API_KEYS: frozenset({Role.OWNER}),
    Permission.VIEW_PLUGINS: frozenset({Role.OWNER, Role.MANAGER}),
    Permission.VIEW_AUDIT_LOG: frozenset({Role.OWNER}),
    Permission.HANDLE_DATA_RIGHTS: frozenset({Role.OWNER}),
}

PERMISSION_NAMES = {
    Permission.VIEW_DASHBOARD: ("查看经营看板", "View the dashboard"),
    Permission.VIEW_MEMBERS: ("查询会员（个人信息脱敏）", "Find and view members (personal data masked)"),
    Permission.REVEAL_PERSONAL_DATA: ("查看完整个人信息（记入审计）", "Reveal personal data (audited)"),
    Permission.ENROL_MEMBERS: ("办理入会", "Enrol members"),
    Permission.EDIT_MEMBERS: (
        "修改会员资料、标签与备注（记入审计）",
        "Edit members' profiles, tags and notes (audited)",
    ),
    Permission.USE_COUNTER: (
        "前台收银：消费、积分兑换、充值、售付费会员，限额内收款、时限内作废",
        "Counter: sales, redemptions, top-ups, paid memberships; within the clerk's limit and void window",
    ),
    Permission.APPROVE_AT_COUNTER: (
        "不受收银员限额与作废时限约束，并可在收银台为收银员授权",
        "No clerk's limit or void window; approve a clerk's sale or void at the counter",
    ),
    Permission.ADJUST_POINTS: ("手工调整积分", "Adjust points by hand"),
    Permission.MANAGE_CREDENTIALS: ("发卡、补卡、挂失", "Issue, replace and block cards"),
    Permission.CONFIGURE_PROGRAM: ("配置会员方案、积分规则、等级、优惠券", "Configure programs, rules, tiers, coupons"),
    Permission.MANAGE_STORES_AND_STAFF: ("管理门店与员工", "Manage stores and staff"),
    Permission.MANAGE_API_KEYS: ("管理 API 密钥", "Manage API keys"),
    Permission.VIEW_PLUGINS: ("查看插件", "View plugins"),
    Permission.VIEW_AUDIT_LOG: ("查看审计日志", "View the audit log"),
    Permission.HANDLE_DATA_RIGHTS: (
        "处理个人信息请求：导出副本、注销会员（记入审计）",
        "Handle personal-data requests: export a copy, erase a member (audited)",
    ),
}


def allows(role: str, permission: Permission) -> bool:
    """True when ``role`` may do ``permission``."""
    return role in MATRIX[permission]
