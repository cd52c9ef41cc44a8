"""The refusals of importing and exporting members (each with a stable code, in English and Chinese).

A file-level refusal stops an import before anything is written. A row-level one (a bad phone, an
amount with three decimals, a duplicate) is not raised to the caller: the row goes to the error
file with the message in both languages, and the other rows still land.

They belong with the others in :mod:`membership.errors`; they live here until that module takes
them (the import was written beside other work on it).
"""

from __future__ import annotations

from membership.errors import Conflict, MembershipError, NotFound, ValidationError


class ImportFileUnreadable(MembershipError):
    """The file is not a CSV or Excel workbook this importer can read."""

    code = "import_file_unreadable"
    status = 422
    message_en = "Cannot read {file}: {reason}"
    message_zh = "无法读取文件 {file}：{reason}"


class ColumnMappingInvalid(ValidationError):
    """The columns of the file, as detected or mapped, cannot make members."""

    code = "column_mapping_invalid"
    message_en = "Column mapping: {reason}"
    message_zh = "列对应关系有误：{reason}"


class InvalidAmount(ValidationError):
    """An opening stored value that is not a non-negative amount in yuan with at most two decimals."""

    code = "invalid_amount"
    message_en = "{column}: {value!r} is not an amount in {unit} with at most {digits} decimals (0 or more)."
    message_zh = "{column}：“{value}” 不是不小于 0、最多 {digits} 位小数的金额（单位：{unit}）。"


class InvalidWholeNumber(ValidationError):
    """Opening points or growth that are not a whole number of 0 or more."""

    code = "invalid_whole_number"
    message_en = "{column}: {value!r} is not a whole number (0 or more)."
    message_zh = "{column}：“{value}” 不是不小于 0 的整数。"


class InvalidDate(ValidationError):
    """A date the importer cannot read (it reads 1990-05-17, 1990/5/17, 19900517, 1990年5月17日)."""

    code = "invalid_date"
    message_en = "{column}: {value!r} is not a date ({reason})."
    message_zh = "{column}：“{value}” 不是有效日期（{reason}）。"


class UnknownTier(ValidationError):
    """A tier the program does not have."""

    code = "unknown_tier"
    message_en = "{column}: the program has no tier {value!r} (it has: {known})."
    message_zh = "{column}：会员方案中没有等级 “{value}”（现有：{known}）。"


class RowUnidentified(ValidationError):
    """A row with neither a phone nor a card number: nothing would find that member again."""

    code = "row_unidentified"
    message_en = (
        "A row needs a phone or a card number: the till finds members by them, and an import run again"
        " skips them by them."
    )
    message_zh = "每行须有手机号或卡号：前台凭它们识别会员，重复导入时也凭它们跳过已导入的会员。"


class DuplicateInFile(Conflict):
    """A row whose phone, card, e-mail or ID number an earlier row of the same file already brought."""

    code = "duplicate_in_file"
    message_en = "Duplicate in the file: the same {what} as {earlier}; not imported twice."
    message_zh = "文件内重复：{what}与{earlier}相同，不重复导入。"


class AlreadyImported(Conflict):
    """A row whose phone, card, e-mail or ID number belongs to a member already (an earlier import
    of the same file, or a member enrolled at the till)."""

    code = "already_imported"
    message_en = "Already imported: member {member_no} has this {what}; skipped."
    message_zh = "已导入：会员 {member_no} 已有该{what}，跳过。"


class ImportNotFound(NotFound):
    """An upload the console does not know (or another merchant's)."""

    code = "import_not_found"
    message_en = "Import {token} does not exist (uploads are kept for a day)."
    message_zh = "导入任务 {token} 不存在（上传的文件保留一天）。"
