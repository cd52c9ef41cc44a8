"""The CRM's errors, with stable codes and messages in Chinese and English."""

from __future__ import annotations

from membership.errors import Conflict, NotFound, ValidationError


class SegmentNotFound(NotFound):
    code = "segment_not_found"
    message_en = "No segment {code!r} in this program."
    message_zh = "本方案没有人群“{code}”。"


class SegmentExists(Conflict):
    code = "segment_exists"
    message_en = "The program already has a segment {code!r}."
    message_zh = "本方案已有人群“{code}”。"


class SegmentCycle(ValidationError):
    code = "segment_cycle"
    message_en = "Segment {code!r} refers back to itself through its rules."
    message_zh = "人群“{code}”的规则又引用了它自己。"


class SegmentInUse(Conflict):
    code = "segment_in_use"
    message_en = "Segment {code!r} is used by {users}: change those first."
    message_zh = "人群“{code}”正被 {users} 使用，请先修改它们。"


class NotStaticSegment(Conflict):
    code = "segment_not_static"
    message_en = "Segment {code!r} is drawn by rules: only a static segment takes an upload of members."
    message_zh = "人群“{code}”由规则圈定，只有静态人群可以上传会员名单。"


class TagRuleNotFound(NotFound):
    code = "tag_rule_not_found"
    message_en = "No tag rule for tag {tag!r} in this program."
    message_zh = "本方案没有标签“{tag}”的自动规则。"


class TagRuleExists(Conflict):
    code = "tag_rule_exists"
    message_en = "Tag {tag!r} already has a rule in this program."
    message_zh = "标签“{tag}”已有自动规则。"


class MemberNotScored(NotFound):
    code = "member_not_scored"
    message_en = "Member {member_id} has no scores yet: the refresh-member-scores job has not reached them."
    message_zh = "会员 {member_id} 还没有评分：会员价值刷新任务尚未覆盖到该会员。"
