"""The official `openai` Python SDK (from PyPI) against `toolgym serve-policy`.

Code nobody here wrote checks the protocol: models.list, chat.completions.create with tools and
metadata (tool_calls parsed by the SDK's own types), a whole episode of a toolgym env played to
success over `toolgym serve` with the SDK's answers as the actions, streaming (stream=True with
stream_options.include_usage) and errors mapped to the SDK's exception classes.

    python openai_sdk_test.py POLICY_BASE_URL ENV_SERVER_URL TOKEN_POLICY_BASE_URL

The runner (openai_sdk_test.sh) starts the servers. Exits non-zero on the first failed check.
"""

import json
import sys
import urllib.request

import openai

POLICY_URL, ENV_URL, TOKEN_URL = sys.argv[1], sys.argv[2], sys.argv[3]
SCENARIO, SEED = "shell.find_by_name", 3


def env_call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ENV_URL + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


client = openai.OpenAI(base_url=POLICY_URL, api_key="not-needed", max_retries=0, timeout=60)
metadata = {"toolgym_scenario": SCENARIO, "toolgym_seed": str(SEED),
            "toolgym_action_format": "openai"}

# --- models ---------------------------------------------------------------------------------------
models = client.models.list()
check([m.id for m in models.data] == ["expert"], f"models.list: {[m.id for m in models.data]}")
check(client.models.retrieve("expert").id == "expert", "models.retrieve('expert')")

# --- a whole episode: the env over `toolgym serve`, the policy through the SDK ----------------------
# The env takes OpenAI assistant messages as actions ("openai" action format), so the SDK's
# message goes to the env as it came and the tool results answer the SDK's tool_call ids.
session = env_call("POST", "/sessions", {"scenario": SCENARIO, "seed": SEED,
                                         "options": {"action_format": "openai"}})
sid, tools = session["session_id"], session["tools"]
tool_names = {t["function"]["name"] for t in tools}
messages = [dict(role=m["role"], content=m["content"]) for m in session["observation"]]
first_request = list(messages)
passed, steps, usage_total = None, 0, 0
while passed is None and steps < 20:
    resp = client.chat.completions.create(model="expert", messages=messages, tools=tools,
                                          metadata=metadata)
    choice = resp.choices[0]
    msg = choice.message
    check(resp.object == "chat.completion" and resp.model == "expert",
          f"step {steps}: a chat.completion of model expert")
    check(choice.finish_reason == "tool_calls" and msg.tool_calls,
          f"step {steps}: finish_reason tool_calls with {len(msg.tool_calls or [])} call(s)")
    for tc in msg.tool_calls:
        args = json.loads(tc.function.arguments)
        check(tc.type == "function" and tc.function.name in tool_names and isinstance(args, dict),
              f"step {steps}: {tc.function.name}({', '.join(args)}) is a known tool with object "
              f"arguments")
    check(resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0,
          f"step {steps}: usage {resp.usage.prompt_tokens}+{resp.usage.completion_tokens}")
    usage_total += resp.usage.total_tokens
    assistant = msg.model_dump(exclude_none=True)
    result = env_call("POST", f"/sessions/{sid}/step", {"action": json.dumps(assistant)})
    messages.append(assistant)
    ids = {tc.id for tc in msg.tool_calls}
    for m in result["observation"]:
        if m["role"] == "tool":
            check(m["tool_call_id"] in ids, f"step {steps}: tool result answers {m['tool_call_id']}")
            messages.append(dict(role="tool", tool_call_id=m["tool_call_id"], content=m["content"]))
        else:
            messages.append(dict(role=m["role"], content=m["content"]))
    steps += 1
    if result["terminated"] or result["truncated"]:
        passed = bool(result["info"]["outcome"] and result["info"]["outcome"]["passed"])
check(passed is True, f"the episode of {SCENARIO} seed {SEED} is solved in {steps} steps")
env_call("DELETE", f"/sessions/{sid}")

# --- streaming --------------------------------------------------------------------------------------
whole = client.chat.completions.create(model="expert", messages=first_request, tools=tools,
                                       metadata=metadata)
stream = client.chat.completions.create(model="expert", messages=first_request, tools=tools,
                                        metadata=metadata, stream=True,
                                        stream_options={"include_usage": True})
calls, finish, usage, roles, n_chunks = {}, None, None, [], 0
for chunk in stream:
    n_chunks += 1
    check(chunk.object == "chat.completion.chunk", f"chunk {n_chunks} is a chat.completion.chunk")
    if chunk.usage is not None:
        usage = chunk.usage
    for c in chunk.choices:
        if c.delta.role:
            roles.append(c.delta.role)
        for tc in c.delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            entry["id"] = tc.id or entry["id"]
            entry["name"] += tc.function.name or ""
            entry["arguments"] += tc.function.arguments or ""
        if c.finish_reason:
            finish = c.finish_reason
want = [{"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
        for tc in whole.choices[0].message.tool_calls]
check(roles == ["assistant"], f"stream: one role delta {roles}")
check([calls[i] for i in sorted(calls)] == want, "stream: the tool calls equal the non-streamed ones")
check(finish == "tool_calls", f"stream: finish_reason {finish}")
check(usage is not None and usage.total_tokens == whole.usage.total_tokens,
      f"stream: usage in the last chunk ({usage})")
# The SDK's own accumulation helper agrees.
with client.chat.completions.stream(model="expert", messages=first_request, tools=tools,
                                    metadata=metadata) as s:
    final = s.get_final_completion()
check(final.choices[0].message.tool_calls[0].function.arguments == want[0]["arguments"],
      "stream helper: get_final_completion() has the same call")

# --- errors -----------------------------------------------------------------------------------------
try:
    client.chat.completions.create(model="expert", messages=first_request, tools=tools)
    raise AssertionError("a request without metadata was answered")
except openai.BadRequestError as e:
    check(e.status_code == 400 and "needs the task" in e.message and e.body["param"] == "metadata",
          f"no metadata: BadRequestError {e.message!r}")
try:
    client.chat.completions.create(model="gpt-nope", messages=first_request, metadata=metadata)
    raise AssertionError("an unknown model was answered")
except openai.NotFoundError as e:
    check(e.status_code == 404 and e.body["code"] == "model_not_found",
          f"unknown model: NotFoundError {e.message!r}")
try:
    client.chat.completions.create(model="expert", messages=[{"role": "user", "content": 5}],
                                   metadata=metadata)
    raise AssertionError("a message with numeric content was answered")
except openai.BadRequestError as e:
    check(e.body["param"] == "messages[0].content", f"bad content: BadRequestError {e.message!r}")
try:
    client.chat.completions.create(model="expert", messages=first_request, metadata=metadata,
                                   extra_body={"metadata": {"toolgym_scenario": "no.such"}})
    raise AssertionError("an unknown scenario was answered")
except openai.BadRequestError as e:
    check("no scenario \"no.such\"" in e.message, f"unknown scenario: {e.message!r}")
try:
    openai.OpenAI(base_url=TOKEN_URL, api_key="wrong", max_retries=0).models.list()
    raise AssertionError("a wrong API key was accepted")
except openai.AuthenticationError as e:
    check(e.status_code == 401, f"wrong key: AuthenticationError {e.message!r}")
right = openai.OpenAI(base_url=TOKEN_URL, api_key="sdk-test-token", max_retries=0)
check([m.id for m in right.models.list().data] == ["random"], "the right key is accepted")
check([m.id for m in client.models.list().data] == ["expert"], "the server still serves after errors")
print(f"openai_sdk_test: all checks passed (openai {openai.__version__}, {usage_total} tokens)")
