"""The C++ env through the module: make, reset, step, fork, tools, list_scenarios, errors."""

import threading
import time

import pytest

import toolgym
from conftest import call


def test_list_scenarios_has_every_shipped_family():
    ids = toolgym.list_scenarios()
    assert ids == sorted(ids)
    assert "shell.count_matches" in ids
    assert {i.split(".")[0] for i in ids} >= {"shell", "code", "search", "web"}
    assert len(ids) >= 33


def test_version_is_the_projects():
    import pathlib
    import re
    cmake = (pathlib.Path(__file__).resolve().parents[2] / "CMakeLists.txt").read_text()
    assert toolgym.__version__ == re.search(r"project\(toolgym VERSION ([0-9.]+)", cmake).group(1)


def test_reset_returns_text_and_info(shell_env):
    obs, info = shell_env.reset(seed=7)
    assert isinstance(obs, str) and obs
    assert info["turn"] == 0
    assert info["task"]["scenario"] == "shell.count_matches"
    assert info["task"]["seed"] == 7
    assert info["task"]["split"] == "train"
    assert isinstance(info["task"]["params"], dict)
    assert set(info["reward_terms"]) >= {"outcome", "format", "progress"}
    assert all(v == 0 for v in info["reward_terms"].values())
    # The observation's messages as dicts: the system prompt, then the task.
    roles = [m["role"] for m in info["messages"]]
    assert roles[0] == "system" and "user" in roles
    assert info["messages"][-1]["content"] in obs
    assert shell_env.active


def test_seeded_reset_is_deterministic(shell_env):
    a, _ = shell_env.reset(seed=3)
    b, _ = shell_env.reset(seed=3)
    assert a == b


def test_step_runs_a_tool_and_submit_terminates(shell_env):
    shell_env.reset(seed=3)
    obs, reward, terminated, truncated, info = shell_env.step(call("bash", command="echo hi"))
    assert obs.endswith("hi")
    assert isinstance(reward, float)
    assert (terminated, truncated) == (False, False)
    assert info["turn"] == 1
    assert len(info["tool_calls"]) == 1
    assert info["tool_calls"][0]["exit_code"] == 0
    assert info["messages"][0]["role"] == "tool"
    assert info["messages"][0]["name"] == "bash"
    assert info["messages"][0]["content"] == "hi"
    # The generated params are in the reset's info only.
    assert "params" not in info["task"] and info["task"]["seed"] == 3

    obs, reward, terminated, truncated, info = shell_env.step(call("submit", answer="-1"))
    assert terminated and not truncated
    assert info["end_reason"] == "answer_submitted"
    assert info["outcome"]["passed"] is False
    assert not shell_env.active


def test_malformed_action_is_an_observation_not_an_error(shell_env):
    shell_env.reset(seed=1)
    obs, reward, terminated, truncated, info = shell_env.step("no tool call here {")
    assert not info["format_ok"] or info["tool_errors"] or reward <= 0
    assert isinstance(obs, str)


def test_fork_shares_nothing_writable(shell_env):
    shell_env.reset(seed=2)
    shell_env.step(call("bash", command="echo one > mine.txt"))
    child = shell_env.fork()
    assert isinstance(child, toolgym.Env)
    child.step(call("bash", command="echo two > mine.txt"))
    obs, *_ = shell_env.step(call("bash", command="cat mine.txt"))
    assert obs.endswith("one")
    obs, *_ = child.step(call("bash", command="cat mine.txt"))
    assert obs.endswith("two")
    child.close()


def test_tools_are_openai_schemas(shell_env):
    shell_env.reset(seed=0)
    tools = shell_env.tools()
    assert isinstance(tools, list) and tools
    names = [t["function"]["name"] for t in tools]
    assert "bash" in names and "submit" in names
    for t in tools:
        assert t["type"] == "function"
        assert t["function"]["parameters"]["type"] == "object"


def test_options_reach_the_env():
    env = toolgym.make("shell.count_matches", max_turns=1)
    env.reset(seed=0)
    *_, truncated, info = env.step(call("bash", command="true"))
    assert truncated and info["end_reason"] == "turn_budget"


def test_gym_style_ids_are_accepted():
    env = toolgym.make("toolgym/shell-count_matches-v0")
    assert env.scenario_id == "shell.count_matches"
    assert toolgym.gym_id("shell.count_matches") == "toolgym/shell-count_matches-v0"


def test_unknown_scenario_raises_key_error_with_the_message():
    with pytest.raises(KeyError) as e:
        toolgym.make("shell.count_matchez")
    message = e.value.args[0]
    # The C++ Status message, unchanged.
    assert message.startswith('unknown scenario "shell.count_matchez"')


def test_bad_option_raises_value_error_with_the_message():
    with pytest.raises(ValueError, match="max_turns"):
        toolgym.make("shell.count_matches", max_turns=0)
    with pytest.raises(ValueError, match="unknown action format 'telepathy'"):
        toolgym.make("shell.count_matches", action_format="telepathy")


def test_step_before_reset_raises_runtime_error(shell_env):
    with pytest.raises(RuntimeError, match="reset"):
        shell_env.step(call("bash", command="true"))


def test_closed_env_raises(shell_env):
    shell_env.close()
    shell_env.close()  # idempotent
    assert shell_env.closed
    with pytest.raises(RuntimeError, match="closed"):
        shell_env.reset(seed=0)


def test_unconvertible_option_raises_type_error():
    with pytest.raises(TypeError, match="max_turns"):
        toolgym.make("shell.count_matches", max_turns=object())


def test_step_releases_the_gil(shell_env):
    """A Python thread keeps running while a step sleeps in a shell command."""
    shell_env.reset(seed=0)
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
        time.sleep(0.05)
        before = ticks
        start = time.monotonic()
        obs, *_ = shell_env.step(call("bash", command="sleep 1; echo done"))
        elapsed = time.monotonic() - start
        during = ticks - before
    finally:
        stop.set()
        t.join()
    assert obs.endswith("done")
    assert elapsed >= 0.9
    # With the GIL held the spinner would not tick at all during the second.
    assert during > 100, during


def test_json_conversion_round_trips():
    from toolgym import _toolgym

    value = {"a": [1, -2, 2**64 - 1, 1.5, True, None, "caf\u00e9"], "b": {"c": (1, 2)}}
    assert _toolgym.to_json_compatible(value) == {
        "a": [1, -2, 2**64 - 1, 1.5, True, None, "caf\u00e9"], "b": {"c": [1, 2]}}
    assert _toolgym.to_json_compatible(True) is True
    with pytest.raises(TypeError, match=r"\$\.k"):
        _toolgym.to_json_compatible({"k": {1, 2}})
    with pytest.raises(TypeError, match="keys must be str"):
        _toolgym.to_json_compatible({1: 2})
