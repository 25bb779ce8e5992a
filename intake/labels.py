"""Timeline labels: what each event type is called on a complaint's timeline, in Indonesian and
English. Every EventType has a row (tests/intake/test_labels.py); a branch that adds an event
type adds its labels here. Keyed by the type's name, so the conversation's and attachments'
types (agreed in advance) are ready before their branches land."""

from intake.schemas import EventLabel

LABELS: dict[str, tuple[str, str]] = {
    "complaint.submitted": ("Laporan diterima", "Complaint received"),
    "complaint.verification_required": (
        "Menunggu verifikasi petugas",
        "Awaiting verification by staff",
    ),
    "complaint.classified": ("Kategori ditetapkan", "Category assigned"),
    "complaint.verified": ("Laporan terverifikasi", "Complaint verified"),
    "complaint.held": ("Laporan ditunda", "Complaint put on hold"),
    "complaint.resumed": ("Laporan dilanjutkan", "Complaint resumed"),
    "complaint.archived": ("Laporan diarsipkan", "Complaint archived"),
    "complaint.info_requested": (
        "Pelapor diminta melengkapi informasi",
        "More information requested from the reporter",
    ),
    "complaint.dispositioned": ("Didisposisikan ke instansi", "Assigned to an agency"),
    "complaint.accepted": ("Diterima oleh instansi", "Accepted by the agency"),
    "complaint.followed_up": ("Ditindaklanjuti instansi", "The agency followed up"),
    "complaint.resolved": ("Laporan selesai", "Complaint resolved"),
    "complaint.returned": (
        "Dikembalikan: bukan wewenang instansi",
        "Returned: not the agency's responsibility",
    ),
    "complaint.delegated": ("Dilimpahkan ke unit kerja", "Delegated to an office"),
    "complaint.sla_warning": ("Batas waktu segera berakhir", "Deadline approaching"),
    "complaint.sla_breached": ("Batas waktu terlampaui", "Deadline missed"),
    "complaint.reminder": ("Pengingat dikirim ke instansi", "Reminder sent to the agency"),
    "complaint.escalated": ("Dieskalasi ke tingkat atas", "Escalated one level up"),
    # The conversation, attachments and duplicates (docs: contracts of issue 8's branches).
    "complaint.commented": ("Komentar baru", "New comment"),
    "complaint.reporter_replied": ("Pelapor menanggapi", "The reporter replied"),
    "complaint.resolution_accepted": (
        "Pelapor menerima penyelesaian",
        "The reporter accepted the resolution",
    ),
    "complaint.rated": ("Pelapor memberi penilaian", "The reporter rated the handling"),
    "complaint.reopened": ("Laporan dibuka kembali", "Complaint reopened"),
    "complaint.followed": ("Warga mengikuti laporan ini", "A citizen follows this complaint"),
    "complaint.marked_duplicate": ("Ditandai sebagai duplikat", "Marked as a duplicate"),
    "complaint.attachment_added": ("Lampiran ditambahkan", "Attachment added"),
    "complaint.unfollowed": ("Warga berhenti mengikuti", "A citizen stopped following"),
    # Open311: an admin set the region of a request that came without one.
    "complaint.region_set": ("Wilayah ditetapkan", "Region set"),
    # Webhooks (issue 9): about an endpoint, not a complaint; labelled for the ops views.
    "webhook.delivery_exhausted": (
        "Pengiriman webhook gagal setelah semua percobaan",
        "Webhook delivery exhausted",
    ),
    "webhook.endpoint_disabled": ("Endpoint webhook dinonaktifkan", "Webhook endpoint disabled"),
    "webhook.ping": ("Uji webhook", "Webhook test"),
}


def label_of(event_type: str) -> EventLabel:
    """The labels of `event_type`; an unknown type (an older or newer deployment's) shows its
    name rather than failing the timeline."""
    id_, en = LABELS.get(event_type, (event_type, event_type))
    return EventLabel(id=id_, en=en)
