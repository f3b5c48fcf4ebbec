"""Audit commands: timeline, verify, export, checkpoint, keys (registered on the main app)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO, get_args

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from escalation import bootstrap
from escalation.adapters.persistence import read_head
from escalation.adapters.personal_data import (
    MASTER_KEY_VARIABLE,
    create_key_file,
    read_key_file,
    rewrap,
)
from escalation.application.audit.checkpoint import (
    Checkpoint,
    check_signature,
    create_key,
    load_private_key,
    make_checkpoint,
    public_key_hex,
    read_checkpoint,
    write_new_file,
)
from escalation.application.audit.export import Format, What
from escalation.application.audit.export import export as export_records
from escalation.application.audit.findings import VerifyReport
from escalation.application.audit.log import dispute_rows
from escalation.application.audit.report import dispute_report
from escalation.application.audit.timeline import timeline
from escalation.application.audit.verify import verify as verify_log
from escalation.application.audit.verify import verify_dispute
from escalation.application.engine import DEFAULT_URL
from escalation.application.event_text import describe, local_time
from escalation.entrypoints.cli.options import (
    DbOption,
    RulesOption,
    app,
    console,
    errors,
    open_engine,
    progress_shown,
    rule_and_why,
    sqlite_path,
    write_html,
    zone_of,
)
from escalation.errors import EscalationError, InvalidInput, StorageError
from escalation.policies.inputs import require_known
from escalation.progress import Progress

KIND_STYLE = {"digest": "magenta", "undecodable": "bold red", "unexpected": "yellow"}

keys_app = typer.Typer(
    help="Make and show keys: Ed25519 signing keys for checkpoints, master keys for personal data.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


@app.command()
def verify(
    expect: Annotated[
        list[str] | None,
        typer.Option(
            help="POSITION:DIGEST noted from an earlier verify; the log must still give it."
        ),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint file (`escalation checkpoint`); the log must extend it.",
        ),
    ] = None,
    public_key: Annotated[
        list[str] | None,
        typer.Option(
            "--public-key",
            help="Trusted signer of --checkpoint (64 hex, `escalation keys show`); repeatable.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Findings to list.")] = 50,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Re-read the whole log and prove it unaltered; exit 1 on any finding."""
    anchors = [_anchor(text) for text in expect or []]
    if public_key and not checkpoint:
        raise InvalidInput("--public-key names who may sign a --checkpoint; give the checkpoint")
    # Every checkpoint is read and its signature checked before the database is touched.
    checkpoints = [read_checkpoint(path) for path in checkpoint or []]
    for path, cp in zip(checkpoint or [], checkpoints, strict=True):
        try:
            check_signature(cp, public_key or None)
        except InvalidInput as exc:
            raise InvalidInput(f"checkpoint file {path}: {exc}") from None
    if checkpoints:
        _require_store(db)
    anchors += [cp.anchor for cp in checkpoints]
    with (
        open_engine(db, rules) as engine,
        progress_shown("verifying", engine.projections.head() or None) as advance,
    ):
        report = verify_log(engine, progress=advance, expect=anchors)
    _print_report(report, limit)
    for path, cp in zip(checkpoint or [], checkpoints, strict=True):
        _print_checkpoint(path, cp, report)
    if not report.ok:
        raise typer.Exit(1)


def _print_checkpoint(file: Path, cp: Checkpoint, report: VerifyReport) -> None:
    path = escape(str(file))
    signed = f"signed {cp.time.isoformat()} by {cp.public_key[:16]}…"
    differs = cp.position in report.expected_differ
    if not differs:
        console.print(
            f"[green]the log extends checkpoint {path}[/green]: the same digest at position "
            f"{cp.position:,} ({cp.records:,} records; {signed})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        why = (
            f"the log now ends at position {report.log_position:,}, before it: rows were removed"
            if report.log_position < cp.position
            else "the rows up to it were rewritten, removed or inserted since"
        )
        console.print(
            f"[red]the log does NOT extend checkpoint {path}[/red]: its digest at position "
            f"{cp.position:,} differs from the signed one ({signed}); {why}",
            highlight=False,
            soft_wrap=True,
        )


def _require_store(db: str) -> None:
    """Refuse a SQLite file that does not exist (opening it would make an empty store)."""
    path = sqlite_path(db)
    if path is not None and not path.exists():
        raise StorageError(f"no store at {db}: {path} does not exist")


def _anchor(text: str) -> tuple[int, str]:
    position, _, digest = text.partition(":")
    if not position.strip().isdigit() or len(digest.strip()) != 64:
        raise EscalationError(
            f"--expect {text!r}: give POSITION:DIGEST as printed by verify (64 hex digits)"
        )
    return int(position), digest.strip()


def _print_report(report: VerifyReport, limit: int, out: Console = console) -> None:
    summary = Table(title="verify", title_justify="left", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    summary.add_row("events read", f"{report.events:,}")
    summary.add_row("disputes", f"{report.disputes:,}")
    summary.add_row("checkpoints compared", f"{report.checkpoints:,}")
    summary.add_row("checkpointed up to position", f"{report.covered_to:,}")
    summary.add_row("after it (hash chains only)", f"{report.uncovered:,}")
    for kind, count in sorted(report.kinds().items()):
        summary.add_row(Text(kind, style="red"), str(count))
    if report.expected:
        summary.add_row("expected digests compared", str(report.expected))
    out.print(summary)
    if report.log_digest:
        out.print(
            f"log digest: {report.log_position}:{report.log_digest}\n"
            "  note it outside the database; later, `escalation verify --expect "
            f"{report.log_position}:<digest>` proves those rows unchanged"
        )
    if report.ok:
        out.print("[green]ok[/green]: every hash chain, head and checkpoint matches")
        return
    out.print(f"[red]{len(report.findings) + report.dropped} findings[/red], in log order:")
    for f in report.findings[:limit]:
        # One line to find it, one to read it: narrow terminals fold tables badly.
        where = [f"dispute {f.dispute_id}"] if f.dispute_id else []
        where += [f"version {f.version}"] if f.version is not None else []
        where += [f"position {f.position}"] if f.position is not None else []
        where += [f"positions {f.span[0] + 1}..{f.span[1]}"] if f.span else []
        style = KIND_STYLE.get(f.kind, "red")
        out.print(f"[{style}]{f.kind:<11}[/] {'  '.join(where)}", highlight=False)
        out.print(f"            {f.detail}", highlight=False, markup=False)
    hidden = len(report.findings) - limit + report.dropped
    if hidden > 0:
        out.print(f"… and {hidden} more")


@app.command()
def audit(
    dispute: Annotated[str, typer.Argument(help="The dispute id.")],
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML audit report here.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the timeline and the chain's check as JSON."),
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """A dispute's full timeline: who, where, which rule and why; and its hash chain."""
    with open_engine(db, rules) as engine:
        zone = zone_of(engine)
        entries = timeline(engine, dispute)
        chain = verify_dispute(engine, dispute)
        if as_json:
            events = [{k: v for k, v in asdict(e).items() if k != "fields"} for e in entries]
            report = {
                "dispute": dispute,
                "events": events,
                "chain": {
                    "ok": chain.ok,
                    "events": chain.events,
                    "findings": [str(f) for f in chain.findings],
                },
            }
            typer.echo(json.dumps(report, default=str, ensure_ascii=False, sort_keys=True))
            if not chain.ok:
                raise typer.Exit(1)
            return
        table = Table(
            title=Text(f"audit of {dispute} (times in {zone})"),
            title_justify="left",
            show_lines=True,
        )
        for col in ("#", "pos", "occurred", "event", "actor", "where", "what", "rule / why"):
            table.add_column(col, overflow="fold")
        # The timeline's "what" keeps codes (export, --json); people read the labels.
        label = engine.rules.label
        rows = dispute_rows(engine.store, entries[0].dispute_id) if entries else []
        named = {
            r.version: describe(r.event, detail=True, label=label, zone=zone)
            for r in rows
            if r.event is not None
        }
        for e in entries:
            table.add_row(
                str(e.version),
                str(e.position),
                local_time(e.occurred_at, zone),
                Text.assemble((e.event, "bold"), " (rule)" if e.by_rule else ""),
                Text(e.actor),
                Text(f"{label('tiers', e.tier)}\n{e.unit}"),
                Text(named.get(e.version, e.what)),
                rule_and_why(e.rule_id, e.rules_version, e.reason, zone),
            )
        console.print(table)
        if html_out is not None:
            write_html(html_out, dispute_report(engine, dispute))
    if chain.ok:
        console.print(
            f"[green]chain verified[/green]: {chain.events} events linked by their hashes"
            + (
                ", the last matches the recorded head"
                if chain.covered_to and not chain.uncovered
                else ""
            )
        )
        return
    console.print("[red]chain does NOT verify[/red]:")
    for finding in chain.findings:
        console.print(f"  {finding}", markup=False)
    raise typer.Exit(1)


@app.command("export")
def export_(
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    what: Annotated[str, typer.Option(help="events (the log), queue, or timeline.")] = "events",
    dispute: Annotated[str | None, typer.Option(help="One dispute (timeline).")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
    personal_data: Annotated[
        bool,
        typer.Option(
            "--with-personal-data",
            help="Include people, summaries, claims, locations and notes (needs the master "
            "key); without it they read [withheld].",
        ),
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Export events, a queue or a dispute's timeline as JSON lines or CSV."""
    # Arguments are checked before anything is drawn or written.
    require_known("format", format, get_args(Format))
    require_known("what", what, get_args(What))
    if what == "timeline" and dispute is None:
        raise InvalidInput("export: a timeline is of one dispute; give --dispute ID")
    if what == "queue" and dispute is not None:
        raise InvalidInput("export: a queue is of a unit or tier, not of a dispute")
    with open_engine(db, rules) as engine:
        if unit is not None:
            require_known("unit", unit, engine.rules.units)
        if tier is not None:
            require_known("tier", tier, engine.rules.tiers)
        # The bar goes to stderr (stdout may be the export itself), and only where the
        # total is known: the whole log, read page by page.
        whole_log = what == "events" and dispute is None
        bar: AbstractContextManager[Progress | None] = (
            progress_shown(f"exporting {what}", on=errors) if whole_log else nullcontext()
        )
        with _target(out) as target, bar as advance:
            count = export_records(
                engine,
                target,
                format=format,  # type: ignore[arg-type]  # checked by export
                what=what,  # type: ignore[arg-type]
                dispute=dispute,
                unit=unit,
                tier=tier,
                progress=advance,
                personal_data=personal_data,
            )
    errors.print(
        f"exported {count:,} records ({what})" + (f" to {out}" if out else ""), markup=False
    )


@contextmanager
def _target(out: Path | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    with out.open("w", encoding="utf-8", newline="") as f:
        yield f


# -------------------------------------------------------------- checkpoint


@app.command()
def checkpoint(
    sign: Annotated[
        Path,
        typer.Option(
            "--sign", help="The Ed25519 signing key (PEM) made by `escalation keys create`."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the checkpoint to this new file.")
    ] = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Print a signed checkpoint of the log (position, digest, time, Ed25519 signature).

    Keep it outside the database: `escalation verify --checkpoint FILE` later
    proves the log still extends it. Nothing is written to the database.
    """
    key = load_private_key(sign)
    if out is not None and (out.exists() or out.is_symlink()):
        raise InvalidInput(f"{out} exists; refusing to overwrite it (choose another file name)")
    _require_store(db)
    with open_engine(db, rules) as engine:
        head = read_head(engine.store)
    if head.position < 1:
        raise InvalidInput(f"the log at {db} is empty: there is nothing to checkpoint yet")
    text = make_checkpoint(head, datetime.now(UTC), key)
    if out is not None:
        write_new_file(out, text)
    typer.echo(text, nl=False)  # plain: rich would fold the signature line
    errors.print(
        (f"wrote {escape(str(out))}; " if out is not None else "")
        + "keep it outside the database; later `escalation verify --checkpoint FILE "
        f"--public-key {public_key_hex(key)}` proves the log still extends it",
        highlight=False,
        soft_wrap=True,
    )


# -------------------------------------------------------------------- keys


@keys_app.command("create")
def keys_create(
    file: Annotated[Path, typer.Argument(help="Where to write the new key (must not exist).")],
) -> None:
    """Make an Ed25519 signing key for checkpoints (PEM, PKCS8, unencrypted, mode 0600)."""
    key = create_key(file)
    console.print(
        f"wrote Ed25519 signing key {escape(str(file))} (mode 0600); "
        "keep it private and backed up.\n"
        f"public key (give it to whoever verifies checkpoints): {public_key_hex(key)}",
        highlight=False,
        soft_wrap=True,
    )


@keys_app.command("show")
def keys_show(
    file: Annotated[Path, typer.Argument(help="A signing key made by `escalation keys create`.")],
) -> None:
    """Print a signing key's public key (64 hex digits), never the private key."""
    typer.echo(public_key_hex(load_private_key(file)))


@keys_app.command("master")
def keys_master(
    file: Annotated[Path, typer.Argument(help="Where to write the new key (must not exist).")],
) -> None:
    """Make a master key for personal data (base64 of 32 random bytes, mode 0600)."""
    create_key_file(file)
    console.print(
        f"wrote master key {escape(str(file))} (mode 0600). Give it to the engine with "
        f"ESCALATION_KEY_FILE={escape(str(file))}; keep a copy apart from the database: "
        "without it, no personal data can be read.",
        highlight=False,
        soft_wrap=True,
    )


@keys_app.command("rotate")
def keys_rotate(
    new: Annotated[Path, typer.Option("--new", help="The new master key file.")],
    old: Annotated[
        Path | None,
        typer.Option(
            "--old",
            help=f"The current master key file (default: {MASTER_KEY_VARIABLE} "
            "or the file beside a SQLite store).",
        ),
    ] = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Re-wrap every data key under a new master key, in one transaction."""
    target = read_key_file(new)
    with bootstrap.open_storage(db, master_key=old) as storage:
        current = storage.store.keyring.master
        if current is None:
            raise StorageError(
                f"no current master key: give --old FILE or set {MASTER_KEY_VARIABLE}"
            )
        with storage.store.writing() as session:
            count = rewrap(session, current, target)
        storage.store.keyring.forget()
    console.print(
        f"re-wrapped {count} data key{'s' if count != 1 else ''} from master key "
        f"{current.key_id} to {target.key_id}; keep the old key until backups made "
        "before now have expired.",
        highlight=False,
        soft_wrap=True,
    )
