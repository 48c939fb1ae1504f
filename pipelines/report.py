"""DVC stage `report`: results/<profile>/ -> reports/<profile>/ (report.md, one file per notes
section, appendix.md, figures/)."""

from __future__ import annotations

from pathlib import Path

from ablate.cli import exit_on_input_error
from ablate.report.render import write_report
from ablate.sweep.params import load_params


@exit_on_input_error
def main() -> None:
    params = load_params()
    profile = params["profile"]  # one folder per profile: none overwrites another
    verdicts = write_report(Path("results") / profile, params, Path("reports") / profile)
    for qid, v in verdicts.items():
        print(f"{qid}: {v.verdict} {v.key_number}")


if __name__ == "__main__":
    main()
