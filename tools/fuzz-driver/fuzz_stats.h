/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the fuzz driver counts, and how it hands the counts to ember-fuzz (the front-end).
 *
 * A fuzzing run must not be green when it tested nothing: an input whose create was refused
 * never reached the device. The driver counts every input, those that got a device and those
 * refused at create. With $EMBER_FUZZ_STATS naming a file (ember-fuzz creates it) the counters
 * live in a MAP_SHARED mapping of that file rather than in the process: they survive the way
 * libFuzzer ends a run on a finding (_Exit, abort, a signal: no atexit handler runs) and they add
 * up over every process of a run (libFuzzer -jobs workers, AFL++ forks, one replay per seed).
 */
#ifndef EMBER_FUZZ_STATS_H
#define EMBER_FUZZ_STATS_H

#include <stdint.h>

#define FUZZ_STATS_MAGIC   0x3173746174737a66ULL /* "fzstats1" */
#define FUZZ_STATS_MSG_MAX 448

struct fuzz_stats {
	uint64_t magic;		/* FUZZ_STATS_MAGIC once a driver mapped the file */
	uint64_t inputs;	/* inputs started (the one that failed included) */
	uint64_t reached;	/* inputs whose create succeeded */
	uint64_t refused;	/* inputs refused at create (their options, picked by the header) */
	uint64_t last_input_ns; /* CLOCK_MONOTONIC when the last input started: time to a finding */
	uint64_t reserved[3];
	/* The last refusal's one line (several processes may write it: good enough for a hint). */
	char last_refusal[FUZZ_STATS_MSG_MAX];
};

/* The file is at least this big (ember-fuzz sizes it; the driver refuses a smaller one). */
#define FUZZ_STATS_FILE_SIZE 4096

_Static_assert(sizeof(struct fuzz_stats) <= FUZZ_STATS_FILE_SIZE, "fuzz_stats fits its file");

/* The driver's counters (fuzz_plugin.c), for ember-fuzz-replay's summary. */
const struct fuzz_stats *fuzz_driver_stats(void);

/* Exit statuses the driver (engine and replay) uses before or instead of running inputs. */
#define FUZZ_EXIT_USAGE	    2 /* bad arguments, plugin not loadable, stats file unusable */
#define FUZZ_EXIT_NO_CREATE 3 /* the device cannot be created with the given options */
#define FUZZ_EXIT_REFUSED   4 /* replay: fewer than half of the inputs reached the device */

#endif
