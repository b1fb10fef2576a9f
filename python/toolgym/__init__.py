"""toolgym: multi-turn tool-use environments (C++) for reinforcement learning, from Python.

    import toolgym
    env = toolgym.make("shell.count_matches")        # or "toolgym/shell-count_matches-v0"
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step('<tool_call>...</tool_call>')

`make` returns the C++ env (Gymnasium's reset/step signatures, text observations and actions,
`info` as dicts). With gymnasium installed, `toolgym.gym.ToolgymEnv` is the same env as a
`gymnasium.Env` subclass, and importing `toolgym` registers every scenario with Gymnasium as
"toolgym/<scenario id with dots as dashes>-v0", so `gymnasium.make` works. The C++ module never
needs gymnasium.

The GIL is released while C++ runs (reset, step, fork, pool calls). Errors carry the C++
message: ValueError (invalid argument), KeyError (unknown scenario and other lookups),
RuntimeError (everything else).
"""

import os as _os

# An installed package carries the sandbox's init helper and the shipped suites (see
# python/CMakeLists.txt); a build tree finds both by the paths compiled in. Set before the
# module loads the registry; an explicit environment variable wins.
_here = _os.path.dirname(_os.path.abspath(__file__))
if _os.path.isdir(_os.path.join(_here, "suites")):
    _os.environ.setdefault("TOOLGYM_SUITES_DIR", _os.path.join(_here, "suites"))
if _os.access(_os.path.join(_here, "toolgym-sandbox-init"), _os.X_OK):
    _os.environ.setdefault("TOOLGYM_SANDBOX_INIT", _os.path.join(_here, "toolgym-sandbox-init"))

try:  # installed (pip install .): the module is inside the package
    from toolgym import _toolgym
except ImportError:  # a build tree: PYTHONPATH=<build>/python:<source>/python
    import _toolgym

Env = _toolgym.Env
EnvPool = _toolgym.EnvPool
list_scenarios = _toolgym.list_scenarios
__version__ = _toolgym.__version__  # the C++ project's version (CMakeLists.txt)

__all__ = ["Env", "EnvPool", "list_scenarios", "make", "gym_id", "scenario_id"]

_GYM_NAMESPACE = "toolgym/"
_GYM_VERSION = "-v0"


def gym_id(scenario: str) -> str:
    """The Gymnasium id of a scenario id: "shell.count_matches" -> "toolgym/shell-count_matches-v0"."""
    return _GYM_NAMESPACE + scenario.replace(".", "-") + _GYM_VERSION


def scenario_id(name: str) -> str:
    """The scenario id of a Gymnasium id ("toolgym/shell-count_matches-v0" or
    "shell-count_matches-v0"); a scenario id is returned unchanged."""
    if name.startswith(_GYM_NAMESPACE):
        name = name[len(_GYM_NAMESPACE):]
    if name.endswith(_GYM_VERSION):
        name = name[: -len(_GYM_VERSION)].replace("-", ".")
    return name


def make(scenario: str, **options) -> Env:
    """An env for a scenario id or its Gymnasium id. options override the scenario's:
    action_format ("xml", "json", "compact"...), max_turns, max_output_bytes, split
    ("train"/"test": where reset() without a seed draws from), seed_sequence."""
    return _toolgym.make(scenario_id(scenario), **options)


try:
    import gymnasium as _gymnasium  # noqa: F401
except ImportError:  # gymnasium is optional: the C++ envs work without it.
    pass
else:
    from toolgym import gym  # noqa: F401  (registers the scenarios)

    gym.register_all()
