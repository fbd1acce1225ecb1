"""Admin commands beside a stopped service: a /run/credentials path is read from the source
its unit's LoadCredential= names, and only then."""

from __future__ import annotations

from pathlib import Path

from responder.config.credentials import credential_source

IMAP = Path("/run/credentials/responder.service/imap")


def unit_dir(tmp_path: Path, lines: str) -> Path:
    folder = tmp_path / "system"
    folder.mkdir()
    (folder / "responder.service").write_text(f"[Service]\n{lines}\n")
    return folder


def test_a_credential_path_maps_to_its_load_credential_source(tmp_path: Path) -> None:
    units = unit_dir(
        tmp_path,
        "LoadCredential=smtp:/etc/responder/secrets/smtp\n"
        "LoadCredential=imap:/etc/responder/secrets/imap",
    )
    assert credential_source(IMAP, {}, (units,)) == Path("/etc/responder/secrets/imap")


def test_no_mapping_inside_the_service_or_for_other_paths(tmp_path: Path) -> None:
    units = unit_dir(tmp_path, "LoadCredential=imap:/etc/responder/secrets/imap")
    # Inside the unit systemd has put the file there: a missing one is a real error.
    inside = {"CREDENTIALS_DIRECTORY": "/run/credentials/responder.service"}
    assert credential_source(IMAP, inside, (units,)) is None
    assert credential_source(Path("/etc/responder/secrets/imap"), {}, (units,)) is None
    # A credential the unit does not load, or another unit's.
    assert credential_source(IMAP.with_name("telegram"), {}, (units,)) is None
    other = Path("/run/credentials/other.service/imap")
    assert credential_source(other, {}, (units,)) is None
    assert credential_source(IMAP, {}, (tmp_path / "nowhere",)) is None
