"""Gymnasium integration: ToolgymEnv (a gymnasium.Env subclass over the C++ env) and the
registration of every scenario as "toolgym/<scenario id with dots as dashes>-v0".

Spaces. Observations and actions are text: chat messages, tool output, file contents and web
pages, in any script. Both spaces are `TextSpace`, a gymnasium.spaces.Text whose `charset`
(what `sample()` draws from) is printable ASCII plus tab, newline and carriage return, and whose
`contains()` accepts any Unicode string of an allowed length: a Text space with a charset that
covers every character an env can show would hold all of Unicode (about 1.1M characters; even
the Basic Multilingual Plane alone costs 0.4 s and 11 MB per space). Samples are capped at
`sample_max_length` characters so a random action stays within every scenario's action budget
(32 KiB by default) instead of truncating the episode.

Info. The C++ info carries wall-clock timings (info["timings"], tool_calls[i]["wall_ms"]), the
only fields that differ between two identical runs. Gymnasium requires step info to be
deterministic for a seed and action (check_env's step determinism check), so ToolgymEnv moves
them to `env.unwrapped.last_timings` unless made with info_timings=True.
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium
from gymnasium import spaces

from toolgym import _toolgym

# Printable ASCII and the whitespace that appears in commands and files.
SAMPLE_CHARSET = "".join(c for c in string.printable if c not in "\x0b\x0c")
OBSERVATION_MAX_LENGTH = 1 << 22  # characters; observations are capped by tool output limits
ACTION_MAX_LENGTH = 1 << 15  # the default action budget (Budgets::max_action_bytes)


class TextSpace(spaces.Text):
    """gymnasium.spaces.Text for arbitrary Unicode text (see the module docstring)."""

    def __init__(self, max_length: int, *, min_length: int = 0,
                 charset: str = SAMPLE_CHARSET, sample_max_length: int = 256, seed=None):
        super().__init__(max_length, min_length=min_length, charset=charset, seed=seed)
        self.sample_max_length = min(sample_max_length, max_length)

    def sample(self, mask=None, probability=None) -> str:
        if mask is None and probability is None:
            length = int(self.np_random.integers(self.min_length, self.sample_max_length + 1))
            return super().sample(mask=(length, None))
        return super().sample(mask=mask, probability=probability)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"TextSpace({self.min_length}, {self.max_length}, any Unicode)"

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, TextSpace) and self.min_length == other.min_length
                and self.max_length == other.max_length)


def _pop_timings(info: dict) -> dict:
    timings = {"step": info.pop("timings", None), "tool_calls": []}
    for call in info.get("tool_calls", []):
        timings["tool_calls"].append(call.pop("wall_ms", None))
    return timings


class ToolgymEnv(gymnasium.Env):
    """A toolgym scenario as a gymnasium.Env with text observations and actions.

    reset(seed=s) starts the task instance with seed s and reseeds the draws of the resets
    without a seed that follow (as Gymnasium requires; this overrides a seed_sequence option);
    reset() without a seed draws the next seed of the env's split ("train" unless split="test"
    is given to make). Episodes end with
    terminated (answer submitted, goal reached) or truncated (turn, action-length or time
    budget). Options (max_turns, action_format, max_output_bytes, split, seed_sequence) go to
    the C++ env; see docs/python.md.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, scenario: str, render_mode: str | None = None,
                 info_timings: bool = False, **options):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.info_timings = info_timings
        self.scenario = scenario
        self.observation_space = TextSpace(OBSERVATION_MAX_LENGTH)
        self.action_space = TextSpace(ACTION_MAX_LENGTH)
        self.last_timings: dict | None = None
        self._last_obs = ""
        self._options = options
        self._env = _toolgym.make(scenario, **options)

    @property
    def env(self) -> _toolgym.Env:
        """The C++ env (fork(), tools())."""
        return self._env

    def _info(self, info: dict) -> dict:
        if not self.info_timings:
            self.last_timings = _pop_timings(info)
        return info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            # Gymnasium seeds the episodes that follow too: reset(seed=s) then reset() must
            # repeat. The C++ env draws seedless resets from its seed_sequence, fixed at make,
            # so a seeded reset remakes it with seed_sequence = s (a few ms).
            fresh = _toolgym.make(self.scenario, **{**self._options, "seed_sequence": seed})
            self._env.close()
            self._env = fresh
        obs, info = self._env.reset(seed=seed, options=options)
        self._last_obs = obs
        return obs, self._info(info)

    def step(self, action: str):
        obs, reward, terminated, truncated, info = self._env.step(action)
        self._last_obs = obs
        return obs, reward, terminated, truncated, self._info(info)

    def render(self) -> str | None:
        return self._last_obs if self.render_mode == "ansi" else None

    def tools(self) -> list[dict]:
        """The current task's tools as OpenAI function schemas."""
        return self._env.tools()

    def close(self) -> None:
        self._env.close()


def register_all() -> list[str]:
    """Registers every scenario with Gymnasium (idempotent); returns the Gymnasium ids."""
    from toolgym import gym_id

    ids = []
    for scenario in _toolgym.list_scenarios():
        name = gym_id(scenario)
        ids.append(name)
        if name in gymnasium.registry:
            continue
        gymnasium.register(id=name, entry_point=ToolgymEnv,
                           kwargs={"scenario": scenario})
    return ids
