/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot timer: when the guest writes BOOT_TIMER_MAGIC to LAYOUT_BOOT_TIMER_GPA, ember logs
 *   ember: boot-timer: wall_ms=W cpu_ms=C
 * W is the wall time since ember's main() began, C the CPU time of the whole process until
 * then (all threads). Benchmarks read this line. MMIO handlers run on vCPU threads. A guest
 * that writes the marker in a loop gets a burst of lines, then one every so often (log.h).
 */
#ifndef EMBER_BOOT_TIMER_H
#define EMBER_BOOT_TIMER_H

#include <stdint.h>
#include <time.h>

/* Records the start instant; call first thing in main(). */
void boot_timer_start(void);
/* Milliseconds since boot_timer_start: wall, and process CPU. */
double boot_timer_wall_ms(void);
double boot_timer_cpu_ms(void);

void boot_timer_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

#endif
