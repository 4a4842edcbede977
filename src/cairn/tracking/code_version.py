"""Capture of the git commit, branch, remote, uncommitted diff and entry point a run was started from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

GIT_TIMEOUT_SECONDS = 5.0
MAX_DIFF_BYTES = 5 * 1024 * 1024
MAX_UNTRACKED_FILES = 1000
_MAX_UNTRACKED_LISTING_BYTES = 1024 * 1024
_SCRIPTLESS_ENTRY_POINTS = {"": "<interactive>", "-c": "<command>", "-": "<stdin>"}
# Variables that would make git ignore `-C <path>` and look at another repository or index.
_REPOSITORY_OVERRIDES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")
_USERNAME_ONLY_SCHEMES = {"ssh", "git+ssh", "ssh+git"}


@dataclass(frozen=True)
class CodeVersion:
    """The state of the source tree a run was started from.

    Attributes:
        commit: Full hex id of the checked-out commit.
        branch: Short branch name, or None when HEAD is detached.
        remote_url: URL of the `origin` remote with any credentials removed, or None.
        is_dirty: True when tracked files differ from the commit (staged or not).
        diff: Uncommitted changes of tracked files against HEAD as a unified diff, capped at
            `MAX_DIFF_BYTES` with a note appended when cut; empty when clean.
        untracked_files: Repository-relative names of untracked, non-ignored files (at most
            `MAX_UNTRACKED_FILES`); their content is not captured.
        entry_point: The script path relative to the repository root when inside it, else its basename.
        repo_root: Absolute path of the working tree's top-level folder.
    """

    commit: str
    branch: str | None
    remote_url: str | None
    is_dirty: bool
    diff: str
    untracked_files: tuple[str, ...]
    entry_point: str
    repo_root: Path

    def to_tags(self) -> dict[str, str]:
        """MLflow-compatible run tags describing this code version (the diff is not a tag)."""
        tags = {
            "mlflow.source.git.commit": self.commit,
            "mlflow.source.name": self.entry_point,
            "mlflow.source.type": "LOCAL",
            "cairn.git.dirty": "true" if self.is_dirty else "false",
        }
        if self.branch is not None:
            tags["mlflow.source.git.branch"] = self.branch
        if self.remote_url is not None:
            tags["mlflow.source.git.repoURL"] = self.remote_url
        return dict(sorted(tags.items()))


def capture_code_version(path: str | Path | None = None) -> CodeVersion | None:
    """Describe the git working tree containing `path`.

    Never raises: returns None when git is not installed, `path` is not inside a working tree,
    the repository has no commit yet, or git does not answer within `GIT_TIMEOUT_SECONDS`.

    Args:
        path: A file or folder inside the repository. Defaults to the folder of the entry-point
            script (`sys.argv[0]`), or the current directory when there is no script.
    """
    script = _entry_script()
    start = Path(path) if path is not None else (script.parent if script is not None else Path.cwd())
    git = shutil.which("git")
    if git is None:
        return None
    try:
        folder = start if start.is_dir() else start.parent
        if not folder.is_dir():
            return None
        return _describe(_Git(git), folder, script)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def strip_credentials(url: str) -> str:
    """Remove `user:password@` (or a bare token) from a remote URL.

    A bare user name is kept only for SSH URLs, where it is an account name such as `git`
    rather than a secret. scp-style remotes (`git@host:org/repo.git`) carry no password and
    are returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    if parts.scheme.lower() in _USERNAME_ONLY_SCHEMES and ":" not in userinfo:
        return url
    return urlunsplit(parts._replace(netloc=host))


def _describe(git: _Git, folder: Path, script: Path | None) -> CodeVersion | None:
    top = git.text(folder, "rev-parse", "--show-toplevel")
    commit = git.text(folder, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if not top or not commit:
        return None
    root = Path(top)
    branch = git.text(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    remote = git.text(root, "config", "--get", "remote.origin.url")
    status = git.text(root, "status", "--porcelain=v1", "--untracked-files=no", "--ignore-submodules=none")
    return CodeVersion(
        commit=commit,
        branch=branch or None,
        remote_url=strip_credentials(remote) if remote else None,
        is_dirty=bool(status),
        diff=_read_diff(git, root),
        untracked_files=_read_untracked(git, root),
        entry_point=_entry_point_name(script, root),
        repo_root=root,
    )


def _read_diff(git: _Git, root: Path) -> str:
    result = git.limited(root, MAX_DIFF_BYTES, "diff", "HEAD", "--no-color", "--no-ext-diff")
    if result is None:
        return ""
    data, truncated = result
    if not truncated:
        return data.decode("utf-8", errors="replace")
    cut = data.rfind(b"\n") + 1 or len(data)
    note = f"\n[cairn: diff truncated; it is larger than {MAX_DIFF_BYTES} bytes]\n"
    return data[:cut].decode("utf-8", errors="replace") + note


def _read_untracked(git: _Git, root: Path) -> tuple[str, ...]:
    args = ("ls-files", "--others", "--exclude-standard", "-z")
    result = git.limited(root, _MAX_UNTRACKED_LISTING_BYTES, *args)
    if result is None:
        return ()
    data, truncated = result
    names = data.split(b"\0")
    if truncated or names[-1] == b"":
        names.pop()  # the last entry is cut short, or empty after the final NUL
    return tuple(os.fsdecode(name) for name in names[:MAX_UNTRACKED_FILES])


def _entry_script() -> Path | None:
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 in _SCRIPTLESS_ENTRY_POINTS:
        return None
    return Path(argv0).absolute()


def _entry_point_name(script: Path | None, root: Path) -> str:
    if script is None:
        argv0 = sys.argv[0] if sys.argv else ""
        return _SCRIPTLESS_ENTRY_POINTS.get(argv0, "<interactive>")
    try:
        return script.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return script.name


class _Git:
    """Runs one git executable with a timeout and an environment that cannot prompt or lock."""

    def __init__(self, executable: str) -> None:
        self._executable = executable
        env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_OVERRIDES}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
        self._env = env

    def text(self, cwd: Path, *args: str) -> str | None:
        """Stripped standard output, or None when git fails or times out."""
        try:
            done = subprocess.run(
                [self._executable, *args],
                cwd=cwd,
                env=self._env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        return done.stdout.decode("utf-8", errors="replace").strip()

    def limited(self, cwd: Path, limit: int, *args: str) -> tuple[bytes, bool] | None:
        """At most `limit` bytes of output and whether more was cut off; None when git fails."""
        with subprocess.Popen(
            [self._executable, *args],
            cwd=cwd,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as proc:
            timer = threading.Timer(GIT_TIMEOUT_SECONDS, proc.kill)
            timer.start()
            try:
                assert proc.stdout is not None
                data = proc.stdout.read(limit + 1)
                truncated = len(data) > limit
                if truncated:
                    proc.kill()
                returncode = proc.wait()
            finally:
                timer.cancel()
        if returncode != 0 and not truncated:
            return None
        return data[:limit], truncated
