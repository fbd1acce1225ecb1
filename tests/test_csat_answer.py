"""Reading a survey answer from an emailed reply: what counts as a rating, what reaches staff."""

from __future__ import annotations

import dataclasses
import time

import pytest

from responder.core.csat.answer import SurveyReply, read_answer
from responder.core.csat.answer_words import PLURALS, QUANTITY

# (rating, nps, comment), or None: not an answer, the reply goes to staff as a follow-up.
Expected = tuple[int, int | None, str] | None

SURVEY_EN = (
    "How did we do? Reply with a number from 1 (bad) to 5 (excellent), and a comment if you like."
)
SURVEY_ID = "Bagaimana layanan kami? Balas dengan angka 1 (buruk) sampai 5 (sangat baik)."
NPS_EN = "How likely are you to recommend us, from 0 to 10?"

ANSWERS: list[tuple[str, Expected]] = [
    # A bare number, alone or with a separator, a slash or "out of".
    ("5", (5, None, "")),
    ("5.", (5, None, "")),
    (" 4 ", (4, None, "")),
    ("1", (1, None, "")),
    ("4/5", (4, None, "")),
    ("4 / 5", (4, None, "")),
    ("5 dari 5", (5, None, "")),
    ("5 out of 5", (5, None, "")),
    ("3 of 5", (3, None, "")),
    # A number, a separator, then the comment.
    ("5 - mantap", (5, None, "mantap")),
    ("4, terima kasih", (4, None, "terima kasih")),
    ("3: lumayan, tapi agak lama", (3, None, "lumayan, tapi agak lama")),
    ("5!!! pelayanan cepat", (5, None, "pelayanan cepat")),
    ("5. Mantap, barang sampai cepat.", (5, None, "Mantap, barang sampai cepat.")),
    ("5. Lagi-lagi puas", (5, None, "Lagi-lagi puas")),
    ("5 (sangat baik)", (5, None, "(sangat baik)")),
    ("4/5 - packaging could be better", (4, None, "packaging could be better")),
    # After the number only particles, thanks or an emoji: still a rating.
    ("5 ya kak", (5, None, "")),
    ("5 terima kasih", (5, None, "terima kasih")),
    ("4 thanks!", (4, None, "thanks!")),
    ("5 🙏", (5, None, "🙏")),
    ("5 ok", (5, None, "ok")),
    # After a bare number, words that neither count nor ask are the comment (issue 13).
    ("1 lambat sekali", (1, None, "lambat sekali")),
    ("5 mantap", (5, None, "mantap")),
    ("2 kurang cepat", (2, None, "kurang cepat")),
    ("1 kecewa berat", (1, None, "kecewa berat")),
    ("1 lama bgt", (1, None, "lama bgt")),
    ("5 mantap jiwa", (5, None, "mantap jiwa")),
    ("5 sip", (5, None, "sip")),
    ("3 biasa aja", (3, None, "biasa aja")),
    ("5 sangat puas 🙏", (5, None, "sangat puas 🙏")),
    ("4 lumayan, packing kurang rapi", (4, None, "lumayan, packing kurang rapi")),
    ("2 kurir nya kasar", (2, None, "kurir nya kasar")),
    ("1 tidak puas, admin lama balas", (1, None, "tidak puas, admin lama balas")),
    ("5 lebih cepat dari biasanya", (5, None, "lebih cepat dari biasanya")),
    ("Kak, 1 lambat banget balasnya", (1, None, "lambat banget balasnya")),
    ("Terima kasih, 5 mantap", (5, None, "Terima kasih, mantap")),
    ("1 very slow, took forever", (1, None, "very slow, took forever")),
    ("5 great service", (5, None, "great service")),
    ("4 good, but a bit slow", (4, None, "good, but a bit slow")),
    ("1 worst service ever", (1, None, "worst service ever")),
    ("2 slow response", (2, None, "slow response")),
    ("5 good job team", (5, None, "good job team")),
    ("5 great product", (5, None, "great product")),  # a singular after an adjective
    ("5 on time, thanks", (5, None, "on time, thanks")),
    ("Hi, 2 slow reply", (2, None, "slow reply")),
    # The same with a separator, a slash, a star or a keyword.
    ("1. lambat", (1, None, "lambat")),
    ("1 - lambat", (1, None, "lambat")),
    ("1/5 lambat", (1, None, "lambat")),
    ("1 dari 5, lambat", (1, None, "lambat")),
    ("1 bintang", (1, None, "")),
    ("1 bintang, lambat sekali", (1, None, "lambat sekali")),
    ("5 ⭐ mantap", (5, None, "mantap")),
    ("nilai 2, kurang cepat", (2, None, "kurang cepat")),
    ("Nilai 2 - kurang cepat", (2, None, "kurang cepat")),
    # A rating keyword before the number, anywhere on the line.
    ("nilai 4", (4, None, "")),
    ("Nilai: 5", (5, None, "")),
    ("nilainya 4 ya kak", (4, None, "")),
    ("saya kasih 5", (5, None, "")),
    ("saya beri nilai 4, mantap", (4, None, "mantap")),
    ("rating 5", (5, None, "")),
    ("Rating: 4 - good", (4, None, "good")),
    ("I'd give it a 4", (4, None, "")),
    ("I give you guys a 5, great job", (5, None, "great job")),
    ("score 3", (3, None, "")),
    ("skor 2, lambat sekali", (2, None, "lambat sekali")),
    ("bintang 5 kak", (5, None, "")),
    ("nilai 4 karena pengiriman agak lama", (4, None, "karena pengiriman agak lama")),
    ("nilai 3 dari 5", (3, None, "")),
    ("Halo kak, nilai 5", (5, None, "")),
    ("Pelayanan bagus, nilai 5, cepat sekali", (5, None, "Pelayanan bagus, cepat sekali")),
    (
        "Terima kasih 2 barang sudah sampai, nilai 5",
        (5, None, "Terima kasih 2 barang sudah sampai"),
    ),
    # Rating words after the number, and stars (filled ones are counted).
    ("4 bintang", (4, None, "")),
    ("5 stars", (5, None, "")),
    ("5*", (5, None, "")),
    ("saya kasih bintang 5", (5, None, "")),
    ("5 dari 5 bintang, mantap", (5, None, "mantap")),
    ("I give it 5 stars", (5, None, "")),
    ("⭐⭐⭐⭐", (4, None, "")),
    ("★★★★★ mantap", (5, None, "mantap")),
    ("⭐️⭐️⭐️", (3, None, "")),  # with the emoji variation selector phones add
    ("★★★☆☆", (3, None, "")),
    ("Rating: ⭐⭐⭐⭐ good", (4, None, "good")),
    # Greetings before the number are dropped; other short lines and what follows are kept.
    ("Halo kak, 5 bintang", (5, None, "")),
    ("Good morning, 5", (5, None, "")),
    ("Terima kasih, 5 bintang", (5, None, "Terima kasih")),
    ("Terimakasih kak, 5", (5, None, "Terimakasih kak")),
    ("Hi,\n\n5\n\nThanks", (5, None, "Thanks")),
    ("Dear CS team,\n4 - ok", (4, None, "ok")),
    ("Terima kasih\n5", (5, None, "Terima kasih")),
    (
        "5\nTerima kasih banyak, barang sudah sampai",
        (5, None, "Terima kasih banyak, barang sudah sampai"),
    ),
    (
        "4\n\nBarangnya bagus.\n\n\n\nKurirnya ramah.",
        (4, None, "Barangnya bagus.\n\nKurirnya ramah."),
    ),
    # A second number without nps_asked is part of the comment.
    ("5, 9", (5, None, "9")),
    ("rating 4 nps 8", (4, None, "nps 8")),
    # "a/b" with b other than 5 is a date or a fraction unless an NPS was asked for.
    ("4/7", None),
    # A long first line needs an explicit rating, not just a number and a separator.
    ("4 bintang, " + "kurirnya ramah " * 25, (4, None, ("kurirnya ramah " * 25).strip())),
]

QUOTED: list[tuple[str, Expected]] = [
    # Gmail, top-posted, English and Indonesian heads.
    (
        f"5 - fast service\n\nOn Mon, 3 Jun 2024 at 10:00, Toko Maju <cs@tokomaju.id> wrote:\n\n"
        f"> {SURVEY_EN}\n> Ticket ORD-12345\n",
        (5, None, "fast service"),
    ),
    (
        f"4\n\nPada tanggal Sen, 3 Jun 2024 pukul 10.00 Toko Maju <cs@tokomaju.id> menulis:\n"
        f"> {SURVEY_ID}\n",
        (4, None, ""),
    ),
    # Gmail wraps a long head onto two lines.
    (
        f"nilai 3\n\nOn Mon, Jun 3, 2024 at 10:00 AM Toko Maju Sejahtera Abadi <\n"
        f"cs@tokomaju.id> wrote:\n\n> {SURVEY_EN}\n",
        (3, None, ""),
    ),
    # Bottom-posted under a ">" quote.
    (
        f"On 3 Jun 2024, at 10:00, Toko Maju <cs@tokomaju.id> wrote:\n> {SURVEY_EN}\n\n5, mantap\n",
        (5, None, "mantap"),
    ),
    # Outlook: a rule and a header block; the quote has no ">" marks.
    (
        "3: lumayan\n\n________________________________\nFrom: Toko Maju <cs@tokomaju.id>\n"
        "Sent: Monday, June 3, 2024 10:00 AM\nTo: budi@example.com\nSubject: Survey\n\n"
        f"{SURVEY_EN}",
        (3, None, "lumayan"),
    ),
    (
        "4 - oke\n\nDari: Toko Maju <cs@tokomaju.id>\nDikirim: Senin, 3 Juni 2024 10.00\n"
        f"Kepada: budi@example.com\nSubjek: Survei\n\n{SURVEY_ID}",
        (4, None, "oke"),
    ),
    (f"5\n\n-----Original Message-----\nFrom: cs@tokomaju.id\n\n{SURVEY_EN}", (5, None, "")),
    (f"2, lambat\n-----Pesan Asli-----\n{SURVEY_ID}", (2, None, "lambat")),
    (
        "1 lambat sekali\n\nPada 8 Jan 2030, Toko Contoh menulis:\n> Bagaimana?",
        (1, None, "lambat sekali"),
    ),
    # Signatures and phone footers are not comments.
    ("5\n-- \nBudi Santoso\n0812 3456 7890", (5, None, "")),
    ("4 - ok\n\nSent from my iPhone", (4, None, "ok")),
    ("5\n\nDikirim dari iPhone saya", (5, None, "")),
    ("3\r\nPengiriman lama\r\n\r\nGet Outlook for Android", (3, None, "Pengiriman lama")),
    # Nothing of the customer's own: no answer, even though the quote holds numbers.
    (f"> {SURVEY_EN}\n> Ticket ORD-12345", None),
    (f"On Mon, 3 Jun 2024 at 10:00, Toko Maju <cs@tokomaju.id> wrote:\n> {SURVEY_ID}", None),
    # A head followed by an unmarked quote: everything after it is quote.
    (f"On Mon, 3 Jun 2024 at 10:00, Toko Maju <cs@tokomaju.id> wrote:\n{SURVEY_EN}", None),
    # The survey's own wording, pasted back unquoted, is not a rating.
    (SURVEY_EN, None),
    (SURVEY_ID, None),
    ("Beri nilai 1 (buruk) sampai 5 (sangat baik)", None),
    (NPS_EN, None),
]

NOT_ANSWERS: list[str] = [
    # Nothing, or words only: we only accept a number or stars.
    "",
    "   \n\n",
    "Terima kasih",
    "sangat puas",
    "mantap, pelayanan cepat",
    # Numbers that count, name or date something.
    "2 more questions about my order",
    "I ordered 3 items but got 2",
    "Order #12345 has not arrived",
    "nomor resi 1234",
    "5000 rupiah kurang",
    "jam 5 sore saya tunggu",
    "tanggal 4 saya kirim",
    "2 hari lagi ya",
    "3 kali saya tanya",
    "2-3 hari lagi ya",
    "1 sampai 5",
    "Kak, kasih 2 pcs lagi ya",
    "please give us 2 days",
    "nilai 2 barang ini berapa?",
    "5 barang",
    "5%",
    "#5",
    "5k",
    # A bare number followed by a unit or a count noun counts; by "belum"/"is"/"yang" it is
    # what the sentence is about; before a question it is part of the question.
    "3 hari belum sampai",
    "2 barang kurang",
    "2 hari lagi ya?",
    "1 lagi ya kak",
    "2 paketnya belum sampai",
    "1 paket lagi belum sampai",
    "3 pcs kurang",
    "2 ukuran kekecilan",
    "2x saya chat tidak dibalas",
    "1 belum sampai kak",
    "1 yg datang, 1 lagi belum",
    "1 kapan refund nya?",
    "2 bisa COD?",
    "Kak, kasih 1 bonus dong",
    "2 weeks late",
    "1 hour waiting on the phone",
    "3 business days and still nothing",
    "2 big boxes missing",
    "3 of my items are missing",
    "1 item is missing",
    "2 boxes arrived damaged",
    "2 orders still pending",
    "1 more question",
    "2nd order still not here",
    "4 juni",
    "2 April saya pesan",
    # Out of range, decimals, times, dates, fractions.
    "0",
    "6",
    "10",
    "nilai 8",
    "10 dari 10",  # out of ten: not ours to scale down
    "10/10 mantap",
    "5 dari 10",
    "4.5",
    "4,5",
    "5:30",
    "4/5/2024 saya transfer",
    "⭐⭐⭐⭐⭐⭐",
    "٥",  # an Arabic-Indic digit
    # A numbered list of questions.
    "1. Kapan barang dikirim?\n2. Bisa COD?",
    # The number is not on the first line that has one, or long text comes before it.
    "Halo kak, saya mau tanya soal pesanan saya\n5",
    "Kak pesanan 12345\nnilai 5",
    # A long first line opening with a bare number is prose, not a rating.
    "2, " + "saya sudah menunggu lama dan belum ada kabar " * 6,
]

NPS: list[tuple[str, Expected]] = [
    ("5, 9", (5, 9, "")),
    ("5 9", (5, 9, "")),
    ("5 - 9", (5, 9, "")),
    ("5 dan 9", (5, 9, "")),
    ("rating 4 nps 8", (4, 8, "")),
    ("nilai 5, rekomendasi 10", (5, 10, "")),
    ("nps 9, rating 5", (5, 9, "")),
    ("5 - mantap, rekomendasi 9", (5, 9, "mantap")),
    ("5\n9", (5, 9, "")),
    ("Rating: 5\nNPS: 10\nMantap", (5, 10, "Mantap")),
    # "a/b": b == 5 is "out of 5"; any other b up to 10 is the NPS.
    ("4 / 7", (4, 7, "")),
    ("4/10", (4, 10, "")),
    ("4/5", (4, None, "")),
    ("4/5, 9", (4, 9, "")),
    ("4/20", None),
    # The NPS is optional; out of range it stays in the comment.
    ("5", (5, None, "")),
    ("5 - mantap", (5, None, "mantap")),
    ("5, 11", (5, None, "11")),
    # A comment after the rating, or after the NPS.
    ("1 lambat sekali", (1, None, "lambat sekali")),
    ("5 mantap\n9", (5, 9, "mantap")),
    ("5, 9 mantap", (5, 9, "mantap")),
    ("5 9, cepat", (5, 9, "cepat")),
    # The rating is required: an NPS alone is no answer.
    ("10", None),
    ("9", None),
    ("nps 9", None),
    # Counting, not scoring, even with an NPS asked for.
    ("2-3 hari lagi ya", None),
    ("5, 2 barang rusak", None),
]


def _read(text: str, nps_asked: bool = False) -> Expected:
    reply = read_answer(text, nps_asked=nps_asked)
    return None if reply is None else (reply.rating, reply.nps, reply.comment)


@pytest.mark.parametrize(("text", "expected"), ANSWERS + QUOTED)
def test_answers(text: str, expected: Expected) -> None:
    assert _read(text) == expected


@pytest.mark.parametrize("text", NOT_ANSWERS)
def test_not_answers(text: str) -> None:
    assert _read(text) is None
    assert _read(text, nps_asked=True) is None


@pytest.mark.parametrize(("text", "expected"), NPS)
def test_nps(text: str, expected: Expected) -> None:
    assert _read(text, nps_asked=True) == expected


def test_plurals_count_next_to_the_number_too() -> None:
    assert PLURALS <= QUANTITY  # "3 days" as well as "3 business days"


def test_comment_is_capped() -> None:
    reply = read_answer("5\n" + "bagus " * 600)
    assert reply is not None
    assert len(reply.comment) <= 2000


def test_reply_is_frozen() -> None:
    reply = SurveyReply(5, None, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.rating = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "nilai " * 200_000,
        "On " + "x " * 100_000,
        " " * 500_000 + "5",
        "5" + " -" * 200_000,
        "kasih a a a " * 100_000,
        "> quoted\n" * 100_000,
        "⭐ " * 100_000,
    ],
)
def test_pathological_input_is_quick(text: str) -> None:
    started = time.perf_counter()
    read_answer(text, nps_asked=True)
    assert time.perf_counter() - started < 0.5
