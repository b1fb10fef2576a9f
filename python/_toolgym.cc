// _toolgym: the Python binding of envs/ and scenarios/ (pybind11). A thin layer, as STYLE.md
// asks: every call converts its arguments, releases the GIL around the C++ call and converts
// the result back; no env logic lives here. The Gymnasium wrapper and the public package are
// python/toolgym/.
//
// Errors: a non-OK Status becomes ValueError (InvalidArgument), KeyError (NotFound) or
// RuntimeError (every other code), with the Status message as the exception's argument.
//
// Thread-safety: the GIL is released in every call that may block (make, reset, step, fork,
// close and every pool call). An Env is guarded by its own mutex, so Python threads sharing
// one Env are serialized instead of breaking Env's one-thread-at-a-time contract; the pool is
// thread-safe on its own (envs/env_pool.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/version.h"
#include "envs/env.h"
#include "envs/env_pool.h"
#include "envs/info.h"
#include "scenarios/registry.h"

namespace py = pybind11;
using nlohmann::json;

namespace toolgym::python {
namespace {

// --- Errors ---------------------------------------------------------------------------------

[[noreturn]] void Throw(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      throw py::value_error(status.message());
    case StatusCode::kNotFound:
      throw py::key_error(status.message());
    default:
      throw std::runtime_error(status.message());
  }
}

void ThrowIfError(const Status& status) {
  if (!status.ok()) Throw(status);
}

template <typename T>
T ValueOrThrow(StatusOr<T> result) {
  if (!result.ok()) Throw(result.status());
  return std::move(result).value();
}

// --- JSON <-> Python ------------------------------------------------------------------------

// Env text is valid UTF-8 (envs/utf8.h); "replace" keeps a stray invalid byte from turning a
// step into an exception all the same.
py::str Decode(const std::string& s) {
  PyObject* obj = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (obj == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(obj);
}

// A dict key as a Python str, from a cache: the same few dozen keys (info fields, reward terms,
// message fields) come back on every step, and making each anew was a fifth of the conversion.
// Bounded, since keys can also be data (a generated file tree's paths). Called with the GIL held.
PyObject* Key(const std::string& key) {
  static std::unordered_map<std::string, PyObject*> cache;
  if (auto it = cache.find(key); it != cache.end()) {
    Py_INCREF(it->second);
    return it->second;
  }
  PyObject* k = PyUnicode_DecodeUTF8(key.data(), static_cast<Py_ssize_t>(key.size()), "replace");
  if (k == nullptr) throw py::error_already_set();
  if (cache.size() < 4096) {
    PyUnicode_InternInPlace(&k);
    Py_INCREF(k);  // the cache's reference
    cache.emplace(key, k);
  }
  return k;
}

py::object ToPython(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return py::none();
    case json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case json::value_t::number_integer:
      return py::int_(j.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return py::int_(j.get<std::uint64_t>());
    case json::value_t::number_float:
      return py::float_(j.get<double>());
    case json::value_t::string:
      return Decode(j.get_ref<const std::string&>());
    case json::value_t::binary:
      return py::bytes(reinterpret_cast<const char*>(j.get_binary().data()), j.get_binary().size());
    case json::value_t::array: {
      PyObject* out = PyList_New(static_cast<Py_ssize_t>(j.size()));
      if (out == nullptr) throw py::error_already_set();
      auto list = py::reinterpret_steal<py::object>(out);
      Py_ssize_t i = 0;
      for (const json& v : j) PyList_SET_ITEM(out, i++, ToPython(v).release().ptr());
      return list;
    }
    case json::value_t::object: {
      py::dict out;
      for (auto it = j.begin(); it != j.end(); ++it) {
        auto key = py::reinterpret_steal<py::object>(Key(it.key()));
        py::object value = ToPython(it.value());
        if (PyDict_SetItem(out.ptr(), key.ptr(), value.ptr()) != 0) throw py::error_already_set();
      }
      return out;
    }
  }
  return py::none();
}

// `where` is the JSON path of `obj`, for the error message.
json FromPython(py::handle obj, const std::string& where = "$") {
  if (obj.is_none()) return nullptr;
  // bool before int: Python's bool is an int.
  if (py::isinstance<py::bool_>(obj)) return obj.cast<bool>();
  if (py::isinstance<py::int_>(obj)) {
    // Negative values as int64, the rest as uint64 so seeds up to 2^64-1 survive.
    if (obj.cast<py::int_>() < py::int_(0)) return obj.cast<std::int64_t>();
    return obj.cast<std::uint64_t>();
  }
  if (py::isinstance<py::float_>(obj)) return obj.cast<double>();
  if (py::isinstance<py::str>(obj)) return obj.cast<std::string>();
  if (py::isinstance<py::dict>(obj)) {
    json out = json::object();
    for (auto [key, value] : obj.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key))
        throw py::type_error("JSON object keys must be str, got " +
                             py::repr(key).cast<std::string>() + " at " + where);
      std::string k = key.cast<std::string>();
      out[k] = FromPython(value, where + "." + k);
    }
    return out;
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    json out = json::array();
    size_t i = 0;
    for (py::handle v : obj) out.push_back(FromPython(v, where + "[" + std::to_string(i++) + "]"));
    return out;
  }
  throw py::type_error("cannot convert " + py::repr(obj).cast<std::string>() + " at " + where +
                       " to JSON (use None, bool, int, float, str, list, tuple or dict)");
}

// --- Results --------------------------------------------------------------------------------

// StepInfo's JSON plus "messages": the observation's messages as dicts. The task's generated
// params (often over 10 KiB) are only in the reset's info, as in trajectories: converting them
// on every step took most of a step's binding overhead (27 us of 28 on shell.count_matches).
py::dict InfoDict(const envs::Observation& observation, envs::StepInfo info, bool with_params) {
  if (!with_params) info.task.params = nullptr;
  json j = info;
  j["messages"] = observation.messages;
  return ToPython(j).cast<py::dict>();
}

py::dict PoolResultDict(const envs::EnvPoolResult& r) {
  py::dict d;
  d["env_id"] = r.env_id;
  d["ok"] = r.ok();
  d["is_reset"] = r.is_reset;
  d["episode"] = r.episode;
  if (!r.ok()) {
    d["error"] = Decode(r.status.message());
    d["error_code"] = StatusCodeName(r.status.code());
    return d;
  }
  d["obs"] = Decode(r.observation.Text());
  d["reward"] = r.reward;
  d["terminated"] = r.terminated;
  d["truncated"] = r.truncated;
  d["info"] = InfoDict(r.observation, r.info, /*with_params=*/r.is_reset);
  return d;
}

py::list PoolResultList(const std::vector<envs::EnvPoolResult>& results) {
  py::list out;
  for (const auto& r : results) out.append(PoolResultDict(r));
  return out;
}

// --- Env ------------------------------------------------------------------------------------

class PyEnv {
 public:
  PyEnv(std::unique_ptr<envs::Env> env, std::string scenario_id)
      : env_(std::move(env)), scenario_id_(std::move(scenario_id)) {}

  py::tuple Reset(std::optional<std::uint64_t> seed, py::object options) {
    json opts = options.is_none() ? json::object() : FromPython(options);
    StatusOr<envs::ResetResult> result = InternalError("not run");
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      result = Live()->Reset(seed, opts);
    }
    envs::ResetResult r = ValueOrThrow(std::move(result));
    return py::make_tuple(Decode(r.observation.Text()),
                          InfoDict(r.observation, std::move(r.info), /*with_params=*/true));
  }

  py::tuple Step(const std::string& action) {
    StatusOr<envs::StepResult> result = InternalError("not run");
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      result = Live()->Step(action);
    }
    envs::StepResult r = ValueOrThrow(std::move(result));
    return py::make_tuple(Decode(r.observation.Text()), r.reward, r.terminated, r.truncated,
                          InfoDict(r.observation, std::move(r.info), /*with_params=*/false));
  }

  std::unique_ptr<PyEnv> Fork() {
    StatusOr<std::unique_ptr<envs::Env>> result = InternalError("not run");
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      result = Live()->Fork();
    }
    return std::make_unique<PyEnv>(ValueOrThrow(std::move(result)), scenario_id_);
  }

  py::list Tools() {
    json tools;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tools = Live()->OpenAITools();
    }
    return ToPython(tools).cast<py::list>();
  }

  bool Active() {
    std::lock_guard<std::mutex> lock(mu_);
    return env_ != nullptr && env_->active();
  }

  // Frees the env and its sandbox now; later calls raise. Idempotent.
  void Close() {
    std::unique_ptr<envs::Env> env;
    {
      std::lock_guard<std::mutex> lock(mu_);
      env = std::move(env_);
    }
    py::gil_scoped_release release;
    env.reset();
  }

  bool closed() const { return env_ == nullptr; }
  const std::string& scenario_id() const { return scenario_id_; }

  // The loop of _bench_step_loop (below); not API.
  py::tuple BenchStepLoop(const std::vector<std::string>& actions) {
    std::vector<std::int64_t> ns;
    std::vector<envs::StepResult> results;
    ns.reserve(actions.size());
    results.reserve(actions.size());
    Status status;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      envs::Env* env = Live();
      for (const std::string& action : actions) {
        const auto start = std::chrono::steady_clock::now();
        StatusOr<envs::StepResult> r = env->Step(action);
        const auto end = std::chrono::steady_clock::now();
        if (!r.ok()) {
          status = r.status();
          break;
        }
        ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
        results.push_back(std::move(r).value());
      }
    }
    ThrowIfError(status);
    py::list observations, rewards, step_ms;
    for (const auto& r : results) {
      observations.append(Decode(r.observation.Text()));
      rewards.append(r.reward);
      step_ms.append(r.info.step_ms);
    }
    return py::make_tuple(py::cast(ns), observations, rewards, step_ms);
  }

 private:
  // Called under mu_.
  envs::Env* Live() {
    if (env_ == nullptr) throw std::runtime_error("env " + scenario_id_ + " is closed");
    return env_.get();
  }

  std::mutex mu_;
  std::unique_ptr<envs::Env> env_;  // null once closed
  std::string scenario_id_;
};

std::unique_ptr<PyEnv> Make(const std::string& scenario_id, const py::kwargs& options) {
  json opts = FromPython(options);
  StatusOr<std::unique_ptr<envs::Env>> env = InternalError("not run");
  {
    py::gil_scoped_release release;
    env = scenarios::ScenarioRegistry::Default().Make(scenario_id, opts);
  }
  return std::make_unique<PyEnv>(ValueOrThrow(std::move(env)), scenario_id);
}

std::vector<std::string> ListScenarios() {
  py::gil_scoped_release release;  // the first call loads every suite
  return scenarios::ScenarioRegistry::Default().Ids();
}

// --- EnvPool --------------------------------------------------------------------------------

class PyEnvPool {
 public:
  PyEnvPool(const std::vector<std::string>& ids, int num_threads, int batch_size,
            std::uint64_t seed, bool auto_reset, py::object env_options,
            std::optional<double> step_time_budget_s) {
    envs::EnvPoolOptions options;
    options.num_threads = num_threads;
    options.batch_size = batch_size;
    options.seed = seed;
    options.auto_reset = auto_reset;
    if (!env_options.is_none()) options.env_options = FromPython(env_options);
    if (step_time_budget_s) {
      if (*step_time_budget_s <= 0)
        throw py::value_error("step_time_budget_s must be > 0, got " +
                              std::to_string(*step_time_budget_s));
      options.step_time_budget =
          std::chrono::milliseconds(static_cast<std::int64_t>(*step_time_budget_s * 1000));
    }
    StatusOr<std::unique_ptr<envs::EnvPool>> pool = InternalError("not run");
    {
      py::gil_scoped_release release;
      pool = scenarios::ScenarioRegistry::Default().MakePool(ids, std::move(options));
    }
    pool_ = ValueOrThrow(std::move(pool));
  }

  py::list Reset(const std::vector<int>& env_ids, const std::vector<std::uint64_t>& seeds) {
    StatusOr<std::vector<envs::EnvPoolResult>> results = InternalError("not run");
    {
      py::gil_scoped_release release;
      results = pool_->Reset(env_ids, seeds);
    }
    return PoolResultList(ValueOrThrow(std::move(results)));
  }

  py::list Step(const std::vector<std::string>& actions) {
    StatusOr<std::vector<envs::EnvPoolResult>> results = InternalError("not run");
    {
      py::gil_scoped_release release;
      results = pool_->Step(actions);
    }
    return PoolResultList(ValueOrThrow(std::move(results)));
  }

  void Send(const std::vector<std::string>& actions, std::optional<std::vector<int>> env_ids) {
    py::gil_scoped_release release;
    ThrowIfError(env_ids ? pool_->Send(actions, *env_ids) : pool_->Send(actions));
  }

  void SendReset(const std::vector<int>& env_ids) {
    py::gil_scoped_release release;
    ThrowIfError(pool_->SendReset(env_ids));
  }

  py::list Recv(std::optional<double> timeout_s) {
    std::optional<std::chrono::milliseconds> timeout;
    if (timeout_s) {
      if (*timeout_s < 0)
        throw py::value_error("timeout must be >= 0, got " + std::to_string(*timeout_s));
      timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*timeout_s * 1000));
    }
    StatusOr<std::vector<envs::EnvPoolResult>> results = InternalError("not run");
    {
      py::gil_scoped_release release;
      results = pool_->Recv(timeout);
    }
    return PoolResultList(ValueOrThrow(std::move(results)));
  }

  int Pending() const { return pool_->Pending(); }
  int num_envs() const { return pool_->num_envs(); }
  int batch_size() const { return pool_->batch_size(); }
  int num_threads() const { return pool_->num_threads(); }

  void Close() {
    py::gil_scoped_release release;
    pool_->Close();
  }

  // The loop of _bench_pool_loop (below); not API.
  py::tuple BenchLoop(const std::vector<std::vector<std::string>>& rounds, bool send_recv) {
    std::vector<std::int64_t> ns;
    std::vector<std::vector<envs::EnvPoolResult>> results;
    ns.reserve(rounds.size());
    results.reserve(rounds.size());
    Status status;
    {
      py::gil_scoped_release release;
      for (const auto& actions : rounds) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<envs::EnvPoolResult> round;
        if (send_recv) {
          status = pool_->Send(actions);
          while (status.ok() && pool_->Pending() > 0) {
            StatusOr<std::vector<envs::EnvPoolResult>> r = pool_->Recv();
            if (!r.ok()) {
              status = r.status();
              break;
            }
            for (auto& result : *r) round.push_back(std::move(result));
          }
        } else {
          StatusOr<std::vector<envs::EnvPoolResult>> r = pool_->Step(actions);
          if (r.ok()) {
            round = std::move(r).value();
          } else {
            status = r.status();
          }
        }
        const auto end = std::chrono::steady_clock::now();
        if (!status.ok()) break;
        ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
        results.push_back(std::move(round));
      }
    }
    ThrowIfError(status);
    py::list observations;
    for (auto& round : results) {
      std::sort(round.begin(), round.end(),
                [](const auto& a, const auto& b) { return a.env_id < b.env_id; });
      py::list texts;
      for (const auto& r : round)
        texts.append(r.ok() ? Decode(r.observation.Text())
                            : py::str("error: " + r.status.message()));
      observations.append(texts);
    }
    return py::make_tuple(py::cast(ns), observations);
  }

 private:
  std::unique_ptr<envs::EnvPool> pool_;
};

// --- Benchmark hooks (bench/python_bench.py) -----------------------------------------------
// Not API (hence the leading underscore, and no mention in docs/python.md): the C++ baselines
// of the benchmark of the binding's overhead per step. Each runs the same actions as the
// benchmark's Python loop, but in a C++ loop with the GIL released, and times each call with
// steady_clock around the C++ call alone; the results are converted to Python only after the
// loop, so that the caller can check that both loops saw the same observations.

// _bench_step_loop(env, actions) -> (step_ns, observations, rewards, step_ms): env.step of every
// action in turn (the env's lock held throughout); per step the nanoseconds of Env::Step, the
// observation's text (as env.step's obs), the reward and StepInfo::step_ms (the env's own
// timing of the step). Raises on the first failed step.
py::tuple BenchStepLoop(PyEnv& env, const std::vector<std::string>& actions) {
  return env.BenchStepLoop(actions);
}

// _bench_pool_loop(pool, rounds, send_recv=False) -> (round_ns, observations): for each round
// (one action per env), EnvPool::Step(actions), or with send_recv Send(actions) then Recv until
// nothing is pending; per round the nanoseconds of that and the observations' texts in env id
// order ("error: <message>" for a failed env). Raises when a pool call fails.
py::tuple BenchPoolLoop(PyEnvPool& pool, const std::vector<std::vector<std::string>>& rounds,
                        bool send_recv) {
  return pool.BenchLoop(rounds, send_recv);
}

}  // namespace
}  // namespace toolgym::python

PYBIND11_MODULE(_toolgym, m) {
  using toolgym::python::PyEnv;
  using toolgym::python::PyEnvPool;
  m.doc() = "toolgym's C++ envs and pool (import the `toolgym` package, not this module)";
  m.attr("__version__") = toolgym::kVersion;

  m.def("make", &toolgym::python::Make, py::arg("scenario_id"),
        "make(scenario_id, **options) -> Env. options: action_format, max_turns, "
        "max_output_bytes, split, seed_sequence (EnvOptions).");
  m.def("list_scenarios", &toolgym::python::ListScenarios,
        "The ids of every registered scenario, sorted.");
  m.def(
      "to_json_compatible",
      [](py::object obj) { return toolgym::python::ToPython(toolgym::python::FromPython(obj)); },
      py::arg("obj"), "obj converted to JSON and back (what the module accepts as JSON).");

  py::class_<PyEnv>(m, "Env")
      .def("reset", &PyEnv::Reset, py::arg("seed") = py::none(), py::arg("options") = py::none(),
           "reset(seed=None, options=None) -> (obs, info)")
      .def("step", &PyEnv::Step, py::arg("action"),
           "step(action) -> (obs, reward, terminated, truncated, info)")
      .def("fork", &PyEnv::Fork,
           "A copy of this env mid-episode that shares nothing writable with it.")
      .def("tools", &PyEnv::Tools, "The current task's tools as OpenAI function schemas.")
      .def("close", &PyEnv::Close, "Frees the env and its sandbox; later calls raise.")
      .def_property_readonly("active", &PyEnv::Active)
      .def_property_readonly("closed", &PyEnv::closed)
      .def_property_readonly("scenario_id", &PyEnv::scenario_id);

  py::class_<PyEnvPool>(m, "EnvPool")
      .def(py::init<const std::vector<std::string>&, int, int, std::uint64_t, bool, py::object,
                    std::optional<double>>(),
           py::arg("ids"), py::kw_only(), py::arg("num_threads") = 0, py::arg("batch_size") = 0,
           py::arg("seed") = 0, py::arg("auto_reset") = true, py::arg("env_options") = py::none(),
           py::arg("step_time_budget_s") = py::none())
      .def("reset", &PyEnvPool::Reset, py::arg("env_ids") = std::vector<int>{},
           py::arg("seeds") = std::vector<std::uint64_t>{})
      .def("step", &PyEnvPool::Step, py::arg("actions"))
      .def("send", &PyEnvPool::Send, py::arg("actions"), py::arg("env_ids") = py::none())
      .def("send_reset", &PyEnvPool::SendReset, py::arg("env_ids") = std::vector<int>{})
      .def("recv", &PyEnvPool::Recv, py::arg("timeout") = py::none())
      .def("pending", &PyEnvPool::Pending)
      .def("close", &PyEnvPool::Close)
      .def_property_readonly("num_envs", &PyEnvPool::num_envs)
      .def_property_readonly("batch_size", &PyEnvPool::batch_size)
      .def_property_readonly("num_threads", &PyEnvPool::num_threads);

  // Registered after the classes so that their signatures name Env and EnvPool.
  m.def("_bench_step_loop", &toolgym::python::BenchStepLoop, py::arg("env"), py::arg("actions"),
        "Not API: the C++ baseline of bench/python_bench.py. -> (step_ns, observations, "
        "rewards, step_ms) of env.step(a) for each action, stepped in C++.");
  m.def("_bench_pool_loop", &toolgym::python::BenchPoolLoop, py::arg("pool"), py::arg("rounds"),
        py::arg("send_recv") = false,
        "Not API: the C++ baseline of bench/python_bench.py. -> (round_ns, observations) of "
        "pool.step(actions) (or send + recv) for each round, in C++.");
}
