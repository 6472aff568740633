from pathlib import Path

import pytest

from ketamine_course.paths import RepositoryRootNotFound, repo_root


@pytest.mark.parametrize("sub", [".", "book", "data", "tests", "ketamine_course"])
def test_root_is_found_from_any_folder_of_the_repository(root, sub):
    assert repo_root(root / sub) == root


def test_root_is_found_from_the_working_directory(root, monkeypatch):
    monkeypatch.chdir(root / "book")
    assert repo_root() == root


def test_outside_the_repository_a_clear_error_is_raised(tmp_path):
    with pytest.raises(RepositoryRootNotFound, match="_config.yml and data/"):
        repo_root(tmp_path)


def test_the_error_does_not_print_an_absolute_path(tmp_path):
    with pytest.raises(RepositoryRootNotFound) as info:
        repo_root(tmp_path)
    assert str(tmp_path) not in str(info.value)


def test_a_copy_of_the_repository_finds_its_own_root(repo_copy: Path):
    assert repo_root(repo_copy / "book") == repo_copy
