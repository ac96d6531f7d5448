#!/usr/bin/env bats
# Host features refused by a seccomp filter (tests/helpers/deny-syscall):
# a refused user namespace is explained; without openat2 the verified
# userspace walk keeps every path inside the rootfs.
#
# The filter sets no_new_privs, which disarms the setuid newuidmap: the
# openat2 tests force single-uid mode, and the userns tests fail before any
# id map is written.

load helpers

DENY=${SBX_HELPERS:-$TESTS_DIR/../build/tests/helpers}/deny-syscall

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  [ -x "$DENY" ] || fail "$DENY is missing (make tests builds it)"
}

# Run sbx under deny-syscall RULE, in single-uid mode: deny RULE -- SBX-ARGS...
deny() {
  local rule=$1
  shift 2
  env SBX_USERNS_MODE=single "$DENY" "$rule" -- "$SBX" "$@"
}

# openat2(AT_FDCWD, "/", O_DIRECTORY): the fd, or "errno=N".
openat2_probe() {
  python3 -c '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
how = (ctypes.c_uint64 * 3)(0o200000, 0, 0)
r = libc.syscall(ctypes.c_long(437), ctypes.c_long(-100), b"/", how, ctypes.c_long(24))
print(r if r >= 0 else "errno=%d" % ctypes.get_errno())'
}

@test "deny-syscall: usage errors exit 2" {
  run "$DENY"
  assert_equal "$status" 2
  assert_output --partial "usage:"
  run "$DENY" bogus=EPERM -- true
  assert_equal "$status" 2
  assert_output --partial "bogus"
  run "$DENY" openat2=EBOGUS -- true
  assert_equal "$status" 2
  run "$DENY" openat2=ENOSYS true
  assert_equal "$status" 2
  run "$DENY" openat2=ENOSYS --
  assert_equal "$status" 2
  run -127 "$DENY" openat2=ENOSYS -- "$BATS_TEST_TMPDIR/missing"
}

@test "deny-syscall: the rules take effect, and only on their calls" {
  run "$DENY" openat2=ENOSYS -- grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
  assert_success
  assert_line --regexp "^NoNewPrivs:[[:space:]]+1$"
  assert_line --regexp "^Seccomp:[[:space:]]+2$"
  run "$DENY" openat2=ENOSYS -- bash -c "$(declare -f openat2_probe); openat2_probe"
  assert_output "errno=38"
  run "$DENY" openat2=EACCES -- bash -c "$(declare -f openat2_probe); openat2_probe"
  assert_output "errno=13"
  run "$DENY" mknodat=EPERM mknod=EPERM -- mkfifo "$BATS_TEST_TMPDIR/fifo"
  assert_failure
  assert_output --partial "Operation not permitted"
  [ ! -e "$BATS_TEST_TMPDIR/fifo" ]
  # fork (clone without CLONE_NEWUSER) and threads (clone3 → clone) still work.
  run "$DENY" userns=EPERM -- sh -c 'echo forked'
  assert_output "forked"
  run "$DENY" userns=EPERM -- python3 -c 'import threading; t = threading.Thread(target=print, args=("thread",)); t.start(); t.join()'
  assert_output "thread"
}

@test "deny-syscall: userns=EPERM refuses unshare -U" {
  require_userns
  run "$DENY" userns=EPERM -- unshare -U true
  assert_failure
  assert_output --partial "Operation not permitted"
}

@test "deny-syscall: a refused user namespace is explained, exit 125" {
  run "$DENY" userns=EPERM -- "$SBX" run --rootfs "$ROOTFS" true
  assert_equal "$status" 125
  assert_output --regexp "^sbx: "
  assert_output --partial "hint:"
  assert_output --partial "user namespace"
}

@test "deny-syscall: info reports refused user namespaces with a hint" {
  run "$DENY" userns=EPERM -- "$SBX" info
  assert_success
  assert_line --regexp "^user namespaces +no: .*Operation not permitted"
  assert_line --regexp "^hint: .*user namespaces"
  run "$DENY" userns=EPERM -- "$SBX" info --format json
  assert_success
  python3 -c 'import json,sys; f=json.load(sys.stdin)["features"]["user namespaces"]; assert not f["usable"], f; assert f["hint"], f' <<<"$output"
}

@test "deny-syscall: openat2 missing: the verified fallback still works" {
  require_userns
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  echo data >"$BATS_TEST_TMPDIR/vol/f"
  run deny openat2=ENOSYS -- run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/vol:/data" cat /data/f
  assert_success
  assert_output "data"
  run deny openat2=ENOSYS -- run --rootfs "$ROOTFS" -w /new/work/dir sh -c 'pwd; cat /etc/passwd | head -n1'
  assert_success
  assert_line "/new/work/dir"
  assert_line "root:x:0:0:root:/root:/bin/sh"
}

@test "deny-syscall: openat2 missing: an absolute symlink cannot redirect a volume to the host" {
  require_userns
  cp -a "$ROOTFS" "$BATS_TEST_TMPDIR/rootfs2"
  mkdir -p "$BATS_TEST_TMPDIR/outside" "$BATS_TEST_TMPDIR/vol"
  ln -s "$BATS_TEST_TMPDIR/outside" "$BATS_TEST_TMPDIR/rootfs2/escape"
  run deny openat2=ENOSYS -- run --rootfs "$BATS_TEST_TMPDIR/rootfs2" -v "$BATS_TEST_TMPDIR/vol:/escape/x" true
  assert_success
  [ ! -e "$BATS_TEST_TMPDIR/outside/x" ]
  [ -d "$BATS_TEST_TMPDIR/rootfs2/$BATS_TEST_TMPDIR/outside/x" ]
  run deny openat2=ENOSYS -- run --rootfs "$BATS_TEST_TMPDIR/rootfs2" -w /escape/wd true
  assert_success
  [ ! -e "$BATS_TEST_TMPDIR/outside/wd" ]
}

@test "deny-syscall: openat2 missing: a relative symlink cannot climb out with .." {
  require_userns
  cp -a "$ROOTFS" "$BATS_TEST_TMPDIR/rootfs2"
  mkdir -p "$BATS_TEST_TMPDIR/outside" "$BATS_TEST_TMPDIR/vol"
  # Far more ".." than the rootfs is deep: in root they stop at "/".
  ln -s "../../../../../../../../../../../../..$BATS_TEST_TMPDIR/outside" \
    "$BATS_TEST_TMPDIR/rootfs2/tmp/climb"
  run deny openat2=ENOSYS -- run --rootfs "$BATS_TEST_TMPDIR/rootfs2" -v "$BATS_TEST_TMPDIR/vol:/tmp/climb/y" true
  assert_success
  [ ! -e "$BATS_TEST_TMPDIR/outside/y" ]
  [ -d "$BATS_TEST_TMPDIR/rootfs2/$BATS_TEST_TMPDIR/outside/y" ]
}

@test "deny-syscall: openat2 missing: /etc/passwd is read inside the rootfs" {
  require_userns
  cp -a "$ROOTFS" "$BATS_TEST_TMPDIR/rootfs2"
  printf 'root:x:0:0::/escaped:/bin/sh\nmallory:x:0:0::/:/bin/sh\n' >"$BATS_TEST_TMPDIR/host-passwd"
  mkdir -p "$BATS_TEST_TMPDIR/rootfs2$BATS_TEST_TMPDIR"
  cp "$BATS_TEST_TMPDIR/rootfs2/etc/passwd" "$BATS_TEST_TMPDIR/rootfs2$BATS_TEST_TMPDIR/host-passwd"
  ln -sf "$BATS_TEST_TMPDIR/host-passwd" "$BATS_TEST_TMPDIR/rootfs2/etc/passwd"
  # The link resolves to the rootfs's own copy: root's home is /root, and
  # mallory (only in the host's file) is unknown.
  # shellcheck disable=SC2016 # expanded inside the container
  run deny openat2=ENOSYS -- run --rootfs "$BATS_TEST_TMPDIR/rootfs2" sh -c 'echo $HOME'
  assert_success
  assert_output "/root"
  run deny openat2=ENOSYS -- run --rootfs "$BATS_TEST_TMPDIR/rootfs2" --user mallory true
  assert_equal "$status" 125
  assert_output --partial "mallory"
}
