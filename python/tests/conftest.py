import json

import pytest


def call(name: str, **arguments) -> str:
    """An action in the default (XML-tagged JSON) format."""
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


@pytest.fixture
def shell_env():
    import toolgym

    env = toolgym.make("shell.count_matches")
    yield env
    env.close()
