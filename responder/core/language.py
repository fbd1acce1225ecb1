"""Offline id/en language guess for short customer messages, by function words and affixes."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

# Why a word list and not a PyPI detector, measured on the 84 short id/en customer texts in
# tests/test_language.py (half of them written after this list, as a held-out check):
#   this module     84/84 right     +0.3 MB RSS   ~30 us a call, says None for "ok"/emoji
#   pycld2          83/84 (1 None)  +3 MB         ~30 us, a C extension
#   lingua (low)    82/84 (2 wrong) +9 MB         ~50 us, guesses on "ORD-12345"
#   py3langid       83/84           +92 MB        numpy; names a language for emoji
#   langid          81/84           +65 MB        numpy; 3 s to load
#   langdetect      78/84           +63 MB        ~5 ms a call
# gcld3 does not build here. For two languages their common words are enough.

# Weight 1: words a writer of the other language would not use. Weight 0.5: words that also
# turn up as loans or slang on the other side ("ok", "hi", "min" for minutes, "no" for nomor).
_ID_STRONG = """
yang dan di ke dari saya sy aku gue gw tidak tdk gak ga nggak ngga enggak engga udah udh sudah
sdh belum blm mohon terima kasih makasih mksh trims pesanan pesan apakah apa bisa bs kak kakak
ka gan agan mimin sis bang mas mbak yg dgn dengan untuk utk buat ini itu ada mau tolong minta
kok kenapa knp gimana gmn bagaimana kapan berapa brp masih msh juga jg sama tapi tp atau kalau
kalo klo barang barangnya harga harganya kirim dikirim pengiriman ongkir bayar nomor hari besok
kemarin toko dong deh sih nih lagi lg boleh selamat pagi siang sore malam halo permisi maaf
salah rusak datang dtg sampai sampe nyampe warna ukuran tanya nanya resi resinya alamat saja aja
lunas cepat beda pelayanan tukar batal dibatalkan diterima diubah dicek hitam putih dulu kami
kamu anda kita akan harus jika karena sekarang segera terus lalu baru semua banyak lebih kurang
sangat banget bgt pak bu ibu bapak gk ngk kah pun ko tuh buka tutup libur minggu senin selasa
rabu kamis jumat sabtu stok tersedia sudahkah belom ongkos paket pembayaran bisakah tanggal jam
nya cek
"""
_EN_STRONG = """
the and is are was were be been my your you i me we our it this that please pls plz thanks
thank thx ty order orders have has had not can could would will should do does did dont don't
didnt didn't hasnt hasn't havent haven't isnt isn't what where when why how which who for to
of in on at with from yet still already just any some there here hello hey dear good morning
afternoon evening get got send sent ship shipping delivery deliver delivered item items package
parcel payment paid pay cancel change exchange wrong broken colour color available waiting wait
time open closed tomorrow today tracking number address like want need possible discount bulk
call back quick reply about if but or so all one an would i'm im i'd it's its received receive
hours week price cost much many be been being did sorry also they them their than then
"""
_ID_WEAK = "min ok oke okay ya no cod ready refund transfer size order status admin"
_EN_WEAK = "hi u ok okay yes yeah no size"

_LEXICON: dict[str, dict[str, float]] = {"id": {}, "en": {}}
for _language, _strong, _weak in (("id", _ID_STRONG, _ID_WEAK), ("en", _EN_STRONG, _EN_WEAK)):
    _LEXICON[_language].update(dict.fromkeys(_weak.split(), 0.5))
    _LEXICON[_language].update(dict.fromkeys(_strong.split(), 1.0))

# Affixes only score words the lexicon does not know, and weakly: "-nya"/"-kan" are
# Indonesian morphology, "-ing"/"-ed"/"-tion"/"th"/"wh" are English spelling.
_AFFIXES: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("id", re.compile(r"^\w{2,}nya$"), 0.75),
    ("id", re.compile(r"^\w{3,}kan$"), 0.5),
    ("id", re.compile(r"^(?:meng|meny|mem|men|ber|ter|di|ke)\w{3,}(?:an|i)$"), 0.5),
    ("en", re.compile(r"^\w{2,}(?:ing|tion|ness|ly)$"), 0.5),
    ("en", re.compile(r"^\w{3,}ed$"), 0.5),
    ("en", re.compile(r"^(?:th|wh)\w+"), 0.5),
)

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|#?\w*\d\w*")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Quoted history ("> ...", "On ... wrote:") and a phone's "Sent from my iPhone" are not in
# the customer's words: skip those lines, wherever they are (top- or bottom-posted).
_SKIP = re.compile(
    r"^\s*>|^\s*On .{0,200}wrote:\s*$|^\s*Pada .{0,200}menulis:\s*$"
    r"|^\s*(?:sent from my|dikirim dari|get outlook for)\b",
    re.IGNORECASE,
)
# Everything after a signature delimiter or a forwarded/original-message header is boilerplate.
_STOP = re.compile(r"^-- ?$|^\s*-{3,}\s*(?:original|forwarded|pesan)|^\s*_{10,}\s*$", re.I)
_MAX_CHARS = 2000
MIN_SCORE = 1.0  # one unmistakable word, or two weak ones
MIN_RATIO = 2.0  # the winner must score at least twice the runner-up


def scores(text: str) -> dict[str, float]:
    """Each known language's score for `text`: the evidence `detect_language` weighs."""
    kept = []
    for line in text[:_MAX_CHARS].splitlines():
        if _STOP.match(line):
            break
        if not _SKIP.match(line):
            kept.append(line)
    # Phones type a curly apostrophe: "don’t" is "don't".
    cleaned = _NOISE.sub(" ", "\n".join(kept)).replace("\u2019", "'").lower()
    words = _WORD.findall(cleaned)
    totals = dict.fromkeys(_LEXICON, 0.0)
    for word in words:
        for language, weight in _word_weights(word):
            totals[language] += weight
    return totals


@functools.lru_cache(maxsize=4096)
def _word_weights(word: str) -> tuple[tuple[str, float], ...]:
    """What one word adds to each language: customers' words repeat, the affix tests cost."""
    known = tuple(
        (language, weight)
        for language, lexicon in _LEXICON.items()
        if (weight := lexicon.get(word)) is not None
    )
    if known:
        return known
    for language, pattern, weight in _AFFIXES:
        if pattern.match(word):
            return ((language, weight),)
    return ()


def detect_language(text: str, candidates: Sequence[str] = ("id", "en")) -> str | None:
    """The language of `text` among `candidates`, or None when the evidence is too thin.

    None means "don't guess": the caller then uses the channel's default language.
    """
    totals = scores(text)
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, runner_up) = ranked[0], ranked[1]
    if best_score < MIN_SCORE or best_score < MIN_RATIO * runner_up:
        return None
    return best if best in candidates else None
