// All of Boost.Geometry's algorithms, for the geo .cpp files that run them (lattice.hpp holds the
// models only, which the rest of the server needs).
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/geometry.hpp>
#pragma GCC diagnostic pop
