"""SMS through Tencent Cloud (腾讯云短信) for membership: the ``tencent_sms`` channel."""

__version__ = "0.1.0"
