"""WeChat messages for membership (微信消息): the ``wechat_subscribe`` and ``wechat_template`` channels."""

__version__ = "0.1.0"
