// Shared by the benchmarks: a description of the machine and its load, printed with every report
// (these machines are shared; a number means little without them), and the summary statistics
// of a case's samples.
#pragma once

#include <fmt/format.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace toolgym::bench {

struct Machine {
  long cpus_online = 0;
  int cpus_allowed = 0;
  std::string cpu_model;
  std::string kernel;
  double memory_gib = 0;
};

// The 1-, 5- and 15-minute load averages: other work on the machine skews every case.
inline std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(f >> a >> b >> c)) return "?";
  return fmt::format("{:.2f} {:.2f} {:.2f}", a, b, c);
}

inline Machine DescribeMachine() {
  Machine m;
  m.cpus_online = ::sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) m.cpus_allowed = CPU_COUNT(&set);
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      auto colon = line.find(':');
      if (colon != std::string::npos)
        m.cpu_model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  struct sysinfo si {};
  if (::sysinfo(&si) == 0)
    m.memory_gib = static_cast<double>(si.totalram) * si.mem_unit / (1024.0 * 1024 * 1024);
  return m;
}

// Summary statistics of one case's samples.
struct Stats {
  std::size_t n = 0;
  double median = 0, p10 = 0, p90 = 0, p99 = 0, mean = 0, min = 0, max = 0;
};

// Percentiles by linear interpolation between closest ranks (type 7, as numpy's default).
inline Stats Summarize(std::vector<double> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) {
    const double pos = p * static_cast<double>(v.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
  };
  s.median = pct(0.5);
  s.p10 = pct(0.1);
  s.p90 = pct(0.9);
  s.p99 = pct(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  s.min = v.front();
  s.max = v.back();
  return s;
}

}  // namespace toolgym::bench
