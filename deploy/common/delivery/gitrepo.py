"""The git questions routing needs, asked of a local clone with the git command line.

Kept apart from routing so routing stays pure: ``route`` passes these methods in.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import DeliveryError


class GitRepo:
    """A local clone (any folder inside one)."""

    def __init__(self, path: Path | str = "."):
        self.path = Path(path)
        self.top = Path(self._git("rev-parse", "--show-toplevel", what="find the repository"))

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True, timeout=60, check=False)
        except FileNotFoundError:
            raise DeliveryError("git is not installed (needed to answer routing questions)") from None

    def _git(self, *args: str, what: str) -> str:
        result = self._run(*args)
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["git failed"])[-1]
            raise DeliveryError(f"git: cannot {what} in {self.path}: {detail}")
        return result.stdout.strip()

    def peel(self, revision: str) -> str:
        """The commit a hash or tag (annotated or not) points to."""
        return self._git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", what=f"resolve {revision} to a commit")

    def _ref_exists(self, ref: str) -> bool:
        return self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0

    def is_on_branch(self, commit: str, branch: str) -> bool:
        """Is ``commit`` reachable from ``branch`` (``origin/<branch>`` preferred, else the local one)?"""
        for ref in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
            if self._ref_exists(ref):
                result = self._run("merge-base", "--is-ancestor", commit, ref)
                if result.returncode in (0, 1):
                    return result.returncode == 0
                raise DeliveryError(f"git: cannot check that {commit} is on {branch}: {result.stderr.strip()}")
        raise DeliveryError(
            f"git: cannot check that {commit} is on branch '{branch}': neither origin/{branch} nor {branch}"
            f" exists in {self.top} (fetch it first, e.g. git fetch origin {branch}:refs/remotes/origin/{branch})"
        )

    def changed_paths(self, since: str, until: str) -> list[str]:
        """Repository-relative paths that differ between two commits."""
        out = self._git("diff", "--name-only", "--no-renames", since, until, "--", what=f"diff {since}..{until}")
        return [line for line in out.splitlines() if line]

    def relative(self, folder: Path) -> str:
        """``folder`` as a POSIX path relative to the repository root."""
        try:
            return folder.resolve().relative_to(self.top.resolve()).as_posix()
        except ValueError:
            raise DeliveryError(f"{folder} is not inside the repository {self.top}") from None
