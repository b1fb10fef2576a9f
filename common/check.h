// CHECK macros for programmer invariants (tier 1 of STYLE.md's errors): abort with file, line
// and the values involved. Never used for bad user input; that returns a Status.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#define TG_CHECK(cond)                                                              \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#define TG_CHECK_OP(a, op, b)                                                                      \
  do {                                                                                             \
    const auto& tg_a_ = (a);                                                                       \
    const auto& tg_b_ = (b);                                                                       \
    if (!(tg_a_ op tg_b_)) {                                                                       \
      std::fprintf(stderr, "%s\n",                                                                 \
                   fmt::format("{}:{}: CHECK failed: {} {} {} ({} vs {})", __FILE__, __LINE__, #a, \
                               #op, #b, tg_a_, tg_b_)                                              \
                       .c_str());                                                                  \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

#define TG_CHECK_EQ(a, b) TG_CHECK_OP(a, ==, b)
#define TG_CHECK_NE(a, b) TG_CHECK_OP(a, !=, b)
#define TG_CHECK_LT(a, b) TG_CHECK_OP(a, <, b)
#define TG_CHECK_LE(a, b) TG_CHECK_OP(a, <=, b)
#define TG_CHECK_GE(a, b) TG_CHECK_OP(a, >=, b)
