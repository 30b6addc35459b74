// All of Boost.Geometry's algorithms and its R-tree, for the geo files that run them (lattice.hpp
// holds the models only, which the rest of the server needs).
#pragma once

// GCC 12 reports -Wmaybe-uninitialized false positives inside Boost.Geometry; clang does not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
