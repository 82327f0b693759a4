#!/bin/bash
# Bad input: every writable parameter and sysctl fuzzed with 10,000
# generated inputs (overlong, negative, overflowing, non-numeric, embedded
# NULs, stray colons and separators), one write(2) each, then four
# concurrent writers per file; a refused write must change nothing and an
# accepted one must leave a valid value. (The parsers' KUnit cases run on
# the debug kernel, under KASAN.)
. tests/lib.sh

unload
check "insmod" insmod "$KO"
python3 tests/lib/fuzz_params.py --count "${FUZZ_COUNT:-10000}" || T_FAILED=1
check "rmmod after fuzzing" rmmod pcbgroup
exit $T_FAILED
