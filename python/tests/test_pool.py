"""toolgym.EnvPool: sync reset/step, async send/recv with env ids, errors."""

import pytest

import toolgym
from conftest import call


def make_pool(n=3, **kw):
    return toolgym.EnvPool(["shell.count_matches"] * n, num_threads=2, seed=5, **kw)


def test_sync_reset_and_step_in_id_order():
    pool = make_pool()
    assert (pool.num_envs, pool.num_threads, pool.batch_size) == (3, 2, 3)
    results = pool.reset()
    assert [r["env_id"] for r in results] == [0, 1, 2]
    for r in results:
        assert r["ok"] and r["is_reset"] and r["episode"] == 0
        assert isinstance(r["obs"], str) and r["info"]["turn"] == 0
    results = pool.step([call("bash", command=f"echo {i}") for i in range(3)])
    assert [r["obs"].splitlines()[-1] for r in results] == ["0", "1", "2"]
    assert all(not r["is_reset"] and r["info"]["turn"] == 1 for r in results)
    pool.close()


def test_seeds_are_deterministic():
    a = [r["obs"] for r in make_pool().reset()]
    b = [r["obs"] for r in make_pool().reset()]
    assert a == b
    c = make_pool().reset(env_ids=[1], seeds=[42])
    assert c[0]["env_id"] == 1 and c[0]["info"]["task"]["seed"] == 42


def test_send_recv_returns_batches_with_env_ids():
    pool = make_pool(4, batch_size=2)
    pool.reset()
    pool.send([call("bash", command="sleep 0.5; echo slow"), call("bash", command="echo fast")],
              [0, 3])
    # batch_size 2 with 2 outstanding: recv waits for both.
    first = pool.recv()
    got = {r["env_id"]: r for r in first}
    assert set(got) == {0, 3}
    assert got[3]["obs"].endswith("fast") and got[0]["obs"].endswith("slow")
    assert pool.pending() == 0


def test_recv_returns_fast_results_first():
    pool = make_pool(3, batch_size=1)
    pool.reset()
    pool.send([call("bash", command="sleep 1; echo slow"), call("bash", command="echo fast")],
              [0, 2])
    first = pool.recv()
    assert [r["env_id"] for r in first] == [2]
    second = pool.recv()
    assert [r["env_id"] for r in second] == [0]


def test_recv_with_nothing_pending_raises():
    pool = make_pool(2)
    pool.reset()
    with pytest.raises(RuntimeError, match="(?i)nothing"):
        pool.recv()


def test_recv_timeout_returns_what_is_ready():
    pool = make_pool(2)
    pool.reset()
    pool.send([call("bash", command="sleep 1")], [0])
    assert pool.recv(timeout=0.05) == []
    assert [r["env_id"] for r in pool.recv()] == [0]


def test_bad_calls_raise_with_the_message():
    pool = make_pool(2)
    pool.reset()
    with pytest.raises(ValueError, match="7"):
        pool.send([call("bash", command="true")], [7])
    with pytest.raises(ValueError):
        pool.step([call("bash", command="true")])  # one action for two envs
    with pytest.raises(KeyError, match="nope"):
        toolgym.EnvPool(["shell.nope"])


def test_auto_reset_after_the_episode_ends():
    pool = make_pool(1)
    pool.reset()
    (r,) = pool.step([call("submit", answer="x")])
    assert r["terminated"] and r["info"]["end_reason"] == "answer_submitted"
    (r,) = pool.step([call("bash", command="true")])
    assert r["is_reset"] and r["episode"] == 1 and r["reward"] == 0


def test_recv_releases_the_gil():
    import threading
    import time

    pool = make_pool(1)
    pool.reset()
    ticks = 0
    stop = threading.Event()

    def spin():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        pool.send([call("bash", command="sleep 1; echo done")], [0])
        before = ticks
        (r,) = pool.recv()
        during = ticks - before
    finally:
        stop.set()
        t.join()
    assert r["obs"].endswith("done")
    assert during > 100, during
