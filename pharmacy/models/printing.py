"""Network label printers and the print jobs sent to them (SPEC 6.4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc

LABEL_TYPES = ("prescription", "vial", "batch")
JOB_STATUSES = ("queued", "sent", "failed")


class Printer(Model):
    """A ZPL label printer on the network, reached over raw TCP (port 9100 by default)."""

    __tablename__ = "printers"
    __table_args__ = (
        CheckConstraint("port BETWEEN 1 AND 65535", name="port_range"),
        CheckConstraint("dpi IN (203, 300)", name="dpi_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=9100)
    dpi: Mapped[int]
    label_types: Mapped[list] = mapped_column(JSON)  # a subset of LABEL_TYPES
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PrintJob(Model):
    """Labels of a fill or a batch sent (or to be sent) to a printer, with the outcome.

    ``payload`` keeps the exact ZPL so that a retry sends the same bytes. A job is ``queued``
    while it is being sent, then ``sent`` or ``failed`` (``error`` says why).
    """

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id"), index=True)
    entity: Mapped[str] = mapped_column(String(10))  # fill | batch
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # the label render kind: prescription | vial
    labels: Mapped[int]
    status: Mapped[str] = mapped_column(String(8), default="queued", index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # reprint reason
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(default=0)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    printer: Mapped[Printer] = relationship()
