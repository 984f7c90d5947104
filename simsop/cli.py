"""The ``simsop`` command line. Heavy libraries are imported inside commands, so ``--help`` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from simsop import __version__

# Rows of the KPI table printed after a run: (kpi, label, format).
KPI_TABLE = (
    ("otif", "OTIF (orders)", "pct"),
    ("otif_line", "OTIF (lines)", "pct"),
    ("fill_rate", "Fill rate (units)", "pct"),
    ("cycle_service_level", "Cycle service level", "pct"),
    ("avg_backlog", "Average backlog (units)", "num"),
    ("lost_sales_units", "Lost sales (units)", "num"),
    ("avg_on_hand", "Average on hand (units)", "num"),
    ("days_of_supply", "Days of supply", "num"),
    ("inventory_turns", "Inventory turns (per year)", "num"),
    ("utilization", "Factory utilization", "pct"),
    ("revenue", "Revenue", "money"),
    ("total_cost", "Total cost", "money"),
    ("profit", "Profit", "money"),
)


def _fmt(x: float, kind: str) -> str:
    if x is None or x != x:
        return "–"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if kind == "money":
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def _load(path: str) -> Any:
    from simsop.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simsop")
def main() -> None:
    """simsop: simulate a company's supply chain and its S&OP decisions, day by day.

    Start with `simsop run scenarios/example_company.yaml`.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check scenario files; print one line per problem (file, key path, what was expected)."""
    from simsop.scenario import ScenarioError, load_scenario

    bad = 0
    for f in files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            click.echo(str(exc), err=True)
            bad += 1
            continue
        click.echo(f"{f}: ok ({len(sc.products)} products, {len(sc.customers)} customers, "
                   f"{len(sc.warehouses)} warehouses, {len(sc.factories)} factories, "
                   f"{len(sc.suppliers)} suppliers, {len(sc.lanes)} lanes; {sc.horizon} days)")
    if bad:
        sys.exit(2)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file instead of standard output.")
def schema(out: str | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    import json

    from simsop.scenario import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out:
        from simsop.results import atomic_write_text

        atomic_write_text(Path(out), text)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-n", "--replications", type=click.IntRange(min=1), help="Replications (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed (default: the scenario's).")
@click.option("--out", type=click.Path(file_okay=False), help="Result folder (default: results/<name>/<time>).")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--executor", type=click.Choice(["serial", "process"]), default="process", show_default=True)
@click.option("--no-report", is_flag=True, help="Do not write report.html and figures/ at the end.")
def run(file: str, replications: int | None, seed: int | None, out: str | None, jobs: int | None,
        executor: str, no_report: bool) -> None:
    """Simulate FILE over many random futures and print its KPIs with 95% confidence intervals."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from simsop.experiment import run_replications, summarize_kpis
    from simsop.kpi import KPI_NAMES
    from simsop.results import (
        atomic_write_csv,
        atomic_write_json,
        default_run_dir,
        manifest,
    )
    from simsop.scenario import scenario_hash

    sc = _load(file)
    n = replications or sc.replications
    s = sc.seed if seed is None else seed
    console = Console(stderr=True)
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"{sc.name}", total=n)
        rows = run_replications(sc, n, s, executor=executor, jobs=jobs,
                                progress=lambda k: bar.advance(task, k))
    summary = summarize_kpis(rows, KPI_NAMES)
    run_dir = Path(out) if out else default_run_dir(sc.name)
    atomic_write_csv(run_dir / "kpis.csv", rows)
    atomic_write_json(run_dir / "summary.json", summary)
    atomic_write_json(run_dir / "manifest.json", manifest(file, scenario_hash(sc), s, n,
                                                         {"scenario": sc.name, "executor": executor}))
    _print_table(sc.name, n, s, summary)
    click.echo(f"results: {run_dir}")
    _report_at_end(run_dir, no_report)


def _print_table(name: str, n: int, seed: int, summary: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{name}: {n} replications, seed {seed}")
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("P5 – P95", justify="right")
    for key, label, kind in KPI_TABLE:
        s = summary[key]
        ci = f"{_fmt(s['ci_low'], kind)} – {_fmt(s['ci_high'], kind)}" if n > 1 else "–"
        table.add_row(label, _fmt(s["mean"], kind), ci, f"{_fmt(s['p5'], kind)} – {_fmt(s['p95'], kind)}")
    Console().print(table)


@main.command()
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--no-png", is_flag=True, help="Write report.html only, not figures/*.png.")
@click.option("--out", type=click.Path(file_okay=False), help="Write the report here (default: RESULTS_DIR).")
def report(results_dir: str, no_png: bool, out: str | None) -> None:
    """Write RESULTS_DIR/report.html (one self-contained file) and figures/*.png from a run's results."""
    from simsop.report import write_report

    try:
        path = write_report(results_dir, ("html",) if no_png else ("html", "png"), out=out)
    except FileNotFoundError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"report: {path}")


def _report_at_end(results_dir: Path, no_report: bool) -> None:
    """The report that ends `run`, `compare` and `stress`; a failure is a warning, the results stay."""
    if no_report:
        return
    from simsop.report import write_report

    try:
        path = write_report(results_dir)
    except Exception as exc:  # the simulation results are written already: never lose them to a chart
        click.echo(f"warning: no report written ({type(exc).__name__}: {exc}); "
                   f"try `simsop report {results_dir}`", err=True)
        return
    click.echo(f"report: {path}")


# ---------------------------------------------------------------------------------------------- workshops


def _add_workshop() -> None:
    """`simsop workshop ...` (simsop.workshop.cli imports only click at load time, so --help stays fast)."""
    from simsop.workshop.cli import workshop

    main.add_command(workshop)


_add_workshop()


if __name__ == "__main__":  # pragma: no cover
    main()
