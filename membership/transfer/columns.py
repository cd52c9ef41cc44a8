"""Which column of a member file holds what (列对应): detected from common Chinese and English
headers, and changed by hand (``--map "手机=phone,姓名=name"`` or the console's preview).

A header matches a field when the whole header, or one of its words, is one of the field's
names: ``手机``, ``手机号``, ``Phone``, ``手机 phone`` and ``手机 (phone)`` all find the phone, so
a file this program exported (Chinese and English in one header) is read back as it was written.
"""

from __future__ import annotations

import dataclasses
import re

from membership.errors import Reason
from membership.transfer.errors import ColumnMappingInvalid

IGNORE = "ignore"


@dataclasses.dataclass(frozen=True)
class Field:
    """Something a member file may hold: its key, its names in headers, and how people call it."""

    key: str
    zh: str
    en: str
    names: tuple[str, ...]


FIELDS: tuple[Field, ...] = (
    Field(
        "name", "姓名", "name", ("姓名", "名字", "会员姓名", "客户姓名", "顾客姓名", "name", "fullname", "membername")
    ),
    Field(
        "phone",
        "手机",
        "phone",
        ("手机", "手机号", "手机号码", "电话", "联系电话", "移动电话", "phone", "mobile", "cell", "tel", "telephone"),
    ),
    Field("gender", "性别", "gender", ("性别", "gender", "sex")),
    Field("birthday", "生日", "birthday", ("生日", "出生日期", "出生年月日", "birthday", "birthdate", "dob")),
    Field(
        "birthday_calendar",
        "历法",
        "birthday calendar",
        ("历法", "生日历法", "生日类型", "农历", "阴历", "calendar", "birthdaycalendar"),
    ),
    Field("tags", "标签", "tags", ("标签", "会员标签", "tags", "tag", "labels")),
    Field("card", "卡号", "card", ("卡号", "会员卡号", "卡号码", "实体卡号", "card", "cardno", "cardnumber", "cards")),
    Field("points", "积分", "points", ("积分", "积分余额", "可用积分", "当前积分", "points", "pointsbalance")),
    Field(
        "stored_value",
        "储值",
        "stored value (yuan)",
        ("储值", "储值余额", "储值金额", "余额", "卡内余额", "storedvalue", "balance", "wallet"),
    ),
    Field("growth", "成长值", "growth", ("成长值", "成长", "growth", "growthvalue")),
    Field("tier", "等级", "tier", ("等级", "会员等级", "级别", "卡级别", "tier", "level", "grade")),
    Field("email", "邮箱", "e-mail", ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail")),
    Field("id_number", "证件号", "ID number", ("身份证", "身份证号", "身份证号码", "证件号", "idnumber", "idcard")),
    Field("address", "地址", "address", ("地址", "联系地址", "住址", "address")),
    Field("store", "门店", "store (code)", ("门店", "开卡门店", "所属门店", "入会门店", "store", "storecode")),
    Field(
        "joined",
        "入会时间",
        "joined",
        ("入会时间", "入会日期", "注册时间", "注册日期", "开卡时间", "开卡日期", "joined", "joindate", "registered"),
    ),
)
BY_KEY = {field.key: field for field in FIELDS}
_SPACES = re.compile(r"[\s_]+")
_WORDS = re.compile(r"[\s/()（）\[\]【】:：|]+")


def _plain(text: str) -> str:
    return _SPACES.sub("", text.strip().lower())


_NAMES = {_plain(name): field.key for field in FIELDS for name in field.names}
_NAMES.update({_plain(field.key): field.key for field in FIELDS})


def field_named(text: str) -> str | None:
    """The field a header (or a name in ``--map``) means, or None."""
    whole = _plain(text)
    if whole in _NAMES:
        return _NAMES[whole]
    for word in _WORDS.split(text.strip()):
        if word and _plain(word) in _NAMES:
            return _NAMES[_plain(word)]
    return None


def detect(headers: list[str]) -> dict[int, str]:
    """Column index → field for the headers a field recognises; a field found twice keeps its
    first column (the others stay unmapped, for a person to choose)."""
    found: dict[int, str] = {}
    for index, header in enumerate(headers):
        key = field_named(header) if header else None
        if key is not None and key not in found.values():
            found[index] = key
    return found


def parse_map(text: str) -> dict[str, str]:
    """``"手机=phone,姓名=name,备注="`` as header → field (empty or ``ignore``: leave the column out)."""
    mapping: dict[str, str] = {}
    for pair in re.split(r"[,，;；]", text):
        if not pair.strip():
            continue
        header, sep, target = pair.partition("=")
        if not sep or not header.strip():
            raise ColumnMappingInvalid(
                reason=Reason(f"{pair.strip()!r} is not HEADER=FIELD", f"“{pair.strip()}” 不是 表头=字段 的格式")
            )
        target = target.strip()
        key = IGNORE if target.lower() in ("", IGNORE, "-", "忽略") else field_named(target)
        if key is None:
            known = ", ".join(field.key for field in FIELDS)
            raise ColumnMappingInvalid(
                reason=Reason(f"unknown field {target!r} (fields: {known})", f"未知字段 “{target}”（可用：{known}）")
            )
        mapping[header.strip()] = key
    return mapping


def resolve(headers: list[str], explicit: dict[str, str] | None = None) -> dict[int, str]:
    """The columns to read: detection, then ``explicit`` (header → field, or ``ignore``) over it.
    Refuses a header ``explicit`` names that the file lacks, two columns for one field, and a
    file with no name column or neither a phone nor a card column."""
    mapping = detect(headers)
    for header, key in (explicit or {}).items():
        indexes = [i for i, h in enumerate(headers) if h.strip() == header]
        if not indexes:
            raise ColumnMappingInvalid(reason=Reason(f"the file has no column {header!r}", f"文件中没有 “{header}” 列"))
        for index in indexes:
            if key == IGNORE:
                mapping.pop(index, None)
                continue
            for other, field in list(mapping.items()):
                if field == key and other != index and headers[other].strip() not in (explicit or {}):
                    del mapping[other]  # a column detected for the field gives way to the one named
            mapping[index] = key
    check(headers, mapping)
    return mapping


def check(headers: list[str], mapping: dict[int, str]) -> None:
    """Refuse a mapping that cannot make members (see :func:`resolve`)."""
    seen: dict[str, int] = {}
    for index, key in sorted(mapping.items()):
        if key not in BY_KEY:
            raise ColumnMappingInvalid(reason=Reason(f"unknown field {key!r}", f"未知字段 “{key}”"))
        if key in seen:
            first, second = headers[seen[key]], headers[index]
            raise ColumnMappingInvalid(
                reason=Reason(
                    f"two columns for {key}: {first!r} and {second!r}",
                    f"两列都对应{BY_KEY[key].zh}：“{first}” 和 “{second}”",
                )
            )
        seen[key] = index
    if "name" not in seen:
        raise ColumnMappingInvalid(
            reason=Reason("no column holds the name (姓名)", "没有对应姓名的列"),
        )
    if "phone" not in seen and "card" not in seen:
        raise ColumnMappingInvalid(
            reason=Reason("no column holds a phone or a card number", "没有对应手机号或卡号的列"),
        )


def describe(mapping: dict[int, str], headers: list[str]) -> str:
    """The mapping as ``--map`` writes it (``手机=phone,姓名=name``)."""
    return ",".join(f"{headers[index]}={key}" for index, key in sorted(mapping.items()))
