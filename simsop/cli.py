"""The ``simsop`` command line. Heavy libraries are imported inside commands, so ``--help`` stays fast."""

from __future__ import annotations

import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from simsop import __version__

# Rows of the KPI table printed after a run: (kpi, label, format).
KPI_TABLE = (
    ("otif", "OTIF (orders)", "pct"),
    ("otif_line", "OTIF (lines)", "pct"),
    ("fill_rate", "Fill rate (units)", "pct"),
    ("otif_requested", "OTIF (requested dates)", "pct"),
    ("avg_quoted_delay", "Quoted delay (days)", "num"),
    ("cycle_service_level", "Cycle service level", "pct"),
    ("avg_backlog", "Avg backlog (units)", "num"),
    ("lost_sales_units", "Lost sales (units)", "num"),
    ("avg_on_hand", "Avg on hand (units)", "num"),
    ("days_of_supply", "Days of supply", "num"),
    ("inventory_turns", "Inventory turns/year", "num"),
    ("utilization", "Factory utilization", "pct"),
    ("bottleneck_utilization", "Bottleneck plant utilization", "pct"),
    ("material_short_units", "Short of components (units)", "num"),
    ("budget_breach_buckets", "Buckets over budget", "num"),
    ("revenue", "Revenue", "money"),
    ("total_cost", "Total cost", "money"),
    ("profit", "Profit", "money"),
)



def _fmt(x: float, kind: str) -> str:
    if x is None or x != x:
        return "–"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if kind == "money" and abs(x) >= 100_000:
        # Compact, so the table fits an 80-column terminal: 5.09M, 845.2k.
        return f"{x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"{x / 1e3:,.1f}k"
    if kind == "money":
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def _load(path: str) -> Any:
    from simsop.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        if _is_stress_file(path):  # its 'base:' key is not a scenario's: say which command reads it
            _fail(f"{path} is a stress file (shock cases over a base scenario): run it with "
                  f"'simsop stress {path}', or run its base scenario itself")
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simsop")
def main() -> None:
    """simsop: simulate a company's supply chain and its S&OP decisions, day by day.

    Start with `simsop run scenarios/example_company.yaml`.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
def validate(files: tuple[str, ...]) -> None:
    """Check scenario files; print one line per problem (file, key path, what was expected)."""
    from simsop.scenario import ScenarioError, load_scenario

    bad = 0
    for f in files:
        try:
            if _is_stress_file(f):
                from simsop.shocks import load_stress

                base, cases = load_stress(f)
                click.echo(f"{f}: ok (stress file over {base.name!r}: {_count(len(cases), 'shock case')})")
                _print_case_notes([(c.name, c.shocks) for c in cases], base)
                continue
            sc = load_scenario(f)
        except ScenarioError as exc:
            click.echo(str(exc), err=True)
            bad += 1
            continue
        parts = [_count(len(sc.products), "product"), _count(len(sc.customers), "customer"),
                 _count(len(sc.warehouses), "warehouse"), _count(len(sc.factories), "factory", "factories"),
                 _count(len(sc.suppliers), "supplier"), _count(len(sc.lanes), "lane")]
        click.echo(f"{f}: ok ({', '.join(parts)}; {_count(sc.horizon, 'day')})")
        _print_notes(sc, None)
    if bad:
        sys.exit(2)


def _is_stress_file(path: str) -> bool:
    """A stress file overlays a base scenario (a top-level ``base:`` key)."""
    from simsop.scenario import ScenarioError, read_yaml

    try:
        data = read_yaml(path)
    except ScenarioError:
        return False  # load_scenario reports it properly
    return isinstance(data, dict) and "base" in data


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file instead of standard output.")
def schema(out: str | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    import json

    from simsop.scenario import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out:
        from simsop.results import atomic_write_text

        try:
            atomic_write_text(Path(out), text)
        except OSError as exc:
            _fail(f"{out}: cannot write the schema: {exc.strerror or exc}")
    else:
        click.echo(text, nl=False)


# ---------------------------------------------------------------------------------------------- experiments


def _experiment_options(f: Any) -> Any:
    """The options `run`, `compare` and `stress` share."""
    options = [
        click.option("-n", "--replications", type=click.IntRange(min=1),
                     help="Replications per policy and case (default: the scenario's); the maximum with "
                          "--target-ci."),
        click.option("--seed", type=click.IntRange(min=0), help="Seed (default: the scenario's)."),
        click.option("--target-ci", "target_ci", metavar="KPI:REL|KPI:abs=X",
                     help="Sequential mode: add replications until the 95% CI puts the mean of KPI within REL "
                          "of the true mean (profit:0.01; half-width <= REL/(1+REL) of the mean) or within X "
                          "units (otif:abs=0.005), up to --replications; the first round is 10."),
        click.option("--out", type=click.Path(file_okay=False),
                     help="Result folder (default: results/<name>/<time>)."),
        click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores)."),
        click.option("--executor", type=click.Choice(["serial", "process", "dask"]), default="process",
                     show_default=True, help="Where replications run; results are identical on all three."),
        click.option("--dask-scheduler", "dask_scheduler", metavar="ADDRESS",
                     help="Dask scheduler address (tcp://host:8786), or 'local' (default) to start a local "
                          "cluster; with --executor dask."),
        click.option("--resume", type=click.Path(file_okay=False, exists=True), metavar="DIR",
                     help="Continue an interrupted run in DIR (same inputs); ends as an uninterrupted run."),
        click.option("--no-report", is_flag=True, help="Do not write report.html and figures/ at the end."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _split(names: str | None, option: str = "--policies") -> list[str] | None:
    if names is None:
        return None
    out = [x.strip() for x in names.split(",") if x.strip()]
    if not out:
        _fail(f"{option}: expected comma-separated policy names, got {names!r}")
    return out


def _check_options(sc: Any, policies: list[str], target_ci: str | None, option: str = "--policies",
                   file: str | None = None) -> None:
    """Options that cannot work, said before any result folder is made: a precision target that does not
    parse, a policy that cannot be built from the scenario's parameters or cannot run the scenario (an unknown
    name, a class that does not import, a parameter of the wrong type, a replay file that cannot be read or
    names a product the scenario does not have). ``file`` names the scenario in the messages (variants)."""
    from simsop.experiment import Target
    from simsop.planning.cycle import build_policy
    from simsop.planning.policy import PolicyError

    if target_ci is not None:
        try:
            Target.parse(target_ci)
        except ValueError as exc:
            _fail(f"--target-ci {target_ci}: {exc}")
    for name in policies:
        if name == sc.planning.policy:
            continue  # built when the scenario was loaded
        try:
            build_policy(sc, name)
        except PolicyError as exc:  # one line per problem: the key path, and the file and line it reads
            head = f"{file}: " if file else ""
            _fail("\n".join(f"{head}{option}: {msg}" if where == "planning.policy"
                            else f"{head}{option} {name}: {where}: {msg}" for where, msg in exc.problems))
    _print_notes(sc, policies, err=True, file=file)


def _print_notes(sc: Any, policies: list[str] | None, err: bool = False, file: str | None = None) -> None:
    """What a valid scenario will not measure (simsop.scenario_notes), one line each."""
    from simsop.scenario_notes import scenario_notes

    for where, note in scenario_notes(sc, policies):
        click.echo(f"note: {file + ': ' if file else ''}{where}: {note}", err=err)


def _count(n: int, one: str, many: str | None = None) -> str:
    """'1 product', '3 products', '2 factories'."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _print_case_notes(cases: list[tuple[str, Any]], base: Any, err: bool = False) -> None:
    """Shocks of stress cases on the ``base`` scenario that change nothing, whose measuring window runs past
    the horizon or whose effect falls in the warm-up, one line each."""
    from simsop.scenario_notes import shock_notes

    for name, shocks in cases:
        for where, note in shock_notes(shocks, horizon=base.horizon, warmup=base.warmup):
            click.echo(f"note: case {name}: {where}: {note}", err=err)


def _resume_defaults(resume: str | None, out: str | None, **given: Any) -> dict[str, Any]:
    """Options not given on the command line of a resumed run come from its manifest."""
    if resume is None:
        return given
    from simsop.experiment import ResumeError, read_manifest

    if out is not None and Path(out).resolve() != Path(resume).resolve():
        _fail("give --resume DIR without --out (the run continues in DIR)")
    try:
        man = read_manifest(resume)
    except ResumeError as exc:  # no manifest, or one that is not JSON, not text or not a mapping
        _fail(str(exc))
    from_manifest = {"replications": man.get("max_replications"), "seed": man.get("seed"),
                     "target_ci": man.get("target_ci"), "policies": man.get("policies"),
                     "baseline": man.get("baseline")}
    if given.get("policies") is not None and from_manifest["baseline"] not in given["policies"]:
        from_manifest["baseline"] = None  # other policies: the resume check says which differ
    return {k: (from_manifest.get(k) if v is None else v) for k, v in given.items()}


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as an interrupt so that a run stops as cleanly as on Ctrl-C."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _fail(message: str, code: int = 2) -> Any:
    click.echo(message, err=True)
    sys.exit(code)


def _run_experiment(label: str, run_dir: Path, resume: bool, **kw: Any) -> Any:
    """run_experiment with a progress bar (replications done, time left); errors become messages."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from simsop.executors import ExecutorError, in_main_thread
    from simsop.experiment import ReplicationError, ResumeError, run_experiment
    from simsop.scenario import ScenarioError

    if kw.get("dask_scheduler") and kw.get("executor") != "dask":
        _fail(f"--dask-scheduler {kw['dask_scheduler']}: goes with --executor dask (the executor is "
              f"{kw.get('executor')})")
    made = [d for d in (run_dir, *run_dir.parents) if not d.exists()]  # folders this run creates
    console = Console(stderr=True)
    first = True
    # A batch system's or timeout's SIGTERM stops the run as Ctrl-C does: finished replications kept, the
    # manifest says interrupted, workers stopped (the default action would end the process mid-write).
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread() else None
    try:
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def update(done: int, total: int) -> None:
                nonlocal first
                if first:  # replications found on resume are not speed: start the time-left estimate here
                    bar.reset(task, total=total, completed=done)
                    first = False
                else:
                    bar.update(task, total=total, completed=done)

            return run_experiment(out=run_dir, resume=resume, progress=update, **kw)
    except KeyboardInterrupt as exc:
        from simsop.executors import exit_held

        how, code = ("terminated (SIGTERM)", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
        message = f"{how}: the finished replications are kept in {run_dir}; continue with --resume {run_dir}"
        if exit_held():  # a stopped pool's thread would hold a normal exit forever; every file is written by now
            click.echo(message, err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        _fail(message, code)
    except ReplicationError as exc:  # a failure of the model or a policy, not of the command line: exit 1
        where = exc.traceback.rstrip().replace("\n", "\n  ")
        _fail(f"error: {exc}\n  {where}\nthe finished replications are kept in {run_dir} (its manifest.json has "
              f"the traceback); once the cause is fixed, continue with --resume {run_dir}", 1)
    except ExecutorError as exc:
        _discard_unstarted(made)
        how = f"--executor {kw.get('executor')}" + (f" --dask-scheduler {kw['dask_scheduler']}"
                                                    if kw.get("dask_scheduler") else "")
        _fail(f"{how}: {exc}")
    except (ResumeError, ScenarioError, ValueError) as exc:
        _discard_unstarted(made)
        _fail(str(exc))
    except OSError as exc:  # the result folder cannot be made or written
        _discard_unstarted(made)
        where = f" ({exc.filename})" if exc.filename and Path(exc.filename) != run_dir else ""
        _fail(f"{run_dir}: cannot write the results: {exc.strerror or exc}{where}")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _discard_unstarted(made: list[Path]) -> None:
    """Remove the result folder of a run that failed before finishing any replication (an executor that could
    not start, for example) when this command created it: it holds a manifest and nothing to resume."""
    if not made:
        return
    run_dir, partial = made[0], made[0] / "partial"
    if not run_dir.is_dir() or {p.name for p in run_dir.iterdir()} - {"manifest.json", "partial"}:
        return
    if partial.exists() and (not partial.is_dir() or any(partial.iterdir())):
        return
    (run_dir / "manifest.json").unlink(missing_ok=True)
    for d in ([partial] if partial.exists() else []) + made:  # then the parents this run made (results/<name>/)
        try:
            d.rmdir()
        except OSError:
            break


def _run_dir(out: str | None, resume: str | None, name: str) -> Path:
    from simsop.results import default_run_dir

    return Path(resume or out or default_run_dir(name))


def _precision_line(exp: Any) -> None:
    p = exp.precision
    if p is None:
        return
    state = "reached" if p["reached"] else "NOT reached (at the maximum)"
    rounds = ", ".join(map(str, p["rounds"]))
    click.echo(f"precision {p['target']}: {state} with {p['replications']} replications (rounds: {rounds})")


def _warmup_line(exp: Any, warmup: int) -> None:
    if exp.suggested_warmup is None:
        return
    by = exp.suggested_warmup_by_group
    driver = next((f" ({g['policy']}, {k})" for g in by if g["case"] == exp.baseline_case
                   for k, v in g.items() if k not in ("policy", "case") and v == exp.suggested_warmup), "")
    click.echo(f"warm-up: {warmup} days cut from every KPI; MSER-5 on daily inventory and backlog suggests "
               f"{exp.suggested_warmup} days{driver if len(exp.policies) > 1 else ''}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--policy", help="Planning policy: level, chase, hybrid, lp, replay, none (no S&OP cycle) or your "
                               "own module:Class (default: the scenario's planning.policy).")
@_experiment_options
def run(file: str, policy: str | None, replications: int | None, seed: int | None, target_ci: str | None,
        out: str | None, jobs: int | None, executor: str, dask_scheduler: str | None, resume: str | None,
        no_report: bool) -> None:
    """Simulate FILE over many random futures and print its KPIs with 95% confidence intervals."""
    sc = _load(file)
    opts = _resume_defaults(resume, out, replications=replications, seed=seed, target_ci=target_ci,
                            policies=[policy] if policy else None)
    pol = (opts["policies"] or [sc.planning.policy])[0]
    _check_options(sc, [pol], opts["target_ci"], "--policy")
    run_dir = _run_dir(out, resume, sc.name)
    exp = _run_experiment(sc.name, run_dir, resume is not None, scenario=sc, policies=[pol],
                          replications=opts["replications"], seed=opts["seed"], target=opts["target_ci"],
                          executor=executor, jobs=jobs, dask_scheduler=dask_scheduler, scenario_file=file,
                          info={"policy": pol})
    what = "no S&OP cycle" if pol == "none" else f"S&OP policy {pol}"  # the table's numbers are this policy's
    _print_table(f"{sc.name} ({what})", exp.replications, exp.seed,
                 exp.summary_of())
    _precision_line(exp)
    _warmup_line(exp, sc.warmup)
    click.echo(f"results: {run_dir}")
    _report_at_end(run_dir, no_report)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The decisions file to write (CSV: cycle, product, bucket, production, inventory_target).")
@click.option("--policy", help="Planning policy whose plans to keep (default: the scenario's planning.policy).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed (default: the scenario's).")
@click.option("--replication", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which random future to plan in.")
def plan(file: str, out: str, policy: str | None, seed: int | None, replication: int) -> None:
    """Write the plans FILE's S&OP cycles agree in one replication as a decisions file for the replay policy.

    \b
    "The plan we approved": replayed under shocks, production stays as planned and only execution reacts:
    simsop plan scenarios/example_company.yaml --policy lp --out approved.csv
    then, in the scenario's planning.params, replay: {file: approved.csv}, and
    simsop stress crisis.yaml --policies replay,lp
    Replayed with the same seed and replication, the plan makes what this run made.
    """
    from simsop.planning.approved import approved_plan, not_carried
    from simsop.replication import run_replication
    from simsop.results import atomic_write_text

    sc = _load(file)
    pol = policy or sc.planning.policy
    if pol in ("none", "replay"):
        _fail(f"--policy {pol}: nothing to write ({'no S&OP cycle plans' if pol == 'none' else 'it replays a file'})")
    _check_options(sc, [pol], None, "--policy")
    used = sc.seed if seed is None else seed
    try:
        res = run_replication(sc, seed=used, replication=replication, keep_records=True, policy=pol)
    except Exception as exc:  # a policy's own error: say it, as run does
        _fail(f"{file}: policy {pol!r} failed: {exc}")
    assert res.records is not None  # kept: keep_records=True
    rows = approved_plan(res.records, sc)
    try:
        atomic_write_text(Path(out), rows.to_csv(index=False))
    except OSError as exc:
        _fail(f"{out}: cannot write the plan: {exc.strerror or exc}")
    cycles = rows["cycle"].nunique()
    click.echo(f"{out}: {rows.shape[0]:,} decisions of {_count(cycles, 'cycle')} ({pol}, seed {used}, replication "
               f"{replication}); replay them with planning.params {{replay: {{file: {out}}}}} (the path from the "
               "scenario file's folder) and --policies replay")
    for what in not_carried(res.records):
        click.echo(f"note: the plans also set {what}, which a decisions file does not carry", err=True)


def _default_policies(sc: Any) -> list[str]:
    """Every built-in policy but ``replay`` (it needs a decisions file) unless the scenario uses it."""
    from simsop.planning.policy import available_policies

    return [p for p in available_policies() if p != "replay" or sc.planning.policy == "replay"]


@main.command()
@click.argument("files", metavar="FILE [FILE2 ...]", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--policies", help="Comma-separated policies, e.g. level,chase,lp (default: every built-in one but "
                                 "replay: none, chase, hybrid, level, lp; with several files, the files' own "
                                 "policies).")
@click.option("--baseline", help="The policy the others are compared with (default: the first).")
@_experiment_options
def compare(files: tuple[str, ...], policies: str | None, baseline: str | None, replications: int | None,
            seed: int | None, target_ci: str | None, out: str | None, jobs: int | None, executor: str,
            dask_scheduler: str | None, resume: str | None, no_report: bool) -> None:
    """Compare planning policies on FILE over the same random futures: every KPI with its 95% CI, and each
    policy's paired difference from the baseline (▲/▼ in bold when significant).

    With several files, compare variants of one company (another stock policy, a second plant, a shorter
    lane): each file is a case, run on the same random futures as the first (the reference), and each KPI of
    a variant comes with its paired difference from the reference's, under every policy.
    """
    if len(files) > 1:
        _compare_variants(files, policies, baseline, replications, seed, target_ci, out, jobs, executor,
                          dask_scheduler, resume, no_report)
        return
    file = files[0]
    sc = _load(file)
    opts = _resume_defaults(resume, out, replications=replications, seed=seed, target_ci=target_ci,
                            policies=_split(policies), baseline=baseline)
    pols = opts["policies"] or _default_policies(sc)
    _check_options(sc, pols, opts["target_ci"])
    run_dir = _run_dir(out, resume, sc.name)
    exp = _run_experiment(f"{sc.name}: {len(pols)} policies", run_dir, resume is not None, scenario=sc,
                          policies=pols, baseline=opts["baseline"], replications=opts["replications"],
                          seed=opts["seed"], target=opts["target_ci"], executor=executor, jobs=jobs,
                          dask_scheduler=dask_scheduler, scenario_file=file)
    _print_comparison(exp, exp.baseline_case,
                      f"{sc.name}: {_count(exp.replications, 'replication')}, seed {exp.seed}")
    _precision_line(exp)
    _warmup_line(exp, sc.warmup)
    click.echo(f"results: {run_dir}")
    _report_at_end(run_dir, no_report)


def _variant_cases(files: Sequence[str]) -> list[tuple[str, Any]]:
    """(case name, scenario) per file: the scenario's name, or the file's stem where two names clash (the
    same stem twice is numbered), so every case says which file it is."""
    if len({Path(f).resolve() for f in files}) != len(files):
        _fail(f"a file is given twice: {' '.join(files)}; each file is one variant")
    scenarios = [_load(f) for f in files]
    names = [sc.name for sc in scenarios]
    names = [Path(f).stem if names.count(n) > 1 else n for f, n in zip(files, names, strict=True)]
    seen: dict[str, int] = {}
    out = []
    for n, sc in zip(names, scenarios, strict=True):
        if names.count(n) > 1:
            seen[n] = seen.get(n, 0) + 1
            n = f"{n}-{seen[n]}"
        out.append((n, sc))
    return out


def _check_variants(files: Sequence[str], cases: list[tuple[str, Any]], seed: int | None) -> None:
    """Variants share the futures only if they are as long, cut the same warm-up and draw from the same seed:
    anything else is refused, naming the files and what to change."""
    from simsop.experiment import misaligned

    ref_file, (_, ref) = files[0], cases[0]
    problems = []
    for f, (_, sc) in zip(files[1:], cases[1:], strict=True):
        problems += [f"{f}: {what} {a} days, {ref_file} (the reference) {b}" for what, a, b in misaligned(sc, ref)]
        if seed is None and sc.seed != ref.seed:
            problems.append(f"{f}: seed {sc.seed}, {ref_file} (the reference) {ref.seed}; or give --seed N, "
                            "which replaces every file's seed")
    if problems:
        _fail("the variants cannot share random futures: they are compared day by day on the same futures, so "
              "they need the reference's horizon, warm-up and seed\n  " + "\n  ".join(problems))


def _variant_policies(files: Sequence[str], cases: list[tuple[str, Any]], given: list[str] | None) -> list[str]:
    """--policies, else the files' own; when those differ, every variant runs each of them (said in a note),
    so that each difference compares the variants under one policy."""
    if given:
        return given
    own = list(dict.fromkeys(sc.planning.policy for _, sc in cases))
    if len(own) > 1:
        which = ", ".join(f"{f}: {sc.planning.policy}" for f, (_, sc) in zip(files, cases, strict=True))
        click.echo(f"note: the files plan with different policies ({which}): every variant runs each of "
                   f"{', '.join(own)} on the same futures, and each difference compares two variants under one "
                   "policy; give --policies to choose", err=True)
    return own


# What a stream of each kind of source draws (simsop.experiment.SOURCE_KINDS).
_SOURCE_NOUNS = {"demand": "customer x product demands", "lane": "lane transit times",
                 "supplier": "supplier lead times and delays", "factory": "factory processing times and yields",
                 "shock": "shocks"}


def _sharing_text(sh: Any) -> str:
    """'30 of 30 customer x product demands, 3 of 4 lane transit times; another law, so other draws: demand
    a x b; only in the variant: ...'."""
    from simsop.experiment import SOURCE_KINDS

    def names(items: Sequence[tuple[str, str]]) -> str:
        shown = [f"{k} {label}" for k, label in items[:3]]
        return ", ".join(shown) + (f" and {len(items) - 3} more" if len(items) > 3 else "")

    both = [*sh.same, *sh.other_law]
    counts = [f"{sum(k == kind for k, _ in sh.same)} of {sum(k == kind for k, _ in both)} {_SOURCE_NOUNS[kind]}"
              for kind in SOURCE_KINDS if any(k == kind for k, _ in both)]
    parts = [", ".join(counts) if counts else "no random source in both files"]
    if sh.other_law:
        parts.append(f"another law, so other draws: {names(sh.other_law)}")
    if sh.only_variant:
        parts.append(f"only in the variant: {names(sh.only_variant)}")
    if sh.only_reference:
        parts.append(f"only in the reference: {names(sh.only_reference)}")
    return "; ".join(parts)


def _print_sharing(cases: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """One line per variant: the random sources (named by source: customer x product, lane, supplier,
    factory, shock) it shares with the reference, so draws the same numbers; a warning when it shares none.
    Returns what the manifest records."""
    from simsop.experiment import stream_sharing

    ref_name, ref = cases[0]
    out = []
    for name, sc in cases[1:]:
        sh = stream_sharing(ref, sc)
        click.echo(f"random futures shared, {name} vs {ref_name} (the same draws in each replication): "
                   f"{_sharing_text(sh)}")
        if not sh.paired and (sh.same or sh.other_law or sh.only_reference or sh.only_variant):
            click.echo(f"warning: {name} shares no random source with {ref_name} (none has the same name and "
                       f"law in both files): its differences from {ref_name} are not paired, and their intervals "
                       "are as wide as those of independent runs", err=True)
        out.append({"case": name, **sh.as_dict()})
    return out


def _compare_variants(files: Sequence[str], policies: str | None, baseline: str | None, replications: int | None,
                      seed: int | None, target_ci: str | None, out: str | None, jobs: int | None, executor: str,
                      dask_scheduler: str | None, resume: str | None, no_report: bool) -> None:
    """`simsop compare FILE1 FILE2 ...`: the files as cases of one experiment, the first the reference."""
    from simsop.results import file_sha256

    cases = _variant_cases(files)
    opts = _resume_defaults(resume, out, replications=replications, seed=seed, target_ci=target_ci,
                            policies=_split(policies), baseline=baseline)
    _check_variants(files, cases, opts["seed"])
    ref = cases[0][1]
    pols = _variant_policies(files, cases, opts["policies"])
    for f, (_, sc) in zip(files, cases, strict=True):
        _check_options(sc, pols, opts["target_ci"], file=f)
    if opts["replications"] is None and len({sc.replications for _, sc in cases}) > 1:
        click.echo(f"note: the files ask for different numbers of replications; every variant runs the "
                   f"reference's {ref.replications} (give -n to choose)", err=True)
    sharing = _print_sharing(cases)
    info = {"variants": [{"case": c, "file": f, "file_sha256": file_sha256(f),
                          **({"streams": next(s for s in sharing if s["case"] == c)} if i else {"reference": True})}
                         for i, (f, (c, _)) in enumerate(zip(files, cases, strict=True))]}
    run_dir = _run_dir(out, resume, ref.name)
    exp = _run_experiment(f"{ref.name}: {len(cases)} variants x {len(pols)} policies", run_dir, resume is not None,
                          scenario=ref, policies=pols, cases=cases, baseline=opts["baseline"],
                          replications=opts["replications"], seed=opts["seed"], target=opts["target_ci"],
                          executor=executor, jobs=jobs, dask_scheduler=dask_scheduler, scenario_file=files[0],
                          info=info)
    _print_variants(exp, f"{len(exp.cases)} variants ({', '.join(exp.cases)}): "
                         f"{_count(exp.replications, 'replication')}, seed {exp.seed}")
    _precision_line(exp)
    _warmup_line(exp, ref.warmup)
    click.echo(f"results: {run_dir}")
    _report_at_end(run_dir, no_report)


def _stress_cases(file: str, shocks_file: str | None) -> tuple[Any, str, list[tuple[str, Any]], dict[str, Any]]:
    """The base scenario, a run name, the (case, scenario variant) pairs, and what the manifest records.

    FILE is a stress file (``base:`` plus ``shocks``/``cases``/``grid``), or a scenario: with ``--shocks`` a
    stress file (its ``base:`` is replaced by FILE) or a list of shocks applied to it, without it the
    scenario's own ``shocks`` as one case.
    """
    from simsop.results import file_sha256
    from simsop.scenario import ScenarioError, load_scenario, read_yaml

    try:
        from simsop.shocks import apply_shocks, load_stress, parse_stress
    except ImportError:
        _fail("simsop stress needs simsop.shocks, which this installation does not have")
    info: dict[str, Any] = {"scenario_file": file, "stress_file": None}
    try:
        if shocks_file is not None:
            data = read_yaml(shocks_file)
            if isinstance(data, list):
                data = {"shocks": data}
            if isinstance(data, dict):
                data = {**data, "base": str(Path(file).resolve()), "name": data.get("name") or Path(shocks_file).stem}
            base, shock_cases = parse_stress(data, shocks_file, Path(shocks_file).parent)
            name = base.name
            info.update(stress_file=shocks_file, stress_file_sha256=file_sha256(shocks_file))
        elif isinstance(head := read_yaml(file), dict) and "base" in head:
            base, shock_cases = load_stress(file)
            name = Path(file).stem
            info.update(scenario_file=None, stress_file=file, stress_file_sha256=file_sha256(file))
        else:
            sc = load_scenario(file)
            if not sc.shocks:
                _fail(f"{file}: no shocks to stress with; give --shocks FILE, a stress file, or a scenario "
                      "with a 'shocks' section")
            return sc.model_copy(update={"shocks": ()}), sc.name, [("base", sc.model_copy(update={"shocks": ()})),
                                                                   ("shocks", sc)], info
        base_name = "no-shock" if any(c.name == "base" for c in shock_cases) else "base"
        variants = [(base_name, base)] + [(c.name, apply_shocks(base, c.shocks, source=f"case {c.name}"))
                                          for c in shock_cases]
    except ScenarioError as exc:
        _fail(str(exc))
    return base, name, variants, info


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--shocks", "shocks_file", type=click.Path(dir_okay=False, exists=True),
              help="Shocks to apply to the scenario FILE: a stress file (shocks, cases, grid; its base is "
                   "replaced by FILE) or a list of shocks.")
@click.option("--policies", help="Comma-separated policies (default: the scenario's planning.policy).")
@click.option("--baseline", help="The policy the others are compared with (default: the first).")
@_experiment_options
def stress(file: str, shocks_file: str | None, policies: str | None, baseline: str | None,
           replications: int | None, seed: int | None, target_ci: str | None, out: str | None, jobs: int | None,
           executor: str, dask_scheduler: str | None, resume: str | None, no_report: bool) -> None:
    """Stress-test FILE: each policy without the shocks and under each shock case (same random futures), with
    recovery time, worst OTIF, peak backlog, lost revenue, bullwhip, and the paired loss against no shock.

    FILE is a stress file (`base:` a scenario file, and `shocks`, named `cases` or a `grid`, as
    scenarios/stress_covid.yaml), a scenario with a `shocks` section, or a scenario given its shocks with
    --shocks. `simsop validate` checks a stress file; `simsop schema` lists the shocks' keys.
    """
    base, name, variants, info = _stress_cases(file, shocks_file)
    opts = _resume_defaults(resume, out, replications=replications, seed=seed, target_ci=target_ci,
                            policies=_split(policies), baseline=baseline)
    pols = opts["policies"] or [base.planning.policy]
    _check_options(base, pols, opts["target_ci"])
    _print_case_notes([(case, sc.shocks[len(base.shocks):]) for case, sc in variants[1:]], base, err=True)
    run_dir = _run_dir(out, resume, name)
    exp = _run_experiment(f"{name}: {len(pols)} policies x {len(variants)} cases", run_dir, resume is not None,
                          scenario=base, policies=pols, cases=variants, baseline=opts["baseline"],
                          replications=opts["replications"], seed=opts["seed"], target=opts["target_ci"],
                          executor=executor, jobs=jobs, dask_scheduler=dask_scheduler,
                          scenario_file=info.pop("scenario_file"), info=info)
    _print_stress(exp, f"{name}: {_count(exp.replications, 'replication')}, seed {exp.seed}")
    if "replay" in pols:
        # A replayed plan is the approved one: read as a policy's answer to the shocks, its figures mislead.
        click.echo("replay: production follows the decisions file whatever the shocks; only execution reacts (the "
                   "warehouses' orders, the plants' queues, a family's split by the demand plan)")
    _precision_line(exp)
    click.echo(f"results: {run_dir}")
    _report_at_end(run_dir, no_report)


# ---------------------------------------------------------------------------------------------- tables

KPI_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Service", ("otif", "otif_line", "fill_rate", "otif_requested", "avg_quoted_delay", "cycle_service_level",
                 "avg_backlog", "max_backlog", "avg_days_late", "lost_sales_units")),
    ("Stock", ("avg_on_hand", "avg_inventory_value", "days_of_supply", "inventory_turns", "expired_units")),
    ("Factories", ("utilization", "bottleneck_utilization", "overtime_units", "material_short_units")),
    ("Order book", ("demand_units", "shipped_units", "orders", "avg_open_orders", "order_rate",
                    "avg_order_cycle_time")),
    ("Profit and loss", ("revenue", "cogs", "gross_margin", "holding_cost", "backorder_cost", "lost_sale_cost",
                         "transport_cost", "overtime_cost", "scrap_cost", "expiry_cost", "fixed_cost",
                         "plan_change_cost", "subcontract_cost", "labor_cost", "total_cost", "profit")),
)


def _grouped(kpis: list[str]) -> list[tuple[str, list[str]]]:
    """KPIs by table: the fixed groups, then S&OP, bullwhip, shock and any other KPIs in their order."""
    left = list(kpis)
    out = []
    for title, names in KPI_GROUPS:
        got = [k for k in names if k in left]
        out.append((title, got))
        left = [k for k in left if k not in got]
    for title, test in (("Bullwhip (variance of orders ÷ variance of the demand each stage sees, weekly)",
                         lambda k: k.startswith("bullwhip_")),
                        ("Shock", lambda k: k.startswith("shock")),
                        ("S&OP process", lambda k: True)):
        got = [k for k in left if test(k)]
        out.append((title, got))
        left = [k for k in left if k not in got]
    return [(t, ks) for t, ks in out if ks]


def _style(kpi: str) -> tuple[str, float]:
    """How a KPI is shown: ``("pct", factor)`` for percentages (rates are stored as fractions, factor 100;
    MAPE and WMAPE in percent already, factor 1), else its kind (``money``, ``num``) and 1."""
    from simsop.report.kpimeta import info, scale

    i = info(kpi)
    # Stored in percent already (forecast_mape_lag*, forecast_wmape_lag*): shown as percentages, factor 1.
    return ("pct" if i.kind == "pct" or i.unit == "%" else i.kind), scale(kpi)


def _numbers(kpi: str, xs: Sequence[float | None], signed: bool = False, compact: bool = False) -> list[str]:
    """Numbers read together (a mean and its interval, a difference and its interval) on one scale and with
    the same decimals: '+0.90 [-1.97, +3.77]', never '+0.902 [-1.97, +3.77]'. Percentages get one decimal
    (no unit: the caller adds '%' or ' pts'); other values 0 decimals from 1,000 (and for money), 1 from 10,
    else 3 significant figures of the largest. ``compact`` writes 1.70M and 94k (from 10,000), for the stress
    tables. An exact 0 of a count or a sum is '0' (an interval cut at the KPI's limit)."""
    from simsop.report.kpimeta import point_decimals

    kind, factor = _style(kpi)
    vals = [float("nan") if x is None else float(x) * factor for x in xs]
    big = max((abs(v) for v in vals if v == v), default=0.0)
    scale, tail = 1.0, ""
    if kind == "pct":
        # A difference keeps the decimals that show it, as the report's (kpimeta.points): 0.02 points is not 0.0.
        dec = max((point_decimals(v) for v in vals if v == v), default=1) if signed else 1
    elif compact and big >= 1e6:
        scale, tail, dec = 1e6, "M", 2
    elif compact and big >= 1e4:
        scale, tail, dec = 1e3, "k", 0
    elif kind == "money" or big >= 1000:
        dec = 0
    elif big >= 10:
        dec = 1
    elif big == 0:
        dec = 0
    else:
        dec = min(6, 2 - math.floor(math.log10(big)))
    out = []
    for v in vals:
        if v != v:
            out.append("–")
            continue
        if v == 0 and kind != "pct":
            out.append("0")
            continue
        text = f"{v / scale:,.{dec}f}"
        if float(text.replace(",", "")) == 0:  # no "-0.0" for a tiny negative number
            text = text.lstrip("-")
        elif signed and v > 0:
            text = "+" + text
        out.append(text + tail)
    return out


def _stat(kpi: str, s: dict[str, Any], sep: str = " ", compact: bool = False) -> str:
    """'mean ± half-width', or 'mean [low, high]' for an interval cut at the KPI's natural limit (a symmetric
    ± would then promise values that cannot happen, such as -3 recovery days); '–' when undefined."""
    if not s or s.get("n", 0) == 0 or s.get("mean") != s.get("mean"):
        return "–"
    pct = "%" if _style(kpi)[0] == "pct" else ""
    lo, hi, hw = s.get("ci_low"), s.get("ci_high"), s.get("half_width")
    if s.get("ci_method") in ("t_clipped", "at_bound") and lo is not None and hi is not None and lo == lo:
        m, a, b = _numbers(kpi, [s["mean"], lo, hi], compact=compact)
        return f"{m}{pct}{sep}[dim]\\[{a}{pct}, {b}{pct}][/dim]"
    if hw is None or hw != hw:
        return _numbers(kpi, [s["mean"]], compact=compact)[0] + pct
    m, h = _numbers(kpi, [s["mean"], hw], compact=compact)
    return f"{m}{pct}{sep}[dim]± {h}{pct}[/dim]"


def _significant(kpi: str, diff: float, text: str) -> str:
    """A significant difference in bold, green when it is better, red when worse, with its direction."""
    from simsop.report.kpimeta import info

    up = diff > 0
    better = info(kpi).higher_is_better
    color = "yellow" if better is None else ("green" if up == better else "red")
    return f"[bold {color}]{text} {'▲' if up else '▼'}[/bold {color}]"


def _difference(kpi: str, d: dict[str, Any], sep: str, compact: bool = False, prefix: str = "") -> str:
    """A paired difference and its CI on one scale: '+1.2 pts [+0.4, +2.0]' (a percentage's in points, the
    unit once); bold, coloured and marked ▲/▼ when significant; '' when undefined."""
    if not d or d.get("n", 0) == 0 or d["mean_diff"] != d["mean_diff"]:
        return ""
    # Rounding noise (two sums of the same numbers in another order) is no difference.
    tiny = 1e-9 * max(abs(d.get("mean_policy") or 0.0), abs(d.get("mean_baseline") or 0.0))
    head, lo, hi = _numbers(kpi, [0.0 if abs(x) <= tiny else x for x in (d["mean_diff"], d["ci_low"], d["ci_high"])],
                            signed=True, compact=compact)
    head = f"{prefix}{head}" + (" pts" if _style(kpi)[0] == "pct" else "")
    # Numbers in brackets are no markup tags: '[+0.4, +2.0]' prints as it is.
    if not d["significant"]:
        return f"[dim]{head}{sep}[{lo}, {hi}][/dim]"
    if sep == " ":  # on one line the mark ends it: 'Δ +1.2 pts [+0.4, +2.0] ▲'
        return _significant(kpi, d["mean_diff"], f"{head} [{lo}, {hi}]")
    return f"{_significant(kpi, d['mean_diff'], head)}{sep}[{lo}, {hi}]"


def _diff(kpi: str, d: dict[str, Any]) -> str:
    """'Δ +1.2 pts [+0.4, +2.0] ▲' (policy minus baseline), bold and coloured (green better, red worse) when
    significant."""
    return _difference(kpi, d, " ", prefix="Δ ")


def _lookup(frame: Any, **where: Any) -> dict[str, dict[str, Any]]:
    sel = frame
    for k, v in where.items():
        sel = sel[sel[k] == v]
    return {str(r["kpi"]): r for r in sel.to_dict("records")}


def _kpi_label(kpi: str) -> str:
    """A KPI's label, with its unit when the values do not show it: MAPE and WMAPE are percentages (the files
    store them in percent, other rates as fractions), forecast value added is in WMAPE points."""
    from simsop.report.kpimeta import info, with_unit

    i = info(kpi)
    if i.kind != "pct" and i.unit in ("%", "WMAPE points"):
        return with_unit(i.label, i.unit)
    return i.label


# Width a policy's column of the comparison needs to show '5,134,116 ± 38,748' and its difference on a few lines
# without cutting a number (borders included), and that of the KPI column.
_POLICY_WIDTH, _KPI_WIDTH = 17, 22


def _shown_kpis(kpis: Sequence[str], summaries: Sequence[dict[str, dict[str, Any]]]) -> list[str]:
    """The KPIs a table of several columns (policies, variants) shows: those measured in some column, under the
    rule the run table and the report follow (kpimeta.measured: the requested-date KPIs only where promises
    were quoted later than asked, where they would otherwise repeat OTIF and read 0 days)."""
    from simsop.report.kpimeta import measured

    def mean(k: str) -> float:  # the largest of the columns' means (nan: none has one)
        got = [float(v) for s in summaries if (v := s.get(k, {}).get("mean")) is not None and v == v]
        return max(got) if got else math.nan

    return [k for k in kpis if any(s.get(k, {}).get("n", 0) for s in summaries) and measured(k, mean)]


def _comparison_tables(exp: Any, case: str, width: int) -> list[Any]:
    """The comparison's tables, a KPI group each; when the policies do not fit the width side by side, several
    tables per group, each with the baseline first."""
    summary = {p: _lookup(exp.summary, policy=p, case=case) for p in exp.policies}
    paired = {p: _lookup(exp.paired, policy=p, case=case) for p in exp.policies if p != exp.baseline}
    shown = _shown_kpis(exp.kpi_names(), list(summary.values()))
    return _side_by_side(shown, (f"{exp.baseline} (baseline)", summary[exp.baseline]),
                         [(p, summary[p], paired[p]) for p in exp.policies if p != exp.baseline], width)


def _side_by_side(shown: list[str], first: tuple[str, dict[str, Any]],
                  others: list[tuple[str, dict[str, Any], dict[str, Any]]], width: int, heading: str = "") -> list[Any]:
    """Tables of KPIs (a group each) with a column per alternative: the first's statistics, then each other's
    with its paired difference from the first below; several tables per group when the columns do not fit the
    width side by side, each with the first column."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    per = max(1, (width - _KPI_WIDTH) // _POLICY_WIDTH - 1)  # other columns beside the first
    chunks = [others[i:i + per] for i in range(0, len(others), per)] or [[]]
    tables = []
    for group, kpis in _grouped(shown):
        for j, chunk in enumerate(chunks):
            more = f" ({j + 1} of {len(chunks)})" if len(chunks) > 1 else ""
            table = Table(title=heading + group + more, title_justify="left", box=box.SIMPLE_HEAD)
            table.add_column("KPI", max_width=28)
            for label in (first[0], *(c[0] for c in chunk)):
                table.add_column(escape(label), justify="right")
            for k in kpis:
                cells = [_stat(k, first[1].get(k, {}))]
                for _, summary, paired in chunk:
                    c = _stat(k, summary.get(k, {}))
                    if d := _diff(k, paired.get(k, {})):
                        c += "\n" + d
                    cells.append(c)
                table.add_row(_kpi_label(k), *cells)
            tables.append(table)
    return tables


def _print_comparison(exp: Any, case: str, title: str) -> None:
    from rich.console import Console

    console = Console()
    console.print(f"[bold]{title}[/bold] — mean ± 95% CI half-width (\\[low, high] when the interval is cut at "
                  f"the KPI's limit); Δ: paired difference policy minus {exp.baseline} (the baseline), same random "
                  "futures, with its 95% CI, ▲/▼ when significant; percentages' differences in points. Rates, "
                  "MAPE and WMAPE in %; money in currency units")
    for table in _comparison_tables(exp, case, console.width):
        console.print(table)


# KPIs of the verdict lines per variant ('b vs a: fill rate +1.2 pts [+0.8, +1.6] ▲'), when measured: (kpi, label).
VARIANT_HEADLINE = (("otif", "OTIF"), ("otif_requested", "OTIF to requested dates"), ("fill_rate", "fill rate"),
                    ("avg_backlog", "avg backlog"), ("lost_sales_units", "lost sales"), ("avg_on_hand", "avg on hand"),
                    ("budget_breach_buckets", "buckets over budget"), ("total_cost", "total cost"),
                    ("profit", "profit"))


def _holm(d: dict[str, Any]) -> dict[str, Any]:
    """A difference marked significant by Holm's correction over the variants (one family per policy and KPI)."""
    return {**d, "significant": bool(d.get("significant_holm", d.get("significant", False)))} if d else d


def _variant_verdicts(exp: Any, policy: str) -> list[str]:
    """'b vs a: fill rate +1.2 pts [+0.8, +1.6] ▲', a line per variant and key KPI (a KPI zero in both, such as
    the lost sales of customers who wait, is left out)."""
    from rich.markup import escape

    from simsop.report.kpimeta import measured

    ref = exp.baseline_case
    lines = []
    for c in exp.cases[1:]:
        d = _lookup(exp.case_effects, policy=policy, case=c)
        head = f"[bold]{escape(c)} vs {escape(ref)}[/bold]:"
        def mean(k: str, d: dict[str, Any] = d) -> float:  # the larger of the two files' means (nan: neither)
            got = [float(v) for side in ("mean_policy", "mean_baseline")
                   if (v := d.get(k, {}).get(side)) is not None and v == v]
            return max(got) if got else math.nan

        got = [f"{head} {label} {diff}" for k, label in VARIANT_HEADLINE
               if (d.get(k, {}).get("mean_policy") or d.get(k, {}).get("mean_baseline")) and measured(k, mean)
               if (diff := _difference(k, _holm(d[k]), " "))]
        lines += got or [f"{head} no KPI to compare"]
    return lines


def _print_variants(exp: Any, title: str) -> None:
    """Variants of one company on the same futures: a verdict line per variant, then every KPI per variant
    with its paired difference from the reference, per policy."""
    from rich.console import Console
    from rich.markup import escape

    ref = exp.baseline_case
    console = Console()
    console.print(f"[bold]{escape(title)}[/bold] — each file is a variant, run on the same random futures as "
                  f"{escape(ref)} (the reference): replication i draws the same numbers in both wherever a random "
                  "source (customer x product, lane, supplier, factory) is in both files with the same law. Means "
                  "± 95% CI half-width (\\[low, high] when cut at the KPI's limit); Δ: paired difference variant "
                  f"minus {escape(ref)} with its 95% CI, ▲/▼ when significant (Holm's correction over the "
                  "variants); percentages' differences in points. Money in currency units")
    many = len(exp.policies) > 1
    for p in exp.policies:
        if many:
            console.print(f"\n[bold]Policy {escape(p)}[/bold]")
        for line in _variant_verdicts(exp, p):
            console.print(line)
        summary = {c: _lookup(exp.summary, policy=p, case=c) for c in exp.cases}
        effects = {c: {k: _holm(v) for k, v in _lookup(exp.case_effects, policy=p, case=c).items()}
                   for c in exp.cases[1:]}
        shown = _shown_kpis(exp.kpi_names(), list(summary.values()))
        for table in _side_by_side(shown, (f"{ref} (reference)", summary[ref]),
                                   [(c, summary[c], effects[c]) for c in exp.cases[1:]], console.width,
                                   heading=f"{p}: " if many else ""):
            console.print(table)


# Shock KPIs of the stress table; the two whole-run KPIs after them compare the case with the reference case.
STRESS_COLUMNS = (
    ("shock_recovery_days", "Recovery days"),
    ("shock_worst_otif", "Worst OTIF"),
    ("shock_peak_backlog", "Peak backlog"),
    ("shock_lost_revenue", "Lost revenue"),
)
RUN_COLUMNS = (("profit", "Profit (run)"), ("otif", "OTIF (run)"))


def _short_cell(kpi: str, s: dict[str, Any]) -> str:
    return _stat(kpi, s, "\n", compact=True)


def _short_diff(kpi: str, d: dict[str, Any]) -> str:
    """A paired difference and its CI on two lines, compact; '–' when undefined."""
    return _difference(kpi, d, "\n", compact=True) or "–"


def _recovery_cell(s: dict[str, Any], recovered: dict[str, Any]) -> str:
    """Mean recovery days; with futures that never recovered (censored at the window's length) a '≥' mean
    and the share recovered, never the mean of the futures that did alone."""
    if not s or s.get("n", 0) == 0:
        return "–"
    n, share = recovered.get("n", 0), recovered.get("mean")
    if not n or share is None or share != share or share >= 1:
        return _short_cell("shock_recovery_days", s)
    mean = _numbers("shock_recovery_days", [s["mean"]], compact=True)[0]
    return f"≥ {mean}\n[dim]{round(share * n)}/{n} recovered[/dim]"


def _stress_rows(exp: Any, p: str, c: str) -> list[tuple[str, list[str]]]:
    """The rows of a case in the stress table: with the shocks, the same futures without them (same
    windows), and the paired difference (the shock's effect)."""
    from simsop.kpi import NO_SHOCK_SUFFIX

    s = _lookup(exp.summary, policy=p, case=c)
    ref = _lookup(exp.summary, policy=p, case=exp.baseline_case)
    d = _lookup(exp.case_effects, policy=p, case=c)
    shocked, without, effect = [], [], []
    for k, _ in STRESS_COLUMNS:
        if k == "shock_recovery_days":
            flags = ("shock_recovered", "shock_recovered" + NO_SHOCK_SUFFIX)
            shocked.append(_recovery_cell(s.get(k, {}), s.get(flags[0], {})))
            without.append(_recovery_cell(s.get(k + NO_SHOCK_SUFFIX, {}), s.get(flags[1], {})))
            cell = _short_diff(k, d.get(k, {}))
            censored = any(0 <= s.get(f, {}).get("mean", 1.0) < 1 for f in flags)
            effect.append(cell + ("\n[dim]censored[/dim]" if censored and cell != "–" else ""))
            continue
        shocked.append(_short_cell(k, s.get(k, {})))
        without.append(_short_cell(k, s.get(k + NO_SHOCK_SUFFIX, {})))
        effect.append(_short_diff(k, d.get(k, {})))
    for k, _ in RUN_COLUMNS:
        shocked.append(_short_cell(k, s.get(k, {})))
        without.append(_short_cell(k, ref.get(k, {})))
        effect.append(_short_diff(k, d.get(k, {})))
    return [("shocks", shocked), ("no shock", without), ("Δ", effect)]


def _shock_futures(exp: Any, policy: str, case: str) -> str:
    """'3 of 8 futures had a shock' for a case's shock KPIs ('' when unknown)."""
    from simsop.report.summary import futures_text, shock_futures

    got = shock_futures(exp.summary, case, policy)
    return futures_text(*got) if got is not None else ""


def _stress_tables(exp: Any) -> list[Any]:
    """The stress test's tables: one per case, named in its title (a case name is never folded into a narrow
    column), with a row group per policy (shocks, no shock, Δ); then the bullwhip table, a row per case."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    base = exp.baseline_case
    many = len(exp.policies) > 1
    tables = []
    for c in exp.cases:
        groups: list[tuple[str, list[tuple[str, list[str]]]]] = []
        for p in exp.policies:
            if c == base:  # its shock KPIs are those of its own shocks, if any, against nothing
                own = _lookup(exp.summary, policy=p, case=c)
                if own.get("shock_recovery_days", {}).get("n", 0):
                    groups.append((p, [("shocks", [*(_short_cell(k, own.get(k, {})) for k, _ in STRESS_COLUMNS),
                                                   *(_short_cell(k, own.get(k, {})) for k, _ in RUN_COLUMNS)])]))
                continue
            groups.append((p, _stress_rows(exp, p, c)))
        if not groups:
            continue
        # The shock KPIs are means over the futures where a shock happened: say how many.
        some = _shock_futures(exp, exp.policies[0], c) if c != base else ""
        title = f"[bold]{escape(c)}[/bold]" + (f" — {escape(some)}" if some else "")
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        # 'no shock' and '3/4 recovered' on one line each: the numbers' columns wrap at their spaces instead.
        table.add_column("Policy" if many else "", no_wrap=True, min_width=10 if many else 8)
        for k, label in (*STRESS_COLUMNS, *RUN_COLUMNS):
            table.add_column(label, justify="right", min_width=9 if k == "shock_recovery_days" else None)
        for p, rows in groups:
            if many:
                table.add_row(f"[bold]{escape(p)}[/bold]", *[""] * (len(STRESS_COLUMNS) + len(RUN_COLUMNS)))
            for i, (label, cells) in enumerate(rows):
                table.add_row(f"  {label}" if many else label, *cells, end_section=i == len(rows) - 1)
        tables.append(table)
    bw = [k for k in exp.kpi_names() if k.startswith("bullwhip_")]
    if bw:
        t2 = Table(title="Bullwhip: variance of each stage's weekly replenishment (its orders; under a plan, "
                         "what the plants send it of the products they push) ÷ variance of the demand it sees; "
                         "production: variance of the weekly units made ÷ that of customer demand for the made "
                         "products", title_justify="left",
                   box=box.SIMPLE_HEAD)
        # A case name is kept whole: the stages' columns wrap their numbers at the ± instead.
        t2.add_column("Case", no_wrap=True, min_width=min(30, max(len(c) for c in exp.cases)))
        for k in bw:
            t2.add_column(k.removeprefix("bullwhip_"), justify="right")
        for p in exp.policies:
            if many:
                t2.add_row(f"[bold]{escape(p)}[/bold]", *[""] * len(bw))
            for i, c in enumerate(exp.cases):
                s = _lookup(exp.summary, policy=p, case=c)
                t2.add_row(f"  {escape(c)}" if many else escape(c), *(_short_cell(k, s.get(k, {})) for k in bw),
                           end_section=i == len(exp.cases) - 1)
        tables.append(t2)
    return tables


def _print_stress(exp: Any, title: str) -> None:
    from rich.console import Console

    base = exp.baseline_case
    console = Console()
    console.print(f"[bold]{title}[/bold] — per case: the KPIs with the shocks; 'no shock': the same random futures "
                  f"without them (shock KPIs over the same windows, run KPIs from the case {base!r}); Δ: the "
                  "shock's effect, shocks minus no shock, their paired difference with its 95% CI (▲/▼ when "
                  "significant; percentages' differences in points). Means with their 95% CI (\\[low, high] when "
                  "cut at the KPI's limit). Recovery: days until the 7-day OTIF is back above its threshold for "
                  "good; a future still below it when the window closes (or, in a window the horizon cuts short, "
                  "not back above it for the last 60 days seen) counts as the days seen, so the mean is then a "
                  "lower bound, shown '≥' with the share of futures recovered (and Δ marked censored). Worst OTIF: "
                  "the lowest 7-day value in the window. Peak backlog in units; lost revenue and profit in "
                  "currency units (k: thousands, M: millions). Shock KPIs are means over the futures where a shock "
                  "happened (k of n, after the case's name).")
    for table in _stress_tables(exp):
        console.print(table)


def _print_table(name: str, n: int, seed: int, summary: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from simsop.report.kpimeta import measured

    table = Table(title=f"{name}: {_count(n, 'replication')}, seed {seed}")
    # On a narrow terminal the label wraps and an interval breaks at its dash; a number is never cut short.
    table.add_column("KPI", overflow="fold")
    table.add_column("mean", justify="right", no_wrap=True, min_width=6)
    table.add_column("95% CI", justify="right", overflow="fold")
    table.add_column("P5 – P95", justify="right", overflow="fold")
    for key, label, kind in KPI_TABLE:
        # A KPI no replication measured (the utilization of a chain without plants) is no row of dashes.
        if not summary.get(key, {}).get("n", 0) or not measured(
                key, lambda k: float(summary.get(k, {}).get("mean", math.nan))):
            continue
        s = summary[key]
        both = s["ci_low"] == s["ci_low"]  # not NaN
        ci = f"{_fmt(s['ci_low'], kind)} – {_fmt(s['ci_high'], kind)}" if n > 1 and both else "–"
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
    except FileNotFoundError as exc:  # no results there, or no folder to write the report to
        _fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))
    except OSError as exc:
        _fail(f"{out or results_dir}: cannot write the report: {exc.strerror or exc}")
    except ValueError as exc:  # a result file that is not JSON, CSV or text (edited, truncated, overwritten)
        _fail(f"{results_dir}: cannot read the results: {type(exc).__name__}: {' '.join(str(exc).split())}")
    click.echo(f"report: {path}")


def _report_at_end(results_dir: Path, no_report: bool) -> None:
    """The report that ends `run`, `compare` and `stress`; a failure is a warning, the results stay."""
    if no_report:
        return
    from simsop.report import write_report

    try:
        path = write_report(results_dir)
    except KeyboardInterrupt:  # click would say only "Aborted!", exit 1
        _fail(f"interrupted while writing the report: the results in {results_dir} are complete; write the report "
              f"with `simsop report {results_dir}`", 130)
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
