import base64
import hashlib
import os
import time
import zipfile
import io

from deploy.common.packaging import deterministic_zip, lambda_code_sha256, source_files


def _make_tree(root):
    (root / "pkg").mkdir(parents=True)
    (root / "handler.py").write_text("def handler(e, c):\n    return e\n")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")


def test_same_sources_give_identical_bytes_despite_mtimes_and_modes(tmp_path):
    _make_tree(tmp_path)
    first = deterministic_zip(tmp_path)
    past = time.time() - 86400 * 30
    for p in tmp_path.rglob("*.py"):
        os.utime(p, (past, past))
        p.chmod(0o755)
    assert deterministic_zip(tmp_path) == first


def test_content_change_changes_the_hash(tmp_path):
    _make_tree(tmp_path)
    before = lambda_code_sha256(deterministic_zip(tmp_path))
    (tmp_path / "pkg" / "util.py").write_text("X = 2\n")
    assert lambda_code_sha256(deterministic_zip(tmp_path)) != before


def test_entries_are_sorted_without_caches_and_with_fixed_metadata(tmp_path):
    _make_tree(tmp_path)
    with zipfile.ZipFile(io.BytesIO(deterministic_zip(tmp_path))) as z:
        names = z.namelist()
        infos = z.infolist()
    assert names == ["handler.py", "pkg/util.py"]
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert all((i.external_attr >> 16) & 0o777 == 0o644 for i in infos)
    assert [p.name for p in source_files(tmp_path)] == ["handler.py", "util.py"]


def test_code_sha256_matches_lambdas_definition():
    data = b"some zip bytes"
    assert lambda_code_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_several_folders_zip_at_the_root_and_must_not_collide(tmp_path):
    fn, shared = tmp_path / "fn", tmp_path / "shared"
    fn.mkdir()
    shared.mkdir()
    (fn / "handler.py").write_text("import helpers\n")
    (shared / "helpers.py").write_text("X = 1\n")
    with zipfile.ZipFile(io.BytesIO(deterministic_zip(fn, shared))) as z:
        assert z.namelist() == ["handler.py", "helpers.py"]
    (shared / "handler.py").write_text("clash\n")
    import pytest
    with pytest.raises(ValueError, match="handler.py is in both"):
        deterministic_zip(fn, shared)
