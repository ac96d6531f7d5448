#!/usr/bin/env bats
# Nothing is left behind: processes, mounts, state.

load helpers

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  require_userns
}

@test "lifecycle: kill -9 of sbx leaves no container process behind" {
  local tag="sleep 1000$RANDOM"
  "$SBX" run --rootfs "$ROOTFS" sh -c "exec $tag" 3>&- &
  local pid=$!
  wait_for 10 has_pids "^$tag"
  kill -KILL "$pid"
  wait "$pid" || true
  wait_for 5 no_pids "^$tag"
  assert_equal "$(pids_matching "^$tag")" ""
}

@test "lifecycle: kill -9 with --init and a process tree leaves nothing" {
  local tag="sleep 1001$RANDOM"
  "$SBX" run --rootfs "$ROOTFS" --init sh -c "$tag & $tag & wait" 3>&- &
  local pid=$!
  wait_for 10 count_pids "^$tag" 2
  kill -KILL "$pid"
  wait "$pid" || true
  wait_for 5 no_pids "^$tag"
  assert_equal "$(pids_matching "^$tag")" ""
}

@test "lifecycle: nothing stays mounted on the host" {
  run sbx run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR:/mnt" true
  assert_success
  run grep -c "$ROOTFS" /proc/self/mountinfo
  assert_output "0"
}

# Per-container state directories (64 hex digits) under STATE.
container_states() {
  find "$1" -mindepth 1 -maxdepth 1 -regextype posix-extended -regex '.*/[0-9a-f]{64}' | wc -l
}

@test "lifecycle: the state directory is removed on exit and after a kill" {
  local state
  state=$(sbx info --format json | sed -n 's/.*"state": "\(.*\)".*/\1/p')
  [ -n "$state" ]
  sbx run --rootfs "$ROOTFS" true
  assert_equal "$(container_states "$state")" 0
  local tag="sleep 1002$RANDOM"
  "$SBX" run --rootfs "$ROOTFS" sh -c "exec $tag" 3>&- &
  local pid=$!
  wait_for 10 has_pids "^$tag"
  kill -KILL "$pid"
  wait "$pid" || true
  # The next run sweeps the state of the killed one.
  sbx run --rootfs "$ROOTFS" true
  assert_equal "$(container_states "$state")" 0
}

@test "lifecycle: SIGTERM to sbx reaches the command" {
  "$SBX" run --rootfs "$ROOTFS" sh -c 'trap "echo got-term; exit 5" TERM; sleep 100 & wait' >"$BATS_TEST_TMPDIR/out" 3>&- &
  local pid=$!
  wait_for 10 has_pids '^sleep 100$'
  kill -TERM "$pid"
  local st=0
  wait "$pid" || st=$?
  assert_equal "$st" 5
  assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "got-term"
}

@test "lifecycle: --init forwards signals to a command without handlers" {
  local tag="sleep 1003$RANDOM"
  "$SBX" run --rootfs "$ROOTFS" --init sh -c "exec $tag" 3>&- 2>"$BATS_TEST_TMPDIR/err" &
  local pid=$!
  wait_for 10 has_pids "^$tag" || { cat "$BATS_TEST_TMPDIR/err"; pgrep -af sleep; false; }
  kill -TERM "$pid"
  local st=0
  wait "$pid" || st=$?
  assert_equal "$st" 143
}

@test "lifecycle: --init reaps orphans as PID 1" {
  run sbx run --rootfs "$ROOTFS" --init sh -c '(sleep 0.1 &) ; sleep 0.3; ps -o stat,comm | grep -c Z'
  assert_output "0"
}

@test "lifecycle: XDG_RUNTIME_DIR unset falls back to a private TMPDIR directory" {
  run env -u XDG_RUNTIME_DIR TMPDIR="$BATS_TEST_TMPDIR" "${SBX_BIN:-sbx}" run --rootfs "$ROOTFS" echo ok
  assert_success
  assert_output "ok"
  run stat -c %a "$BATS_TEST_TMPDIR/sbx-$(id -u)"
  assert_output "700"
}
