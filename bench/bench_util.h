// Shared by the benchmarks: a description of the machine and its load, printed with every report
// (these machines are shared; a number means little without them).
#pragma once

#include <fmt/format.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

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

}  // namespace toolgym::bench
