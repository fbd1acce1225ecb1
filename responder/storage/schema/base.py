"""The one MetaData every table joins, and the column type for aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, String, Text, TypeDecorator

__all__ = ["OutsideString", "OutsideText", "UTCDateTime", "metadata"]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python on every backend (SQLite keeps no offset, so store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()


# Text from outside (a mail's subject, a chat message, a provider's id) has its NUL characters
# taken out as it is stored: PostgreSQL refuses them in text columns where SQLite takes them,
# and a crafted message must still be recorded and answered on both (issue 19). A person
# reading it loses nothing: NUL shows as nothing.


def _without_nul(value: str | None) -> str | None:
    return value.replace("\x00", "") if value and "\x00" in value else value


class OutsideString(TypeDecorator[str]):
    """A bounded column of outside text: OutsideString(400) is VARCHAR(400) in the DDL."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)


class OutsideText(TypeDecorator[str]):
    """An unbounded column of outside text: TEXT in the DDL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)
