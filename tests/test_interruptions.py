"""Interruptions lose nothing: SIGTERM or Ctrl-C ends a run with one line, the earlier outputs whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_county.toml"
CLI = [sys.executable, "-c", "from landgis.cli import main; main()"]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals as POSIX sends them")


def _signal_when(args: list[str], marker: str, sig: int, timeout: float = 120.0) -> tuple[int, str]:
    """Run the CLI, send ``sig`` once ``marker`` appears on its stderr; (exit code, stderr)."""
    proc = subprocess.Popen([*CLI, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            encoding="utf-8")
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            time.sleep(0.5)
            proc.send_signal(sig)
            break
        assert time.monotonic() < deadline, "".join(seen)
    rest = proc.stderr.read()
    return proc.wait(timeout=timeout), "".join(seen) + rest


def test_sigterm_during_red_line_sheets_leaves_the_earlier_sheets_whole(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([*CLI, "screen", str(SAMPLE), "--out", str(out), "--no-map"], capture_output=True)
    assert done.returncode == 0, done.stderr
    earlier = b"%PDF-1.4 the earlier sheets\n"
    (out / "redline.pdf").write_bytes(earlier)
    # 300-odd sheets take about a minute: five seconds in, the sheets are being drawn
    proc = subprocess.Popen([*CLI, "map", str(out), "--project", str(SAMPLE), "--redline", "--no-html",
                             "--no-overview", "--overwrite"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    time.sleep(5)
    assert proc.poll() is None, "the sheets were drawn before the signal could come"
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=60) == 143, err
    assert err.strip().splitlines()[-1] == "landgis: terminated (SIGTERM); no output was left half-written"
    assert (out / "redline.pdf").read_bytes() == earlier
    assert sorted(p.name for p in out.iterdir()) == ["inventory.csv", "inventory.xlsx", "redline.pdf",
                                                     "screening.gpkg", "screening.json", "supply_plan.csv"]


@pytest.mark.parametrize(("sig", "code", "said"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                   (signal.SIGINT, 130, "interrupted")])
def test_a_signal_during_a_screening_ends_it_with_one_line_and_no_temporary_folder(tmp_path, sig, code, said):
    out = tmp_path / "out"
    got, err = _signal_when(["screen", str(SAMPLE), "--out", str(out), "--no-map"], "load", sig)
    assert got == code, err
    assert err.strip().splitlines()[-1] == f"landgis: {said}; no output was left half-written"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_callers_sigterm_handler_is_restored_after_an_in_process_run(tmp_path):
    """The CLI called in another program's process (a test runner, an application) takes SIGTERM only
    while it runs."""
    from click.testing import CliRunner

    from landgis.cli import main

    def mine(signum, frame):  # pragma: no cover - never called
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        result = CliRunner().invoke(main, ["rules", "--profile", "guilin"])
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)


def _limited(limit: int, *args: str) -> subprocess.CompletedProcess:
    """A landgis command run under a file-size limit (RLIMIT_FSIZE): its writes fail as on a full disk."""
    import resource

    def limit_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([*CLI, *args], capture_output=True, text=True, preexec_fn=limit_size, timeout=300)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="file-size limits are POSIX")
def test_a_full_disk_names_the_file_and_leaves_every_earlier_output_whole(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([*CLI, "screen", str(SAMPLE), "--out", str(out)], capture_output=True)
    assert done.returncode == 0, done.stderr
    catalogue = tmp_path / "rules.md"
    assert subprocess.run([*CLI, "rules", "--catalogue", "--out", str(catalogue)]).returncode == 0
    earlier = {p: p.read_bytes() for p in [*out.iterdir(), catalogue]}
    cases = [  # (size limit, command, the file it names)
        (100_000, ["screen", str(SAMPLE), "--out", str(out), "--overwrite"], out / "inventory.csv"),
        (500_000, ["screen", str(SAMPLE), "--out", str(out), "--overwrite"], out / "screening.gpkg"),  # GDAL
        (100_000, ["map", str(out), "--overwrite", "--no-overview"], out / "map.html"),
        (20_000, ["rules", "--catalogue", "--out", str(catalogue)], catalogue),
    ]
    for limit, args, named in cases:
        failed = _limited(limit, *args)
        assert failed.returncode == 2, (args, failed.stderr)
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith(f"landgis: cannot write {named}: "), last
        assert "free space or choose another folder" in last and "Traceback" not in failed.stderr
        assert {p: p.read_bytes() for p in earlier} == earlier, args
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "rules.md"], args  # no temporary left


def test_a_sigterm_whose_exception_python_ignored_is_delivered_again():
    """A SIGTERM landing in a garbage-collection callback raises where Python can only print "Exception
    ignored" (seen under load: the red-line batch finished as if no signal had come). It is sent again
    and ends the run with 143."""
    import gc
    import weakref

    from landgis import cli

    class Holder:
        pass

    def work():
        holder = Holder()

        def on_collect(_ref):  # the signal's exception lands here, where it is ignored
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler runs inside this callback

        ref = weakref.ref(holder, on_collect)
        del holder
        gc.collect()
        assert ref() is None
        for _ in range(100):  # the run goes on, until the signal comes again
            time.sleep(0.05)
        raise AssertionError("the SIGTERM was lost")

    with pytest.raises(SystemExit) as exited:
        cli._run(cli._Ctx(debug=False, verbose=0, quiet=True), work)
    assert exited.value.code == 143
