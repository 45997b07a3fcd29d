/*
 * fuzz.h: the libFuzzer entry point every target in tests/fuzz defines.
 * With --enable-fuzzing libFuzzer provides main(); otherwise standalone.c
 * runs the target over files named on the command line.
 */
#ifndef MTASTS_FUZZ_H
#define MTASTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* MTASTS_FUZZ_H */
