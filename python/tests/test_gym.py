"""Gymnasium compatibility: registration, gymnasium.make, and check_env on every family."""

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import toolgym
from toolgym.gym import TextSpace, ToolgymEnv

SCENARIOS = toolgym.list_scenarios()


def test_every_scenario_is_registered():
    for scenario in SCENARIOS:
        assert toolgym.gym_id(scenario) in gymnasium.registry


def test_gymnasium_make_plays_a_step():
    env = gymnasium.make("toolgym/shell-count_matches-v0", max_turns=3)
    assert isinstance(env.unwrapped, ToolgymEnv)
    assert isinstance(env.unwrapped, gymnasium.Env)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert isinstance(env.action_space, gymnasium.spaces.Text)
    obs, reward, terminated, truncated, info = env.step("not an action")
    assert isinstance(obs, str) and isinstance(reward, float)
    assert "timings" not in info and env.unwrapped.last_timings["step"] is not None
    env.close()


def test_text_space_accepts_any_unicode_and_samples_printable_ascii():
    space = TextSpace(100)
    assert space.contains("caf\u00e9 \u2603 \U0001F600\n\t")
    assert not space.contains("x" * 101)
    assert not space.contains(b"bytes")
    space.seed(0)
    for _ in range(20):
        s = space.sample()
        assert len(s) <= space.sample_max_length
        assert set(s) <= set(space.character_set)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_check_env_passes(scenario):
    env = gymnasium.make(toolgym.gym_id(scenario))
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()
