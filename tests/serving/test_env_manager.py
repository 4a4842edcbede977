"""`cairn models serve --env-manager venv`: the cached environment, its lock, the launch and bad input.

The end-to-end test builds a real environment with the installer (a Python model whose lock holds only
pandas, plus Cairn from this checkout) and serves from it through the CLI in a subprocess. The cache and lock
tests build bare standard-library environments (no installer run), so they stay fast.
"""

from __future__ import annotations

import inspect
import json
import re
import signal
import subprocess
import sys
import threading
import venv
from pathlib import Path

import httpx
import psutil
import pytest
import scoring_models
from click.testing import CliRunner
from model_server_process import ModelServerProcess

from cairn.cli.main import cli
from cairn.errors import CairnError
from cairn.models import ColumnSpec, ModelSignature, PackageTampered, save_model
from cairn.models.datatypes import DataType
from cairn.models.environment_builder import (
    OutputSink,
    cairn_install_spec,
    installable_requirements,
    venv_python,
    verified_spec,
)
from cairn.serving.entrypoint import SETTINGS_ENV, ServeSettings, serve_model
from cairn.serving.environment_launch import (
    BUILD_PREFIX,
    ENV_CACHE_ENV,
    READY_FILE,
    PreparedEnvironment,
    default_env_root,
    environment_key,
    environment_lock,
    main,
    prepare_environment,
    serve_options,
    server_environment,
)

_ENVIRONMENT_LINE = re.compile(r"Serving from the environment at (\S+) \((reused|newly built)\)")
_EVENT_WAIT_S = 30


def _save(path: Path, extra_requirements: list[str] | None = None) -> Path:
    signature = ModelSignature(inputs=(ColumnSpec("x", DataType.DOUBLE), ColumnSpec("y", DataType.DOUBLE)))
    save_model(
        scoring_models.ScaledSum(),
        path,
        signature=signature,
        code_paths=[scoring_models.__file__],
        extra_requirements=extra_requirements or [],
    )
    return path


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python model whose lock holds a single requirement (pandas)."""
    return _save(tmp_path_factory.mktemp("packages") / "scaled-sum")


def bare_venv(model_dir: Path, target: Path, on_output: OutputSink | None) -> Path:
    """A real environment without the lock's requirements: the standard library's venv, no pip."""
    venv.create(target, with_pip=False)
    return venv_python(target)


def _key(package: Path) -> str:
    return environment_key(installable_requirements(verified_spec(package)), cairn_install_spec())


# The cache key and folder


def test_key_ignores_line_order_and_repeats() -> None:
    key = environment_key(["pandas==2.2.0", "numpy==2.0.0"], "cairn[server]==0.1.0", "3.11")
    assert key == environment_key(
        ["numpy==2.0.0", " pandas==2.2.0", "numpy==2.0.0", ""], "cairn[server]==0.1.0", "3.11"
    )
    assert key.startswith("py3.11-")


@pytest.mark.parametrize(
    ("requirements", "install_spec", "python_version"),
    [
        (["pandas==2.2.1", "numpy==2.0.0"], "cairn[server]==0.1.0", "3.11"),
        (["pandas==2.2.0"], "cairn[server]==0.1.0", "3.11"),
        (["pandas==2.2.0", "numpy==2.0.0"], "cairn[server]==0.2.0", "3.11"),
        (["pandas==2.2.0", "numpy==2.0.0"], "cairn[server]==0.1.0", "3.12"),
    ],
)
def test_key_changes_with_the_lock_cairn_and_python(
    requirements: list[str], install_spec: str, python_version: str
) -> None:
    base = environment_key(["pandas==2.2.0", "numpy==2.0.0"], "cairn[server]==0.1.0", "3.11")
    assert environment_key(requirements, install_spec, python_version) != base


def test_key_defaults_to_the_running_python() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert environment_key(["pandas==2.2.0"], "cairn").startswith(f"py{version}-")


def test_env_root_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CACHE_ENV, str(tmp_path / "envs"))
    assert default_env_root() == tmp_path / "envs"
    monkeypatch.delenv(ENV_CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_env_root() == tmp_path / "xdg" / "cairn" / "envs"


# Building, reusing, and what a failed build leaves


def test_builds_once_then_reuses(package: Path, tmp_path: Path) -> None:
    calls: list[Path] = []

    def counting(model_dir: Path, target: Path, on_output: OutputSink | None) -> Path:
        calls.append(target)
        return bare_venv(model_dir, target, on_output)

    first = prepare_environment(package, env_root=tmp_path, builder=counting)
    second = prepare_environment(package, env_root=tmp_path, builder=counting)

    assert len(calls) == 1
    assert first == PreparedEnvironment(
        tmp_path / _key(package), venv_python(tmp_path / _key(package)), False
    )
    assert second == PreparedEnvironment(first.path, first.python, True)
    record = json.loads((first.path / READY_FILE).read_text())
    assert record["requirements"] == installable_requirements(verified_spec(package))
    assert record["cairn"] == cairn_install_spec()
    assert not list(tmp_path.glob(f"{BUILD_PREFIX}*"))


def test_scripts_name_the_final_folder_not_the_build_folder(package: Path, tmp_path: Path) -> None:
    prepared = prepare_environment(package, env_root=tmp_path, builder=bare_venv)
    activate = (prepared.path / "bin" / "activate").read_text()
    assert str(prepared.path) in activate
    assert BUILD_PREFIX not in activate
    ran = subprocess.run(
        [str(prepared.python), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == str(prepared.path)


@pytest.mark.parametrize(
    "failure", [CairnError("pip install failed: no such distribution"), KeyboardInterrupt()]
)
def test_a_failed_build_leaves_nothing_reusable(
    package: Path, tmp_path: Path, failure: BaseException
) -> None:
    def failing(model_dir: Path, target: Path, on_output: OutputSink | None) -> Path:
        bare_venv(model_dir, target, on_output)
        raise failure

    with pytest.raises(type(failure)) as caught:
        prepare_environment(package, env_root=tmp_path, builder=failing)
    if isinstance(failure, CairnError):
        assert isinstance(caught.value, CairnError)
        assert f"cannot build the environment of {package} from its lock" in caught.value.message
        assert "no such distribution" in caught.value.message
    assert not (tmp_path / _key(package)).exists()
    assert not list(tmp_path.glob(f"{BUILD_PREFIX}*"))
    assert prepare_environment(package, env_root=tmp_path, builder=bare_venv).reused is False


def test_leftovers_of_a_killed_build_are_replaced(package: Path, tmp_path: Path) -> None:
    key = _key(package)
    unfinished = tmp_path / key
    venv.create(unfinished, with_pip=False)  # complete but never marked ready
    stale = tmp_path / f"{BUILD_PREFIX}{key}-killed"
    (stale / "env").mkdir(parents=True)

    prepared = prepare_environment(package, env_root=tmp_path, builder=bare_venv)

    assert prepared.reused is False
    assert (prepared.path / READY_FILE).is_file()
    assert not stale.exists()


def test_tampered_package_is_refused_before_building(package: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(package, copy)
    (copy / "requirements.txt").write_text("pandas==0.1\n")
    with pytest.raises(PackageTampered, match="'requirements.txt' was altered"):
        prepare_environment(copy, env_root=tmp_path / "envs", builder=bare_venv)
    assert not (tmp_path / "envs").exists()


def test_a_second_command_waits_for_the_build_in_progress(package: Path, tmp_path: Path) -> None:
    building, release, waiting = threading.Event(), threading.Event(), threading.Event()
    calls: list[Path] = []

    def slow(model_dir: Path, target: Path, on_output: OutputSink | None) -> Path:
        calls.append(target)
        building.set()
        assert release.wait(_EVENT_WAIT_S)
        return bare_venv(model_dir, target, on_output)

    def on_output(line: str) -> None:
        if line.startswith("Waiting for another build"):
            waiting.set()

    results: dict[str, PreparedEnvironment] = {}

    def prepare(name: str) -> None:
        results[name] = prepare_environment(package, env_root=tmp_path, builder=slow, on_output=on_output)

    first = threading.Thread(target=prepare, args=("first",))
    first.start()
    assert building.wait(_EVENT_WAIT_S)
    second = threading.Thread(target=prepare, args=("second",))
    second.start()
    assert waiting.wait(_EVENT_WAIT_S)
    assert not (tmp_path / _key(package)).exists()
    release.set()
    first.join(_EVENT_WAIT_S)
    second.join(_EVENT_WAIT_S)

    assert len(calls) == 1
    assert results["first"].reused is False
    assert results["second"] == PreparedEnvironment(results["first"].path, results["first"].python, True)


def test_the_lock_is_exclusive_between_holders(tmp_path: Path) -> None:
    waited, acquired = threading.Event(), threading.Event()

    def hold() -> None:
        with environment_lock(tmp_path, "key", waited.set):
            acquired.set()

    with environment_lock(tmp_path, "key"):
        thread = threading.Thread(target=hold)
        thread.start()
        assert waited.wait(_EVENT_WAIT_S)
        assert not acquired.is_set()
    thread.join(_EVENT_WAIT_S)
    assert acquired.is_set()


# The server's launch


def test_server_environment_isolates_the_server(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    monkeypatch.chdir(package.parent)
    prepared = PreparedEnvironment(tmp_path / "env", tmp_path / "env" / "bin" / "python", True)
    settings = ServeSettings(package.name, model_name="churn", challenger_dir=package.name)

    environment = server_environment(prepared, settings)

    assert "PYTHONPATH" not in environment
    assert environment["VIRTUAL_ENV"] == str(tmp_path / "env")
    assert environment["PATH"].split(":")[0] == str(tmp_path / "env" / "bin")
    sent = ServeSettings.from_json(environment[SETTINGS_ENV])
    assert sent.model_dir == str(package) and sent.challenger_dir == str(package)
    assert sent.model_name == "churn"


def test_every_setting_is_an_argument_of_serve_model() -> None:
    accepted = inspect.signature(serve_model).parameters
    options = serve_options(ServeSettings("pkg"))
    assert "model_dir" not in options
    assert set(options) <= set(accepted)


def test_server_side_needs_its_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    with pytest.raises(SystemExit) as caught:
        main(["--port", "0"])
    assert caught.value.code == 2
    assert f"${SETTINGS_ENV} is not set" in capsys.readouterr().err


_LAUNCHER = """
import sys
from cairn.serving.environment_launch import run_forwarding_signals
child = '''
import signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_DFL)
if sys.argv[1] == "handle":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
print("ready", flush=True)
time.sleep(60)
'''
raise SystemExit(run_forwarding_signals([sys.executable, "-c", child, sys.argv[1]]))
"""


@pytest.mark.parametrize(
    ("sent", "mode", "status"),
    [
        (signal.SIGTERM, "handle", 7),
        (signal.SIGTERM, "default", 128 + signal.SIGTERM),
        (signal.SIGINT, "default", 128 + signal.SIGINT),
        (signal.SIGHUP, "default", 128 + signal.SIGTERM),
    ],
)
def test_stop_signals_reach_the_server_and_its_status_is_returned(
    sent: signal.Signals, mode: str, status: int
) -> None:
    launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER, mode], stdout=subprocess.PIPE, text=True)
    assert launcher.stdout is not None
    assert launcher.stdout.readline().strip() == "ready"
    (child,) = psutil.Process(launcher.pid).children()
    launcher.send_signal(sent)
    assert launcher.wait(timeout=_EVENT_WAIT_S) == status
    launcher.stdout.close()
    assert not child.is_running()


# The command line


def test_unknown_env_manager_is_a_usage_error(package: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "serve", str(package), "--env-manager", "conda"])
    assert result.exit_code == 2
    assert "'conda' is not one of 'local', 'venv'" in result.output


def test_env_root_without_venv_is_a_usage_error(package: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "serve", str(package), "--env-root", str(tmp_path)])
    assert result.exit_code == 2
    assert "--env-root goes with --env-manager venv" in result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_broken_lock_names_the_requirement(tmp_path: Path) -> None:
    broken = _save(tmp_path / "broken", extra_requirements=["pandas=2.0"])
    root = tmp_path / "envs"
    result = CliRunner().invoke(
        cli, ["models", "serve", str(broken), "--env-manager", "venv", "--env-root", str(root), "--port", "0"]
    )
    assert result.exit_code == 1
    assert f"Error: cannot build the environment of {broken} from its lock" in result.output
    assert "Invalid requirement: 'pandas=2.0'" in result.output
    assert [path.name for path in root.iterdir()] == [f".{_key(broken)}.lock"]


# End to end


def _serve(package: Path, root: Path) -> ModelServerProcess:
    command = [sys.executable, "-m", "cairn.cli.main", "models", "serve", str(package)]
    command += ["--env-manager", "venv", "--env-root", str(root), "--port", "0"]
    return ModelServerProcess(sys.executable, package, command)


def _environment_line(server: ModelServerProcess) -> tuple[Path, str]:
    found = next(filter(None, map(_ENVIRONMENT_LINE.search, server.stderr_lines())))
    return Path(found.group(1)), found.group(2)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_serves_from_the_built_environment_then_reuses_it(package: Path, tmp_path: Path) -> None:
    root = tmp_path / "envs"
    expected_env = root / _key(package)
    statuses = []
    for expected_how in ("newly built", "reused"):
        with _serve(package, root) as server:
            env_path, how = _environment_line(server)
            (child,) = psutil.Process(server.process.pid).children()
            response = httpx.post(
                f"{server.url}/invocations", json={"dataframe_records": [{"x": 1.0, "y": 2.0}]}, timeout=30
            )
            assert (env_path, how) == (expected_env, expected_how)
            assert child.cmdline()[0] == str(venv_python(expected_env))
            assert response.status_code == 200, response.text
            assert response.json() == {"predictions": [{"total": 3.0, "label": "low"}]}
        statuses.append(server.process.returncode)
        assert not child.is_running()
        building = [line for line in server.stderr_lines() if line.startswith("Building the environment")]
        assert len(building) == (1 if expected_how == "newly built" else 0)
    assert statuses == [0, 0]
    assert sorted(path.name for path in root.iterdir()) == sorted(
        [expected_env.name, f".{expected_env.name}.lock"]
    )
