"""Realistic value lists for the simulator (codes in the shape regional systems use)."""

from __future__ import annotations

# (agency code, name, program code, [activity codes]) after Kepmendagri 050-5889/2021.
AGENCIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("1.01.0.00.0.00.01.0000", "Dinas Pendidikan", "1.01.02", ("1.01.02.1.01", "1.01.02.1.02", "1.01.02.2.01")),
    ("1.02.0.00.0.00.01.0000", "Dinas Kesehatan", "1.02.02", ("1.02.02.2.01", "1.02.02.2.02", "1.02.02.2.03")),
    ("1.03.0.00.0.00.01.0000", "Dinas Pekerjaan Umum dan Penataan Ruang", "1.03.10", ("1.03.10.2.01", "1.03.10.2.02")),
    ("1.04.0.00.0.00.01.0000", "Dinas Perumahan dan Kawasan Permukiman", "1.04.02", ("1.04.02.2.01", "1.04.02.2.03")),
    ("1.06.0.00.0.00.01.0000", "Dinas Sosial", "1.06.04", ("1.06.04.2.01", "1.06.04.2.02")),
    ("2.11.0.00.0.00.01.0000", "Dinas Lingkungan Hidup", "2.11.09", ("2.11.09.2.01", "2.11.09.2.02")),
    ("2.12.0.00.0.00.01.0000", "Dinas Kependudukan dan Pencatatan Sipil", "2.12.02", ("2.12.02.2.01", "2.12.02.2.02")),
    ("2.18.0.00.0.00.01.0000", "Dinas Penanaman Modal dan PTSP", "2.18.04", ("2.18.04.2.01", "2.18.04.2.02")),
    ("5.02.0.00.0.00.01.0000", "Badan Pengelola Keuangan dan Aset Daerah", "5.02.02", ("5.02.02.2.01", "5.02.02.2.04")),
)
POSITIONS = ("kepala dinas", "sekretaris", "kepala bidang", "kepala seksi", "analis kebijakan", "pranata komputer",
             "guru ahli pertama", "perawat terampil", "penyuluh", "auditor muda")
RANKS = ("II/a", "II/c", "III/a", "III/b", "III/c", "III/d", "IV/a", "IV/b")
COMPLAINT_CATEGORIES = ("infrastruktur", "kesehatan", "pendidikan", "administrasi kependudukan", "lingkungan hidup",
                        "pelayanan publik", "perizinan", "bantuan sosial", "ketertiban umum")
COMPLAINT_CHANNELS = ("web", "mobile", "sms", "whatsapp", "social media", "in person", "letter")
COMPLAINT_OUTCOMES = ("ditindaklanjuti", "ditindaklanjuti", "ditindaklanjuti", "tidak terbukti", "dialihkan")
FORWARD_AGENCIES = ("Dinas Pekerjaan Umum dan Penataan Ruang", "Dinas Kesehatan", "Dinas Pendidikan",
                    "Satuan Polisi Pamong Praja", "Dinas Lingkungan Hidup", "Dinas Perhubungan")
PERMIT_TYPES = ("PBG", "SLF", "izin usaha", "izin praktik tenaga kesehatan", "izin reklame", "izin lingkungan")
KBLI = ("47111", "56101", "10792", "46100", "62019", "55110")
APPLICANT_KINDS = ("perorangan", "badan usaha")
REJECTION_REASONS = ("dokumen persyaratan tidak lengkap", "tidak sesuai rencana tata ruang",
                     "persyaratan teknis tidak terpenuhi", "lokasi dalam sengketa")
PROCUREMENT_METHODS = ("tender", "seleksi", "e-purchasing", "pengadaan langsung", "swakelola")
PACKAGES = ("Rehabilitasi Gedung Sekolah", "Pengadaan Alat Kesehatan Puskesmas", "Peningkatan Jalan Kabupaten",
            "Pembangunan Drainase Perkotaan", "Pengadaan Laptop untuk Sekolah", "Jasa Konsultansi Perencanaan",
            "Pengadaan Obat dan Bahan Medis Habis Pakai", "Pembangunan Jembatan Desa")
SUPPLIERS = ("PT Karya Nusantara Konstruksi", "CV Sinar Medika", "PT Mitra Teknologi Indonesia",
             "CV Bangun Persada", "PT Cipta Graha Mandiri", "PT Sehat Sentosa Farma")
LETTER_CLASSIFICATIONS = ("000.1", "100.3", "400.6", "500.12", "800.1.2", "900.1")
SECURITY_LEVELS = ("biasa", "biasa", "biasa", "terbatas", "rahasia")
INSTRUCTIONS = ("tindak lanjuti", "pelajari", "hadiri", "arsipkan", "koordinasikan")
ASSET_CATEGORIES = ("A", "B", "C", "D", "E", "F")
ASSET_CODES = ("1.3.1.01.01.01.001", "1.3.2.05.01.05.001", "1.3.3.01.01.01.001", "1.3.4.01.01.01.001")
DISPOSAL_METHODS = ("penjualan", "hibah", "pemusnahan", "penghapusan", "tukar menukar")
REVALUATION_BASES = ("penilaian kembali", "koreksi", "penyusutan")
FINDING_CATEGORIES = ("ketidakpatuhan", "kelemahan SPI", "3E")
RECOMMENDATIONS = ("menyetorkan kelebihan pembayaran ke kas daerah", "memperbaiki prosedur verifikasi belanja",
                   "melengkapi bukti pertanggungjawaban", "menertibkan pencatatan aset")
FOLLOW_UP_STATUSES = ("sesuai", "sesuai", "belum sesuai", "tidak dapat ditindaklanjuti")
INDICATORS = (("IKU-01", "persen"), ("IKU-02", "persen"), ("IKU-03", "dokumen"), ("IKU-04", "orang"))
PERIODS = ("Q1", "Q2", "Q3", "Q4", "S1", "S2", "annual")
RATINGS = ("sangat baik", "baik", "baik", "baik", "butuh perbaikan", "kurang")
DATASETS = ("Jumlah Penduduk per Kecamatan", "Realisasi APBD per Bulan", "Daftar Sekolah Dasar",
            "Jumlah Puskesmas dan Tenaga Kesehatan", "Panjang Jalan Kabupaten menurut Kondisi",
            "Data Perizinan Terbit")
KEYWORDS = ("kependudukan", "keuangan", "pendidikan", "kesehatan", "infrastruktur", "perizinan", "statistik")
FREQUENCIES = ("harian", "bulanan", "triwulanan", "tahunan")
METADATA_FIELDS = ("title", "description", "keywords", "update_frequency", "license", "url")
TAX_TYPES = ("PBB-P2", "BPHTB", "PBJT", "reklame", "air tanah")
PAYMENT_CHANNELS = ("bank", "QRIS", "minimarket", "marketplace", "loket")
FORUM_LEVELS = ("desa", "kecamatan", "kabupaten/kota", "provinsi")
PROPOSALS = ("Perbaikan Jalan Lingkungan", "Pembangunan Posyandu", "Pelatihan UMKM", "Penerangan Jalan Umum",
             "Rehabilitasi Saluran Irigasi", "Pengadaan Sarana Air Bersih")
PROPOSING_BODIES = ("Pemerintah Desa", "Kelompok Tani", "Karang Taruna", "PKK", "Forum Anak", "Dinas Teknis")
RETIREMENT_TYPES = ("batas usia", "batas usia", "atas permintaan sendiri", "meninggal")
MOVE_TYPES = {"same_district": "dalam kecamatan", "same_regency": "antar kecamatan",
              "same_province": "antar kabupaten/kota", "other": "antar provinsi"}
PAYMENT_TYPES = ("LS", "LS", "GU", "UP", "TU")
