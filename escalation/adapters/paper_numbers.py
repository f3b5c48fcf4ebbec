"""Document numbers (文号): sequential per issuing unit, kind and year, given out once.

The numbers are not events. A number is the office's register of what it
sent, kept in ``escalation_paper_numbers`` beside the log: one row per paper,
keyed by the event the paper belongs to (dispute, event version, kind). The
log says what happened; the register says which number the paper about it
carries. Rendering a paper again finds its row and prints the same number;
rebuilding the read models leaves the register alone (it is not one).

Allocation is one transaction: look the paper's row up; if there is none,
take the next number of (issuer, kind, year) and insert the row. Two unique
keys make it safe with any number of workers: (dispute, version, kind), so a
paper gets one number, and (issuer, kind, year, seq), so a number goes to one
paper. A worker that loses a race on either key rolls back and tries again,
then finds the winner's row or the next free number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime, create_serialised
from escalation.errors import StorageError

paper_numbers = Table(
    "escalation_paper_numbers",
    MetaData(),
    Column("dispute_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("issuer", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("allocated_at", UTCDateTime, nullable=False),
    UniqueConstraint("issuer", "kind", "year", "seq", name="escalation_paper_numbers_seq"),
)
_ATTEMPTS = 20


@dataclass(frozen=True)
class Number:
    issuer: str
    kind: str
    year: int
    seq: int


class Register:
    """The register of document numbers on the store's database (created if missing)."""

    def __init__(self, bind: Engine) -> None:
        self.bind = bind
        create_serialised(bind, lambda: paper_numbers.create(bind, checkfirst=True))

    def lookup(self, dispute_id: UUID, version: int, kind: str) -> Number | None:
        with Session(self.bind) as session:
            return _found(session, dispute_id, version, kind)

    def allocate(
        self,
        dispute_id: UUID,
        version: int,
        kind: str,
        *,
        issuer: str,
        year: int,
        now: datetime,
    ) -> Number:
        """The paper's number: the one it was given, or the next free one now."""
        c = paper_numbers.c
        for _ in range(_ATTEMPTS):
            try:
                with Session(self.bind) as session, session.begin():
                    found = _found(session, dispute_id, version, kind)
                    if found is not None:
                        return found
                    last = session.execute(
                        select(func.max(c.seq)).where(
                            c.issuer == issuer, c.kind == kind, c.year == year
                        )
                    ).scalar()
                    seq = int(last or 0) + 1
                    session.execute(
                        paper_numbers.insert().values(
                            dispute_id=dispute_id,
                            version=version,
                            kind=kind,
                            issuer=issuer,
                            year=year,
                            seq=seq,
                            allocated_at=now,
                        )
                    )
                    return Number(issuer, kind, year, seq)
            except IntegrityError:
                continue  # another worker took the number, or numbered this paper
            except OperationalError as exc:  # SQLite: the file was locked for too long
                if "locked" not in str(exc):
                    raise
                continue
        raise StorageError(
            f"could not number the {kind} of dispute {dispute_id}: "
            f"{_ATTEMPTS} attempts lost to other workers; try again"
        )


def _found(session: Session, dispute_id: UUID, version: int, kind: str) -> Number | None:
    c = paper_numbers.c
    row = session.execute(
        select(c.issuer, c.kind, c.year, c.seq).where(
            c.dispute_id == dispute_id, c.version == version, c.kind == kind
        )
    ).first()
    return None if row is None else Number(str(row[0]), str(row[1]), int(row[2]), int(row[3]))
