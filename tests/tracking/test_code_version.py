import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.tracking import code_version
from cairn.tracking.code_version import CodeVersion, capture_code_version, strip_credentials

# The cairn sources, so a child interpreter imports the same package as this test.
SOURCE_ROOT = Path(code_version.__file__).resolve().parents[2]


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    return env


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "train.py").write_text("print('old line')\n")
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", "train.py", ".gitignore")
    git(root, "commit", "--quiet", "-m", "first")
    return root


def test_clean_repository(repo: Path) -> None:
    found = capture_code_version(repo)
    assert found is not None
    assert found.commit == git(repo, "rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", found.commit)
    assert found.branch == "main"
    assert found.remote_url is None
    assert found.is_dirty is False
    assert found.diff == ""
    assert found.untracked_files == ()
    assert found.repo_root.resolve() == repo.resolve()


def test_path_may_be_a_file_in_a_subfolder(repo: Path) -> None:
    (repo / "pkg").mkdir()
    (repo / "pkg" / "model.py").write_text("x = 1\n")
    found = capture_code_version(str(repo / "pkg" / "model.py"))
    assert found is not None
    assert found.repo_root.resolve() == repo.resolve()
    assert found.untracked_files == ("pkg/model.py",)


def test_modified_tracked_file_makes_it_dirty_with_a_diff(repo: Path) -> None:
    (repo / "train.py").write_text("print('new line')\n")
    found = capture_code_version(repo)
    assert found is not None
    assert found.is_dirty is True
    assert "diff --git a/train.py b/train.py" in found.diff
    assert "-print('old line')" in found.diff
    assert "+print('new line')" in found.diff


def test_staged_changes_are_in_the_diff_too(repo: Path) -> None:
    (repo / "train.py").write_text("print('staged')\n")
    git(repo, "add", "train.py")
    (repo / "added.py").write_text("y = 2\n")
    git(repo, "add", "added.py")
    found = capture_code_version(repo)
    assert found is not None
    assert found.is_dirty is True
    assert "+print('staged')" in found.diff
    assert "+y = 2" in found.diff
    assert found.untracked_files == ()


def test_untracked_files_are_named_not_read_and_ignored_ones_left_out(repo: Path) -> None:
    (repo / "notes.txt").write_text("secret scratch content\n")
    (repo / "data").mkdir()
    (repo / "data" / "a b.csv").write_text("1,2\n")
    (repo / "run.log").write_text("ignored\n")
    found = capture_code_version(repo)
    assert found is not None
    assert found.is_dirty is False
    assert sorted(found.untracked_files) == ["data/a b.csv", "notes.txt"]
    assert "secret scratch content" not in found.diff


def test_long_diff_is_cut_with_a_note(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_version, "MAX_DIFF_BYTES", 300)
    (repo / "train.py").write_text("".join(f"print({i})\n" for i in range(200)))
    found = capture_code_version(repo)
    assert found is not None
    body, _, note = found.diff.rpartition("\n[cairn: diff truncated")
    assert note
    assert 0 < len(body.encode()) <= 300
    assert body.startswith("diff --git a/train.py")
    assert "print(199)" not in found.diff


def test_untracked_list_is_capped(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_version, "MAX_UNTRACKED_FILES", 3)
    for i in range(6):
        (repo / f"extra{i}.txt").write_text("x\n")
    found = capture_code_version(repo)
    assert found is not None
    assert len(found.untracked_files) == 3
    assert set(found.untracked_files) <= {f"extra{i}.txt" for i in range(6)}


def test_remote_credentials_are_stripped(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cr3t@git.example.com:8443/team/project.git")
    found = capture_code_version(repo)
    assert found is not None
    assert found.remote_url == "https://git.example.com:8443/team/project.git"
    assert "s3cr3t" not in json.dumps(found.to_tags())
    assert "alice" not in json.dumps(found.to_tags())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://ghp_token123@github.com/org/repo", "https://github.com/org/repo"),
        ("http://a:b@[::1]:3000/x.git", "http://[::1]:3000/x.git"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("ssh://git:pw@github.com/org/repo.git", "ssh://github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_detached_head_has_no_branch(repo: Path) -> None:
    (repo / "train.py").write_text("print('second')\n")
    git(repo, "commit", "--quiet", "-am", "second")
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "--quiet", "--detach", first)
    found = capture_code_version(repo)
    assert found is not None
    assert found.branch is None
    assert found.commit == first
    assert "mlflow.source.git.branch" not in found.to_tags()


def test_feature_branch_name(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "-b", "feature/faster-loader")
    found = capture_code_version(repo)
    assert found is not None
    assert found.branch == "feature/faster-loader"


def test_outside_a_repository_is_none(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert capture_code_version(plain) is None
    assert capture_code_version(tmp_path / "does-not-exist" / "x.py") is None


def test_repository_without_commits_is_none(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "a.py").write_text("pass\n")
    assert capture_code_version(tmp_path) is None


def test_missing_git_executable_is_none(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    assert capture_code_version(repo) is None


def test_to_tags(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@github.com:org/project.git")
    (repo / "train.py").write_text("changed\n")
    found = capture_code_version(repo)
    assert found is not None
    assert found.to_tags() == {
        "mlflow.source.git.commit": found.commit,
        "mlflow.source.git.branch": "main",
        "mlflow.source.git.repoURL": "git@github.com:org/project.git",
        "mlflow.source.name": found.entry_point,
        "mlflow.source.type": "LOCAL",
        "cairn.git.dirty": "true",
    }
    assert all(isinstance(value, str) for value in found.to_tags().values())


def test_entry_point_outside_the_repository_is_the_basename(repo: Path) -> None:
    found = capture_code_version(repo)
    assert found is not None
    if sys.argv[0] in ("", "-c", "-"):
        pytest.skip("pytest was started without a script path")
    runner = Path(sys.argv[0]).absolute()  # the pytest entry point, which is not inside `repo`
    assert repo.resolve() not in runner.resolve().parents
    assert found.entry_point == runner.name


def run_script(script: Path, cwd: Path) -> dict[str, object]:
    program = (
        "import dataclasses, json\n"
        "from cairn.tracking.code_version import capture_code_version\n"
        "found = capture_code_version()\n"
        "print(json.dumps(None if found is None else dataclasses.asdict(found), default=str))\n"
    )
    script.write_text(program)
    env = {**git_env(), "PYTHONPATH": os.pathsep.join([str(SOURCE_ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(script)]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60)
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def test_default_path_is_the_entry_script_folder(repo: Path, tmp_path: Path) -> None:
    (repo / "jobs").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_script(repo / "jobs" / "train_job.py", cwd=elsewhere)
    assert result["entry_point"] == "jobs/train_job.py"
    assert Path(str(result["repo_root"])).resolve() == repo.resolve()
    assert result["untracked_files"] == ["jobs/train_job.py"]


def test_code_version_is_frozen(repo: Path) -> None:
    found = capture_code_version(repo)
    assert isinstance(found, CodeVersion)
    with pytest.raises(AttributeError):
        found.commit = "0" * 40  # type: ignore[misc]
