"""Public holidays from the `holidays` package (and Indonesia's cuti bersama): the
`business_hours.holidays` subsection, checked against what the package knows."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, field_validator, model_validator

from responder.config.types import FrozenModel, Text, fail
from responder.domain.calendar import HolidayLookup

if TYPE_CHECKING:
    import holidays

__all__ = ["HolidaysConfig"]


class HolidaysConfig(FrozenModel):
    """Public holidays from the `holidays` package; each one closes its whole day.

    country: an ISO 3166 code (ID, NL, US); subdivision: a province or state code of it, for
    regional holidays. language: the holiday names' language (id, en_US; default: the
    country's own), never the server's locale. cuti_bersama (country ID only): also close
    Indonesia's joint leave days, which the package lists as its "government" category.
    """

    country: Text
    subdivision: Text | None = None
    cuti_bersama: bool = Field(default=False, strict=True)
    language: Text | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        # Imported here, not at the top: the package costs ~4 MB of RSS in every daemon, and
        # only a config with a holidays: section needs it (the 80 MB budget, issue 15).
        import holidays

        if value.upper() not in holidays.list_supported_countries():
            message = f'unknown country "{value}" (use an ISO 3166 code like ID, NL or US)'
            raise fail("country", message, show_input=False)
        return value.upper()

    @model_validator(mode="after")
    def _supported(self) -> Self:
        import holidays  # only with a holidays: section (see _known_country)

        found = holidays.country_holidays(self.country)
        if self.subdivision is not None:
            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError:
                codes = holidays.list_supported_countries(include_aliases=False)[found.country]
                known = f"one of: {', '.join(codes)}" if codes else "none: leave it out"
                message = f'unknown subdivision "{self.subdivision}" of {self.country}'
                at = ("subdivision",)
                raise fail("subdivision", f"{message} (expected {known})", at) from None
        if self.language is not None and _language(self.language, found) is None:
            known = ", ".join(found.supported_languages) or "only its own"
            message = f'holiday names for {self.country} are not in "{self.language}"'
            raise fail("language", f"{message} (expected one of: {known})", ("language",))
        if self.cuti_bersama and found.country != "ID":
            message = "cuti_bersama (joint leave days) exists for country ID only"
            raise fail("cuti_bersama", message, ("cuti_bersama",), show_input=False)
        return self

    def lookup(self) -> HolidayLookup:
        """A date -> holiday name function (names of one date joined with "; ")."""
        import holidays  # only with a holidays: section (see _known_country)
        from holidays.constants import GOVERNMENT, PUBLIC

        base = holidays.country_holidays(self.country)
        options: dict[str, Any] = {}
        if "islamic_show_estimated" in base.get_supported_options():
            # Names reach customers: "Hari Raya Idul Fitri (perkiraan)" reads as a doubt.
            options["islamic_show_estimated"] = False
        days = holidays.country_holidays(
            self.country,
            subdiv=self.subdivision,
            # Always explicit: left unset, the package follows the server's locale.
            language=_language(self.language, base) or base.default_language or "en_US",
            categories=(PUBLIC, GOVERNMENT) if self.cuti_bersama else (PUBLIC,),
            **options,
        )

        def name(day: date) -> str | None:
            found = days.get(day)  # fills in the day's year on first use
            return found if isinstance(found, str) else None

        return name


def _language(wanted: str | None, found: holidays.HolidayBase) -> str | None:
    if wanted is None:
        return None
    supported = found.supported_languages
    if wanted in supported:
        return wanted
    # "en" (as channels write it) means the one English the package has, en_US.
    return next((lang for lang in supported if lang.split("_")[0] == wanted), None)
