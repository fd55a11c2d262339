# mock.sh: sourced by the scripts that run the real binary against the mock
# endpoint (scripts/ci.d/40-cross.sh, benches/footprint.sh). They keep the
# PIDs to stop in `pids` and their scratch folder in `work`, with the
# fixtures of scripts/make-fixtures.sh in "$work/fx".

# start_mock BINARY NAME [MOCK ARGS...]: starts BINARY (a mock-rolesanywhere
# build) on a free loopback port, its output in "$work/NAME.out" and its
# log in "$work/NAME.log"; adds its PID to `pids` and sets `url` once it
# listens (within 10 s, else the script exits with the log).
start_mock() {
  local binary=$1 name=$2
  shift 2
  "$binary" --fixtures "$work/fx" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening //p' "$work/$name.out")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "$(basename "$0" .sh): mock ($name) did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}
