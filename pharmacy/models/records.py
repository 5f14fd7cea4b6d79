"""Label render log and recalls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc


class LabelRender(Model):
    """Every label render: who, when, what; a reprint carries its reason (SPEC 2.8)."""

    __tablename__ = "label_renders"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # prescription | vial | batch | calendar
    entity: Mapped[str] = mapped_column(String(20))  # fill | batch
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    output: Mapped[str] = mapped_column(String(10))  # pdf | zpl203 | zpl300
    labels: Mapped[int] = mapped_column(default=1)
    reprint: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rendered_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class Recall(Model):
    """A recall of an ingredient lot or batch lot, with who was to be contacted."""

    __tablename__ = "recalls"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingredient_lot_id: Mapped[int | None] = mapped_column(ForeignKey("ingredient_lots.id"))
    batch_lot: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    result: Mapped[dict] = mapped_column(JSON)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
