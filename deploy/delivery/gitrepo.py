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

    def is_ancestor(self, commit: str, ref: str) -> bool:
        """Is ``commit`` reachable from ``ref`` (equal to it or an ancestor)? ``git merge-base --is-ancestor``."""
        result = self._run("merge-base", "--is-ancestor", commit, ref)
        if result.returncode in (0, 1):
            return result.returncode == 0
        detail = (result.stderr.strip().splitlines() or ["git failed"])[-1]
        raise DeliveryError(f"git: cannot check that {commit} is on {ref} in {self.top}: {detail}")

    def branch_ref(self, branch: str) -> str:
        """The ref holding ``branch`` in this clone: ``origin/<branch>`` preferred, else the local branch."""
        for ref in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
            if self._ref_exists(ref):
                return ref
        raise DeliveryError(
            f"git: branch '{branch}': neither origin/{branch} nor {branch}"
            f" exists in {self.top} (fetch it first, e.g. git fetch origin {branch}:refs/remotes/origin/{branch})"
        )

    def is_on_branch(self, commit: str, branch: str) -> bool:
        """Is ``commit`` reachable from ``branch`` (``origin/<branch>`` preferred, else the local one)?"""
        return self.is_ancestor(commit, self.branch_ref(branch))

    def tag_commit(self, tag: str) -> str:
        """The commit the tag ``tag`` points to (peeled), as this clone has it."""
        if not self._ref_exists(f"refs/tags/{tag}"):
            raise DeliveryError(f"git: tag '{tag}' is not in {self.top} (fetch it first, e.g. git fetch origin tag {tag})")
        return self.peel(f"refs/tags/{tag}")

    def require_ref(self, ref: str, hint: str) -> str:
        """The commit ``ref`` names; DeliveryError with ``hint`` (how to fetch it) when the clone lacks it."""
        result = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if result.returncode != 0:
            raise DeliveryError(f"git: {ref} is not in {self.top}: {hint}")
        return result.stdout.strip()

    def show(self, revision: str, path: str) -> str | None:
        """The text of ``path`` (repository-relative) at ``revision``; None when that revision has no such file."""
        if self._run("cat-file", "-e", f"{revision}:{path}").returncode != 0:
            self.peel(revision)  # a missing revision is an error; a missing file is None
            return None
        return self._git("show", f"{revision}:{path}", what=f"read {path} at {revision}")

    def same_file(self, path: str, one: str, other: str) -> bool:
        """Has ``path`` the same content (or is it absent in both) at two revisions?"""
        result = self._run("diff", "--quiet", "--no-ext-diff", one, other, "--", path)
        if result.returncode in (0, 1):
            return result.returncode == 0
        detail = (result.stderr.strip().splitlines() or ["git failed"])[-1]
        raise DeliveryError(f"git: cannot compare {path} at {one} and {other} in {self.top}: {detail}")

    def projects_at(self, commit: str, folder: str) -> list[str]:
        """Project names at ``commit``: folders ``<folder>/<name>_pipeline`` that hold a ``deploy.py``
        (what ``list_projects`` finds on disk, asked of the commit instead of the working tree)."""
        out = self._git("ls-tree", "--name-only", f"{commit}:{folder}", what=f"list {folder} at {commit}")
        names = [line[: -len("_pipeline")] for line in out.splitlines() if line.endswith("_pipeline") and len(line) > 9]
        return sorted(n for n in names if self._run("cat-file", "-e", f"{commit}:{folder}/{n}_pipeline/deploy.py").returncode == 0)

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
