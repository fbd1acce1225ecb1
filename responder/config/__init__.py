"""The configuration file: its sections as typed, frozen models, validated before anything
connects; errors name file:line and the key (`load_config`)."""

from responder.config.loader import (
    ChannelConfig,
    Config,
    ConfigSource,
    DeliveryConfig,
    Duration,
    EmailChannelConfig,
    GuardsConfig,
    ImapConfig,
    ReplyCapConfig,
    RetentionConfig,
    Security,
    SmtpConfig,
    TelegramChannelConfig,
    TelegramLimitsConfig,
    library_limits,
    load_config,
    load_config_text,
)

__all__ = [
    "ChannelConfig",
    "Config",
    "ConfigSource",
    "DeliveryConfig",
    "Duration",
    "EmailChannelConfig",
    "GuardsConfig",
    "ImapConfig",
    "ReplyCapConfig",
    "RetentionConfig",
    "Security",
    "SmtpConfig",
    "TelegramChannelConfig",
    "TelegramLimitsConfig",
    "library_limits",
    "load_config",
    "load_config_text",
]
