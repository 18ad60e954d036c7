/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API fuzz target (fuzz_api.c), shared by its two mains: libFuzzer's (fuzz-api, with
 * -Dfuzzing=true) and the replay (fuzz-api-replay, every build: the 'fuzz' suite runs the
 * committed corpus through the same checks).
 */
#ifndef EMBER_FUZZ_API_H
#define EMBER_FUZZ_API_H

#include "fuzz_stats.h"

#include <stddef.h>
#include <stdint.h>

/*
 * What a run did, beyond the driver's counts (base: inputs; reached = inputs with at least one
 * request that reached api_handle, or a command-line step the model took; refused = none). In
 * $EMBER_FUZZ_STATS when set (MAP_SHARED, so the counts survive a crash and add up over libFuzzer's
 * jobs), else in memory.
 */
struct fuzz_api_stats {
	struct fuzz_stats base;
	uint64_t requests;				   /* requests that reached api_handle */
	uint64_t answered_200, answered_204, answered_400; /* their answers */
};

_Static_assert(sizeof(struct fuzz_api_stats) <= FUZZ_STATS_FILE_SIZE, "stats fit their file");

/* The scratch folder with the files the seeds name (a kernel, drives): made at initialize. */
#define FUZZ_API_DIR "/tmp/ember-fuzz-api"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct fuzz_api_stats *fuzz_api_stats(void);

#endif
