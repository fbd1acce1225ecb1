"""The words that tell a survey rating from a number that counts something, lowercase."""

from __future__ import annotations

__all__ = ["FILLER", "PARTICLES", "PLURALS", "QUANTITY", "SUBJECT", "THANKS", "counts"]


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


# Dropped from the comment, and allowed around the number: greetings, forms of address,
# particles, pronouns and the rating words themselves.
_PARTICLES = """
ya yaa yah kak kakak ka kk min gan sis bang mas mbak pak bu sir deh dong aja saja lah nih guys
"""
_GREETINGS = """
hi hii hai halo hallo helo hello hey dear selamat pagi siang sore malam assalamualaikum permisi
salam mimin admin agan ibu bapak madam team tim cs all there sih i d my our saya sy aku gue kami
we nilai nilainya rating score skor rate
"""
PARTICLES = _words(_PARTICLES)
FILLER = _words(_PARTICLES, _GREETINGS)

# May come before the number ("Terima kasih, 5") and follow one read after "kasih"/"give"
# ("kasih 5 ok"); unlike greetings they stay in the comment.
THANKS = _words("""
ok oke okay terima trima kasih terimakasih trimakasih makasih makasi mksh trims tks thanks thank
thankyou thx ty tq you banyak much so very
""")

# A number followed by one of these (or by one with "-nya") counts, measures or dates
# something, so it is no rating: "3 hari", "2 barangnya", "5 Juni", "2nd", "1 dari 3", "5rb".
QUANTITY = _words(
    # time
    """
    detik dtk menit mnt jam jm hari hr hri pekan minggu mgg bulan bln tahun thn h
    second seconds sec secs minute minutes mins hour hours hrs day days week weeks wk wks
    month months mo year years yr yrs pagi siang sore malam subuh am pm wib wita wit
    """,
    # dates and ordinals
    """
    januari februari maret april mei juni juli agustus september oktober november desember
    jan feb mar apr jun jul agu agt ags agst sep sept okt nov des
    january february march may june july august october december aug oct dec st nd rd th
    """,
    # how often, how many more, which part of a whole
    "kali x times time lagi lg lgi more another other others per dari of out",
    # what customers order, and how it is packed
    """
    pcs pc psc buah bh biji bji item items barang brg produk product products unit units paket
    package packages parcel parcels pack packs box boxes kotak dus karton lusin kodi set sets
    pasang pair pairs lembar helai botol bottle bottles bungkus bks sachet kaleng tube roll rol
    potong porsi butir batang piece pieces thing things ukuran size sizes warna color colors
    colour colours varian variant variants model models baju kaos celana sepatu tas
    """,
    # orders, messages and people
    """
    pesanan pesan order orders transaksi transaction transactions invoice invoices resi kiriman
    shipment shipments pertanyaan question questions chat email emails message messages orang
    org people person persons
    """,
    # money and measures
    """
    rb ribu rebu jt juta rp rupiah k perak usd dollar dollars persen percent kg kilo gr gram g
    ons liter ltr l ml meter m cm mm
    """,
)
# English puts an adjective between the number and the thing counted ("3 business days",
# "2 big boxes"); Indonesian puts it after ("2 kotak besar"), and a singular after an
# adjective is a comment ("5 great product"), so only these plurals count one word later.
PLURALS = _words("""
seconds secs minutes mins hours hrs days weeks wks months years yrs times items products units
packages parcels packs boxes sets pairs bottles pieces sizes colors colours variants models
orders transactions invoices shipments questions emails messages dollars
""")

# After a bare number, these make it what a sentence is about ("1 belum sampai", "2 is
# missing", "1 yang rusak"): a follow-up about the order, not a rating with a comment.
SUBJECT = _words("""
belum blm sudah sdh udah udh dah masih msh yang yg nya sampai sampe nyampe datang tiba hilang
rusak dikirim terkirim diterima ketinggalan tertinggal is are was were has have had hasn haven
isn aren wasn weren didn doesn don still already arrived came left received ordered sent shipped
delivered missing broken damaged
""")


def counts(word: str) -> bool:
    """Whether a number followed by `word` counts, measures or dates something."""
    word = word.lower()
    return word in QUANTITY or (word.endswith("nya") and word[:-3] in QUANTITY)
