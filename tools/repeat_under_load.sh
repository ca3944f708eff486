#!/usr/bin/env bash
# Run one test file N times in a row with busy-loop processes beside it (default 2: both cores of the
# CI box taken), stopping at the first failure. Usage: [BUSY=k] tools/repeat_under_load.sh N test/path.py
# [pytest args]. BUSY=0 when other CPU-bound jobs (training runs) already load the machine.
# Prints one line per run and, at the end, "repeat_under_load: P of N passed under load".
set -u
n="${1:?usage: $0 N TEST [pytest args]}"
shift
py="${PYTHON:-.venv/bin/python}"
busy=()
for _ in $(seq 1 "${BUSY:-2}"); do
  "$py" -c 'while True: pass' &
  busy+=("$!")
done
trap '[ ${#busy[@]} -eq 0 ] || kill "${busy[@]}" 2>/dev/null' EXIT
log="$(mktemp -t repeat_under_load.XXXXXX)"
passed=0
for i in $(seq 1 "$n"); do
  start=$SECONDS
  if "$py" -m pytest -q -p no:cacheprovider "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i: passed ($((SECONDS - start)) s) $(tail -n 1 "$log")"
  else
    echo "run $i: FAILED ($((SECONDS - start)) s); output:"
    cat "$log"
    break
  fi
done
rm -f "$log"
echo "repeat_under_load: $passed of $n passed under load"
[ "$passed" -eq "$n" ]
