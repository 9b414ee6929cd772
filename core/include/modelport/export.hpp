// Symbol visibility for the core shared library. The core is built with hidden visibility; only
// what is marked MODELPORT_API is part of its ABI.
#pragma once

#if defined(_WIN32)
#  if defined(MODELPORT_CORE_BUILDING)
#    define MODELPORT_API __declspec(dllexport)
#  else
#    define MODELPORT_API __declspec(dllimport)
#  endif
#else
#  define MODELPORT_API __attribute__((visibility("default")))
#endif
