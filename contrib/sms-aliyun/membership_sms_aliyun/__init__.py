"""SMS through Alibaba Cloud (阿里云短信服务) for membership: the ``aliyun_sms`` channel."""

__version__ = "0.1.0"
