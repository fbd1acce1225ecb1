"""Language detection: short real-looking id/en customer texts, slang, and too-little-text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from responder.core.language import detect_language

# Written as customers write: short, lower case, slang ("kak", "gan", "min"), txt-speak, typos.
# The second half of each list was written after the word lists, as a held-out check.
INDONESIAN = [
    "kak pesanan saya belum sampai",
    "min, barangnya ready gak?",
    "gan ongkir ke surabaya berapa ya",
    "Selamat pagi, apakah bisa COD?",
    "terima kasih kak, sudah diterima",
    "paket saya kok belum dikirim juga ya kak",
    "mohon info nomor resinya",
    "Halo, saya mau tanya soal refund pesanan kemarin",
    "barang yg dtg rusak, gmn nih min",
    "kapan restock warna hitam kak?",
    "tolong dicek dulu ya, saya sudah transfer",
    "sy udh bayar tp status msh belum lunas",
    "apakah toko buka hari minggu?",
    "Bisa kirim hari ini gak kak",
    "ukuran L masih ada?",
    "mau tukar size bisa ga min",
    "Pesanan no 12345 tolong dibatalkan saja",
    "makasih ya kak, pelayanannya cepat",
    "ini kok harganya beda dengan di website",
    "Permisi, alamat pengiriman saya salah, bisa diubah?",
    "order sy blm dtg gan, tolong dicek",
    "stoknya abis ya kak?",
    # held out
    "kak ini bahannya adem gak?",
    "udah sy chekout ya kak, ditunggu",
    "Assalamualaikum, mau nanya produk yang kemarin",
    "gan kok lama bgt prosesnya",
    "Kak, kalau beli 3 dapat diskon?",
    "brg sdh sampai, mantap",
    "Mohon maaf, paket belum saya terima sampai sekarang",
    "lokasi tokonya dimana ya?",
    "minta nomor rekening buat transfer dong",
    "pengembalian dana prosesnya berapa lama?",
    "min ready stok size 42?",
    "saya pesan 2 tapi yang datang cuma 1",
    "Tolong kabari kalau barang sudah dikirim",
    "sudah sampai kak, terima kasih banyak",
    "kurirnya siapa ya kak?",
    "bisa dikirim pakai gojek?",
    "kenapa pesanan saya dibatalkan otomatis?",
    "kak, warnanya beda sama di foto",
    "Selamat malam, mau konfirmasi pembayaran",
    "garansinya berapa bulan gan",
]
ENGLISH = [
    "where is my order",
    "hi, is this still available?",
    "ok thx, got it",
    "Can I change my delivery address please",
    "my package hasnt arrived yet",
    "Do you ship to Singapore?",
    "I want a refund, the item is broken",
    "pls send me the tracking number",
    "Thanks for the quick reply!",
    "what time do you open tomorrow",
    "The size is wrong, can I exchange it?",
    "have you received my payment",
    "order 12345 not delivered yet, any update?",
    "Hello, I would like to cancel my order",
    "is there a discount for bulk orders",
    "wrong colour sent, need the black one",
    "Could you call me back when you can",
    "hey, do u have this in size M",
    "still waiting for my parcel",
    "Is cash on delivery possible?",
    "recieved the wrong item, pls advise",
    "u guys open on sunday?",
    # held out
    "is the fabric breathable?",
    "just checked out, waiting for confirmation",
    "Good evening, quick question about the jacket",
    "why is it taking so long",
    "do I get a discount if I buy three?",
    "arrived today, great stuff",
    "Sorry to bother you, but my parcel never came",
    "where is your shop located?",
    "can you send your bank details for the transfer",
    "how long does a refund usually take?",
    "got size 42 in stock?",
    "I ordered two but only one arrived",
    "Let me know once it ships",
    "received it, thank you so much",
    "which courier do you use?",
    "can you deliver by motorbike courier today",
    "why was my order cancelled automatically?",
    "the colour looks different from the photo",
    "Hi there, confirming my payment now",
    "how many months warranty",
]
TABLE = [(text, "id") for text in INDONESIAN] + [(text, "en") for text in ENGLISH]


def test_accuracy_on_short_customer_texts() -> None:
    results = [(text, want, detect_language(text)) for text, want in TABLE]
    right = [text for text, want, got in results if got == want]
    confused = [(text, got) for text, want, got in results if got is not None and got != want]
    assert len(right) / len(TABLE) >= 0.9, [r for r in results if r[1] != r[2]]
    # A wrong language is worse than none (None falls back to the channel default).
    assert confused == []


@pytest.mark.parametrize(
    "text",
    ["ok", "", "   ", "👍", "🙏🙏🙏", "ok 👍", "?", "12345", "ORD-12345", "https://example.com/x"],
)
def test_too_little_text_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_single_clear_words_are_enough() -> None:
    assert detect_language("makasih") == "id"
    assert detect_language("Thanks!") == "en"
    # "hi" and "ok" are everybody's words.
    assert detect_language("hi") is None


def test_only_candidates_are_returned() -> None:
    assert detect_language("kak pesanan saya belum sampai", candidates=("en",)) is None
    assert detect_language("where is my order", candidates=("en", "nl")) == "en"
    assert detect_language("where is my order", candidates=()) is None


def test_mixed_text_goes_by_its_majority_or_not_at_all() -> None:
    assert detect_language("kak order saya blm dtg, tracking number nya gak update") == "id"
    assert detect_language("ok kak, thank you so much for the help") == "en"
    # Half and half: no guess rather than a coin toss.
    assert detect_language("order saya blm dtg, pls send tracking number") is None


def test_quoted_history_and_phone_signature_are_ignored() -> None:
    reply = (
        "sudah saya transfer kak\n\nSent from my iPhone\n\n"
        "On Mon, 24 Nov 2025 at 08:00, Shop <shop@example.com> wrote:\n"
        "> Thank you for your order. Please pay to the account below and reply to this email.\n"
        "> Your order will be shipped as soon as we have received the payment.\n"
    )
    assert detect_language(reply) == "id"
    signed = "where is my parcel\n-- \nBudi Santoso\nToko Sumber Rejeki, Jalan Merdeka"
    assert detect_language(signed) == "en"
    bottom_posted = (
        "Pada Sen, 24 Nov 2025 08.00, Toko <toko@example.com> menulis:\n"
        "> Pesanan Anda sudah kami kirim, nomor resi terlampir.\n\n"
        "thanks, but the tracking number doesn’t work"
    )
    assert detect_language(bottom_posted) == "en"
    forwarded = "tolong dicek ya kak\n\n-----Original Message-----\nFrom: shop\nYour order is ready"
    assert detect_language(forwarded) == "id"


def test_urls_addresses_and_numbers_are_not_words() -> None:
    text = "please see https://toko.example/pesanan/saya?kak=1 and mail budi@toko.id ORD-99"
    assert detect_language(text) == "en"


def test_no_heavy_dependencies_loaded() -> None:
    # The daemon's memory budget is tight: detection must not drag in numpy or a model.
    code = (
        "import sys; from responder.core.language import detect_language; "
        "detect_language('kak pesanan saya belum sampai'); "
        "print(sorted(m for m in ('numpy', 'langdetect', 'lingua', 'pycld2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
