"""`--help` tells a newcomer what to type: the policy names, and what FILE `simsop stress` takes.

`simsop run --help` said 'Planning policy (default: the scenario's planning.policy; 'none': no S&OP)' without a
name to give; `simsop stress --help` said 'Stress-test FILE' though FILE may be a stress file (the README's
first stress example, `simsop stress scenarios/stress_covid.yaml`) as well as a scenario.
"""

from __future__ import annotations

from click.testing import CliRunner

from simsop.cli import main
from simsop.planning.policy import available_policies


def _help(*args: str) -> str:
    res = CliRunner().invoke(main, [*args, "--help"], terminal_width=100)
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_run_and_compare_help_name_the_policies() -> None:
    for command in ("run", "compare"):
        text = _help(command)
        for name in available_policies():
            if name != "replay" or command == "run":
                assert name in text, (command, name)
    assert "module:Class" in _help("run")


def test_stress_help_says_file_may_be_a_stress_file() -> None:
    text = _help("stress")
    assert "FILE is a stress file" in text and "scenarios/stress_covid.yaml" in text
    assert "scenario with a `shocks` section" in text
