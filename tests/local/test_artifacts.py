"""The local artifact repository (``hera_magics.local.artifacts``) as plain file work."""

from __future__ import annotations

import io
import tarfile

import pytest

from hera_magics.local.artifacts import (
    ArtifactError,
    ArtifactMissing,
    ArtifactRepository,
    in_argo_order,
    key_problem,
    saved_file_name,
)


@pytest.mark.parametrize(("artifact", "name"), [
    ({"name": "a", "path": "/tmp/x.txt"}, "a.tgz"),
    ({"name": "a", "path": "/tmp/x.txt", "archive": {"tar": {"compressionLevel": 0}}}, "a.tgz"),
    ({"name": "a", "path": "/tmp/x.txt", "archive": {"zip": {}}}, "a.zip"),
    ({"name": "a", "path": "/tmp/dir/", "archive": {"none": {}}}, "dir"),
])
def test_the_file_name_a_saved_artifact_gets(artifact, name):
    # stageArchiveFile: <name>.tgz, <name>.zip, or the base name of the path.
    assert saved_file_name(artifact) == name


@pytest.mark.parametrize("key", ["", "/abs", "a/../../b", "..", "a/\0"])
def test_keys_that_would_leave_the_repository(key):
    assert key_problem(key)


def test_round_trips_of_files_and_folders(tmp_path):
    repository = ArtifactRepository(tmp_path / "repo")
    source = tmp_path / "out"
    (source / "sub").mkdir(parents=True)
    (source / "a").write_text("a")
    (source / "sub" / "b").write_text("b")
    (source / "link").symlink_to("a")
    for archive in (None, {"zip": {}}, {"none": {}}):
        artifact = {"name": "folder", "path": "/out", **({"archive": archive} if archive else {})}
        recorded = repository.save(source, artifact, "wf/pod")
        assert list(recorded) == [key for key in ("name", "path", "s3", "archive") if key in recorded]
        target = tmp_path / f"in-{recorded['s3']['key'].rsplit('/', 1)[1]}"
        repository.load(recorded, target)
        assert (target / "a").read_text() == "a" and (target / "sub" / "b").read_text() == "b"
    single = tmp_path / "single.txt"
    single.write_text("one")
    recorded = repository.save(single, {"name": "file", "path": "/single.txt"}, "wf/pod")
    assert recorded["s3"] == {"key": "wf/pod/file.tgz"}
    # Without an archive strategy a tarball is detected; raw bytes are taken as they are.
    repository.load({"name": "file", "s3": {"key": "wf/pod/file.tgz"}, "mode": 0o600}, tmp_path / "copy.txt")
    assert (tmp_path / "copy.txt").read_text() == "one"
    assert oct((tmp_path / "copy.txt").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ArtifactMissing):
        repository.save(tmp_path / "nothing", {"name": "x", "path": "/nothing"}, "wf/pod")
    with pytest.raises(ArtifactMissing):
        repository.load({"name": "x", "s3": {"key": "wf/none"}}, tmp_path / "x")


def test_an_archive_cannot_write_outside_the_artifact_path(tmp_path):
    repository = ArtifactRepository(tmp_path / "repo")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        member = tarfile.TarInfo("../escape")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "bad.tgz").write_bytes(data.getvalue())
    with pytest.raises(ArtifactError, match="illegal file path"):
        repository.load({"name": "bad", "s3": {"key": "bad.tgz"}}, tmp_path / "in" / "bad")
    assert not (tmp_path / "in" / "escape").exists()


def test_fields_are_written_in_argos_order():
    assert list(in_argo_order({"s3": {}, "optional": True, "path": "/p", "name": "n", "extra": 1})) == [
        "name", "path", "s3", "optional", "extra"]


def test_a_path_that_is_a_link_saves_what_it_names(tmp_path):
    # TarGzToWriter stats the path (following the link) and archives the file under the path's name.
    repository = ArtifactRepository(tmp_path / "repo")
    (tmp_path / "real.txt").write_text("real")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    recorded = repository.save(tmp_path / "link.txt", {"name": "linked", "path": "/link.txt"}, "wf/pod")
    with tarfile.open(repository.path_of(recorded["s3"]["key"]), "r:gz") as archive:
        member = archive.getmember("link.txt")
        assert member.isfile() and archive.extractfile(member).read() == b"real"
