#!/usr/bin/env bats
# What container root can and cannot do.

load helpers

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  require_userns
}

@test "security: writing /proc/sys fails" {
  run sbx run --rootfs "$ROOTFS" sh -c 'echo evil > /proc/sys/kernel/hostname'
  assert_failure
  assert_output --partial "Read-only file system"
}

@test "security: masked /proc files read nothing" {
  run sbx run --rootfs "$ROOTFS" sh -c 'for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $f ] && wc -c < $f; done; true'
  assert_success
  for l in "${lines[@]}"; do assert_equal "$l" 0; done
  run sbx run --rootfs "$ROOTFS" sh -c 'ls -A /sys/firmware | wc -l'
  assert_output "0"
}

@test "security: mount is refused to container root" {
  run sbx run --rootfs "$ROOTFS" mount -t tmpfs none /tmp
  assert_failure
  run sbx run --rootfs "$ROOTFS" sh -c 'mkdir -p /mnt/x && mount --bind /bin /mnt/x'
  assert_failure
}

@test "security: host files outside the mounts are invisible" {
  echo secret >"$BATS_TEST_TMPDIR/host-marker"
  run sbx run --rootfs "$ROOTFS" sh -c "ls $BATS_TEST_TMPDIR/host-marker; cat /proc/1/cmdline | tr '\0' ' '"
  refute_output --partial "secret"
  # Exactly one mount is the root, and no mount source is the host's root tree.
  run sbx run --rootfs "$ROOTFS" sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo | wc -l'
  assert_output "1"
}

@test "security: the host's processes are invisible" {
  sleep 300 &
  local host_pid=$!
  run sbx run --rootfs "$ROOTFS" sh -c 'ps -o comm | grep -c "^sleep"'
  kill "$host_pid"
  assert_output "0"
}

@test "security: Docker's default capabilities, no_new_privs" {
  run sbx run --rootfs "$ROOTFS" grep -E '^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs)' /proc/self/status
  assert_success
  assert_line --regexp "^CapEff:[[:space:]]+00000000a80425fb$"
  assert_line --regexp "^CapBnd:[[:space:]]+00000000a80425fb$"
  assert_line --regexp "^CapInh:[[:space:]]+0+$"
  assert_line --regexp "^CapAmb:[[:space:]]+0+$"
  assert_line --regexp "^NoNewPrivs:[[:space:]]+1$"
}

@test "security: --cap-drop and --cap-add change the set" {
  run sbx run --rootfs "$ROOTFS" --cap-drop ALL grep CapEff /proc/self/status
  assert_output --regexp "^CapEff:[[:space:]]+0+$"
  run sbx run --rootfs "$ROOTFS" --cap-drop chown --cap-add NET_ADMIN grep CapEff /proc/self/status
  assert_output --regexp "^CapEff:[[:space:]]+00000000a80435fa$"
  run sbx run --rootfs "$ROOTFS" --cap-add BOGUS true
  assert_equal "$status" 125
  assert_output --partial "BOGUS"
}

@test "security: a non-root user gets no capabilities" {
  run sbx run --rootfs "$ROOTFS" --userns=keep-id grep CapEff /proc/self/status
  assert_output --regexp "^CapEff:[[:space:]]+0+$"
}

@test "security: -v binds a host directory, :ro is enforced" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  echo data >"$BATS_TEST_TMPDIR/vol/f"
  run sbx run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/vol:/data" sh -c 'cat /data/f; echo new > /data/g'
  assert_success
  assert_output "data"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/vol/g")" "new"
  run sbx run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/vol:/data:ro" sh -c 'echo x > /data/h'
  assert_failure
  assert_output --partial "Read-only file system"
  [ ! -e "$BATS_TEST_TMPDIR/vol/h" ]
}

@test "security: -v ./relative resolves against the current directory" {
  mkdir -p "$BATS_TEST_TMPDIR/rel/sub"
  echo relative >"$BATS_TEST_TMPDIR/rel/sub/f"
  cd "$BATS_TEST_TMPDIR/rel"
  run sbx run --rootfs "$ROOTFS" -v ./sub:/r cat /r/f
  assert_success
  assert_output "relative"
}

@test "security: a symlink in the rootfs cannot redirect a volume to the host" {
  cp -a "$ROOTFS" "$BATS_TEST_TMPDIR/rootfs2"
  mkdir -p "$BATS_TEST_TMPDIR/outside"
  ln -s "$BATS_TEST_TMPDIR/outside" "$BATS_TEST_TMPDIR/rootfs2/escape"
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  run sbx run --rootfs "$BATS_TEST_TMPDIR/rootfs2" -v "$BATS_TEST_TMPDIR/vol:/escape/x" true
  assert_success
  # The mount point was created inside the rootfs, under its own view of the link target.
  [ ! -e "$BATS_TEST_TMPDIR/outside/x" ]
  [ -d "$BATS_TEST_TMPDIR/rootfs2/$BATS_TEST_TMPDIR/outside/x" ]
}

@test "security: --read-only makes the root read-only, not /dev/shm" {
  run sbx run --rootfs "$ROOTFS" --read-only sh -c 'touch /x'
  assert_failure
  run sbx run --rootfs "$ROOTFS" --read-only sh -c 'touch /dev/shm/x && echo ok'
  assert_success
  assert_output "ok"
}
