"""Indonesian complaint texts for the demo data: a few templates per category, filled with places
and details so that no two complaints read quite alike (and full-text search finds something)."""

# ruff: noqa: E501 (sentences read better whole than wrapped)
import random

PLACES = (
    "Jalan Merdeka", "Jalan Sudirman", "Jalan Diponegoro", "Jalan Ahmad Yani", "Gang Melati",
    "Jalan Pahlawan", "Jalan Gatot Subroto", "Jalan Veteran", "Jalan Kartini", "Jalan Imam Bonjol",
    "depan pasar", "dekat SD negeri", "samping masjid", "dekat puskesmas", "ujung gang",
)  # fmt: skip

TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "infrastruktur": (
        (
            "Jalan rusak di {place}",
            "Jalan di {place} berlubang cukup dalam sejak {weeks} minggu lalu. Sudah ada pengendara motor yang jatuh, mohon segera diperbaiki.",
        ),
        (
            "Lampu penerangan jalan mati",
            "Lampu penerangan jalan umum di {place} mati sejak {weeks} minggu. Malam hari sangat gelap dan rawan kejahatan.",
        ),
        (
            "Drainase tersumbat di {place}",
            "Saluran air di {place} tersumbat sampah sehingga setiap hujan air meluap ke jalan dan rumah warga.",
        ),
        (
            "Jembatan kayu hampir roboh",
            "Jembatan penghubung dekat {place} papannya lapuk dan beberapa sudah patah. Anak sekolah setiap hari melewatinya.",
        ),
    ),
    "administrasi_kependudukan": (
        (
            "KTP elektronik belum jadi",
            "Saya sudah merekam KTP elektronik {weeks} minggu lalu di Disdukcapil tetapi sampai sekarang belum dicetak dengan alasan blangko habis.",
        ),
        (
            "Pengurusan akta kelahiran lambat",
            "Pengurusan akta kelahiran anak saya sudah {weeks} minggu belum selesai, padahal berkas sudah lengkap.",
        ),
        (
            "Kartu keluarga salah data",
            "Nama dan tanggal lahir di kartu keluarga saya salah ketik. Sudah mengajukan perbaikan {weeks} minggu lalu tetapi belum ada kabar.",
        ),
    ),
    "kesehatan": (
        (
            "Antrean puskesmas terlalu lama",
            "Antrean di puskesmas {place} sangat panjang, pasien menunggu lebih dari {hours} jam dan petugas loket hanya satu orang.",
        ),
        (
            "Obat tidak tersedia di puskesmas",
            "Obat yang diresepkan dokter tidak tersedia di puskesmas {place} sejak {weeks} minggu, pasien diminta membeli sendiri di apotek.",
        ),
        (
            "Pelayanan BPJS ditolak",
            "Peserta BPJS Kesehatan ditolak berobat di rumah sakit daerah dengan alasan kuota penuh. Mohon ditindaklanjuti.",
        ),
    ),
    "pendidikan": (
        (
            "Pungutan di sekolah negeri",
            "Sekolah negeri dekat {place} meminta uang pembangunan Rp{amount} ribu kepada orang tua murid baru.",
        ),
        (
            "Ruang kelas rusak",
            "Atap ruang kelas di sekolah dasar dekat {place} bocor dan plafon hampir runtuh. Murid terpaksa belajar di teras.",
        ),
        (
            "Dana PIP belum cair",
            "Dana Program Indonesia Pintar untuk anak saya belum cair padahal sudah {weeks} minggu sejak pengumuman.",
        ),
    ),
    "bantuan_sosial": (
        (
            "Bansos tidak tepat sasaran",
            "Warga mampu di sekitar {place} menerima bantuan sosial, sementara warga miskin yang lebih membutuhkan tidak terdaftar.",
        ),
        (
            "Bantuan PKH terlambat",
            "Bantuan PKH untuk keluarga kami belum diterima selama {weeks} minggu tanpa penjelasan dari pendamping.",
        ),
        (
            "Nama hilang dari DTKS",
            "Nama keluarga kami tiba-tiba hilang dari DTKS sehingga tidak lagi menerima bantuan pangan.",
        ),
    ),
    "lingkungan_hidup": (
        (
            "Sampah menumpuk di {place}",
            "Sampah di tempat pembuangan sementara {place} tidak diangkut selama {weeks} minggu dan menimbulkan bau busuk.",
        ),
        (
            "Pencemaran sungai oleh pabrik",
            "Air sungai dekat {place} berubah warna dan berbau, diduga limbah pabrik dibuang langsung ke sungai.",
        ),
        (
            "Pembakaran sampah terbuka",
            "Setiap sore ada pembakaran sampah di {place} yang asapnya masuk ke rumah warga dan mengganggu pernapasan.",
        ),
    ),
    "ketertiban_umum": (
        (
            "Pedagang kaki lima menutup trotoar",
            "Trotoar di {place} penuh pedagang kaki lima sehingga pejalan kaki harus berjalan di badan jalan.",
        ),
        (
            "Parkir liar di {place}",
            "Parkir liar di {place} menyebabkan kemacetan setiap pagi dan juru parkir menarik tarif Rp{amount} ribu.",
        ),
        (
            "Balap liar setiap malam",
            "Hampir setiap malam ada balap liar di {place} yang membahayakan warga dan sangat bising.",
        ),
    ),
    "korupsi_pungli": (
        (
            "Pungutan liar pengurusan izin",
            "Petugas meminta uang Rp{amount} ribu di luar tarif resmi untuk mempercepat pengurusan izin usaha.",
        ),
        (
            "Dugaan penyalahgunaan dana desa",
            "Pembangunan jalan desa dekat {place} tidak sesuai anggaran yang diumumkan, diduga ada penyimpangan dana desa.",
        ),
        (
            "Pungli di jembatan timbang",
            "Sopir truk dimintai uang Rp{amount} ribu oleh oknum petugas tanpa tanda terima.",
        ),
    ),
    "lainnya": (
        (
            "Pelayanan kantor kelurahan",
            "Kantor kelurahan sering tutup pada jam kerja dan warga yang datang diminta kembali besok.",
        ),
        (
            "Informasi layanan tidak jelas",
            "Persyaratan layanan di kantor dinas berbeda dengan yang diumumkan di situs web, warga harus bolak-balik.",
        ),
    ),
}

FOLLOW_UPS = (
    "Terima kasih atas laporannya. Petugas sudah meninjau lokasi dan perbaikan dijadwalkan minggu ini.",
    "Laporan telah kami teruskan ke bidang terkait dan sudah ditangani. Mohon konfirmasi bila masih ada kendala.",
    "Kami telah memanggil petugas yang bersangkutan untuk klarifikasi dan pembinaan.",
    "Berkas Saudara sudah diproses dan dapat diambil di kantor kami pada hari kerja.",
    "Tim kami sudah turun ke lapangan dan masalah telah diselesaikan bersama warga setempat.",
)  # fmt: skip

RETURN_REASONS = (
    "bukan kewenangan kami, mohon dialihkan ke instansi yang tepat",
    "lokasi berada di luar wilayah kerja kami",
    "urusan ini ditangani oleh pemerintah provinsi",
)  # fmt: skip


def complaint_text(category: str, rng: random.Random) -> tuple[str, str]:
    title, description = rng.choice(TEMPLATES.get(category, TEMPLATES["lainnya"]))
    values = {
        "place": rng.choice(PLACES),
        "weeks": rng.randint(1, 12),
        "hours": rng.randint(2, 6),
        "amount": rng.choice((50, 100, 150, 200, 250, 500)),
    }
    return title.format(**values)[:200], description.format(**values)
