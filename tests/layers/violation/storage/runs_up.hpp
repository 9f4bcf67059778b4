// A deliberate violation for the CTest `layers_selftest`: storage includes
// the actors floor above it, which tests/layers.cmake must refuse.
#pragma once

#include "storage/job.hpp"
#include "actors/runtime.hpp"
