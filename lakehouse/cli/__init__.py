"""The ``lakehouse`` command line (typer + rich).

    lakehouse generate --rows 500000 --out workers.csv     # + workers.queries.json
    lakehouse to-parquet workers.csv workers.parquet
    lakehouse ingest workers.csv --name workers            # against LAKEHOUSE_URL
    lakehouse sql "SELECT role, count(*) FROM workers GROUP BY 1"
    lakehouse search workers "forklift operator" -k 5
    lakehouse matrix search "night shift forklift" -c workers -c notes:0.5
    lakehouse matrix record "night shift forklift" --id W0000042 --outcome success
    lakehouse drift report verdict --a sessions:2026-11-27 --b sessions:2026-11-28
    lakehouse distill materialize -t sessions
    lakehouse embed-job submit --dataset workers --corpus workers   # Ray's job server

Exit codes by error class: see ``lakehouse.cli.output``.
"""

from __future__ import annotations

import typer

from lakehouse.cli import embed_job, learning, local, remote
from lakehouse.cli.output import EXIT_INTERNAL, report

app = typer.Typer(
    name="lakehouse",
    help="Lakehouse on Ray: local data tools, and a client of a running server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.registered_commands += local.app.registered_commands + remote.app.registered_commands
app.registered_groups += remote.app.registered_groups
app.add_typer(learning.drift_app, name="drift")
app.add_typer(learning.distill_app, name="distill")
app.add_typer(embed_job.app, name="embed-job")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="lakehouse", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 130
    except typer.TyperException as exc:  # usage errors (typer's own copy of click's)
        exc.show()
        return exc.exit_code
    except Exception as exc:  # every failure is reported and mapped to an exit code
        return report(exc)
    return result if isinstance(result, int) else 0


__all__ = ["EXIT_INTERNAL", "app", "main"]
