"""Tiny helpers to build throw-away git repositories for the tests."""
from __future__ import annotations

import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "tag.gpgSign=false", "-c", "commit.gpgSign=false",
                             *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_delivery_clone(root: Path, rules_text: str) -> dict[str, str]:
    """An origin repository with the branches and tags routing cares about, and a clone of it (as
    Jenkins has one: detached HEAD, ``origin/*`` remote-tracking branches, the tags). Returns the
    clone's path and the commits, by name:

    main:      base (tag v1.0.0, annotated; projects fpac and sales; dev's config names fpac, sales and orders,
               test's only fpac, prod's fpac and sales) -> main (fpac change; tag v2.1.0)
    develop:   base -> sales (sales change) -> docs (README only; tag v1.1.0, annotated) -> orders (a new project)
    release/2.1:        main -> release
    feature/payments:   base -> feature
    feature/self-route: base -> self_route (its routing.json routes feature/* pushes to prod, no approval)
    """
    import json

    origin = root / "origin"
    origin.mkdir(parents=True)
    git(origin, "init", "-q")
    c: dict[str, str] = {}
    c["base"] = commit_files(origin, {
        "README.md": "x\n", "deploy/config/routing.json": rules_text,
        "deploy/projects/fpac_pipeline/deploy.py": "# fpac\n", "deploy/projects/sales_pipeline/deploy.py": "# sales\n",
        "deploy/projects/notes/README.md": "not a project\n",
        **{f"deploy/config/{env}.json": json.dumps({"environment": env, "projects": {p: {} for p in names}})
           for env, names in (("dev", ("fpac", "sales", "orders")), ("test", ("fpac",)), ("prod", ("fpac", "sales")))},
    }, "base")
    git(origin, "tag", "-a", "v1.0.0", "-m", "release 1.0.0")
    c["main"] = commit_files(origin, {"deploy/projects/fpac_pipeline/rules.py": "r\n"}, "fpac change")
    git(origin, "tag", "v2.1.0")
    git(origin, "checkout", "-q", "-b", "release/2.1")
    c["release"] = commit_files(origin, {"deploy/projects/fpac_pipeline/fix.py": "f\n"}, "release fix")
    git(origin, "checkout", "-q", "-b", "develop", c["base"])
    c["sales"] = commit_files(origin, {"deploy/projects/sales_pipeline/rules.py": "s\n"}, "sales change")
    c["docs"] = commit_files(origin, {"README.md": "y\n"}, "docs only")
    git(origin, "tag", "-a", "v1.1.0", "-m", "not on main")
    c["orders"] = commit_files(origin, {"deploy/projects/orders_pipeline/deploy.py": "# orders\n"}, "a new project")
    git(origin, "checkout", "-q", "-b", "feature/payments", c["base"])
    c["feature"] = commit_files(origin, {"deploy/projects/fpac_pipeline/payments.py": "p\n"}, "payments")
    git(origin, "checkout", "-q", "-b", "feature/self-route", c["base"])
    rules = json.loads(rules_text)
    rules["environments"]["prod"]["approval_required"] = False
    rules["rules"].insert(0, {"name": "me-to-prod", "event": "push", "branch": "feature/*", "environment": "prod"})
    c["self_route"] = commit_files(origin, {"deploy/config/routing.json": json.dumps(rules, indent=2)}, "route myself to prod")
    git(origin, "checkout", "-q", "main")
    c["v1_object"] = git(origin, "rev-parse", "v1.0.0")
    c["v11_object"] = git(origin, "rev-parse", "v1.1.0")
    clone = root / "clone"
    git(root, "clone", "-q", "--no-checkout", str(origin), str(clone))
    git(clone, "checkout", "-q", "--detach", c["main"])
    return {"path": str(clone), "origin": str(origin), **c}
