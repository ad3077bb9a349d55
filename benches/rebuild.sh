#!/usr/bin/env bash
# Time `rmos index rebuild` (warm page cache) on a generated store, several times, and
# print each run, the median and the peak RSS. Several binaries are interleaved run by run
# so that they share the machine's load.
#
#   benches/rebuild.sh DATA_DIR REPS BINARY [BINARY...]
#
# DATA_DIR is a data root made by `cargo bench --bench index` (e.g. /tmp/rmos-bench-100k
# or /tmp/rmos-bench-100k-fat). Its index database is deleted before every run.
set -euo pipefail
data=$1 reps=$2
shift 2
runs="$data/runs/rmos"
[ -d "$runs" ] || { echo "no runs folder in $data: generate it with cargo bench --bench index" >&2; exit 2; }
files=$(find "$runs" -name '*.json' -not -name '_*' | wc -l)
bytes=$(find "$runs" -name '*.json' -not -name '_*' -printf '%s\n' | awk '{s+=$1} END {print s}')
# Warm the page cache.
find "$runs" -name '*.json' -print0 | xargs -0 cat > /dev/null
echo "store $data: $files artifacts, $(awk -v b="$bytes" 'BEGIN {printf "%.2f GB", b/1e9}')"
declare -A times rss cpus
for ((i = 1; i <= reps; i++)); do
  for bin in "$@"; do
    rm -f "$data/rmos.db" "$data/rmos.db-wal" "$data/rmos.db-shm"
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$( { /usr/bin/time -f '%e %M %U %S' "$bin" --data "$data" index rebuild > /dev/null; } 2>&1 | tail -1)
    read -r secs kb user sys <<< "$out"
    cpu=$(echo "$user + $sys" | bc -l)
    times[$bin]+="$secs "
    rss[$bin]+="$kb "
    cpus[$bin]+="$cpu "
    printf '%-24s run %d  %6.2f s  %6.0f artifacts/s  %5.0f MB/s  CPU %6.2f s  peak RSS %5.1f MB  load before %s\n' \
      "$bin" "$i" "$secs" "$(echo "$files / $secs" | bc -l)" "$(echo "$bytes / 1000000 / $secs" | bc -l)" \
      "$cpu" "$(echo "$kb / 1024" | bc -l)" "$load"
  done
done
for bin in "$@"; do
  med=$(tr ' ' '\n' <<< "${times[$bin]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  medcpu=$(tr ' ' '\n' <<< "${cpus[$bin]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  maxrss=$(tr ' ' '\n' <<< "${rss[$bin]}" | grep . | sort -n | tail -1)
  printf '%-24s median %6.2f s  %6.0f artifacts/s  %5.0f MB/s  CPU %6.2f s (%5.0f MB per CPU-second)  max peak RSS %5.1f MB\n' \
    "$bin" "$med" "$(echo "$files / $med" | bc -l)" "$(echo "$bytes / 1000000 / $med" | bc -l)" \
    "$medcpu" "$(echo "$bytes / 1000000 / $medcpu" | bc -l)" "$(echo "$maxrss / 1024" | bc -l)"
done
