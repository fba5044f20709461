"""Hub downloads against a real local HTTP server speaking the hub's protocol (no HTTP mocks).

The repository is a small stand-in for GPT-2: three text files, which the hub keeps in git,
and a few MB of random "weights", which it keeps in LFS. What the bytes mean does not matter
here; the end-to-end conversion test uses a real checkpoint.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import huggingface_hub
import pytest

from app.core import hub_download
from app.core.hub_download import (
    DownloadError,
    DownloadProgress,
    RemoteFile,
    download_files,
    list_files,
)
from tests.support.hub import forget_ambient_hub_settings
from tests.support.hub_server import HubServer, git_blob_sha1

REPO = "openai-community/gpt2"
WEIGHTS = "model.safetensors"
FILES = ["config.json", "vocab.json", "merges.txt", WEIGHTS]
WEIGHTS_SIZE = 4 * 1024 * 1024 + 123  # not a multiple of any chunk size


@pytest.fixture(autouse=True)
def _no_ambient_hub_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's own hub settings must not leak into these tests."""
    forget_ambient_hub_settings(monkeypatch, tmp_path)


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2}))
    vocab = {f"tok{i}": i for i in range(2000)}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "a b\n" * 500)
    (folder / WEIGHTS).write_bytes(os.urandom(WEIGHTS_SIZE))
    return folder


@pytest.fixture
def hub(repo_dir: Path) -> Iterator[HubServer]:
    with HubServer({REPO: repo_dir}) as server:
        yield server


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "models" / "gpt2"


def _download(hub: HubServer, dest: Path, **kwargs: Any) -> list[Path]:
    return download_files(REPO, FILES, dest, endpoint=hub.url, **kwargs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_same_files(dest: Path, repo_dir: Path) -> None:
    for name in FILES:
        assert _sha256(dest / name) == _sha256(repo_dir / name), name
    assert not list(dest.glob("*.part"))


def _part(dest: Path) -> Path:
    return dest / f"{WEIGHTS}.part"


def _interrupt_weights(hub: HubServer, dest: Path, after: int) -> None:
    """First call: the server cuts the connection after ``after`` bytes of the weights."""
    hub.knobs.truncate[WEIGHTS] = after
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "network"
    assert _part(dest).stat().st_size == after


def _report_free_space(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    """The one seam: pretend the destination's disk has only ``free`` bytes left."""
    usage = SimpleNamespace(total=10**12, used=10**12 - free, free=free)
    monkeypatch.setattr(hub_download.shutil, "disk_usage", lambda _path: usage)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_list_files_reports_commit_sizes_and_hashes(hub: HubServer, repo_dir: Path) -> None:
    commit, files = list_files(REPO, ["config.json", WEIGHTS], endpoint=hub.url)
    assert commit == hub.repos[REPO].commit
    assert len(commit) == 40
    config = (repo_dir / "config.json").read_bytes()
    assert files == [
        RemoteFile("config.json", len(config), None, git_blob_sha1(config)),
        RemoteFile(WEIGHTS, WEIGHTS_SIZE, _sha256(repo_dir / WEIGHTS), None),
    ]


def test_full_download_verifies_and_reports_progress(
    hub: HubServer, repo_dir: Path, dest: Path
) -> None:
    reports: list[DownloadProgress] = []
    paths = _download(hub, dest, progress=reports.append)

    assert paths == [dest / name for name in FILES]
    _assert_same_files(dest, repo_dir)
    total = sum((repo_dir / name).stat().st_size for name in FILES)
    done = [r.done for r in reports]
    assert done == sorted(done)
    assert all(r.total == total for r in reports)
    assert reports[-1].done == total
    assert reports[-1].seconds_left == 0.0
    assert reports[-1].bytes_per_second > 0
    ends = [r.file for r in reports if r.file_done == r.file_total]
    assert ends == FILES  # one report at the end of each file
    commit = hub.repos[REPO].commit
    assert {r.path for r in hub.body_requests()} == {
        f"/{REPO}/resolve/{commit}/{name}" for name in FILES
    }  # every file from the one commit resolved up front


def test_progress_is_throttled_and_estimates_time_left(hub: HubServer, dest: Path) -> None:
    hub.knobs.throttle_bps = 3_000_000  # the weights take about 1.4 s
    timed: list[tuple[float, DownloadProgress]] = []
    _download(hub, dest, progress=lambda p: timed.append((time.monotonic(), p)))

    mid = [(t, r) for t, r in timed if r.file == WEIGHTS and r.file_done < r.file_total]
    assert len(mid) >= 5
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(mid)]
    assert min(gaps) >= hub_download.REPORT_INTERVAL_S * 0.9
    late = [r for _, r in mid if r.seconds_left is not None]
    assert late, "no time-left estimate after a second of transfer"
    assert all(1e6 < r.bytes_per_second < 6e6 for r in late)


def test_hf_endpoint_from_environment(
    hub: HubServer, repo_dir: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url + "/")
    download_files(REPO, FILES, dest)
    _assert_same_files(dest, repo_dir)
    assert len(hub.body_requests()) == len(FILES)


def test_hf_token_is_sent_as_bearer(
    hub: HubServer, repo_dir: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.knobs.token = "hf_secret"
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    _download(hub, dest)
    _assert_same_files(dest, repo_dir)
    assert {r.authorization for r in hub.requests()} == {"Bearer hf_secret"}


def test_explicit_token_argument_wins(hub: HubServer, dest: Path) -> None:
    hub.knobs.token = "hf_arg"
    _download(hub, dest, token="hf_arg")
    assert {r.authorization for r in hub.requests()} == {"Bearer hf_arg"}


def test_missing_token_is_an_auth_error(hub: HubServer, dest: Path) -> None:
    hub.knobs.token = "hf_secret"
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "auth"
    assert "HF_TOKEN" in str(caught.value)
    assert "gated" in str(caught.value)


def test_gated_repository_needs_a_token_for_files(
    hub: HubServer, repo_dir: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.knobs.token, hub.knobs.gated = "hf_secret", True
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "auth"
    assert "HF_TOKEN" in str(caught.value)
    assert len(hub.body_requests()) == 1  # the metadata was public, the first file was not

    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    _download(hub, dest)
    _assert_same_files(dest, repo_dir)


def test_hub_offline_mode_is_an_offline_error(
    hub: HubServer, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "offline"
    assert "HF_HUB_OFFLINE" in str(caught.value)
    assert hub.requests() == []


def test_wrong_token_is_an_auth_error(
    hub: HubServer, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.knobs.token = "hf_secret"
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "auth"
    assert "refused" in str(caught.value)


def test_interrupted_download_resumes_with_range(
    hub: HubServer, repo_dir: Path, dest: Path
) -> None:
    _interrupt_weights(hub, dest, after=1_500_000)
    first = len(hub.body_requests())

    reports: list[DownloadProgress] = []
    _download(hub, dest, progress=reports.append)
    _assert_same_files(dest, repo_dir)
    again = hub.body_requests()[first:]
    assert [r.range for r in again] == ["bytes=1500000-"]  # text files were already complete
    done = [r.done for r in reports]
    assert done == sorted(done)
    assert done[-1] == reports[-1].total


def test_resume_follows_a_cdn_redirect(hub: HubServer, repo_dir: Path, dest: Path) -> None:
    """Like the real hub: LFS files redirect to another origin; Range survives, the token not."""
    hub.knobs.token = "hf_secret"
    hub.knobs.cdn_host = "localhost"
    _download(hub, dest, token="hf_secret")
    _part(dest).write_bytes((dest / WEIGHTS).read_bytes()[:1000])
    (dest / WEIGHTS).unlink()

    _download(hub, dest, token="hf_secret")
    _assert_same_files(dest, repo_dir)
    cdn = [r for r in hub.body_requests(WEIGHTS) if r.path.startswith("/cdn-lfs/")]
    assert [(r.range, r.authorization) for r in cdn] == [(None, None), ("bytes=1000-", None)]


def test_stalled_server_times_out_and_keeps_the_part(
    hub: HubServer, repo_dir: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_download, "READ_TIMEOUT_S", 0.3)
    hub.knobs.stall[WEIGHTS] = 1_000_000
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "network"
    assert "stopped answering" in str(caught.value)
    assert _part(dest).stat().st_size == 1_000_000

    _download(hub, dest)
    _assert_same_files(dest, repo_dir)
    assert hub.body_requests(WEIGHTS)[-1].range == "bytes=1000000-"


def test_corrupted_download_is_deleted(hub: HubServer, repo_dir: Path, dest: Path) -> None:
    hub.knobs.corrupt.add(WEIGHTS)
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    error = caught.value
    assert error.kind == "verification"
    assert WEIGHTS in str(error)
    assert _sha256(repo_dir / WEIGHTS) in str(error)
    served = bytearray((repo_dir / WEIGHTS).read_bytes())
    served[WEIGHTS_SIZE // 2] ^= 0xFF  # what the server's corruption knob does
    assert hashlib.sha256(served).hexdigest() in str(error)
    assert not (dest / WEIGHTS).exists()
    assert not _part(dest).exists()


def test_corrupted_text_file_fails_its_git_hash(hub: HubServer, dest: Path) -> None:
    hub.knobs.corrupt.add("vocab.json")
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    assert caught.value.kind == "verification"
    assert "git sha1" in str(caught.value)
    assert not (dest / "vocab.json").exists()


def test_server_ignoring_range_restarts_cleanly(hub: HubServer, repo_dir: Path, dest: Path) -> None:
    _interrupt_weights(hub, dest, after=700_000)
    hub.knobs.ignore_range = True
    reports: list[DownloadProgress] = []
    _download(hub, dest, progress=reports.append)
    _assert_same_files(dest, repo_dir)
    assert hub.body_requests(WEIGHTS)[-1].range == "bytes=700000-"  # asked, got a 200
    done = [r.done for r in reports]
    assert done == sorted(done)


def test_cancel_keeps_the_part_and_a_later_call_resumes(
    hub: HubServer, repo_dir: Path, dest: Path
) -> None:
    hub.knobs.throttle_bps = 2_000_000
    cancel = threading.Event()

    def cancel_mid_weights(p: DownloadProgress) -> None:
        if p.file == WEIGHTS and 0 < p.file_done < p.file_total:
            cancel.set()

    with pytest.raises(DownloadError) as caught:
        _download(hub, dest, progress=cancel_mid_weights, cancel=cancel)
    assert caught.value.kind == "cancelled"
    kept = _part(dest).stat().st_size
    assert 0 < kept < WEIGHTS_SIZE
    assert not (dest / WEIGHTS).exists()

    hub.knobs.throttle_bps = None
    _download(hub, dest)
    _assert_same_files(dest, repo_dir)
    assert hub.body_requests(WEIGHTS)[-1].range == f"bytes={kept}-"


def test_cancel_before_start_downloads_nothing(hub: HubServer, dest: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest, cancel=cancel)
    assert caught.value.kind == "cancelled"
    assert hub.body_requests() == []


def test_disk_space_is_checked_before_any_body_request(
    hub: HubServer, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report_free_space(monkeypatch, 1_000_000)
    with pytest.raises(DownloadError) as caught:
        _download(hub, dest)
    error = caught.value
    assert error.kind == "disk_space"
    assert "1.0 MB" in str(error), str(error)
    assert "4.2 MB" in str(error), str(error)
    assert hub.body_requests() == []
    assert len(hub.requests()) == 1  # only the metadata


def test_disk_space_counts_bytes_already_in_part_files(
    hub: HubServer, repo_dir: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_weights(hub, dest, after=3_000_000)
    free = WEIGHTS_SIZE - 3_000_000  # exactly what the resume still needs
    _report_free_space(monkeypatch, free)
    _download(hub, dest)
    _assert_same_files(dest, repo_dir)


def test_connection_refused_is_offline(dest: Path) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(DownloadError) as caught:
        download_files(REPO, FILES, dest, endpoint=endpoint)
    assert caught.value.kind == "offline"
    assert "offline" in str(caught.value)
    assert endpoint in str(caught.value)


@pytest.mark.parametrize(
    "endpoint", ["http://huggingface.co", "http://192.168.1.10:8080", "ftp://127.0.0.1"]
)
def test_plain_http_to_another_host_is_refused(endpoint: str, dest: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        download_files(REPO, FILES, dest, endpoint=endpoint)
    assert caught.value.kind == "insecure"
    assert endpoint in str(caught.value)
    assert not dest.exists()


def test_insecure_hf_endpoint_is_refused(dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example.com")
    with pytest.raises(DownloadError) as caught:
        list_files(REPO, FILES)
    assert caught.value.kind == "insecure"
    assert "HF_ENDPOINT" in str(caught.value)


def test_unknown_repository(hub: HubServer, dest: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        download_files("nobody/nothing", FILES, dest, endpoint=hub.url)
    assert caught.value.kind == "not_found"
    assert "nobody/nothing" in str(caught.value)


def test_unknown_revision(hub: HubServer, dest: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        download_files(REPO, FILES, dest, endpoint=hub.url, revision="v9")
    assert caught.value.kind == "not_found"
    assert "v9" in str(caught.value)


def test_missing_file_is_named(hub: HubServer, dest: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        download_files(REPO, [*FILES, "tokenizer.json"], dest, endpoint=hub.url)
    assert caught.value.kind == "not_found"
    assert "tokenizer.json" in str(caught.value)
    assert hub.body_requests() == []


def test_complete_files_are_not_downloaded_again(
    hub: HubServer, repo_dir: Path, dest: Path
) -> None:
    _download(hub, dest)
    assert len(hub.body_requests()) == len(FILES)

    reports: list[DownloadProgress] = []
    _download(hub, dest, progress=reports.append)
    assert len(hub.body_requests()) == len(FILES)
    assert [r.file for r in reports] == FILES
    assert reports[-1].done == reports[-1].total

    config = dest / "config.json"
    config.write_text(config.read_text().replace("gpt2", "gpt3"))  # same size, wrong bytes
    _download(hub, dest)
    assert [r.path.rsplit("/", 1)[1] for r in hub.body_requests()[len(FILES) :]] == ["config.json"]
    _assert_same_files(dest, repo_dir)
